// The traffic source against a real Prometheus (Debian `prometheus`, started by the test on a
// loopback port) scraping Fly-style edge counters: demand per origin region read through PromQL
// matches the rates the counters grow at, an instant read and a range backfill agree, and a
// Prometheus that goes away mid-run gives an unknown reading with a reason.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cmath>
#include <thread>

#include "common/clock.h"
#include "metrics/prometheus_client.h"
#include "metrics/prometheus_traffic_source.h"
#include "metrics/run_coro.h"
#include "metrics/test_http_server.h"
#include "support/prometheus_server.h"

namespace autoplacer::metrics {
namespace {
using autoplacer::testing::PrometheusServer;
using testing::EdgeCounterTarget;
using testing::run_coro;
using namespace std::chrono_literals;

// A short rate() window so the test needs seconds, not minutes, of scraped data.
constexpr const char* kShortQuery =
    "sum by (region) (rate(fly_edge_http_responses_count{app=\"$APP\"}[5s]))";
// rate() extrapolates from samples a scrape interval apart; counters here grow linearly, so the
// remaining error is scrape timing jitter against a 5 s window.
constexpr double kTolerance = 0.05;

PlacementPolicy policy(const std::string& app) {
  PlacementPolicy p;
  p.metadata.name = "web";
  p.spec.app = app;
  p.spec.traffic.query = kShortQuery;
  p.spec.traffic.queryTimeout = 5s;
  return p;
}

TimePoint wall_now() {
  return SystemClock{}.now();
}

class PrometheusIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PrometheusServer::available()) GTEST_SKIP() << "prometheus binary not installed";
    target_ = std::make_unique<EdgeCounterTarget>("web-app");
    target_->set_rate("fra", 20);
    target_->set_rate("syd", 5);
    target_->set_rate("hkg", 2.5);  // an edge-only origin
    auto prom = PrometheusServer::start({.targets = {target_->server().host_port()}});
    ASSERT_TRUE(prom.ok()) << prom.error();
    prom_ = std::move(*prom);
    auto up = prom_->wait_for_targets_up(30s);
    ASSERT_TRUE(up.ok()) << up.error() << "\n" << prom_->log();
    api_ = PrometheusClient::create(io_.get_executor(), {.url = prom_->url()});
    source_ = std::make_unique<PrometheusTrafficSource>(api_, RegionCatalog::builtin());
  }

  // Polls until a read is known and has every expected region (scrapes are still arriving).
  DemandReading read_when_ready(const PlacementPolicy& p, std::size_t regions) {
    DemandReading r;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      r = run_coro(io_, source_->read(p, wall_now()));
      if (r.known && r.rps.size() >= regions) break;
      std::this_thread::sleep_for(250ms);
    }
    return r;
  }

  boost::asio::io_context io_;
  std::unique_ptr<EdgeCounterTarget> target_;
  std::unique_ptr<PrometheusServer> prom_;
  std::shared_ptr<PrometheusClient> api_;
  std::unique_ptr<PrometheusTrafficSource> source_;
};

TEST_F(PrometheusIntegration, DemandByOriginMatchesTheCountersAndBackfillAgrees) {
  const auto p = policy("web-app");
  ASSERT_TRUE(read_when_ready(p, 3).known);
  // Let the 5 s rate() windows of the instant read and of the whole backfill range (4 s before
  // it) lie after the first scrape: rate() extrapolates only half an interval at a series' start.
  std::this_thread::sleep_for(11s);

  // Whole seconds, so the instant time lies exactly on the backfill grid.
  const TimePoint now = std::chrono::floor<std::chrono::seconds>(wall_now());
  const auto r = run_coro(io_, source_->read(p, now));
  ASSERT_TRUE(r.known) << r.reason;
  EXPECT_TRUE(r.unknown.empty());
  ASSERT_EQ(r.rps.size(), 3u);
  EXPECT_NEAR(r.rps.at("fra"), 20, 20 * kTolerance);
  EXPECT_NEAR(r.rps.at("syd"), 5, 5 * kTolerance);
  EXPECT_NEAR(r.rps.at("hkg"), 2.5, 2.5 * kTolerance);
  // Keyed by origin; the edge-only origin's nearest hostable region is exposed.
  EXPECT_EQ(source_->last_mapping().edgeOnly, std::vector<std::string>{"hkg"});
  EXPECT_TRUE(RegionCatalog::builtin().hostable(source_->last_mapping().toHostable.at("hkg")));

  // Backfill: the last 5 s, one reading a second, oldest first, ending at the instant read.
  auto hist = run_coro(io_, source_->backfill(p, now - 4s, now, 1s));
  ASSERT_TRUE(hist.ok()) << hist.error();
  ASSERT_EQ(hist->size(), 5u);
  for (std::size_t i = 0; i < hist->size(); ++i) {
    const auto& h = (*hist)[i];
    EXPECT_EQ(h.at, now - 4s + std::chrono::seconds(i));
    ASSERT_TRUE(h.known) << h.reason;
    EXPECT_NEAR(h.rps.at("fra"), 20, 20 * kTolerance);
  }
  // The same evaluation time gives the same numbers, instant or range.
  const auto& last = hist->back();
  for (const auto& [region, rps] : r.rps) {
    ASSERT_EQ(last.rps.count(region), 1u) << region;
    EXPECT_NEAR(last.rps.at(region), rps, 1e-9 * std::max(1.0, rps)) << region;
  }
}

TEST_F(PrometheusIntegration, FollowsARateChange) {
  const auto p = policy("web-app");
  ASSERT_TRUE(read_when_ready(p, 3).known);
  target_->set_rate("fra", 60);
  target_->set_rate("syd", 0);
  std::this_thread::sleep_for(7s);
  const auto r = run_coro(io_, source_->read(p, wall_now()));
  ASSERT_TRUE(r.known) << r.reason;
  EXPECT_NEAR(r.rps.at("fra"), 60, 60 * kTolerance);
  EXPECT_NEAR(r.rps.at("syd"), 0, 0.05);  // present and zero: users gone, known
}

TEST_F(PrometheusIntegration, DefaultQueriesRunAndUnknownAppIsUnknown) {
  PlacementPolicy p;
  p.spec.app = "web-app";  // the default queries, [1m] window and histogram_quantile
  const auto r = read_when_ready(p, 3);
  ASSERT_TRUE(r.known) << r.reason;
  EXPECT_EQ(r.rps.size(), 3u);
  EXPECT_TRUE(r.p95LatencyMs.empty());  // no histogram exported: no latency, demand still known

  p.spec.app = "no-such-app";
  const auto none = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(none.known);
  EXPECT_NE(none.reason.find("empty result"), std::string::npos) << none.reason;

  p.spec.app = "web-app";
  p.spec.traffic.query = "sum by (region) (rate(fly_edge_http_responses_count[5s]";
  const auto bad = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(bad.known);
  EXPECT_NE(bad.reason.find("bad_data"), std::string::npos) << bad.reason;
}

TEST_F(PrometheusIntegration, PrometheusStoppedMidRunGivesUnknown) {
  const auto p = policy("web-app");
  ASSERT_TRUE(read_when_ready(p, 3).known);
  prom_->kill();
  const auto r = run_coro(io_, source_->read(p, wall_now()));
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("query failed"), std::string::npos) << r.reason;
  auto hist = run_coro(io_, source_->backfill(p, wall_now() - 10s, wall_now(), 1s));
  EXPECT_FALSE(hist.ok());
}

TEST_F(PrometheusIntegration, ScrapesStoppingMakeDemandUnknown) {
  const auto p = policy("web-app");
  ASSERT_TRUE(read_when_ready(p, 3).known);
  // The target disappears (the app's metrics stop arriving): once the rate() window holds fewer
  // than two samples, the vector is empty -- unknown, not zero.
  target_.reset();
  DemandReading r;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    r = run_coro(io_, source_->read(p, wall_now()));
    if (!r.known) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("empty result"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace autoplacer::metrics
