// The executor against FakeMachinesApi: one "pass" is list -> diff -> apply, as the reconcile loop
// does it. Convergence, ownership, holds, leases, capacity fallback, bounds, dry run, idempotency
// and unknown outcomes.
#include "controller/executor.h"

#include <gtest/gtest.h>

#include "controller/diff.h"
#include "controller/executor_test_util.h"

namespace autoplacer::controller {
namespace {
using namespace testing;
namespace asio = boost::asio;

class ExecutorTest : public ::testing::Test {
 protected:
  ExecutorTest() : api_("test-app"), executor_(api_, RegionCatalog::builtin()) {}

  std::vector<fly::Machine> list() {
    auto r = run(ioc_, list_fleet(api_));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::vector<fly::Machine>{};
  }
  Plan plan_for(const Decision& d) {
    return diff(d, list(), policy_, RegionCatalog::builtin(), ++generation_);
  }
  ApplyReport apply(const Plan& p) { return run(ioc_, executor_.apply(p, policy_)); }
  ApplyReport pass(const Decision& d) {
    executor_.settle(list());
    return apply(plan_for(d));
  }
  // Serving machines of the policy's group by region (started, not cordoned).
  std::map<std::string, int> serving() {
    std::map<std::string, int> out;
    for (const auto& m : api_.machines()) {
      if (m.process_group() == "app" && m.state == "started" && !m.cordoned) ++out[m.region];
    }
    return out;
  }
  std::string add(fly::Machine m) { return api_.add_machine(std::move(m)); }
  bool touched(const std::string& id) const {
    for (const auto& c : api_.calls()) {
      if (c.machine_id == id && c.operation != "get") return true;
    }
    return false;
  }

  asio::io_context ioc_;
  fly::FakeMachinesApi api_;
  Executor executor_;
  PlacementPolicy policy_ = make_policy();
  std::uint64_t generation_ = 0;
};

TEST_F(ExecutorTest, ConvergesFromEmptyAndThenDoesNothing) {
  add(machine("tmpl", "iad"));
  auto d = make_decision({{"iad", 1}, {"fra", 2}, {"syd", 1}});
  auto report = pass(d);
  EXPECT_EQ(report.count(Outcome::kOk), 3);
  EXPECT_EQ(serving(), (std::map<std::string, int>{{"fra", 2}, {"iad", 1}, {"syd", 1}}));
  for (const auto& m : api_.machines()) {
    if (m.id == "tmpl") continue;
    EXPECT_EQ(m.metadata_value("autoplacer_policy"), "web");
    EXPECT_EQ(m.metadata_value("autoplacer_source"), "tmpl");
    EXPECT_EQ(m.metadata_value("fly_process_group"), "app");
    EXPECT_EQ(m.metadata_value("autoplacer_op_id").size(), 16u);
  }
  // Converged: the next pass is one list and nothing else.
  api_.clear_calls();
  auto again = pass(d);
  EXPECT_TRUE(again.plan.empty());
  EXPECT_EQ(again.lists, 0);
  EXPECT_EQ(api_.calls().size(), 2u);  // the pass's list + the settle list in this harness
  EXPECT_EQ(api_.count("list"), 2u);
}

TEST_F(ExecutorTest, ConvergesFromTooManyWithLeasesAndCordon) {
  add(machine("tmpl", "iad"));
  for (auto id : {"a", "b", "c", "d"}) add(owned(id, "fra"));
  auto report = pass(make_decision({{"iad", 1}, {"fra", 1}}));
  EXPECT_EQ(report.count(Outcome::kOk), 3);
  EXPECT_EQ(serving().at("fra"), 1);
  // Every changed machine: lease acquired, cordon + stop with its nonce, lease released.
  for (const auto& c : api_.calls()) {
    if (c.operation == "cordon" || c.operation == "stop" || c.operation == "lease_release") {
      EXPECT_FALSE(c.nonce.empty()) << c.operation << " " << c.machine_id;
    }
  }
  EXPECT_EQ(api_.count("lease_acquire"), 3u);
  EXPECT_EQ(api_.count("lease_release"), 3u);
  EXPECT_EQ(api_.count("cordon"), 3u);
  auto again = pass(make_decision({{"iad", 1}, {"fra", 1}}));
  EXPECT_TRUE(again.plan.empty());
}

TEST_F(ExecutorTest, StartsStoppedMachinesBeforeCreating) {
  add(machine("tmpl", "iad"));
  auto stopped = owned("s", "fra", "stopped");
  stopped.cordoned = true;  // retired by an earlier pass with cordonFirst
  add(stopped);
  auto report = pass(make_decision({{"iad", 1}, {"fra", 2}}));
  ASSERT_EQ(report.results.size(), 2u);
  EXPECT_EQ(report.results[0].action.kind, ActionKind::kStart);
  EXPECT_EQ(report.results[0].outcome, Outcome::kOk);
  EXPECT_FALSE(api_.find("s")->cordoned);
  EXPECT_EQ(report.results[1].action.kind, ActionKind::kCreate);
  EXPECT_EQ(serving().at("fra"), 2);
}

TEST_F(ExecutorTest, ForeignMachineMixIsNotTouched) {
  add(machine("user-iad", "iad"));
  add(machine("worker", "iad", "started", {}, "worker"));
  add(owned("other-policy", "lhr", "started", "someone-else"));
  auto deploying = machine("deploying", "fra", "started", {{"fly_bluegreen_deployment_tag", "bg"}});
  add(deploying);
  api_.set_foreign_lease("deploying", "deploy-bot@fly.io");
  auto sick = machine("sick", "sin", "stopped");
  sick.host_status = "unreachable";
  add(sick);
  // Desired nowhere: everything is surplus, nothing is ours.
  auto report = pass(make_decision({}));
  EXPECT_TRUE(report.plan.empty());
  for (auto id : {"user-iad", "worker", "other-policy", "deploying", "sick"}) {
    EXPECT_FALSE(touched(id)) << id;
  }
  // Growth happens beside them, cloned from the user's machine.
  report = pass(make_decision({{"iad", 1}, {"lhr", 1}, {"fra", 2}}));
  EXPECT_EQ(report.count(Outcome::kOk), 2) << format_plan(report.plan);  // lhr 1 + fra 1
  for (auto id : {"worker", "other-policy", "deploying", "sick"}) EXPECT_FALSE(touched(id)) << id;
}

TEST_F(ExecutorTest, AdoptModeManagesExistingMachines) {
  policy_.spec.adoptExisting = true;
  add(machine("u1", "fra"));
  add(machine("u2", "fra"));
  add(machine("w", "fra", "started", {}, "worker"));
  auto report = pass(make_decision({{"fra", 1}}));
  EXPECT_EQ(report.count(Outcome::kOk), 1);
  EXPECT_EQ(serving().at("fra"), 1);
  EXPECT_FALSE(touched("w"));
}

TEST_F(ExecutorTest, LeaseHeldByOthersIsSkipped) {
  add(machine("tmpl", "iad"));
  add(owned("a", "fra"));
  add(owned("b", "fra"));
  // Held before the list: not even planned.
  api_.set_foreign_lease("a", "operator@example.com");
  auto report = pass(make_decision({{"iad", 1}}));
  ASSERT_EQ(report.plan.actions.size(), 1u);
  EXPECT_EQ(report.plan.actions[0].machineId, "b");
  EXPECT_FALSE(touched("a"));
  // Taken between the plan and the apply: skipped at execution.
  add(owned("c", "lhr"));
  auto plan = plan_for(make_decision({{"iad", 1}}));
  ASSERT_EQ(plan.actions.size(), 1u);
  api_.set_foreign_lease("c", "operator@example.com");
  report = apply(plan);
  EXPECT_EQ(report.results[0].outcome, Outcome::kSkipped);
  EXPECT_NE(report.results[0].reason.find("lease"), std::string::npos);
  EXPECT_EQ(api_.find("c")->state, "started");
}

TEST_F(ExecutorTest, LeaseLostToARaceIsSkippedNotForced) {
  add(machine("tmpl", "iad"));
  add(owned("a", "fra"));
  auto plan = plan_for(make_decision({{"iad", 1}}));
  api_.fail_next("lease_acquire", fly::FakeMachinesApi::http_error(409, "", "lease held"));
  auto report = apply(plan);
  EXPECT_EQ(report.results[0].outcome, Outcome::kSkipped);
  EXPECT_EQ(api_.count("stop"), 0u);
}

TEST_F(ExecutorTest, DeployInProgressIsSkipped) {
  add(machine("tmpl", "iad"));
  add(owned("a", "fra"));
  auto plan = plan_for(make_decision({{"iad", 1}}));
  ASSERT_EQ(plan.actions.size(), 1u);
  api_.find_mutable("a")->metadata["fly_bluegreen_deployment_tag"] = "bg-2";
  auto report = apply(plan);
  EXPECT_EQ(report.results[0].outcome, Outcome::kSkipped);
  EXPECT_NE(report.results[0].reason.find("deploy in progress"), std::string::npos);
  EXPECT_FALSE(touched("a"));
}

TEST_F(ExecutorTest, InsufficientCapacityFallsBackToTheNearestRegion) {
  add(machine("tmpl", "iad"));
  api_.set_capacity("fra", false);
  auto report = pass(make_decision({{"iad", 1}, {"fra", 2}}));
  ASSERT_EQ(report.results.size(), 2u);
  for (const auto& r : report.results) {
    EXPECT_EQ(r.outcome, Outcome::kOk) << r.reason;
    EXPECT_EQ(r.region, "ams");
  }
  // fra was refused once; the second create went straight to the fallback.
  std::size_t fra_attempts = 0;
  for (const auto& c : api_.calls())
    fra_attempts += c.operation == "create" && c.machine_id == "fra";
  EXPECT_EQ(fra_attempts, 1u);
  for (const auto& m : api_.machines()) {
    if (m.region == "ams") {
      EXPECT_EQ(m.metadata_value("autoplacer_fallback_for"), "fra");
    }
  }
  // They stand in for fra: the next pass neither retires them nor creates again.
  auto again = pass(make_decision({{"iad", 1}, {"fra", 2}}));
  EXPECT_TRUE(again.plan.empty()) << format_plan(again.plan);
}

TEST_F(ExecutorTest, NoCapacityAnywhereFailsWithoutLooping) {
  add(machine("tmpl", "iad"));
  policy_.spec.regions.allowed = {"iad", "fra", "ams"};
  api_.set_capacity("fra", false);
  api_.set_capacity("ams", false);
  api_.set_capacity("iad", false);
  auto report = pass(make_decision({{"iad", 1}, {"fra", 3}}));
  EXPECT_EQ(report.count(Outcome::kFailed), 3);
  EXPECT_EQ(api_.count("create"), 3u);  // fra, ams, iad once each, then remembered
}

TEST_F(ExecutorTest, CreatesAreBoundedPerPass) {
  add(machine("tmpl", "iad"));
  policy_.spec.behavior.maxCreatesPerPass = 2;
  auto d = make_decision({{"iad", 1}, {"fra", 5}});
  EXPECT_EQ(pass(d).count(Outcome::kOk), 2);
  EXPECT_EQ(pass(d).count(Outcome::kOk), 2);
  EXPECT_EQ(pass(d).count(Outcome::kOk), 1);
  EXPECT_TRUE(pass(d).plan.empty());
  EXPECT_EQ(serving().at("fra"), 5);
  // Creates that keep failing stay bounded too.
  api_.fail_next("create", fly::FakeMachinesApi::http_error(422, "", "bad config"), 10);
  auto more = make_decision({{"iad", 1}, {"fra", 9}});
  EXPECT_EQ(pass(more).count(Outcome::kFailed), 2);
  EXPECT_EQ(api_.count("create"), 7u);
}

TEST_F(ExecutorTest, LastCloneSourceIsStoppedNotDestroyed) {
  policy_.spec.retire.action = RetireAction::kDestroy;
  add(owned("only", "fra"));
  auto report = pass(make_decision({}, RetireAction::kDestroy));
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].outcome, Outcome::kOk);
  EXPECT_EQ(api_.count("delete"), 0u);
  EXPECT_EQ(api_.find("only")->state, "stopped");
  // A second owned machine may be destroyed; the last one stays.
  add(owned("two", "fra"));
  api_.find_mutable("only")->state = "started";
  report = pass(make_decision({}, RetireAction::kDestroy));
  EXPECT_EQ(api_.count("delete"), 1u);
  EXPECT_EQ(api_.machines().size(), 1u);
}

TEST_F(ExecutorTest, DestroyRaceKeepsCloneSourceAtExecution) {
  // The plan destroys two machines while a third source exists; that source vanishes before the
  // apply: the executor re-counts and keeps the last one.
  add(owned("a", "fra"));
  add(owned("b", "fra"));
  add(machine("user", "iad"));
  auto plan = plan_for(make_decision({{"iad", 1}}, RetireAction::kDestroy));
  ASSERT_EQ(plan.count(ActionKind::kDestroy), 2);
  api_.find_mutable("user")->state = "destroyed";
  auto report = apply(plan);
  EXPECT_EQ(api_.count("delete"), 1u);
  EXPECT_EQ(api_.machines().size(), 1u);
  EXPECT_EQ(api_.machines()[0].state, "stopped");
}

TEST_F(ExecutorTest, DryRunTouchesNothing) {
  add(machine("tmpl", "iad"));
  add(owned("a", "lhr"));
  policy_.spec.mode = Mode::kDryRun;
  auto plan = plan_for(make_decision({{"iad", 1}, {"fra", 2}}));
  ASSERT_EQ(plan.actions.size(), 3u);
  api_.clear_calls();
  auto report = apply(plan);
  EXPECT_TRUE(report.dryRun);
  EXPECT_EQ(report.count(Outcome::kSkipped), 3);
  EXPECT_NE(report.results[0].reason.find("dry run"), std::string::npos);
  EXPECT_TRUE(api_.calls().empty());
  policy_.spec.mode = Mode::kForecastOnly;
  EXPECT_TRUE(apply(plan).dryRun);
  EXPECT_TRUE(api_.calls().empty());
}

TEST_F(ExecutorTest, ApplyingTheSamePlanTwiceGivesTheSameFleet) {
  add(machine("tmpl", "iad"));
  add(owned("a", "lhr"));
  add(owned("s", "fra", "stopped"));
  auto plan = plan_for(make_decision({{"iad", 1}, {"fra", 3}}));
  auto first = apply(plan);
  EXPECT_EQ(first.count(Outcome::kOk), 4);  // start s, 2 creates, stop a
  const auto fleet = api_.machines();
  const auto creates = api_.count("create");
  auto second = apply(plan);
  EXPECT_EQ(second.count(Outcome::kOk), 0);
  EXPECT_EQ(second.count(Outcome::kSkipped), 4);
  EXPECT_EQ(api_.count("create"), creates);
  ASSERT_EQ(api_.machines().size(), fleet.size());
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    EXPECT_EQ(api_.machines()[i].id, fleet[i].id);
    EXPECT_EQ(api_.machines()[i].state, fleet[i].state);
  }
}

TEST_F(ExecutorTest, CreateRecognisedByOperationIdWhenTheRegionChanged) {
  // The same plan again after the region's desired count was satisfied by its own creates: the
  // operation ids alone say the creates happened (the region check would not: desired is higher).
  add(machine("tmpl", "iad"));
  auto plan = plan_for(make_decision({{"iad", 1}, {"fra", 2}}));
  apply(plan);
  api_.find_mutable(api_.machines()[1].id)->state = "stopped";  // Fly Proxy stopped one
  auto second = apply(plan);
  EXPECT_EQ(api_.count("create"), 2u);
  EXPECT_NE(second.results[1].reason.find("already created"), std::string::npos)
      << second.results[1].reason;
}

TEST_F(ExecutorTest, UnknownCreateIsNotRetriedAndSettledByTheNextList) {
  add(machine("tmpl", "iad"));
  fly::FlyError timeout;
  timeout.kind = fly::FlyError::Kind::kTimeout;
  timeout.outcome_unknown = true;
  timeout.message = "no answer in 10s";
  api_.fail_next("create", timeout, 1, /*apply_anyway=*/true);
  auto d = make_decision({{"iad", 1}, {"fra", 2}});
  auto report = pass(d);
  ASSERT_EQ(report.results.size(), 2u);
  EXPECT_EQ(report.results[0].outcome, Outcome::kUnknown);
  EXPECT_EQ(report.results[1].outcome, Outcome::kSkipped);  // not blind after an unknown
  EXPECT_EQ(api_.count("create"), 1u);
  ASSERT_EQ(executor_.pending_unknowns().size(), 1u);
  // Next pass: the list shows the machine; settle says so; only the one missing is created.
  auto settled = executor_.settle(list());
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_NE(settled[0].find("happened"), std::string::npos) << settled[0];
  EXPECT_TRUE(executor_.pending_unknowns().empty());
  report = apply(plan_for(d));
  EXPECT_EQ(report.count(Outcome::kOk), 1);
  EXPECT_EQ(api_.count("create"), 2u);
  EXPECT_EQ(serving().at("fra"), 2);
}

TEST_F(ExecutorTest, UnknownCreateThatDidNotHappenIsCreatedNextPass) {
  add(machine("tmpl", "iad"));
  fly::FlyError lost;
  lost.kind = fly::FlyError::Kind::kTransport;
  lost.outcome_unknown = true;
  api_.fail_next("create", lost, 1, /*apply_anyway=*/false);
  auto d = make_decision({{"iad", 1}, {"fra", 1}});
  EXPECT_EQ(apply(plan_for(d)).results[0].outcome, Outcome::kUnknown);
  // The next apply settles it with its own re-list.
  auto report = apply(plan_for(d));
  ASSERT_EQ(report.settled.size(), 1u);
  EXPECT_NE(report.settled[0].find("did not happen"), std::string::npos);
  EXPECT_EQ(report.count(Outcome::kOk), 1);
  EXPECT_EQ(serving().at("fra"), 1);
}

TEST_F(ExecutorTest, UnknownStopIsRecordedAndSettled) {
  add(machine("tmpl", "iad"));
  add(owned("a", "fra"));
  fly::FlyError e;
  e.kind = fly::FlyError::Kind::kServer;
  e.http_status = 502;
  e.outcome_unknown = true;
  api_.fail_next("stop", e, 1, /*apply_anyway=*/true);
  auto report = pass(make_decision({{"iad", 1}}));
  EXPECT_EQ(report.results[0].outcome, Outcome::kUnknown);
  EXPECT_EQ(api_.count("stop"), 1u);
  EXPECT_EQ(api_.count("lease_release"), 1u);  // released even so
  auto settled = executor_.settle(list());
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_NE(settled[0].find("stopped"), std::string::npos) << settled[0];
  EXPECT_TRUE(pass(make_decision({{"iad", 1}})).plan.empty());
}

TEST_F(ExecutorTest, FailedRelistFailsTheRegionsActions) {
  add(machine("tmpl", "iad"));
  auto plan = plan_for(make_decision({{"iad", 1}, {"fra", 1}}));
  api_.fail_next("list", fly::FakeMachinesApi::http_error(503));
  auto report = apply(plan);
  EXPECT_EQ(report.results[0].outcome, Outcome::kFailed);
  EXPECT_EQ(api_.count("create"), 0u);
}

}  // namespace
}  // namespace autoplacer::controller
