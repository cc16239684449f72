// The whole system end to end (issue 8), on loopback:
//
//   edge flysim --(fly_edge_* on /metrics)--> Prometheus <--(/metrics)-- autoplacer run
//                                                 ^                           |
//                                                 +--- demand (PromQL) -------+
//   Machines flysim <--------------------- Machines API (token) -------------+
//
// - `autoplacer run` reads demand through a real Prometheus (--prometheus-url) that scrapes
//   flysim's edge metrics every 500 ms, and places machines in flysim (--fly-api-url, a token).
//   The traffic fixture (tests/fixtures/e2e/traffic-shift.csv) replays fra-heavy demand for 25 s,
//   then moves it to syd: machines appear in fra, then in syd, and leave fra.
// - Every alert expression of deploy/prometheus/alerts.yml is queried on that Prometheus, which
//   also scrapes the controller (job "autoplacer") and loads the rule file: while healthy none
//   returns a series and every rule evaluates without error; then failures are induced one by
//   one and the matching expression returns series: an invalid policy file, creates failing in syd
//   (actions fail, placement does not converge), Machines API answering 503 and 429 (reconciles
//   fail), the edge metrics gone (demand unknown: the placement is held), the controller hung
//   (down, absent).
// - `promtool check metrics` accepts the controller's exposition.
//
// Two flysims: the edge metrics and the Machines API are different services at Fly as well
// (api.fly.io/prometheus and api.machines.dev), and stopping the edge one takes Prometheus's view
// of traffic away while the Machines API keeps working.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "common/clock.h"
#include "e2e/child_process.h"
#include "e2e/prometheus_query.h"
#include "sim/flysim.h"
#include "support/prometheus_server.h"

namespace autoplacer::e2e {
namespace {
namespace fs = std::filesystem;
namespace http = boost::beast::http;
using autoplacer::testing::PrometheusServer;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr const char* kApp = "e2e-app";
constexpr const char* kPolicy = "e2e";
// A fake token: the Machines flysim requires it, and it must never show in any output.
constexpr const char* kToken = "fm2_e2eSecretTokenValue_do_not_log_31337";
constexpr double kSpeed = 12;              // a 300 s scenario step lasts 25 s
constexpr auto kPhaseB = 25s;              // when traffic moves from fra to syd
constexpr auto kScrape = 500ms;            // Prometheus scrape and rule evaluation interval
constexpr const char* kTestWindow = "6s";  // alert ranges on the test's time scale

// flysim on its own thread and the system clock, like a remote server.
class SimThread {
 public:
  explicit SimThread(sim::FlySimOptions o) {
    o.tick = 100ms;
    sim_ = std::make_unique<sim::FlySim>(ioc_.get_executor(), clock_, std::move(o));
    auto port = sim_->start("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << (port.ok() ? "" : port.error());
    port_ = port.ok() ? *port : 0;
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~SimThread() { stop(); }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    sim_->stop(0ms);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  sim::FlySim& sim() { return *sim_; }

  // The policy's live machines by region (serving or about to).
  std::map<std::string, int> owned_active() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> out;
      for (const auto* m : w.machines(kApp)) {
        const auto* md = m->config.if_contains("metadata");
        if (!md || !md->is_object() || !md->get_object().contains("autoplacer_policy")) continue;
        if (m->state == "started" || m->state == "starting" || m->state == "created" ||
            m->state == "creating")
          ++out[m->region];
      }
      return out;
    });
  }

 private:
  SystemClock clock_;
  boost::asio::io_context ioc_;
  std::unique_ptr<sim::FlySim> sim_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

std::string fleet_text(const std::map<std::string, int>& fleet) {
  std::string s;
  for (const auto& [region, n] : fleet) s += region + "=" + std::to_string(n) + " ";
  return s.empty() ? "(none)" : s;
}

// Polls `done` every 200 ms until it holds or `timeout` passes, reading the child's output
// meanwhile (a full pipe would block it).
bool eventually(Child& child, std::chrono::milliseconds timeout,
                const std::function<bool()>& done) {
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Steady::now() >= deadline) return false;
    child.pump(200ms);
  }
}

// The time left until `deadline` (zero when past).
std::chrono::milliseconds until(Steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
  return std::max(left, std::chrono::milliseconds(0));
}

sim::FaultRule error_rule(const std::string& operation, int status, double probability) {
  sim::FaultRule r;
  r.operation = operation;
  r.kind = sim::FaultKind::kError;
  r.status = status;
  r.probability = probability;
  return r;
}

class PlacementAlertsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PrometheusServer::available()) GTEST_SKIP() << "prometheus not installed";
    if (std::system("command -v promtool > /dev/null 2>&1") != 0)
      GTEST_SKIP() << "promtool not installed";
    rules_ = load_alert_rules(kSourceDir + "/deploy/prometheus/alerts.yml");
    ASSERT_GE(rules_.size(), 7u);
  }

  const AlertRule& rule(const std::string& name) const {
    for (const auto& r : rules_)
      if (r.name == name) return r;
    throw std::runtime_error("no alert " + name + " in alerts.yml");
  }

  // Waits until the alert's expression (ranges compressed to the test's scale) returns a series
  // matching `want`; fails the test with the last answer otherwise.
  void expect_fires(PrometheusServer& prom, Child& child, const std::string& alert,
                    std::chrono::milliseconds timeout,
                    const std::function<bool(const Sample&)>& want = {}) {
    const std::string expr = compress_ranges(rule(alert).expr, kTestWindow);
    QueryResult last;
    const bool fired = eventually(child, timeout, [&] {
      last = instant_query(prom, expr);
      if (!last.ok) return false;
      for (const auto& s : last.series)
        if (!want || want(s)) return true;
      return false;
    });
    EXPECT_TRUE(fired) << alert << " did not fire within " << timeout.count() << " ms\n"
                       << expr << "\nlast answer: " << describe(last);
  }

  std::vector<AlertRule> rules_;
};

TEST_F(PlacementAlertsE2E, PlacementsFollowTrafficAndAlertsEvaluateOnRealScrapedData) {
  const auto dir = temp_dir("placement");
  const fs::path policy_file = dir / "policy.yaml";
  const std::string good_policy = read_file(kFixtures + "/e2e/policy.yaml");
  ASSERT_FALSE(good_policy.empty());
  write_file(policy_file, good_policy);

  // The Machines API: the app with the user's own machine in iad (not the controller's).
  sim::FlySimOptions fo;
  fo.apps = {kApp};
  fo.token = kToken;
  fo.delays.create = 300ms;
  fo.delays.start = 100ms;
  fo.delays.stop = 100ms;
  fo.delays.destroy = 100ms;
  sim::SeedMachine original;
  original.name = "web-iad-original";
  original.region = "iad";
  original.metadata = {{"fly_process_group", "app"}};
  fo.machines = {original};
  SimThread fly(std::move(fo));

  // The edge: the traffic fixture replayed 12x (phase A, fra-heavy, is its first 25 s).
  auto scenario = sim::Scenario::load_csv(kFixtures + "/e2e/traffic-shift.csv");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  sim::FlySimOptions eo;
  eo.apps = {kApp};
  eo.scenario = *scenario;
  eo.speed = kSpeed;
  const auto traffic_origin = Steady::now();
  SimThread edge(std::move(eo));

  const int controller_port = autoplacer::testing::free_loopback_port();
  const std::string controller_address = "127.0.0.1:" + std::to_string(controller_port);
  autoplacer::testing::PrometheusServerOptions po;
  po.targets = {edge.address()};
  po.jobs = {{"autoplacer", {controller_address}}};
  po.scrapeInterval = kScrape;
  po.ruleFiles = {kSourceDir + "/deploy/prometheus/alerts.yml"};
  auto started = PrometheusServer::start(po);
  ASSERT_TRUE(started.ok()) << started.error();
  PrometheusServer& prom = **started;

  Child controller({"run", "--policy", policy_file.string(), "--listen", controller_address,
                    "--fly-api-url", "http://" + fly.address(), "--prometheus-url", prom.url(),
                    "--state-dir", (dir / "state").string(), "--shutdown-grace", "5s"},
                   {{"FLY_API_TOKEN", kToken}});
  auto port = controller.wait_for_port(30s);
  ASSERT_TRUE(port) << controller.output();
  ASSERT_EQ(*port, controller_port);
  auto up = prom.wait_for_targets_up(30s);
  ASSERT_TRUE(up.ok()) << up.error() << "\n" << prom.log();

  // ---- Phase A: users in fra (150 req/s) and iad (20): machines appear in fra. ----------------
  std::map<std::string, int> fleet;
  ASSERT_TRUE(eventually(controller, until(traffic_origin + kPhaseB - 2s),
                         [&] {
                           fleet = fly.owned_active();
                           return fleet["fra"] >= 3 && fleet["syd"] == 0;
                         }))
      << "no machines in fra: " << fleet_text(fleet) << "\n"
      << controller.output();

  // Healthy: every alert expression, as written, returns nothing (a pass may be mid-change, so
  // allow a few seconds for the running and desired gauges to agree), and every rule loaded into
  // Prometheus evaluates without error.
  std::map<std::string, QueryResult> firing;
  const bool quiet = eventually(controller, 8s, [&] {
    firing.clear();
    for (const auto& r : rules_) {
      auto q = instant_query(prom, r.expr);
      if (!q.ok || !q.series.empty()) firing[r.name] = q;
    }
    return firing.empty();
  });
  EXPECT_TRUE(quiet) << [&] {
    std::string s = "alert expressions firing while healthy:";
    for (const auto& [name, q] : firing) s += "\n" + name + ": " + describe(q);
    return s;
  }();
  {
    auto rules = prom.get("/api/v1/rules?type=alert");
    ASSERT_TRUE(rules.ok()) << rules.error();
    auto doc = boost::json::parse(*rules);
    std::size_t evaluated = 0;
    for (const auto& g : doc.at("data").at("groups").as_array())
      for (const auto& r : g.at("rules").as_array()) {
        ++evaluated;
        EXPECT_EQ(r.at("health"), "ok") << r.at("name") << ": " << boost::json::serialize(r);
      }
    EXPECT_EQ(evaluated, rules_.size());
  }
  // The expressions read series that exist in the scraped data: a misspelt name would keep an
  // alert silent forever.
  for (const auto& r : rules_)
    for (const auto& name : metric_names(r.expr)) {
      auto q = instant_query(prom, "count({__name__=\"" + name + "\"})");
      EXPECT_TRUE(q.ok && !q.series.empty())
          << r.name << " reads " << name << ", which the controller does not export";
    }

  // promtool accepts the controller's exposition.
  auto exposition = http_get(controller_port, "/metrics");
  ASSERT_EQ(exposition.status, 200);
  auto checked = run_with_stdin("promtool check metrics", exposition.body, dir);
  EXPECT_EQ(checked.exit_code, 0) << checked.output;

  // An invalid policy file: the last good policy keeps running and the alert says so.
  write_file(policy_file, good_policy + "  unknownField: [\n");
  expect_fires(prom, controller, "AutoplacerPolicyInvalid", 10s,
               [](const Sample& s) { return s.labels.at("policy") == kPolicy; });
  write_file(policy_file, good_policy);
  EXPECT_TRUE(eventually(controller, 10s, [&] {
    auto q = instant_query(prom, rule("AutoplacerPolicyInvalid").expr);
    return q.ok && q.series.empty();
  })) << "AutoplacerPolicyInvalid still fires after the policy was fixed";

  // ---- Phase B: the users move to syd. Creates fail at first (a 422: surely not applied; a
  // 5xx would leave the outcome unknown, to be settled by the next list, not an error). --------
  fly.sim().set_faults({error_rule("create", 422, 1)}, 7);
  expect_fires(prom, controller, "AutoplacerPlacementNotConverging",
               until(traffic_origin + kPhaseB + 15s),
               [](const Sample& s) { return s.labels.at("region") == "syd"; });
  expect_fires(prom, controller, "AutoplacerActionsFailing", 15s,
               [](const Sample& s) { return s.labels.at("action") == "create"; });
  fly.sim().set_faults({}, 7);
  // Machines follow: syd gets them, fra's go.
  EXPECT_TRUE(eventually(controller, 25s,
                         [&] {
                           fleet = fly.owned_active();
                           return fleet["syd"] >= 3 && fleet["fra"] == 0;
                         }))
      << "placement did not follow the users to syd: " << fleet_text(fleet) << "\n"
      << controller.output();
  EXPECT_TRUE(eventually(controller, 10s, [&] {
    auto q = instant_query(prom, rule("AutoplacerPlacementNotConverging").expr);
    return q.ok && q.series.empty();
  })) << "AutoplacerPlacementNotConverging still fires after convergence";

  // ---- The Machines API fails: 503s and 429s on every list. ---------------------------------
  fly.sim().set_faults({error_rule("list", 429, 0.3), error_rule("list", 503, 1)}, 11);
  const auto faults_from = Steady::now();
  // Generous: a failing pass first spends its read retries (and 429 Retry-After waits) in the
  // Machines client, so its error can land seconds after the faults start. 15 s was once too
  // short on an idle 2-core machine.
  expect_fires(prom, controller, "AutoplacerReconcileFailing", 40s);
  expect_fires(prom, controller, "AutoplacerMachinesApiErrors", 10s,
               [](const Sample& s) { return s.labels.at("operation") == "list"; });
  expect_fires(prom, controller, "AutoplacerMachinesApiRateLimited", 10s,
               [](const Sample& s) { return s.labels.at("operation") == "list"; });
  // No successful pass since the faults began: the age the alert compares with 150 s grows with
  // them (seconds, not milliseconds).
  {
    const std::string age =
        "time() - max by (policy) (autoplacer_last_successful_reconcile_timestamp_seconds)";
    EXPECT_NE(rule("AutoplacerNoSuccessfulReconcile").expr.find(age), std::string::npos);
    auto q = instant_query(prom, age);
    ASSERT_TRUE(q.ok && q.series.size() == 1) << describe(q);
    const double failing_for = std::chrono::duration<double>(Steady::now() - faults_from).count();
    EXPECT_GT(q.series[0].value, failing_for - 4) << describe(q);
    EXPECT_LT(q.series[0].value, failing_for + 4) << describe(q);
  }
  fly.sim().set_faults({}, 11);

  // ---- Prometheus loses the edge metrics: demand unknown, the placement is held. -------------
  // Settled again after the faults: the same fleet for 3 s (a pass may have been retrying an
  // action, or still retiring a surplus machine created while creates failed and were retried).
  auto last = fly.owned_active();
  auto stable_since = Steady::now();
  EXPECT_TRUE(eventually(controller, 20s, [&] {
    fleet = fly.owned_active();
    if (fleet != last) {
      last = fleet;
      stable_since = Steady::now();
    }
    return fleet["syd"] >= 3 && fleet["fra"] == 0 && Steady::now() - stable_since >= 3s;
  })) << fleet_text(fleet);
  const auto converged = fly.owned_active();
  const std::size_t output_before = controller.output().size();
  edge.stop();
  expect_fires(prom, controller, "AutoplacerMetricsUnavailable", 15s,
               [](const Sample& s) { return s.labels.at("policy") == kPolicy; });
  controller.pump(2s);
  EXPECT_EQ(fly.owned_active(), converged) << "machines changed while demand was unknown\n"
                                           << controller.output().substr(output_before);
  {
    auto status = http_get(controller_port, "/status");
    EXPECT_NE(status.body.find("MetricsUnavailable"), std::string::npos) << status.body;
  }

  // ---- The controller hangs: Prometheus cannot scrape it. ----------------------------------
  controller.signal(SIGSTOP);
  expect_fires(prom, controller, "AutoplacerDown", 10s);
  expect_fires(prom, controller, "AutoplacerAbsent", 10s);
  controller.signal(SIGCONT);

  controller.signal(SIGTERM);
  auto st = controller.wait(30s);
  ASSERT_TRUE(st) << "did not exit after SIGTERM\n" << controller.output();
  EXPECT_EQ(exit_code(st), 0) << controller.output();
  // The token never shows in the controller's output.
  EXPECT_EQ(controller.output().find(kToken), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace autoplacer::e2e
