// The controller's second kind of work-queue key, "policy/region": each region's actions are
// applied under its own key, so a failing region backs off alone and the others go on; a surplus
// that is not ours is held and reported once, not announced as a change every pass; the
// controller's time-to-serve measurement; the warm start from the traffic source's history.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

#include "controller/controller.h"
#include "controller/loop_test_util.h"
#include "controller/reconciler.h"
#include "controller/state_store.h"
#include "controller/time_to_serve.h"
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

class RegionLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_shared<fly::FakeMachinesApi>("test-app", &clock_);
    api_->add_machine(machine("orig-iad", "iad"));  // the app's original: a clone source
  }
  void TearDown() override {
    if (controller_) on_loop(stop());
    if (thread_.joinable()) thread_.join();
  }
  ReconcilerEnv env() {
    ReconcilerEnv e;
    e.clock = &clock_;
    e.catalog = &RegionCatalog::builtin();
    e.traffic = &traffic_;
    e.store = &store_;
    e.metrics = &metrics_;
    return e;
  }
  PassResult pass(PolicyReconciler& r, PassOptions o = {}) { return run(ioc_, r.reconcile(o)); }
  void start(std::vector<PlacementPolicy> policies) {
    ControllerOptions o;
    o.fast_path = false;
    o.workers = 2;
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
  template <class F>
  auto on_loop_fn(F f) {
    return on_loop([f]() -> asio::awaitable<decltype(f())> { co_return f(); }());
  }
  asio::awaitable<int> stop() {
    co_await controller_->shutdown(2s);
    co_return 0;
  }
  // On the loop when the controller runs it, else right here.
  std::map<std::string, int> active() {
    if (!thread_.joinable()) return active_by_region(api_->machines(), policy_);
    return on_loop_fn([this] { return active_by_region(api_->machines(), policy_); });
  }

  ManualClock clock_{kT0};
  asio::io_context ioc_;
  std::shared_ptr<fly::FakeMachinesApi> api_;
  metrics::FakeTrafficSource traffic_;
  FakeStateStore store_;
  metrics::SelfMetrics metrics_{"test"};
  PlacementPolicy policy_ = loop_policy("web");
  std::unique_ptr<Controller> controller_;
  std::thread thread_;
};

// ---- Region keys --------------------------------------------------------------------------------

TEST(RegionPlan, KeepsOneRegionsActionsAndTheWholeCounts) {
  Plan p;
  p.policy = "web";
  p.generation = 7;
  p.desired = {{"fra", 2}, {"nrt", 1}};
  p.active = {{"fra", 0}, {"nrt", 0}};
  Action a;
  a.kind = ActionKind::kCreate;
  a.region = "fra";
  p.actions.push_back(a);
  a.region = "nrt";
  p.actions.push_back(a);
  p.actions.push_back(a);
  p.notes.push_back({"nrt", "", "a note"});
  const Plan nrt = region_plan(p, "nrt");
  EXPECT_EQ(nrt.actions.size(), 2u);
  EXPECT_EQ(nrt.notes.size(), 1u);
  EXPECT_EQ(nrt.generation, 7u);
  EXPECT_EQ(nrt.desired, p.desired);
  EXPECT_EQ(region_plan(p, "fra").actions.size(), 1u);
  EXPECT_TRUE(region_plan(p, "syd").empty());
}

TEST_F(RegionLoopTest, ADeferredPassKeepsEachRegionsActionsForItsKey) {
  traffic_.set_demand({{"fra", 90}, {"nrt", 90}});
  PolicyReconciler rec(policy_, api_, env());
  PassOptions o;
  o.defer_apply = true;
  api_->clear_calls();
  PassResult r = pass(rec, o);
  ASSERT_TRUE(r.succeeded()) << r.message;
  EXPECT_EQ(r.reason, "Dispatched");
  EXPECT_EQ(std::set<std::string>(r.dispatched.begin(), r.dispatched.end()),
            (std::set<std::string>{"fra", "nrt"}));
  EXPECT_EQ(api_->count("create"), 0u) << "a deferred pass acts on nothing itself";
  EXPECT_TRUE(rec.has_region_work("fra"));
  auto fra = run(ioc_, rec.apply_region("fra"));
  ASSERT_TRUE(fra.has_value());
  EXPECT_EQ(fra->count(Outcome::kOk), 2);
  EXPECT_EQ(api_->count("create"), 2u);
  EXPECT_FALSE(rec.has_region_work("fra"));
  EXPECT_FALSE(run(ioc_, rec.apply_region("fra")).has_value()) << "nothing left for fra";
  auto nrt = run(ioc_, rec.apply_region("nrt"));
  ASSERT_TRUE(nrt.has_value());
  EXPECT_EQ(nrt->count(Outcome::kOk), 2);
  EXPECT_EQ(active()["fra"], 2);
  EXPECT_EQ(active()["nrt"], 2);
}

TEST_F(RegionLoopTest, AFailingRegionBacksOffAloneWhileTheOthersApply) {
  // fra can only be served by starting its stopped machine, and every start fails (422); nrt
  // needs creates, which work.
  api_->add_machine(owned("web-fra-1", "fra", "stopped"));
  api_->fail_next("start", fly::FakeMachinesApi::http_error(422, "", "bad request"), 1000);
  // The first pass (at start) sees unknown demand and holds; the trigger's pass is the one
  // that acts, so its answer is deterministic.
  traffic_.set_unknown("not yet");
  start({policy_});
  for (int i = 0; i < 500; ++i) {
    if (on_loop_fn([this] { return controller_->readiness().ready; })) break;
    std::this_thread::sleep_for(10ms);
  }
  on_loop_fn([this] {
    traffic_.set_demand({{"fra", 40}, {"nrt", 40}});
    return 0;
  });
  TriggerOutcome out = on_loop(controller_->trigger(std::string("web")));
  ASSERT_EQ(out.http_status, 200) << json::serialize(out.body);
  const json::object& body = out.body.as_object();
  EXPECT_EQ(body.at("result").as_string(), "success");
  ASSERT_TRUE(body.contains("dispatched"));
  // The trigger's answer carries each region's own results.
  bool nrt_created = false, fra_failed = false;
  for (const auto& a : body.at("actions").as_array()) {
    const auto& o = a.as_object();
    if (o.at("action") == "create" && o.at("outcome") == "ok") nrt_created = true;
    if (o.at("action") == "start" && o.at("outcome") == "failed") fra_failed = true;
  }
  EXPECT_TRUE(nrt_created) << json::serialize(body);
  EXPECT_TRUE(fra_failed) << json::serialize(body);
  EXPECT_EQ(active()["nrt"], 1);
  const auto requeues = on_loop_fn([this] {
    return std::make_tuple(controller_->queue().num_requeues(queue_key("web", "fra")),
                           controller_->queue().num_requeues(queue_key("web", "nrt")),
                           controller_->queue().num_requeues(queue_key("web")));
  });
  EXPECT_GE(std::get<0>(requeues), 1) << "fra backs off";
  EXPECT_EQ(std::get<1>(requeues), 0) << "nrt is not held back by fra";
  EXPECT_EQ(std::get<2>(requeues), 0) << "the policy's pass itself succeeded";
  const auto able = on_loop_fn([this] {
    const Condition* c = controller_->find("web")->status().condition(ConditionType::kAbleToScale);
    return c ? c->reason : std::string();
  });
  EXPECT_EQ(able, "ActionsFailed");

  // The next pass while fra backs off: nrt is done, fra's newer plan waits for its retry.
  const std::size_t starts = api_->count("start");
  TriggerOutcome again = on_loop(controller_->trigger(std::string("web")));
  ASSERT_EQ(again.http_status, 200);
  EXPECT_EQ(api_->count("start"), starts) << "a backing-off region is not woken by a new pass";
  bool waits = false;
  for (const auto& a : again.body.as_object().at("actions").as_array())
    if (std::string(a.as_object().at("reason").as_string()).find("backing off") !=
        std::string::npos)
      waits = true;
  EXPECT_TRUE(waits) << json::serialize(again.body);
}

// ---- Held surplus -------------------------------------------------------------------------------

TEST_F(RegionLoopTest, ASurplusThatIsNotOursIsHeldAndReportedOnce) {
  api_->add_machine(machine("foreign-fra", "fra"));  // same process group, not ours, not adopted
  traffic_.set_demand({{"iad", 30}});
  PolicyReconciler rec(policy_, api_, env());
  for (int i = 0; i < 4; ++i) {
    PassResult r = pass(rec);
    ASSERT_TRUE(r.succeeded()) << r.message;
    EXPECT_FALSE(r.has_changes()) << format_plan(*r.plan);
    ASSERT_TRUE(r.held.contains("fra"));
    EXPECT_EQ(r.held.at("fra"), "not owned");
    for (const auto& line : describe_pass(r))
      EXPECT_EQ(line.find("fra 1 -> 0"), std::string::npos) << line;
    ASSERT_TRUE(r.plan->heldSurplus.contains("fra"));
    EXPECT_EQ(r.plan->heldSurplus.at("fra").notOwned, 1);
    clock_.advance(5s);
  }
  int fra_records = 0;
  for (const auto& d : rec.status().recent_decisions()) {
    if (d.region != "fra") continue;
    ++fra_records;
    EXPECT_EQ(d.reason, "NotOwned");
    EXPECT_EQ(d.direction, "none");
  }
  EXPECT_EQ(fra_records, 1) << "held once, not a decision every pass";
  EXPECT_EQ(metrics_.serialize().find("region=\"fra\",direction=\"down\""), std::string::npos);
  EXPECT_EQ(api_->machines().size(), 2u) << "the foreign machine is left alone";
}

// ---- Time-to-serve ------------------------------------------------------------------------------

fly::MachineEvent event(std::string type, std::string status, std::int64_t ms) {
  fly::MachineEvent e;
  e.type = std::move(type);
  e.status = std::move(status);
  e.timestamp = ms;
  return e;
}

TEST(TimeToServe, MeasuresFromFlysEventsAndKeepsAMedianPerRegion) {
  TimeToServe t(3);
  const std::int64_t base = 1'700'000'000'000;
  fly::Machine m = fly::FakeMachinesApi::make_machine("m1", "fra", "started");
  m.events = {event("start", "started", base + 4200), event("starting", "starting", base + 200),
              event("launch", "creating", base)};
  EXPECT_EQ(time_to_serve_from_events(m), Duration(4200));

  t.watch("m1", "fra", kT0);
  t.watch("m2", "fra", kT0);
  fly::Machine booting = fly::FakeMachinesApi::make_machine("m2", "fra", "starting");
  auto samples = t.observe({m, booting}, kT0 + 30s);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_TRUE(samples[0].fromEvents);
  EXPECT_EQ(samples[0].duration, Duration(4200));
  EXPECT_EQ(t.watching(), 1u);
  // No events: the list that saw it started bounds it.
  booting.state = "started";
  samples = t.observe({booting}, kT0 + 9s);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_FALSE(samples[0].fromEvents);
  EXPECT_EQ(samples[0].duration, Duration(9000));
  t.add_sample("fra", 5s);
  EXPECT_EQ(t.estimate("fra"), Duration(5000));  // median of 4.2, 9, 5
  t.add_sample("nrt", 20s);
  EXPECT_EQ(t.horizon(), Duration(20000)) << "the slowest region bounds the horizon";
  EXPECT_FALSE(t.estimate("syd").has_value());

  auto restored = TimeToServe::from_json(t.to_json(), 3);
  ASSERT_TRUE(restored.ok()) << restored.error();
  EXPECT_EQ(restored->estimates(), t.estimates());
  EXPECT_FALSE(TimeToServe::from_json(json::value("x")).ok());
  EXPECT_FALSE(TimeToServe::from_json(json::parse(R"({"samplesMs":{"fra":[-1]}})")).ok());
}

TEST(TimeToServe, GoneMachinesAndOldWatchesGiveNoSample) {
  TimeToServe t(5, 60s);
  t.watch("gone", "fra", kT0);
  t.watch("slow", "fra", kT0);
  t.watch("failed", "fra", kT0);
  fly::Machine slow = fly::FakeMachinesApi::make_machine("slow", "fra", "starting");
  fly::Machine failed = fly::FakeMachinesApi::make_machine("failed", "fra", "failed");
  EXPECT_TRUE(t.observe({slow, failed}, kT0 + 10s).empty());
  EXPECT_EQ(t.watching(), 1u);
  EXPECT_TRUE(t.observe({slow}, kT0 + 61s).empty());
  EXPECT_EQ(t.watching(), 0u);
  EXPECT_FALSE(t.horizon().has_value());
}

TEST_F(RegionLoopTest, TheControllerMeasuresTimeToServeExportsAndSavesIt) {
  traffic_.set_demand({{"fra", 40}});
  PolicyReconciler rec(policy_, api_, env());
  PassResult first = pass(rec);  // creates one machine in fra
  ASSERT_TRUE(first.succeeded());
  ASSERT_EQ(first.report->count(Outcome::kOk), 1);
  // The fake starts machines at once and keeps no events: the next list, 5 s later, bounds it.
  clock_.advance(5s);
  PassResult second = pass(rec);
  ASSERT_TRUE(second.succeeded());
  EXPECT_EQ(rec.time_to_serve().estimate("fra"), Duration(5000));
  EXPECT_NE(metrics_.serialize().find(
                "autoplacer_time_to_serve_seconds{policy=\"web\",region=\"fra\"} 5"),
            std::string::npos)
      << metrics_.serialize();
  // Saved with the controller's state, so a restart keeps it.
  PolicyReconciler restarted(policy_, api_, env());
  run(ioc_, [&]() -> asio::awaitable<int> {
    co_await restarted.load_state();
    co_return 0;
  }());
  EXPECT_EQ(restarted.time_to_serve().estimate("fra"), Duration(5000));
}

// ---- Warm start -----------------------------------------------------------------------------

TEST_F(RegionLoopTest, AColdStartBackfillsHistoryAndARestartDoesNot) {
  std::vector<DemandReading> history;
  for (int i = 1; i <= 10; ++i) {
    DemandReading d;
    d.at = kT0 - std::chrono::minutes(i);
    d.known = true;
    d.rps = {{"fra", 40}};
    history.push_back(d);
  }
  std::reverse(history.begin(), history.end());
  traffic_.set_history(history);
  traffic_.set_demand({{"fra", 40}});
  PolicyReconciler rec(policy_, api_, env());
  ASSERT_TRUE(pass(rec).succeeded());
  EXPECT_EQ(traffic_.backfills(), 1);
  PolicyReconciler restarted(policy_, api_, env());
  ASSERT_TRUE(pass(restarted).succeeded());
  EXPECT_EQ(traffic_.backfills(), 1) << "the saved decision state already has the history";
  traffic_.fail_backfill("no Prometheus");
  FakeStateStore empty;
  ReconcilerEnv e = env();
  e.store = &empty;
  PolicyReconciler cold(policy_, api_, e);
  EXPECT_TRUE(pass(cold).succeeded()) << "a failed backfill is a cold start, not an error";
}

}  // namespace
}  // namespace autoplacer::controller
