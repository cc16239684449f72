// diff(): desired placement + observed machines -> minimal ordered plan. Pure, table-tested.
#include "controller/diff.h"

#include <gtest/gtest.h>

#include "controller/executor_test_util.h"
#include "controller/ownership.h"
#include "controller/plan.h"

namespace autoplacer::controller {
namespace {
using namespace testing;

const RegionCatalog& catalog() {
  return RegionCatalog::builtin();
}

std::vector<std::string> kinds(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& a : p.actions) {
    out.push_back(std::string(to_string(a.kind)) + " " + a.region +
                  (a.machineId.empty() ? "" : " " + a.machineId));
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(Ownership, ClassifiesByMetadataGroupAndAdoption) {
  OwnershipRules rules{"web", "app", false};
  EXPECT_EQ(classify(owned("a", "fra"), rules).ownership, Ownership::kOwned);
  EXPECT_EQ(classify(owned("a", "fra", "started", "other"), rules).ownership,
            Ownership::kOtherPolicy);
  EXPECT_EQ(classify(machine("a", "fra"), rules).ownership, Ownership::kUnmanaged);
  EXPECT_EQ(classify(machine("a", "fra", "started", {}, "worker"), rules).ownership,
            Ownership::kOtherGroup);
  rules.adoptExisting = true;
  EXPECT_EQ(classify(machine("a", "fra"), rules).ownership, Ownership::kAdopted);
  EXPECT_TRUE(classify(machine("a", "fra"), rules).actionable());
}

TEST(Ownership, HoldsDeploysLeasesSickHostsAndTransients) {
  OwnershipRules rules{"web", "app", false};
  auto bg = owned("a", "fra");
  bg.metadata[std::string(fly::kMetaBlueGreenTag)] = "bg-1";
  EXPECT_EQ(classify(bg, rules).hold, Hold::kDeployInProgress);
  auto leased = owned("b", "fra");
  leased.lease = fly::LeaseInfo{"", "deploy-bot@fly.io", "", 0, ""};
  EXPECT_EQ(classify(leased, rules).hold, Hold::kForeignLease);
  EXPECT_NE(describe_hold(classify(leased, rules)).find("deploy-bot"), std::string::npos);
  auto sick = owned("c", "fra");
  sick.host_status = "unreachable";
  EXPECT_EQ(classify(sick, rules).hold, Hold::kHostNotOk);
  EXPECT_EQ(classify(owned("d", "fra", "stopping"), rules).hold, Hold::kTransient);
  EXPECT_EQ(classify(owned("e", "fra", "failed"), rules).hold, Hold::kTerminal);
  EXPECT_EQ(classify(owned("f", "fra", "stopped"), rules).hold, Hold::kNone);
}

TEST(Ownership, CloneSourcesAndMarks) {
  OwnershipRules rules{"web", "app", false};
  auto summary = machine("s", "iad");
  summary.config = {};
  EXPECT_FALSE(is_clone_source(summary, rules));
  EXPECT_TRUE(is_clone_source(machine("a", "iad", "stopped"), rules));
  EXPECT_FALSE(is_clone_source(machine("w", "iad", "started", {}, "worker"), rules));
  std::vector<fly::Machine> ms{machine("b", "iad", "stopped"), machine("c", "iad"),
                               machine("a", "iad")};
  ASSERT_NE(choose_clone_source(ms, rules), nullptr);
  EXPECT_EQ(choose_clone_source(ms, rules)->id, "a");  // started first, then lowest id
  auto marks = ownership_marks(rules, "op1", "a", "fra");
  EXPECT_EQ(marks.at("autoplacer_policy"), "web");
  EXPECT_EQ(marks.at("autoplacer_op_id"), "op1");
  EXPECT_EQ(marks.at("autoplacer_source"), "a");
  EXPECT_EQ(marks.at("autoplacer_fallback_for"), "fra");
  EXPECT_EQ(marks.at("fly_process_group"), "app");
}

TEST(Diff, CreatesWhatIsMissingFromATemplate) {
  auto policy = make_policy();
  std::vector<fly::Machine> ms{machine("tmpl", "iad")};
  auto plan = diff(make_decision({{"iad", 1}, {"fra", 2}}), ms, policy, catalog(), 7);
  EXPECT_EQ(kinds(plan), (Strings{"create fra", "create fra"}));
  EXPECT_EQ(plan.actions[0].sourceId, "tmpl");
  EXPECT_NE(plan.actions[0].opId, plan.actions[1].opId);
  EXPECT_EQ(plan.actions[0].opId, operation_id("web", "fra", 7, 0));
  EXPECT_FALSE(plan.actions[0].fallbackRegions.empty());
  EXPECT_EQ(plan.desired.at("fra"), 2);
  EXPECT_EQ(plan.active.at("iad"), 1);
  // Same inputs, same plan (operation ids included).
  auto again = diff(make_decision({{"iad", 1}, {"fra", 2}}), ms, policy, catalog(), 7);
  EXPECT_EQ(again.actions[1].opId, plan.actions[1].opId);
}

TEST(Diff, StartsSuspendedThenStoppedBeforeCreating) {
  auto policy = make_policy();
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), owned("s1", "fra", "stopped"),
                               owned("s2", "fra", "suspended")};
  auto plan = diff(make_decision({{"iad", 1}, {"fra", 3}}), ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"start fra s2", "start fra s1", "create fra"}));
}

TEST(Diff, UncordonsOurCordonedMachineFirst) {
  auto policy = make_policy();
  auto c = owned("c1", "fra");
  c.cordoned = true;
  auto st = owned("s1", "fra", "stopped");
  st.cordoned = true;
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), c, st};
  auto plan = diff(make_decision({{"iad", 1}, {"fra", 2}}), ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"uncordon fra c1", "start fra s1"}));
  EXPECT_TRUE(plan.actions[1].uncordon);
}

TEST(Diff, FinishesAnUnfinishedRetireOfACordonedMachine) {
  auto policy = make_policy();
  auto c = owned("c1", "fra");
  c.cordoned = true;
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), c};
  auto plan = diff(make_decision({{"iad", 1}}), ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"stop fra c1"}));
  EXPECT_FALSE(plan.actions[0].cordonFirst);
}

TEST(Diff, BoundsCreatesPerPassRoundRobin) {
  auto policy = make_policy();
  policy.spec.behavior.maxCreatesPerPass = 3;
  std::vector<fly::Machine> ms{machine("tmpl", "iad")};
  auto d = make_decision({{"iad", 1}, {"fra", 4}, {"lhr", 4}});
  d.regions["fra"].demandRps = 200;
  d.regions["lhr"].demandRps = 100;
  auto plan = diff(d, ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"create fra", "create fra", "create lhr"}));
  EXPECT_TRUE(plan.createsLimited);
  policy.spec.behavior.maxCreatesPerPass = 0;
  EXPECT_TRUE(diff(d, ms, policy, catalog(), 1).empty());
}

TEST(Diff, RetiresOurNewestMachinesFirstWithCordon) {
  auto policy = make_policy();
  auto a = owned("a", "fra");
  a.created_at = "2024-01-01T00:00:00Z";
  auto b = owned("b", "fra");
  b.created_at = "2024-01-03T00:00:00Z";
  auto c = owned("c", "fra");
  c.created_at = "2024-01-02T00:00:00Z";
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), a, b, c};
  auto plan = diff(make_decision({{"iad", 1}, {"fra", 1}}), ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"stop fra b", "stop fra c"}));
  EXPECT_TRUE(plan.actions[0].cordonFirst);
  policy.spec.retire.cordonFirst = false;
  auto suspend = diff(make_decision({{"iad", 1}, {"fra", 1}}, RetireAction::kSuspend), ms, policy,
                      catalog(), 1);
  EXPECT_EQ(kinds(suspend), (Strings{"suspend fra b", "suspend fra c"}));
  EXPECT_FALSE(suspend.actions[0].cordonFirst);
}

TEST(Diff, ForeignMachinesAreCountedOrIgnoredButNeverTouched) {
  auto policy = make_policy();
  std::vector<fly::Machine> ms{
      machine("user", "fra"),                             // unmanaged, counted
      owned("other", "fra", "started", "someone-else"),   // another policy: ignored
      machine("worker", "fra", "started", {}, "worker"),  // another group: ignored
  };
  auto plan = diff(make_decision({}), ms, policy, catalog(), 1);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.active.at("fra"), 1);
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes.back().message.find("not ours"), std::string::npos);
  // The user's machine covers fra: nothing to create either.
  EXPECT_TRUE(diff(make_decision({{"fra", 1}}), ms, policy, catalog(), 1).empty());
}

TEST(Diff, AdoptModeRetiresAdoptedMachinesAfterOurOwn) {
  auto policy = make_policy();
  policy.spec.adoptExisting = true;
  std::vector<fly::Machine> ms{machine("user", "fra"), owned("mine", "fra")};
  auto plan = diff(make_decision({{"fra", 1}}), ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"stop fra mine"}));
  plan = diff(make_decision({}), ms, policy, catalog(), 1);
  EXPECT_EQ(kinds(plan), (Strings{"stop fra mine", "stop fra user"}));
}

TEST(Diff, HeldMachinesAreLeftAloneAndNoted) {
  auto policy = make_policy();
  auto bg = owned("bg", "fra");
  bg.metadata[std::string(fly::kMetaBlueGreenTag)] = "bg-1";
  auto leased = owned("leased", "fra");
  leased.lease = fly::LeaseInfo{"", "deploy-bot@fly.io", "", 0, ""};
  auto sick = owned("sick", "fra");
  sick.host_status = "unreachable";
  auto moving = owned("moving", "fra", "starting");
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), bg, leased, sick, moving};
  auto plan = diff(make_decision({{"iad", 1}}), ms, policy, catalog(), 1);
  EXPECT_TRUE(plan.empty()) << format_plan(plan);
  EXPECT_EQ(plan.active.at("fra"), 3);  // bg, leased, moving serve; the sick host does not
  int held_notes = 0;
  for (const auto& n : plan.notes) held_notes += n.message.find("left alone") != std::string::npos;
  EXPECT_EQ(held_notes, 4);
}

TEST(Diff, KeepsTheLastCloneSource) {
  auto policy = make_policy();
  policy.spec.retire.keepCloneSources = 1;
  std::vector<fly::Machine> ms{owned("a", "fra"), owned("b", "fra")};
  auto plan = diff(make_decision({}, RetireAction::kDestroy), ms, policy, catalog(), 1);
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].kind, ActionKind::kDestroy);
  EXPECT_EQ(plan.actions[1].kind, ActionKind::kStop);
  EXPECT_NE(plan.actions[1].reason.find("clone"), std::string::npos);
  // With an unmanaged clone source elsewhere, both may go.
  ms.push_back(machine("user", "iad"));
  plan = diff(make_decision({{"iad", 1}}, RetireAction::kDestroy), ms, policy, catalog(), 1);
  EXPECT_EQ(plan.count(ActionKind::kDestroy), 2);
}

TEST(Diff, NoTemplateMeansNoCreateButANote) {
  auto policy = make_policy();
  auto sick = machine("sick", "iad");
  sick.host_status = "unreachable";
  auto plan = diff(make_decision({{"fra", 1}}), {sick}, policy, catalog(), 1);
  EXPECT_TRUE(plan.empty());
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_NE(plan.notes.back().message.find("no machine to clone from"), std::string::npos);
}

TEST(Diff, HeldDecisionChangesNothing) {
  auto policy = make_policy();
  auto d = make_decision({});
  d.heldAll = true;
  d.heldReason = "demand unknown: query failed";
  auto plan = diff(d, {owned("a", "fra")}, policy, catalog(), 1);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.desired.at("fra"), 1);
}

TEST(Diff, CapacityFallbackMachineCountsForItsHomeRegion) {
  auto policy = make_policy();
  auto fb = owned("fb", "ams");
  fb.metadata[std::string(kMetaFallbackFor)] = "fra";
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), fb};
  EXPECT_TRUE(diff(make_decision({{"iad", 1}, {"fra", 1}}), ms, policy, catalog(), 1).empty());
  auto plan = diff(make_decision({{"iad", 1}}), ms, policy, catalog(), 1);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].region, "fra");
  EXPECT_EQ(plan.actions[0].machineRegion, "ams");
  auto fleet = build_fleet_observation(ms, policy, TimePoint{});
  EXPECT_EQ(fleet.regions.at("fra").running, 1);
  EXPECT_EQ(fleet.regions.count("ams"), 0u);
}

TEST(Diff, FallbackRegionsAreNearestUsable) {
  auto policy = make_policy();
  auto f = fallback_regions(policy, catalog(), "fra", 3);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "ams");  // ~360 km from Frankfurt
  policy.spec.regions.excluded = {"ams"};
  EXPECT_EQ(fallback_regions(policy, catalog(), "fra", 1)[0], "cdg");
  policy.spec.regions.allowed = {"fra", "sin", "syd"};
  EXPECT_EQ(fallback_regions(policy, catalog(), "fra", 3), (Strings{"sin", "syd"}));
}

TEST(Diff, OperationIdsAreStableAndDistinct) {
  EXPECT_EQ(operation_id("web", "fra", 1, 0), operation_id("web", "fra", 1, 0));
  EXPECT_EQ(operation_id("web", "fra", 1, 0).size(), 16u);
  EXPECT_NE(operation_id("web", "fra", 1, 0), operation_id("web", "fra", 1, 1));
  EXPECT_NE(operation_id("web", "fra", 1, 0), operation_id("web", "fra", 2, 0));
  EXPECT_NE(operation_id("web", "fra", 1, 0), operation_id("web", "ams", 1, 0));
  EXPECT_NE(operation_id("we", "bfra", 1, 0), operation_id("web", "fra", 1, 0));
}

TEST(FleetObservation, CountsByStateForCountedMachines) {
  auto policy = make_policy();
  auto cordoned = owned("c", "fra");
  cordoned.cordoned = true;
  auto sick = owned("sick", "fra");
  sick.host_status = "unreachable";
  std::vector<fly::Machine> ms{owned("a", "fra"),
                               owned("b", "fra", "starting"),
                               owned("d", "fra", "stopped"),
                               owned("e", "fra", "suspended"),
                               owned("f", "fra", "stopping"),
                               owned("g", "fra", "destroyed"),
                               cordoned,
                               sick,
                               machine("user", "fra"),
                               owned("x", "fra", "started", "other"),
                               machine("w", "fra", "started", {}, "worker")};
  auto fleet = build_fleet_observation(ms, policy, from_unix_seconds(5));
  const auto& r = fleet.regions.at("fra");
  EXPECT_EQ(r.running, 2);  // a + user
  EXPECT_EQ(r.starting, 1);
  EXPECT_EQ(r.stopped, 1);
  EXPECT_EQ(r.suspended, 1);
  EXPECT_EQ(r.other, 3);  // stopping, cordoned, sick host
  EXPECT_EQ(fleet.at, from_unix_seconds(5));
}

TEST(PlanPrinter, LooksLikeTerraformPlan) {
  auto policy = make_policy();
  std::vector<fly::Machine> ms{machine("tmpl", "iad"), owned("s1", "fra", "stopped"),
                               owned("a", "lhr")};
  auto plan = diff(make_decision({{"iad", 1}, {"fra", 2}}), ms, policy, catalog(), 3);
  const std::string text = format_plan(plan);
  EXPECT_NE(text.find("Plan for policy web (app test-app), generation 3"), std::string::npos);
  EXPECT_NE(text.find("~ start    fra  s1"), std::string::npos) << text;
  EXPECT_NE(text.find("+ create   fra  clone of machine-tmpl (tmpl)"), std::string::npos) << text;
  EXPECT_NE(text.find("- stop     lhr  a"), std::string::npos) << text;
  EXPECT_NE(text.find("(cordon first)"), std::string::npos);
  EXPECT_NE(text.find("Plan: 1 to create, 1 to start, 0 to uncordon, 1 to retire (1 stop)."),
            std::string::npos)
      << text;
  Plan none;
  EXPECT_NE(format_plan(none).find("No changes."), std::string::npos);
}

}  // namespace
}  // namespace autoplacer::controller
