// The reconcile loop against flysim over real loopback sockets: the real MachinesClient, the
// decision core, the diff and the executor, on a ManualClock the test advances between passes.
// Convergence from empty, from too many and beside a foreign mix; a region gained and lost as a
// scenario runs; capacity fallback; dry-run touches nothing; and the controller's HTTP endpoints
// (auth on /trigger, limits) over a real socket.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <thread>

#include "controller/controller.h"
#include "controller/http_api.h"
#include "controller/loop_test_util.h"
#include "controller/reconciler.h"
#include "controller/scenario_traffic_source.h"
#include "controller/state_store.h"
#include "fly/machines_client.h"
#include "metrics/fake_traffic_source.h"
#include "metrics/self_metrics.h"
#include "sim/flysim.h"

namespace autoplacer::controller {
namespace {
using namespace testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;

const TimePoint kT0 = from_unix_seconds(1'700'000'000);
constexpr const char* kApp = "demo-app";

sim::SeedMachine seed(std::string name, std::string region,
                      std::map<std::string, std::string> md = {}) {
  sim::SeedMachine s;
  s.name = std::move(name);
  s.region = std::move(region);
  s.metadata = {{"fly_process_group", "app"}};
  for (auto& [k, v] : md) s.metadata[k] = v;
  return s;
}

class LoopFlySim : public ::testing::Test {
 protected:
  void start(sim::FlySimOptions o, PlacementPolicy policy) {
    o.apps = {kApp};
    o.rate_limits.enabled = false;  // the test's clock does not move between requests
    sim_ = std::make_unique<sim::FlySim>(sim_ioc_.get_executor(), clock_, std::move(o), &clock_);
    auto port = sim_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { sim_ioc_.run(); });
    fly::MachinesClientOptions c;
    c.app = kApp;
    c.base_url = "http://127.0.0.1:" + std::to_string(*port);
    c.rate_limit = false;
    c.max_attempts = 2;
    c.backoff_base = 10ms;
    c.jitter_seed = 1;
    client_ = std::make_shared<fly::MachinesClient>(ioc_.get_executor(), c, clock_,
                                                    metrics_.api_observer());
    policy_ = std::move(policy);
    rec_ = std::make_unique<PolicyReconciler>(policy_, client_, env());
  }
  void TearDown() override {
    if (sim_) sim_->stop(0ms);
    for (auto& t : threads_) t.join();
  }
  ReconcilerEnv env() {
    ReconcilerEnv e;
    e.clock = &clock_;
    e.catalog = &RegionCatalog::builtin();
    e.traffic = traffic_;
    e.store = &store_;
    e.metrics = &metrics_;
    return e;
  }
  PassResult pass() { return run(ioc_, rec_->reconcile()); }
  // Passes 5 s apart (machines settle meanwhile) until one has nothing to do.
  PassResult converge(int max_passes = 12) {
    PassResult r;
    for (int i = 0; i < max_passes; ++i) {
      r = pass();
      EXPECT_TRUE(r.succeeded()) << r.message;
      clock_.advance(5s);
      if (!r.has_changes()) break;
    }
    return r;
  }
  std::map<std::string, int> serving() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> out;
      for (const auto* m : w.machines(kApp)) {
        const auto* md = m->config.if_contains("metadata");
        const bool app_group = md && md->is_object() &&
                               md->get_object().contains("fly_process_group") &&
                               md->get_object().at("fly_process_group") == "app";
        const bool other_policy = md && md->is_object() &&
                                  md->get_object().contains("autoplacer_policy") &&
                                  md->get_object().at("autoplacer_policy") != "web";
        if (app_group && !other_policy && m->serving()) ++out[m->region];
      }
      return out;
    });
  }
  std::uint64_t writes() {
    std::uint64_t n = 0;
    for (const auto& [key, count] : sim_->request_counts()) {
      const auto& op = key.first;
      if (op != "list" && op != "get" && op != "wait" && op != "regions") n += count;
    }
    return n;
  }
  std::map<std::string, std::string> versions() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, std::string> out;
      for (const auto* m : w.machines(kApp))
        out[m->name] = m->state + "/" + m->instance_id + (m->cordoned ? "/c" : "");
      return out;
    });
  }
  // No two live machines share an operation id: no create was done twice.
  void expect_no_duplicate_creates() {
    sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> ops;
      for (const auto* m : w.machines(kApp)) {
        if (m->state == "destroyed") continue;
        const auto* md = m->config.if_contains("metadata");
        if (md && md->is_object() && md->get_object().contains("autoplacer_op_id"))
          ++ops[std::string(md->get_object().at("autoplacer_op_id").as_string())];
      }
      for (const auto& [op, n] : ops) EXPECT_EQ(n, 1) << "operation " << op << " created twice";
      return 0;
    });
  }

  ManualClock clock_{kT0};
  asio::io_context sim_ioc_;
  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::unique_ptr<sim::FlySim> sim_;
  std::shared_ptr<fly::MachinesClient> client_;
  metrics::FakeTrafficSource fake_traffic_;
  metrics::TrafficSource* traffic_ = &fake_traffic_;
  FakeStateStore store_;
  metrics::SelfMetrics metrics_{"test"};
  PlacementPolicy policy_;
  std::unique_ptr<PolicyReconciler> rec_;
};

TEST_F(LoopFlySim, ConvergesBesideAForeignMixWithoutTouchingIt) {
  sim::FlySimOptions o;
  o.machines = sim::default_fleet(kApp);
  fake_traffic_.set_demand({{"iad", 40}, {"fra", 140}, {"nrt", 60}});
  start(std::move(o), loop_policy("web", kApp));
  auto before = versions();
  PassResult last = converge();
  EXPECT_FALSE(last.has_changes()) << format_plan(*last.plan);
  auto s = serving();
  for (const auto& [region, n] : last.decision->desired) EXPECT_EQ(s[region], n) << region;
  EXPECT_GT(s["fra"], 0);
  auto after = versions();
  for (auto name : {"worker-iad", "other-policy-lhr", "web-fra-deploying", "web-sin-unreachable"})
    EXPECT_EQ(after[name], before[name]) << name << " is not ours and must not change";
  expect_no_duplicate_creates();
  EXPECT_TRUE(rec_->status().is_true(ConditionType::kReady));
}

// docs/performance.md "Controller": when nothing changes a pass costs the Machines API one list
// of the app and nothing else: no re-list, no lease, no write, no wait. The passes run as the
// controller runs them (defer_apply: region applies are only queued when there are actions).
TEST_F(LoopFlySim, AnIdlePassMakesOneListCallAndNothingElse) {
  sim::FlySimOptions o;
  o.machines = sim::default_fleet(kApp);
  fake_traffic_.set_demand({{"iad", 40}, {"fra", 140}, {"nrt", 60}});
  start(std::move(o), loop_policy("web", kApp));
  PassResult last = converge();
  ASSERT_FALSE(last.has_changes()) << format_plan(*last.plan);
  auto total = [](const std::map<std::pair<std::string, std::string>, std::uint64_t>& counts) {
    std::map<std::string, std::uint64_t> by_op;
    for (const auto& [key, n] : counts) by_op[key.first] += n;
    return by_op;
  };
  const auto before = total(sim_->request_counts());
  constexpr int kPasses = 5;
  for (int i = 0; i < kPasses; ++i) {
    PassOptions po;
    po.defer_apply = true;
    PassResult r = run(ioc_, rec_->reconcile(po));
    ASSERT_TRUE(r.succeeded()) << r.message;
    EXPECT_FALSE(r.has_changes()) << format_plan(*r.plan);
    EXPECT_TRUE(r.dispatched.empty());
    clock_.advance(5s);
  }
  auto after = total(sim_->request_counts());
  for (const auto& [op, n] : before) after[op] -= n;
  for (const auto& [op, n] : after) {
    if (op == "list") {
      EXPECT_EQ(n, static_cast<std::uint64_t>(kPasses)) << "one list per pass";
    } else {
      EXPECT_EQ(n, 0u) << op << " calls in idle passes";
    }
  }
}

TEST_F(LoopFlySim, ConvergesFromEmptyAndFromTooMany) {
  sim::FlySimOptions o;
  o.machines = {seed("web-iad-original", "iad")};
  for (auto region : {"lhr", "syd", "gru", "jnb"})
    o.machines.push_back(
        seed(std::string("web-") + region, region, {{"autoplacer_policy", "web"}}));
  fake_traffic_.set_demand({{"iad", 120}});
  start(std::move(o), loop_policy("web", kApp));
  PassResult first = pass();
  ASSERT_TRUE(first.succeeded()) << first.message;
  clock_.advance(40s);  // past the add cooldown of the first pass's regions
  PassResult last = converge();
  auto s = serving();
  EXPECT_EQ(s["iad"], last.decision->desired["iad"]);
  for (auto region : {"lhr", "syd", "gru", "jnb"}) EXPECT_EQ(s[region], 0) << region;
  // Retired by stop (the policy's retire action), not destroyed.
  auto v = versions();
  EXPECT_EQ(v["web-lhr"].rfind("stopped", 0), 0u) << v["web-lhr"];
  expect_no_duplicate_creates();
}

TEST_F(LoopFlySim, ARegionIsGainedAndLostAsTheScenarioRuns) {
  // Users in Frankfurt for two minutes, then in Tokyo.
  auto scenario = sim::Scenario::parse_csv(
      "timestamp,region,rps\n0,fra,120\n0,nrt,0\n120,fra,0\n120,nrt,120\n", "shift");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  ScenarioTrafficSource replay(*scenario, kApp, kT0, 1, /*loop=*/false);
  traffic_ = &replay;
  sim::FlySimOptions o;
  o.machines = {seed("web-iad-original", "iad")};
  start(std::move(o), loop_policy("web", kApp));
  bool saw_fra = false, saw_nrt_after = false, lost_fra = false;
  for (int i = 0; i < 60; ++i) {  // 5 minutes of 5 s passes
    PassResult r = pass();
    ASSERT_TRUE(r.succeeded()) << r.message;
    clock_.advance(5s);
    auto s = serving();
    const auto t = clock_.now() - kT0;
    if (t < 120s && s["fra"] > 0) saw_fra = true;
    if (t > 120s && s["nrt"] > 0) saw_nrt_after = true;
    if (saw_fra && t > 120s && s["fra"] == 0) lost_fra = true;
  }
  EXPECT_TRUE(saw_fra) << "fra gained while its users were there";
  EXPECT_TRUE(saw_nrt_after) << "nrt gained when the users moved";
  EXPECT_TRUE(lost_fra) << "fra released after its users left (and its cooldown passed)";
  expect_no_duplicate_creates();
}

TEST_F(LoopFlySim, InsufficientCapacityFallsBackToANearbyRegion) {
  sim::FlySimOptions o;
  o.machines = {seed("web-iad-original", "iad")};
  o.capacity = {{"fra", 0}};
  fake_traffic_.set_demand({{"iad", 20}, {"fra", 140}});
  start(std::move(o), loop_policy("web", kApp));
  converge();
  auto s = serving();
  EXPECT_EQ(s["fra"], 0);
  int elsewhere = 0;
  for (const auto& [region, n] : s)
    if (region != "iad") elsewhere += n;
  EXPECT_GT(elsewhere, 0) << "fra's users are served from a fallback region";
  expect_no_duplicate_creates();
}

TEST_F(LoopFlySim, DryRunTouchesNothing) {
  sim::FlySimOptions o;
  o.machines = sim::default_fleet(kApp);
  fake_traffic_.set_demand({{"fra", 140}, {"nrt", 60}});
  PlacementPolicy p = loop_policy("web", kApp);
  p.spec.mode = Mode::kDryRun;
  start(std::move(o), p);
  auto before = versions();
  for (int i = 0; i < 4; ++i) {
    PassResult r = pass();
    ASSERT_TRUE(r.succeeded()) << r.message;
    if (i == 0) {
      EXPECT_TRUE(r.has_changes()) << "a plan to log";
    }
    ASSERT_TRUE(r.report);
    EXPECT_TRUE(r.report->dryRun);
    clock_.advance(5s);
  }
  EXPECT_EQ(writes(), 0u);
  EXPECT_EQ(versions(), before);
}

// ---- The HTTP endpoints over a real socket
// --------------------------------------------------------

struct Reply {
  int status = 0;  // 0: closed without an answer
  std::string body;
};

Reply call(std::uint16_t port, net::http::verb verb, const std::string& target,
           const std::string& auth = "", std::string body = "",
           std::map<std::string, std::string> headers = {}) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  net::Request req{verb, target, 11};
  req.set(net::http::field::host, "localhost");
  if (!auth.empty()) req.set(net::http::field::authorization, auth);
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  boost::system::error_code ec;
  net::http::write(s, req, ec);
  beast::flat_buffer buf;
  net::Response res;
  net::http::read(s, buf, res, ec);
  if (ec) return {};
  return {static_cast<int>(res.result_int()), res.body()};
}

TEST_F(LoopFlySim, HttpEndpointsWithTriggerAuthAndLimits) {
  sim::FlySimOptions o;
  o.machines = sim::default_fleet(kApp);
  fake_traffic_.set_demand({{"iad", 40}, {"fra", 140}});
  start(std::move(o), loop_policy("web", kApp));
  ControllerOptions co;
  co.fast_path = false;
  Controller controller(
      ioc_.get_executor(), env(),
      [this](const std::string&) -> std::shared_ptr<fly::MachinesApi> { return client_; }, co);
  controller.set_policies({policy_});
  HttpApiOptions ho;
  ho.trigger_token = "trigger-token-123456";
  ho.server.max_header_bytes = 4096;
  ho.server.max_body_bytes = 1024;
  ho.server.max_connections = 8;
  HttpApi api(ioc_.get_executor(), controller, ho);
  auto port = api.listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.error();
  asio::co_spawn(ioc_, controller.run(), asio::detached);
  std::thread loop([this] { ioc_.run(); });

  EXPECT_EQ(call(*port, net::http::verb::get, "/healthz").status, 200);
  EXPECT_EQ(call(*port, net::http::verb::post, "/trigger").status, 401);
  EXPECT_EQ(call(*port, net::http::verb::post, "/trigger", "Bearer nope").status, 401);
  Reply trig =
      call(*port, net::http::verb::post, "/trigger?policy=web", "Bearer trigger-token-123456");
  EXPECT_EQ(trig.status, 200) << trig.body;
  auto result = json::parse(trig.body).as_object();
  EXPECT_EQ(result.at("result").as_string(), "success") << trig.body;
  EXPECT_TRUE(result.contains("generation"));  // the controller's own first pass may have
                                               // applied the changes already
  EXPECT_EQ(call(*port, net::http::verb::get, "/readyz").status, 200);
  Reply status = call(*port, net::http::verb::get, "/status");
  EXPECT_EQ(status.status, 200);
  auto policies = json::parse(status.body).as_object().at("policies").as_array();
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].as_object().at("policy").as_string(), "web");
  Reply metrics = call(*port, net::http::verb::get, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("autoplacer_reconcile_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("workqueue_adds_total"), std::string::npos);
  EXPECT_NE(metrics.body.find("autoplacer_machines_api_requests_total"), std::string::npos);
  EXPECT_EQ(
      call(*port, net::http::verb::post, "/trigger?policy=nope", "Bearer trigger-token-123456")
          .status,
      404);
  // Limits: an oversized head and an oversized body are refused.
  EXPECT_EQ(
      call(*port, net::http::verb::get, "/status", "", "", {{"X-Big", std::string(8000, 'a')}})
          .status,
      431);
  EXPECT_EQ(call(*port, net::http::verb::post, "/trigger", "Bearer trigger-token-123456",
                 std::string(4096, 'x'))
                .status,
            413);

  asio::co_spawn(
      ioc_,
      [&]() -> asio::awaitable<void> {
        co_await controller.shutdown(2s);
        api.stop(0ms);
      },
      asio::detached);
  loop.join();
}

}  // namespace
}  // namespace autoplacer::controller
