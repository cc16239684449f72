// The traffic source against a real Prometheus (Debian `prometheus`, started by the test on a
// loopback port with a generated config and a temporary data directory) scraping flysim, which
// replays a traffic scenario as Fly-style `fly_edge_*` series on /metrics:
// - demand per origin region read through PromQL matches the scenario at every time of the
//   replay, within what rate() allows (exact inside a scenario step, between the two steps'
//   values for a window that straddles a step change);
// - instant reads and a range backfill agree at every grid time;
// - edge-only origins map to the nearest hostable region, from a catalog refreshed through
//   GET /v1/platform/regions of the Machines API;
// - Prometheus killed, hung or losing its scrape target gives unknown with a reason.
//
// Real time is unavoidable (Prometheus scrapes on its own clock), so everything is compressed:
// scrapes every 250 ms, rate() windows of 2 s, scenario minutes replayed in 5 s.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/clock.h"
#include "fly/machines_client.h"
#include "metrics/prometheus_client.h"
#include "metrics/prometheus_traffic_source.h"
#include "metrics/region_catalog_refresh.h"
#include "metrics/run_coro.h"
#include "sim/flysim.h"
#include "support/prometheus_server.h"

namespace autoplacer::metrics {
namespace {
using autoplacer::testing::PrometheusServer;
using testing::run_coro;
using namespace std::chrono_literals;

constexpr const char* kApp = "web-app";
constexpr auto kScrape = 250ms;
constexpr auto kWindow = 2s;  // the rate() window of kQuery
constexpr auto kSlack = 150ms;
constexpr const char* kQuery =
    "sum by (region) (rate(fly_edge_http_responses_count{app=\"$APP\"}[2s]))";
// Scenario minutes replayed in 5 s of real time.
constexpr double kSpeed = 12;

// Four one-minute steps by origin; hkg and waw are edge-only (machines cannot run there).
constexpr const char* kScenarioCsv =
    "timestamp,region,rps\n"
    "1700000000,fra,20\n1700000000,syd,5\n1700000000,iad,10\n1700000000,hkg,2.5\n"
    "1700000000,waw,4\n"
    "1700000060,fra,40\n1700000060,syd,5\n1700000060,iad,10\n1700000060,hkg,0\n"
    "1700000060,waw,8\n"
    "1700000120,fra,10\n1700000120,syd,15\n1700000120,iad,30\n1700000120,hkg,6\n"
    "1700000120,waw,8\n"
    "1700000180,fra,10\n1700000180,syd,15\n1700000180,iad,0\n1700000180,hkg,6\n"
    "1700000180,waw,0\n";

// rate() over linearly growing counters is exact up to scrape timing jitter (a few ms against a
// 2 s window); 5 % plus a small absolute term leaves room for a loaded CI machine.
double tolerance(double expected) {
  return 0.05 * expected + 0.05;
}

TimePoint wall_now() {
  return SystemClock{}.now();
}

// The first time of the grid from, from + step, ... that is not before t.
TimePoint ceil_to_grid(TimePoint t, TimePoint from, Duration step) {
  if (t <= from) return from;
  return from + step * ((t - from + step - Duration{1}) / step);
}

PlacementPolicy policy(std::string query = kQuery) {
  PlacementPolicy p;
  p.metadata.name = "web";
  p.spec.app = kApp;
  p.spec.traffic.query = std::move(query);
  p.spec.traffic.latencyQuery = "";
  p.spec.traffic.queryTimeout = 5s;
  return p;
}

// The built-in catalog as an older controller build might have it: `sin` not yet hostable.
RegionCatalog stale_catalog() {
  auto regions = RegionCatalog::builtin().regions();
  for (auto& r : regions) {
    if (r.code == "sin") r.hostable = false;
  }
  return RegionCatalog(std::move(regions));
}

// flysim on its own threads, replaying the scenario on the wall clock from `origin`, with machines
// serving in fra, iad and syd (so edge latency is defined).
class FlySimTarget {
 public:
  explicit FlySimTarget(TimePoint origin) {
    auto scenario = sim::Scenario::parse_csv(kScenarioCsv, "traffic-integration");
    if (!scenario.ok()) throw std::runtime_error(scenario.error());
    scenario_ = *scenario;
    sim::FlySimOptions o;
    o.apps = {kApp};
    o.scenario = scenario_;
    o.speed = kSpeed;
    o.traffic_origin = origin;
    o.tick = 100ms;
    for (const char* region : {"fra", "iad", "syd"}) {
      sim::SeedMachine m;
      m.region = region;
      o.machines.push_back(m);
    }
    sim_ = std::make_unique<sim::FlySim>(io_.get_executor(), clock_, std::move(o));
    auto port = sim_->start("127.0.0.1", 0);
    if (!port.ok()) throw std::runtime_error(port.error());
    port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FlySimTarget() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    sim_->stop(0ms);
    io_.stop();
    thread_.join();
  }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host_port(); }
  const sim::Scenario& scenario() const { return scenario_; }

 private:
  SystemClock clock_;
  boost::asio::io_context io_;
  sim::Scenario scenario_;
  std::unique_ptr<sim::FlySim> sim_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

class PrometheusFlySim : public ::testing::Test {
 protected:
  // Starts flysim (traffic from `lead` from now on), then Prometheus scraping it.
  void start(Duration lead = 0ms) {
    if (!PrometheusServer::available()) GTEST_SKIP() << "prometheus binary not installed";
    origin_ = wall_now() + lead;
    target_ = std::make_unique<FlySimTarget>(origin_);
    auto prom =
        PrometheusServer::start({.targets = {target_->host_port()}, .scrapeInterval = kScrape});
    ASSERT_TRUE(prom.ok()) << prom.error();
    prom_ = std::move(*prom);
    auto up = prom_->wait_for_targets_up(30s);
    ASSERT_TRUE(up.ok()) << up.error() << "\n" << prom_->log();
    up_at_ = wall_now();
    api_ = PrometheusClient::create(io_.get_executor(), {.url = prom_->url()});
    source_ = std::make_unique<PrometheusTrafficSource>(api_, catalog_);
  }

  // Polls until a read is known and has `regions` origins (scrapes are still arriving).
  DemandReading read_when_ready(const PlacementPolicy& p, std::size_t regions) {
    DemandReading r;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      r = run_coro(io_, source_->read(p, wall_now()));
      if (r.known && r.rps.size() >= regions) break;
      std::this_thread::sleep_for(100ms);
    }
    return r;
  }

  // Scenario demand of `region` at wall time t (0 before the origin and after the end).
  double scenario_rps(const std::string& region, TimePoint t) const {
    const auto& s = target_->scenario();
    if (t < origin_) return 0;
    const double offset_s = std::chrono::duration<double>(t - origin_).count() * kSpeed;
    const auto step = static_cast<std::size_t>(offset_s / 60.0);
    if (step >= s.step_count()) return 0;
    const auto& regions = s.regions();
    const auto it = std::find(regions.begin(), regions.end(), region);
    return it == regions.end() ? 0 : s.rps(step, static_cast<std::size_t>(it - regions.begin()));
  }

  // The scenario step (or -1 before, step_count after) playing at wall time t.
  long step_at(TimePoint t) const {
    if (t < origin_) return -1;
    const double offset_s = std::chrono::duration<double>(t - origin_).count() * kSpeed;
    return std::min<long>(static_cast<long>(offset_s / 60.0),
                          static_cast<long>(target_->scenario().step_count()));
  }

  // What rate() over [t - kWindow, t] may read for `region`: the step's value when the window
  // lies inside one step, else anything between the values of the steps it spans. The window is
  // widened by kSlack: a sample is stamped when Prometheus starts the scrape and flysim counts
  // when it answers, which on a loaded machine can be tens of ms later.
  std::pair<double, double> allowed(const std::string& region, TimePoint t) const {
    const TimePoint a = t - kWindow - kSlack, b = t + kSlack;
    double lo = scenario_rps(region, a), hi = lo;
    for (TimePoint x = a; x <= b; x += 10ms) {
      const double v = scenario_rps(region, x);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    return {lo - tolerance(lo), hi + tolerance(hi)};
  }

  boost::asio::io_context io_;
  RegionCatalog catalog_ = stale_catalog();
  TimePoint origin_{};
  TimePoint up_at_{};
  std::unique_ptr<FlySimTarget> target_;
  std::unique_ptr<PrometheusServer> prom_;
  std::shared_ptr<PrometheusClient> api_;
  std::unique_ptr<PrometheusTrafficSource> source_;
};

TEST_F(PrometheusFlySim, ScenarioDemandThroughPromQLMatchesAndBackfillAgrees) {
  // The replay starts once Prometheus is likely scraping; whatever Prometheus's start-up took,
  // windows that begin before the first scrape are not judged (rate() cannot see before it).
  start(4s);
  if (IsSkipped()) return;
  const auto& scenario = target_->scenario();
  const TimePoint replay_end =
      origin_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                    60.0 * static_cast<double>(scenario.step_count()) / kSpeed));
  const TimePoint judged_from = std::max(origin_, up_at_) + kScrape * 3 + kWindow;
  const std::vector<std::string> origins = scenario.regions();

  // Live, mid-replay: every origin is known, and the edge-only ones map onto the stale catalog.
  auto live = read_when_ready(policy(), origins.size());
  ASSERT_TRUE(live.known) << live.reason;
  EXPECT_EQ(source_->last_mapping().edgeOnly, (std::vector<std::string>{"hkg", "waw"}));
  EXPECT_EQ(source_->last_mapping().toHostable.at("hkg"), "nrt");  // sin not hostable yet
  EXPECT_EQ(source_->last_mapping().toHostable.at("fra"), "fra");

  // The Machines API's region list (flysim answers it like Fly) refreshes the catalog in place;
  // the next read maps with it.
  fly::MachinesClientOptions mo;
  mo.app = kApp;
  mo.base_url = target_->url();
  SystemClock clock;
  auto machines = std::make_shared<fly::MachinesClient>(io_.get_executor(), mo, clock);
  auto refreshed = run_coro(io_, refresh_region_catalog(*machines, catalog_));
  ASSERT_TRUE(refreshed.ok()) << refreshed.error();
  EXPECT_EQ(refreshed->becameHostable, std::vector<std::string>{"sin"});
  EXPECT_EQ(refreshed->hostable, 18u);
  live = read_when_ready(policy(), origins.size());
  ASSERT_TRUE(live.known) << live.reason;
  EXPECT_EQ(source_->last_mapping().toHostable.at("hkg"), "sin");
  const auto folded = demand_by_nearest_hostable(live, catalog_);
  EXPECT_EQ(folded.count("hkg"), 0u);  // edge-only demand lands on hostable regions only
  EXPECT_EQ(folded.count("waw"), 0u);

  // Let the replay finish and the last samples land, then look back over all of it.
  std::this_thread::sleep_until(std::chrono::system_clock::now() + (replay_end - wall_now()) +
                                kWindow);
  const TimePoint from = std::chrono::ceil<std::chrono::seconds>(origin_);
  const TimePoint to = std::chrono::floor<std::chrono::seconds>(replay_end);
  const Duration step = 500ms;
  auto hist = run_coro(io_, source_->backfill(policy(), from, to, step));
  ASSERT_TRUE(hist.ok()) << hist.error();
  ASSERT_EQ(hist->size(), static_cast<std::size_t>((to - from) / step) + 1);

  std::size_t judged = 0, inside_a_step = 0;
  std::set<long> steps_seen;
  for (std::size_t k = 0; k < hist->size(); ++k) {
    const DemandReading& h = (*hist)[k];
    ASSERT_EQ(h.at, from + step * static_cast<std::int64_t>(k));
    // The instant query at the same time reads the same numbers.
    const auto instant = run_coro(io_, source_->read(policy(), h.at));
    ASSERT_EQ(instant.known, h.known) << to_unix_seconds(h.at) << ": " << instant.reason;
    ASSERT_EQ(instant.rps.size(), h.rps.size()) << to_unix_seconds(h.at);
    for (const auto& [region, rps] : h.rps) {
      ASSERT_EQ(instant.rps.count(region), 1u) << region;
      EXPECT_NEAR(instant.rps.at(region), rps, 1e-9 * std::max(1.0, rps)) << region;
    }
    if (h.at < judged_from) continue;
    ASSERT_TRUE(h.known) << to_unix_seconds(h.at) << ": " << h.reason;
    EXPECT_TRUE(h.unknown.empty());
    ++judged;
    if (step_at(h.at - kWindow - kSlack) == step_at(h.at + kSlack)) {
      ++inside_a_step;
      steps_seen.insert(step_at(h.at));
    }
    for (const auto& region : origins) {
      const double got = h.rps.count(region) ? h.rps.at(region) : 0.0;  // absent = zero
      const auto [lo, hi] = allowed(region, h.at);
      EXPECT_GE(got, lo) << region << " at +" << to_unix_seconds(h.at) - to_unix_seconds(origin_)
                         << " s";
      EXPECT_LE(got, hi) << region << " at +" << to_unix_seconds(h.at) - to_unix_seconds(origin_)
                         << " s";
    }
  }
  // The check had teeth: most of the replay was judged, and exactly (window inside one step) in
  // every step that had such a grid time after Prometheus's start-up -- all but the first, at
  // least, whatever the start-up took.
  EXPECT_GE(judged, hist->size() / 2);
  EXPECT_GE(inside_a_step, judged / 3);
  for (std::size_t i = 0; i < scenario.step_count(); ++i) {
    const TimePoint step_start = origin_ + std::chrono::duration_cast<Duration>(
                                               std::chrono::duration<double>(60.0 * i / kSpeed));
    const TimePoint step_end = step_start + std::chrono::duration_cast<Duration>(
                                                std::chrono::duration<double>(60.0 / kSpeed));
    const TimePoint first = std::max(step_start + kWindow + kSlack, judged_from);
    const bool judgeable = ceil_to_grid(first, from, step) + kSlack < step_end;
    EXPECT_TRUE(i == 0 || judgeable) << "step " << i;
    if (judgeable) {
      EXPECT_EQ(steps_seen.count(static_cast<long>(i)), 1u) << "step " << i;
    }
  }

  // Known zero is not unknown: hkg had no users in step 1 and reads 0 there, not "missing".
  const TimePoint in_step1 =
      origin_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(115.0 / kSpeed));
  if (in_step1 - kWindow >= judged_from) {
    const auto r = run_coro(io_, source_->read(policy(), in_step1));
    ASSERT_TRUE(r.known) << r.reason;
    ASSERT_EQ(r.rps.count("hkg"), 1u);
    EXPECT_NEAR(r.rps.at("hkg"), 0, 1e-9);
  }

  // The default queries ([1m] windows, histogram_quantile over flysim's edge histogram) run too,
  // and give each origin an edge p95: far from the machines (hkg) is slower than near (fra).
  PlacementPolicy defaults;
  defaults.metadata.name = "web";
  defaults.spec.app = kApp;
  const auto d = run_coro(io_, source_->read(defaults, to));
  ASSERT_TRUE(d.known) << d.reason;
  EXPECT_EQ(d.rps.size(), origins.size());
  ASSERT_EQ(d.p95LatencyMs.count("fra"), 1u);
  ASSERT_EQ(d.p95LatencyMs.count("hkg"), 1u);
  EXPECT_GT(d.p95LatencyMs.at("fra"), 0);
  EXPECT_GT(d.p95LatencyMs.at("hkg"), 2 * d.p95LatencyMs.at("fra"));
}

TEST_F(PrometheusFlySim, UnknownAppAndBadPromQLAreUnknown) {
  start();
  if (IsSkipped()) return;
  ASSERT_TRUE(read_when_ready(policy(), 5).known);

  auto p = policy();
  p.spec.app = "no-such-app";
  const auto none = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(none.known);
  EXPECT_NE(none.reason.find("empty result"), std::string::npos) << none.reason;

  p = policy("sum by (region) (rate(fly_edge_http_responses_count[2s]");
  const auto bad = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(bad.known);
  EXPECT_NE(bad.reason.find("bad_data"), std::string::npos) << bad.reason;

  // A query that forgot `by (region)`: unknown, and the reason says how to fix it.
  p = policy("sum(rate(fly_edge_http_responses_count{app=\"$APP\"}[2s]))");
  const auto flat = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(flat.known);
  EXPECT_NE(flat.reason.find("region"), std::string::npos) << flat.reason;
}

TEST_F(PrometheusFlySim, PrometheusKilledMidRunGivesUnknown) {
  start();
  if (IsSkipped()) return;
  const auto p = policy();
  ASSERT_TRUE(read_when_ready(p, 5).known);

  // Killed while a query is in flight: Prometheus is frozen first so the query is surely
  // waiting on it, then killed.
  prom_->pause();
  std::thread killer([this] {
    std::this_thread::sleep_for(300ms);
    prom_->kill();
  });
  const auto in_flight = run_coro(io_, source_->read(p, wall_now()));
  killer.join();
  EXPECT_FALSE(in_flight.known);
  // On a loaded machine the kill can land after the query time-out: either reason is a correct
  // "unknown, and why".
  EXPECT_TRUE(in_flight.reason.find("query failed: transport") != std::string::npos ||
              in_flight.reason.find("timeout") != std::string::npos)
      << in_flight.reason;

  // And gone: reads and backfills fail at once, with the reason.
  const auto r = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("query failed: transport"), std::string::npos) << r.reason;
  auto hist = run_coro(io_, source_->backfill(p, wall_now() - 10s, wall_now(), 1s));
  ASSERT_FALSE(hist.ok());
  EXPECT_NE(hist.error().find("transport"), std::string::npos) << hist.error();
}

TEST_F(PrometheusFlySim, HungPrometheusTimesOut) {
  start();
  if (IsSkipped()) return;
  auto p = policy();
  ASSERT_TRUE(read_when_ready(p, 5).known);
  // SIGSTOP: the kernel still accepts connections, nothing answers (a stuck server).
  prom_->pause();
  p.spec.traffic.queryTimeout = 500ms;
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("timeout"), std::string::npos) << r.reason;
  // Back from the pause: known again.
  prom_->resume();
  p.spec.traffic.queryTimeout = 5s;
  const auto again = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_TRUE(again.known) << again.reason;
}

TEST_F(PrometheusFlySim, ScrapesStoppingMakeDemandUnknown) {
  start();
  if (IsSkipped()) return;
  const auto p = policy();
  ASSERT_TRUE(read_when_ready(p, 5).known);
  // The app's metrics stop arriving (flysim gone): Prometheus marks the series stale, and once
  // the rate() window holds fewer than two samples the vector is empty -- unknown, not zero.
  target_->stop();
  DemandReading r;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    r = run_coro(io_, source_->read(p, wall_now()));
    if (!r.known) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("empty result"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace autoplacer::metrics
