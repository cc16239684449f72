// The reconcile loop with fakes only (FakeMachinesApi, FakeTrafficSource, FakeStateStore, a
// ManualClock): one pass's contract, the fast path, dry-run, write-ahead state, restart, the
// controller's triggers and readiness, the HTTP routes and the policy watcher.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "controller/controller.h"
#include "controller/http_api.h"
#include "controller/loop_test_util.h"
#include "controller/policy_watcher.h"
#include "controller/reconciler.h"
#include "controller/scenario_traffic_source.h"
#include "controller/state_store.h"
#include "fly/fake_machines_api.h"
#include "metrics/fake_traffic_source.h"
#include "metrics/self_metrics.h"

namespace autoplacer::controller {
namespace {
using namespace testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;

const TimePoint kT0 = from_unix_seconds(1'700'000'000);

int writes(const fly::FakeMachinesApi& api) {
  int n = 0;
  for (const auto& c : api.calls())
    if (c.operation != "list" && c.operation != "get" && c.operation != "regions" &&
        c.operation != "wait")
      ++n;
  return n;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_shared<fly::FakeMachinesApi>("test-app", &clock_);
    api_->add_machine(machine("orig-iad", "iad"));  // the app's original machine: a clone source
  }
  ReconcilerEnv env() {
    ReconcilerEnv e;
    e.clock = &clock_;
    e.catalog = &RegionCatalog::builtin();
    e.traffic = &traffic_;
    e.store = &store_;
    e.leader = gate_;
    e.metrics = &metrics_;
    return e;
  }
  std::unique_ptr<PolicyReconciler> make(PlacementPolicy p) {
    return std::make_unique<PolicyReconciler>(std::move(p), api_, env());
  }
  PassResult pass(PolicyReconciler& r, PassOptions o = {}) { return run(ioc_, r.reconcile(o)); }
  // Passes until one makes no change (at most n), advancing the clock between them.
  PassResult converge(PolicyReconciler& r, int n = 8) {
    PassResult last;
    for (int i = 0; i < n; ++i) {
      last = pass(r);
      if (!last.has_changes()) break;
      clock_.advance(5s);
    }
    return last;
  }

  ManualClock clock_{kT0};
  asio::io_context ioc_;
  std::shared_ptr<fly::FakeMachinesApi> api_;
  metrics::FakeTrafficSource traffic_;
  FakeStateStore store_;
  metrics::SelfMetrics metrics_{"test"};
  const LeaderGate* gate_ = nullptr;
};

TEST_F(ReconcilerTest, ConvergesToDemandAndThenHasNothingToDo) {
  traffic_.set_demand({{"fra", 160}, {"iad", 20}});
  auto rec = make(loop_policy());
  PassResult first = pass(*rec);
  ASSERT_TRUE(first.succeeded()) << first.message;
  EXPECT_TRUE(first.has_changes());
  EXPECT_GT(first.decision->desired["fra"], 0);
  clock_.advance(5s);
  PassResult last = converge(*rec);
  ASSERT_TRUE(last.succeeded()) << last.message;
  EXPECT_FALSE(last.has_changes()) << format_plan(*last.plan);
  auto active = active_by_region(api_->machines(), rec->policy());
  EXPECT_EQ(active["fra"], last.decision->desired["fra"]);
  EXPECT_TRUE(rec->first_pass_succeeded());
  EXPECT_TRUE(rec->status().is_true(ConditionType::kReady));
  EXPECT_TRUE(rec->status().is_true(ConditionType::kMetricsAvailable));
  EXPECT_FALSE(rec->status().is_true(ConditionType::kDegraded));
  EXPECT_FALSE(rec->status().recent_decisions().empty());
  // Metrics were exported for the policy.
  const std::string text = metrics_.serialize();
  EXPECT_NE(text.find("policy=\"web\""), std::string::npos);
}

TEST_F(ReconcilerTest, DryRunDecidesAndTouchesNothing) {
  traffic_.set_demand({{"fra", 160}});
  PlacementPolicy p = loop_policy();
  p.spec.mode = Mode::kDryRun;
  auto rec = make(p);
  for (int i = 0; i < 3; ++i) {
    PassResult r = pass(*rec);
    ASSERT_TRUE(r.succeeded()) << r.message;
    EXPECT_TRUE(r.has_changes());
    ASSERT_TRUE(r.report);
    EXPECT_TRUE(r.report->dryRun);
    clock_.advance(5s);
  }
  EXPECT_EQ(writes(*api_), 0);
  EXPECT_EQ(api_->machines().size(), 1u);
  const Condition* able = rec->status().condition(ConditionType::kAbleToScale);
  ASSERT_NE(able, nullptr);
  EXPECT_EQ(able->reason, "DryRun");
}

TEST_F(ReconcilerTest, PlanOnlySavesNothingAndChangesNothing) {
  traffic_.set_demand({{"fra", 160}});
  auto rec = make(loop_policy());
  PassOptions o;
  o.plan_only = true;
  PassResult r = pass(*rec, o);
  ASSERT_TRUE(r.succeeded());
  EXPECT_TRUE(r.has_changes());
  EXPECT_FALSE(r.report);
  EXPECT_EQ(writes(*api_), 0);
  EXPECT_EQ(store_.calls(FakeStateStore::Op::kSave), 0);
}

TEST_F(ReconcilerTest, StateIsSavedBeforeActingAndAFailedSaveAppliesNothing) {
  traffic_.set_demand({{"fra", 160}});
  store_.fail_next(FakeStateStore::Op::kSave, StateError{StateError::Kind::kIo, "disk full"});
  auto rec = make(loop_policy());
  PassResult r = pass(*rec);
  EXPECT_EQ(r.result, "error");
  EXPECT_EQ(r.reason, "StateSaveFailed");
  EXPECT_EQ(writes(*api_), 0);
  EXPECT_TRUE(rec->status().is_true(ConditionType::kDegraded));
  // The next pass (disk fine again) acts.
  clock_.advance(5s);
  PassResult again = pass(*rec);
  ASSERT_TRUE(again.succeeded()) << again.message;
  EXPECT_GT(writes(*api_), 0);
}

TEST_F(ReconcilerTest, ARestartResumesCooldownsAndTheGenerationCounter) {
  traffic_.set_demand({{"fra", 160}});
  PlacementPolicy p = loop_policy();
  p.spec.behavior.cooldownAfterAdd = std::chrono::hours(1);
  auto rec = make(p);
  ASSERT_TRUE(pass(*rec).succeeded());
  clock_.advance(5s);
  converge(*rec);
  const auto& before = rec->decision_state().regions;
  ASSERT_TRUE(before.contains("fra"));
  ASSERT_TRUE(before.at("fra").addedAtMs.has_value());
  const auto added_at = *before.at("fra").addedAtMs;
  const auto generation = rec->status_json().as_object().at("passes").as_uint64();

  auto restarted = make(p);  // same store, same fleet
  run(ioc_, [&]() -> asio::awaitable<int> {
    co_await restarted->load_state();
    co_return 0;
  }());
  ASSERT_TRUE(restarted->decision_state().regions.contains("fra"));
  EXPECT_EQ(restarted->decision_state().regions.at("fra").addedAtMs, added_at);
  // Demand leaves fra right away: the cooldown (1 h after the add) still holds the machines.
  traffic_.set_demand({{"iad", 20}});
  api_->clear_calls();
  PassResult r = pass(*restarted);
  ASSERT_TRUE(r.succeeded()) << r.message;
  EXPECT_GT(r.generation, generation);
  EXPECT_GT(r.decision->desired["fra"], 0) << "cooldown forgotten across the restart";
  EXPECT_EQ(api_->count("create"), 0u) << "a restart must not create again";
}

TEST_F(ReconcilerTest, AFailedListIsAnErrorAndActsOnNothing) {
  traffic_.set_demand({{"fra", 160}});
  api_->fail_next("list", fly::FakeMachinesApi::http_error(503));
  auto rec = make(loop_policy());
  PassResult r = pass(*rec);
  EXPECT_EQ(r.result, "error");
  EXPECT_EQ(r.reason, "MachinesApiError");
  EXPECT_EQ(writes(*api_), 0);
  EXPECT_FALSE(rec->status().is_true(ConditionType::kReady));
  EXPECT_FALSE(rec->first_pass_succeeded());
}

TEST_F(ReconcilerTest, UnknownDemandHoldsThePlacement) {
  traffic_.set_unknown("query failed: timeout");
  auto rec = make(loop_policy());
  PassResult r = pass(*rec);
  ASSERT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(api_->count("create") + api_->count("stop"), 0u);
  EXPECT_FALSE(rec->status().is_true(ConditionType::kMetricsAvailable));
}

TEST_F(ReconcilerTest, AFollowerSkipsThePass) {
  FunctionGate follower([] { return false; }, [] { return std::string("follower"); });
  gate_ = &follower;
  traffic_.set_demand({{"fra", 160}});
  auto rec = make(loop_policy());
  PassResult r = pass(*rec);
  EXPECT_EQ(r.result, "skipped");
  EXPECT_EQ(r.reason, "NotLeader");
  EXPECT_TRUE(api_->calls().empty());
}

TEST_F(ReconcilerTest, FastPathReportsASpikeOnceUntilTheNextPass) {
  traffic_.set_demand({{"fra", 10}});
  auto rec = make(loop_policy());
  EXPECT_FALSE(run(ioc_, rec->sample_spike()).has_value()) << "no spike before the first pass";
  ASSERT_TRUE(pass(*rec).succeeded());
  traffic_.set_demand({{"fra", 15}});
  EXPECT_FALSE(run(ioc_, rec->sample_spike()).has_value()) << "1.5x is below spikeFactor 2";
  traffic_.set_demand({{"fra", 100}});
  auto spike = run(ioc_, rec->sample_spike());
  ASSERT_TRUE(spike.has_value());
  EXPECT_NE(spike->find("fra"), std::string::npos);
  EXPECT_FALSE(run(ioc_, rec->sample_spike()).has_value()) << "the same spike fires once";
  traffic_.set_demand({{"sin", 40}});  // a region gained
  EXPECT_TRUE(run(ioc_, rec->sample_spike()).has_value());
  traffic_.set_demand({{"sin", 2}});  // below minDemand: noise
  EXPECT_FALSE(run(ioc_, rec->sample_spike()).has_value());
}

TEST_F(ReconcilerTest, APolicyChangeBumpsTheObservedGeneration) {
  traffic_.set_demand({{"fra", 60}});
  auto rec = make(loop_policy());
  ASSERT_TRUE(pass(*rec).succeeded());
  EXPECT_EQ(rec->status().observed_generation(), 1);
  PlacementPolicy changed = loop_policy();
  changed.spec.capacity.targetPerMachine = 30;
  changed.specHash = spec_hash(changed.spec);
  rec->set_policy(changed);
  rec->set_policy(changed);  // the same content again: no bump
  ASSERT_TRUE(pass(*rec).succeeded());
  EXPECT_EQ(rec->status().observed_generation(), 2);
  rec->set_invalid_change(std::string("demo.yaml:3:1: bad"));
  EXPECT_TRUE(rec->status().is_true(ConditionType::kDegraded));
  EXPECT_EQ(rec->status().condition(ConditionType::kDegraded)->reason, "InvalidPolicyChange");
}

// ---- Controller ---------------------------------------------------------------------------------

class ControllerTest : public ReconcilerTest {
 protected:
  void start(std::vector<PlacementPolicy> policies, ControllerOptions o = {}) {
    o.fast_path = false;
    controller_ = std::make_unique<Controller>(
        ioc_.get_executor(), env(),
        [this](const std::string&) -> std::shared_ptr<fly::MachinesApi> { return api_; }, o);
    controller_->set_policies(policies);
    asio::co_spawn(ioc_, controller_->run(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  template <class T>
  T on_loop(asio::awaitable<T> a) {
    return asio::co_spawn(ioc_, std::move(a), asio::use_future).get();
  }
  void TearDown() override {
    if (controller_) on_loop(stop());
    if (thread_.joinable()) thread_.join();
  }
  // The loop drains by itself once the controller stopped (no ioc.stop(): nothing that refers
  // to the controller may stay suspended).
  asio::awaitable<int> stop() {
    co_await controller_->shutdown(2s);
    co_return 0;
  }

  std::unique_ptr<Controller> controller_;
  std::thread thread_;
};

TEST_F(ControllerTest, TriggerRunsAPassAndAnswersItsResult) {
  traffic_.set_demand({{"fra", 160}});
  start({loop_policy("web")});
  TriggerOutcome out = on_loop(controller_->trigger(std::string("web")));
  EXPECT_EQ(out.http_status, 200);
  ASSERT_TRUE(out.body.is_object());
  EXPECT_EQ(out.body.as_object().at("policy").as_string(), "web");
  EXPECT_EQ(out.body.as_object().at("result").as_string(), "success");
  Readiness ready =
      asio::co_spawn(
          ioc_, [this]() -> asio::awaitable<Readiness> { co_return controller_->readiness(); },
          asio::use_future)
          .get();
  EXPECT_TRUE(ready.ready) << ready.reason;

  TriggerOutcome missing = on_loop(controller_->trigger(std::string("nope")));
  EXPECT_EQ(missing.http_status, 404);
  TriggerOutcome all = on_loop(controller_->trigger(std::nullopt));
  EXPECT_EQ(all.http_status, 200);
  EXPECT_EQ(all.body.as_object().at("results").as_array().size(), 1u);
}

TEST_F(ControllerTest, NotReadyUntilEveryPolicyPassedOnce) {
  traffic_.set_demand({{"fra", 160}});
  api_->fail_next("list", fly::FakeMachinesApi::http_error(503), 100);
  ControllerOptions o;
  o.trigger_timeout = 5s;
  start({loop_policy("web")}, o);
  TriggerOutcome out = on_loop(controller_->trigger(std::string("web")));
  EXPECT_EQ(out.http_status, 200);
  EXPECT_EQ(out.body.as_object().at("result").as_string(), "error");
  Readiness ready =
      asio::co_spawn(
          ioc_, [this]() -> asio::awaitable<Readiness> { co_return controller_->readiness(); },
          asio::use_future)
          .get();
  EXPECT_FALSE(ready.ready);
}

TEST_F(ControllerTest, AfterShutdownTriggersAreRefused) {
  traffic_.set_demand({{"fra", 160}});
  start({loop_policy("web")});
  on_loop(stop());
  // The loop stopped; run the trigger on a fresh run of the context.
  thread_.join();
  ioc_.restart();
  TriggerOutcome out = run(ioc_, controller_->trigger(std::string("web")));
  EXPECT_EQ(out.http_status, 503);
  controller_.reset();
}

// ---- HTTP routes
// ----------------------------------------------------------------------------------

class FakeView final : public ControllerView {
 public:
  std::string metrics_text() override { return "autoplacer_build_info{version=\"t\"} 1\n"; }
  Readiness readiness() override {
    return Readiness{ready, ready ? "ok" : "first pass pending", {}};
  }
  json::value status_json() override { return json::object{{"policies", json::array{}}}; }
  asio::awaitable<TriggerOutcome> trigger(std::optional<std::string> policy) override {
    ++triggers;
    last_policy = policy;
    co_return TriggerOutcome{200, json::object{{"result", "success"}}};
  }
  bool ready = false;
  int triggers = 0;
  std::optional<std::string> last_policy;
};

net::Response dispatch(net::Router& router, net::http::verb verb, std::string target,
                       std::string authorization = "") {
  asio::io_context ioc;
  net::Request req{verb, target, 11};
  if (!authorization.empty()) req.set(net::http::field::authorization, authorization);
  return run(ioc, router.dispatch(req));
}

TEST(HttpApiRoutes, ReadOnlyEndpoints) {
  FakeView view;
  HttpApiOptions o;
  auto router = HttpApi::make_router(view, o, std::make_shared<std::atomic<int>>(0));
  EXPECT_EQ(dispatch(router, net::http::verb::get, "/healthz").result_int(), 200u);
  EXPECT_EQ(dispatch(router, net::http::verb::get, "/readyz").result_int(), 503u);
  view.ready = true;
  EXPECT_EQ(dispatch(router, net::http::verb::get, "/readyz").result_int(), 200u);
  auto status = dispatch(router, net::http::verb::get, "/status");
  EXPECT_EQ(status.result_int(), 200u);
  EXPECT_TRUE(json::parse(status.body()).as_object().contains("policies"));
  auto metrics = dispatch(router, net::http::verb::get, "/metrics");
  EXPECT_EQ(metrics.result_int(), 200u);
  EXPECT_NE(std::string(metrics[net::http::field::content_type]).find("text/plain"),
            std::string::npos);
  EXPECT_EQ(dispatch(router, net::http::verb::get, "/trigger").result_int(), 405u);
  EXPECT_EQ(dispatch(router, net::http::verb::get, "/nope").result_int(), 404u);
}

TEST(HttpApiRoutes, TriggerNeedsTheBearerTokenWhenOneIsConfigured) {
  FakeView view;
  HttpApiOptions o;
  o.trigger_token = "s3cret-trigger-token";
  auto router = HttpApi::make_router(view, o, std::make_shared<std::atomic<int>>(0));
  auto none = dispatch(router, net::http::verb::post, "/trigger");
  EXPECT_EQ(none.result_int(), 401u);
  EXPECT_NE(none.find(net::http::field::www_authenticate), none.end());
  EXPECT_EQ(dispatch(router, net::http::verb::post, "/trigger", "Bearer wrong").result_int(), 401u);
  EXPECT_EQ(dispatch(router, net::http::verb::post, "/trigger", "Bearer s3cret-trigger-tokenX")
                .result_int(),
            401u);
  EXPECT_EQ(dispatch(router, net::http::verb::post, "/trigger", "Basic s3cret-trigger-token")
                .result_int(),
            401u);
  EXPECT_EQ(view.triggers, 0);
  auto ok =
      dispatch(router, net::http::verb::post, "/trigger?policy=web", "Bearer s3cret-trigger-token");
  EXPECT_EQ(ok.result_int(), 200u);
  EXPECT_EQ(view.triggers, 1);
  EXPECT_EQ(view.last_policy, std::optional<std::string>("web"));
  dispatch(router, net::http::verb::post, "/trigger", "bearer s3cret-trigger-token");
  EXPECT_EQ(view.triggers, 2);
  EXPECT_EQ(view.last_policy, std::nullopt);
}

TEST(HttpApiRoutes, TooManyTriggersInFlightGet429) {
  FakeView view;
  HttpApiOptions o;
  o.max_concurrent_triggers = 2;
  auto in_flight = std::make_shared<std::atomic<int>>(2);  // two already running
  auto router = HttpApi::make_router(view, o, in_flight);
  auto res = dispatch(router, net::http::verb::post, "/trigger");
  EXPECT_EQ(res.result_int(), 429u);
  EXPECT_NE(res.find(net::http::field::retry_after), res.end());
  EXPECT_EQ(view.triggers, 0);
  in_flight->store(1);
  EXPECT_EQ(dispatch(router, net::http::verb::post, "/trigger").result_int(), 200u);
  EXPECT_EQ(in_flight->load(), 1) << "the slot is given back";
}

TEST(HttpApiRoutes, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abd", "abc"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));
  EXPECT_FALSE(constant_time_equals("abcd", "abc"));
  EXPECT_FALSE(constant_time_equals("", ""));  // an empty token never authenticates
}

TEST(HttpApiRoutes, ListenAddresses) {
  auto a = parse_listen_address("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8080);
  auto b = parse_listen_address("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(parse_listen_address(":9000")->first, "0.0.0.0");
  EXPECT_FALSE(parse_listen_address("127.0.0.1").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:99999").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:http").ok());
}

// ---- Policy watcher
// -------------------------------------------------------------------------------

class PolicyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ap-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    // A different mtime even on coarse file systems.
    std::filesystem::last_write_time(dir_ / name,
                                     std::filesystem::file_time_type::clock::now() + 1s * ++bump_);
  }
  // Every non-empty line "name" is a policy; a line "bad" is a syntax error.
  PolicyLoadFn loader() {
    return [this](const std::string& path) -> Result<std::vector<PlacementPolicy>, std::string> {
      ++loads_;
      std::vector<PlacementPolicy> out;
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.path().extension() != ".yaml") continue;
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line)) {
          if (line == "bad") return make_err(entry.path().filename().string() + ":1:1: bad");
          if (!line.empty()) out.push_back(loop_policy(line));
        }
      }
      return out;
    };
  }
  std::filesystem::path dir_;
  int loads_ = 0;
  int bump_ = 0;
};

TEST_F(PolicyWatcherTest, AppliesValidChangesAndKeepsTheLastGoodOnInvalidOnes) {
  write("a.yaml", "web\n");
  PolicyWatcher w(dir_.string(), loader());
  auto initial = w.load_initial();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(initial->size(), 1u);
  EXPECT_EQ(w.check().kind, PolicyChange::Kind::kUnchanged);
  EXPECT_EQ(loads_, 1);

  // Touched, same content: not a change, not even a load.
  std::filesystem::last_write_time(dir_ / "a.yaml",
                                   std::filesystem::file_time_type::clock::now() + 100s);
  EXPECT_EQ(w.check().kind, PolicyChange::Kind::kUnchanged);
  EXPECT_EQ(loads_, 1);

  write("b.yaml", "api\n");
  auto applied = w.check();
  EXPECT_EQ(applied.kind, PolicyChange::Kind::kApplied);
  EXPECT_EQ(applied.policies.size(), 2u);
  EXPECT_EQ(w.current().size(), 2u);

  write("b.yaml", "bad\n");
  auto invalid = w.check();
  EXPECT_EQ(invalid.kind, PolicyChange::Kind::kInvalid);
  EXPECT_NE(invalid.error.find("b.yaml:1:1"), std::string::npos);
  EXPECT_EQ(w.current().size(), 2u) << "the last good set keeps running";
  EXPECT_EQ(w.invalid_total(), 1u);
  EXPECT_EQ(w.check().kind, PolicyChange::Kind::kUnchanged) << "reported once";

  // Ignored files do not matter.
  write(".b.yaml.swp", "bad\n");
  write("notes.txt", "bad\n");
  EXPECT_EQ(w.check().kind, PolicyChange::Kind::kUnchanged);

  write("b.yaml", "api\n");
  EXPECT_EQ(w.check().kind, PolicyChange::Kind::kApplied);
  EXPECT_EQ(w.last_error(), "");
}

TEST_F(PolicyWatcherTest, AnEmptyDirectoryIsInvalidNotAnOrderToStop) {
  write("a.yaml", "web\n");
  PolicyWatcher w(dir_.string(), loader());
  ASSERT_TRUE(w.load_initial().ok());
  std::filesystem::remove(dir_ / "a.yaml");
  auto change = w.check();
  EXPECT_EQ(change.kind, PolicyChange::Kind::kInvalid);
  EXPECT_EQ(w.current().size(), 1u);
}

// ---- Demo traffic
// ---------------------------------------------------------------------------------

TEST(ScenarioTrafficSource, ReplaysTheScenarioAtSpeed) {
  auto scenario = sim::Scenario::parse_csv(
      "timestamp,region,rps\n100,fra,10\n100,nrt,0\n160,fra,0\n160,nrt,30\n", "t");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  ScenarioTrafficSource source(*scenario, "test-app", kT0, 60, /*loop=*/false);
  asio::io_context ioc;
  PlacementPolicy p = loop_policy();
  DemandReading at0 = run(ioc, source.read(p, kT0));
  EXPECT_TRUE(at0.known);
  EXPECT_EQ(at0.rps["fra"], 10);
  DemandReading later = run(ioc, source.read(p, kT0 + 1500ms));  // 90 s of scenario
  EXPECT_EQ(later.rps["nrt"], 30);
  DemandReading after_end = run(ioc, source.read(p, kT0 + 10s));
  EXPECT_TRUE(after_end.known);
  EXPECT_EQ(after_end.rps["nrt"], 0);
  PlacementPolicy other = loop_policy("x", "other-app");
  EXPECT_FALSE(run(ioc, source.read(other, kT0)).known);
}

}  // namespace
}  // namespace autoplacer::controller
