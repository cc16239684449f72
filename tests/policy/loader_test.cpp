// The policy loader: reading every field, defaults, each validation rule with its exact message
// and position, multi-document files, directories, names across files, the spec hash, and that
// no input makes it throw. The table of fixture files is in loader_table_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "policy/policy_loader.h"

namespace autoplacer {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Lines 1-6; spec fields added after it start at line 7, indented by two.
constexpr const char* kHeader =
    "apiVersion: autoplacer.fly.io/v1alpha1\n"
    "kind: PlacementPolicy\n"
    "metadata:\n"
    "  name: web\n"
    "spec:\n"
    "  app: my-app\n";

LoadResult load(std::string_view yaml) {
  return load_policies_from_string(yaml, "p.yaml");
}

// The diagnostics of a policy made of kHeader plus `spec_lines`.
std::vector<std::string> problems(const std::string& spec_lines) {
  return load(kHeader + spec_lines).messages();
}

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("ap-loader-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string policy_text(const std::string& name, const std::string& app) {
  return "apiVersion: autoplacer.fly.io/v1alpha1\nkind: PlacementPolicy\nmetadata:\n  name: " +
         name + "\nspec:\n  app: " + app + "\n";
}

// --- defaults and reading ----------------------------------------------------------------

TEST(PolicyLoader, MinimalPolicyTakesEveryDefault) {
  LoadResult r = load(kHeader);
  ASSERT_THAT(r.messages(), IsEmpty());
  ASSERT_EQ(r.policies.size(), 1u);
  const PlacementPolicy& p = r.policies[0];
  EXPECT_EQ(p.metadata.name, "web");
  EXPECT_EQ(p.sourceFile, "p.yaml");
  EXPECT_EQ(p.sourceLine, 1);
  PlacementPolicySpec expected;
  expected.app = "my-app";
  EXPECT_EQ(canonical_text(p.spec), canonical_text(expected));
  // The documented defaults, spelled out (docs/policy.md lists the same).
  const PlacementPolicySpec& s = p.spec;
  EXPECT_EQ(s.processGroup, "app");
  EXPECT_EQ(s.mode, Mode::kEnforce);
  EXPECT_FALSE(s.adoptExisting);
  EXPECT_TRUE(s.regions.allowed.empty());
  EXPECT_EQ(s.capacity.targetPerMachine, 50);
  EXPECT_EQ(s.capacity.minPerRegion, 0);
  EXPECT_EQ(s.capacity.maxPerRegion, 5);
  EXPECT_EQ(s.capacity.minTotal, 1);
  EXPECT_EQ(s.capacity.maxTotal, 20);
  EXPECT_EQ(s.traffic.interval, std::chrono::seconds(30));
  EXPECT_EQ(s.traffic.staleness, std::chrono::minutes(2));
  EXPECT_EQ(s.traffic.query, kDefaultDemandQuery);
  EXPECT_EQ(s.forecast.model, ForecastModel::kHoltWinters);
  EXPECT_FALSE(s.forecast.horizon.has_value());
  EXPECT_EQ(s.placement.strategy, Strategy::kLatency);
  EXPECT_TRUE(s.placement.partialRegions);
  EXPECT_EQ(s.placement.trafficThreshold, 50);
  EXPECT_EQ(s.placement.removeThreshold, 10);
  EXPECT_EQ(s.placement.thresholdCooldown, std::chrono::seconds(10));
  EXPECT_EQ(s.behavior.tolerance, 0.1);
  EXPECT_EQ(s.behavior.scaleDown.stabilizationWindow, std::chrono::seconds(300));
  ASSERT_EQ(s.behavior.scaleUp.policies.size(), 2u);
  EXPECT_EQ(s.behavior.scaleUp.policies[0].value, 4);
  EXPECT_EQ(s.retire.action, RetireAction::kStop);
  EXPECT_EQ(s.onMetricsUnavailable.action, MetricsUnavailableAction::kHold);
  EXPECT_TRUE(s.fastPath.enabled);
}

TEST(PolicyLoader, ReadsEveryField) {
  LoadResult r = load_policies(AP_TEST_FIXTURES "/policies/good/full.yaml");
  ASSERT_THAT(r.messages(), IsEmpty());
  ASSERT_EQ(r.policies.size(), 1u);
  const PlacementPolicy& p = r.policies[0];
  using namespace std::chrono;
  EXPECT_EQ(p.metadata.labels,
            (std::map<std::string, std::string>{{"team", "edge"}, {"tier", "1"}}));
  EXPECT_EQ(p.metadata.annotations.at("owner"), "someone@example.com");
  const PlacementPolicySpec& s = p.spec;
  EXPECT_EQ(s.app, "full-app");
  EXPECT_EQ(s.processGroup, "web");
  EXPECT_EQ(s.mode, Mode::kDryRun);
  EXPECT_TRUE(s.adoptExisting);
  EXPECT_EQ(s.regions.allowed,
            (std::vector<std::string>{"ams", "cdg", "fra", "lhr", "iad", "ord"}));
  EXPECT_EQ(s.regions.excluded, (std::vector<std::string>{"ord"}));
  EXPECT_EQ(s.regions.pinned, (std::vector<std::string>{"fra", "iad"}));
  EXPECT_EQ(s.capacity.targetPerMachine, 75.5);
  EXPECT_EQ(s.capacity.minPerRegion, 1);
  EXPECT_EQ(s.capacity.maxPerRegion, 6);
  EXPECT_EQ(s.capacity.minTotal, 2);
  EXPECT_EQ(s.capacity.maxTotal, 24);
  EXPECT_EQ(s.traffic.query,
            "sum by (region) (rate(fly_edge_http_responses_count{app=\"$APP\", "
            "env=\"$ENV\"}[2m]))");
  EXPECT_EQ(s.traffic.latencyQuery, "");
  EXPECT_EQ(s.traffic.interval, seconds(15));
  EXPECT_EQ(s.traffic.staleness, minutes(1));
  EXPECT_EQ(s.traffic.queryTimeout, seconds(5));
  EXPECT_EQ(s.traffic.historyWindow, hours(24));
  EXPECT_EQ(s.traffic.variables.at("ENV"), "production");
  const ForecastSpec& f = s.forecast;
  EXPECT_EQ(f.model, ForecastModel::kEwma);
  EXPECT_EQ(f.horizon, Duration(seconds(45)));
  EXPECT_EQ(f.bootTime, seconds(12));
  EXPECT_EQ(f.shortAlpha, 0.5);
  EXPECT_EQ(f.longAlpha, 0.05);
  EXPECT_EQ(f.bandWindow, minutes(30));
  EXPECT_EQ(f.bandK, 3);
  EXPECT_EQ(f.seasonStep, minutes(10));
  EXPECT_EQ(f.season, hours(12));
  EXPECT_TRUE(f.weekly);
  EXPECT_EQ(f.hwAlpha, 0.3);
  EXPECT_EQ(f.hwBeta, 0.02);
  EXPECT_EQ(f.hwGamma, 0.2);
  EXPECT_EQ(f.headroom, 0.25);
  EXPECT_EQ(s.placement.strategy, Strategy::kLatency);
  EXPECT_EQ(s.placement.costWeightMs, 35);
  EXPECT_EQ(s.placement.maxRttMs, 150);
  EXPECT_FALSE(s.placement.partialRegions);
  EXPECT_EQ(s.placement.trafficThreshold, 80);
  EXPECT_EQ(s.placement.removeThreshold, 20);
  EXPECT_EQ(s.placement.thresholdCooldown, seconds(30));
  const BehaviorSpec& b = s.behavior;
  EXPECT_EQ(b.tolerance, 0.05);
  EXPECT_EQ(b.scaleUp.stabilizationWindow, seconds(30));
  EXPECT_EQ(b.scaleUp.select, SelectPolicy::kMin);
  ASSERT_EQ(b.scaleUp.policies.size(), 1u);
  EXPECT_EQ(b.scaleUp.policies[0].type, RatePolicyType::kMachines);
  EXPECT_EQ(b.scaleUp.policies[0].value, 2);
  EXPECT_EQ(b.scaleUp.policies[0].period, seconds(30));
  EXPECT_EQ(b.scaleDown.stabilizationWindow, minutes(10));
  EXPECT_EQ(b.scaleDown.select, SelectPolicy::kMax);
  ASSERT_EQ(b.scaleDown.policies.size(), 2u);
  EXPECT_EQ(b.scaleDown.policies[0].type, RatePolicyType::kPercent);
  EXPECT_EQ(b.scaleDown.policies[0].value, 50);
  EXPECT_EQ(b.scaleDown.policies[1].type, RatePolicyType::kMachines);
  EXPECT_EQ(b.cooldownAfterAdd, minutes(15));
  EXPECT_EQ(b.cooldownAfterRemove, minutes(20));
  EXPECT_EQ(b.maxCreatesPerPass, 3);
  EXPECT_EQ(s.retire.action, RetireAction::kSuspend);
  EXPECT_FALSE(s.retire.cordonFirst);
  EXPECT_EQ(s.retire.stopTimeout, minutes(1));
  EXPECT_EQ(s.retire.keepCloneSources, 2);
  EXPECT_EQ(s.onMetricsUnavailable.action, MetricsUnavailableAction::kStatic);
  EXPECT_EQ(s.onMetricsUnavailable.after, minutes(15));
  EXPECT_EQ(s.onMetricsUnavailable.staticPlacement,
            (std::map<std::string, int>{{"fra", 2}, {"iad", 2}, {"lhr", 1}}));
  EXPECT_FALSE(s.fastPath.enabled);
  EXPECT_EQ(s.fastPath.interval, seconds(3));
  EXPECT_EQ(s.fastPath.spikeFactor, 3);
  EXPECT_EQ(s.fastPath.minDemand, 10);
}

TEST(PolicyLoader, NullSectionsAndListsMeanDefaults) {
  LoadResult r = load(std::string(kHeader) + "  capacity:\n  regions:\n    allowed:\n");
  ASSERT_THAT(r.messages(), IsEmpty());
  EXPECT_EQ(r.policies.at(0).spec.capacity.maxTotal, 20);
  EXPECT_TRUE(r.policies.at(0).spec.regions.allowed.empty());
}

TEST(PolicyLoader, ScaleRulesWithoutPoliciesKeepTheDefaultPolicies) {
  LoadResult r = load(std::string(kHeader) +
                      "  behavior:\n    scaleDown:\n      "
                      "stabilizationWindow: 1m\n");
  ASSERT_THAT(r.messages(), IsEmpty());
  const ScalingRules& down = r.policies.at(0).spec.behavior.scaleDown;
  EXPECT_EQ(down.stabilizationWindow, std::chrono::minutes(1));
  ASSERT_EQ(down.policies.size(), 1u);
  EXPECT_EQ(down.policies[0].type, RatePolicyType::kPercent);
}

TEST(PolicyLoader, HorizonIsAutoOrADuration) {
  auto horizon = [](const std::string& v) {
    LoadResult r = load(std::string(kHeader) + "  forecast: {horizon: " + v + "}\n");
    EXPECT_THAT(r.messages(), IsEmpty()) << v;
    return r.policies.empty() ? std::optional<Duration>{} : r.policies[0].spec.forecast.horizon;
  };
  EXPECT_EQ(horizon("auto"), std::nullopt);
  EXPECT_EQ(horizon("1h30m"), Duration(std::chrono::minutes(90)));
  EXPECT_EQ(horizon("0"), Duration(0));
}

TEST(PolicyLoader, NumbersAcceptYamlSpellings) {
  LoadResult r = load(std::string(kHeader) +
                      "  capacity: {targetPerMachine: 1e2, maxTotal: +30}\n"
                      "  fastPath: {enabled: True, minDemand: 0.5}\n");
  ASSERT_THAT(r.messages(), IsEmpty());
  EXPECT_EQ(r.policies[0].spec.capacity.targetPerMachine, 100);
  EXPECT_EQ(r.policies[0].spec.capacity.maxTotal, 30);
  EXPECT_EQ(r.policies[0].spec.fastPath.minDemand, 0.5);
}

// --- rules, one at a time, with exact message and position -------------------------------

TEST(PolicyRules, UnknownFieldSuggestsTheNearestName) {
  EXPECT_THAT(problems("  capacity:\n    maxTotl: 3\n"),
              ElementsAre("p.yaml:8:5: spec.capacity.maxTotl: unknown field \"maxTotl\"; did "
                          "you mean \"maxTotal\"?"));
}

TEST(PolicyRules, FieldAtTheWrongLevelSuggestsItsPath) {
  EXPECT_THAT(problems("  pinned: [fra]\n"),
              ElementsAre("p.yaml:7:3: spec.pinned: unknown field \"pinned\"; did you mean "
                          "\"regions.pinned\"?"));
  EXPECT_THAT(load("app: x\n" + std::string(kHeader)).messages(),
              ElementsAre("p.yaml:1:1: app: unknown field \"app\"; did you mean \"spec.app\"?"));
}

TEST(PolicyRules, UnknownFieldWithNothingCloseListsTheKnownOnes) {
  EXPECT_THAT(problems("  retire: {colour: red}\n"),
              ElementsAre("p.yaml:7:12: spec.retire.colour: unknown field \"colour\"; known "
                          "fields: action, cordonFirst, stopTimeout, keepCloneSources"));
}

TEST(PolicyRules, FieldWrittenTwice) {
  EXPECT_THAT(problems("  mode: dryRun\n  mode: enforce\n"),
              ElementsAre("p.yaml:8:3: spec.mode: field is written twice (first at line 7)"));
}

TEST(PolicyRules, WrongTypes) {
  EXPECT_THAT(problems("  capacity: {maxTotal: ten}\n"),
              ElementsAre("p.yaml:7:24: spec.capacity.maxTotal: must be an integer, got \"ten\""));
  EXPECT_THAT(problems("  capacity: {maxTotal: \"10\"}\n"),
              ElementsAre("p.yaml:7:24: spec.capacity.maxTotal: must be an integer, got the "
                          "string \"10\""));
  EXPECT_THAT(problems("  capacity: {targetPerMachine: [1]}\n"),
              ElementsAre("p.yaml:7:32: spec.capacity.targetPerMachine: must be a number, got a "
                          "list"));
  EXPECT_THAT(problems("  adoptExisting: 1\n"),
              ElementsAre("p.yaml:7:18: spec.adoptExisting: must be true or false, got \"1\""));
  EXPECT_THAT(problems("  regions: [fra]\n"),
              ElementsAre("p.yaml:7:12: spec.regions: must be a mapping, got a list"));
  EXPECT_THAT(problems("  processGroup: {a: b}\n"),
              ElementsAre("p.yaml:7:17: spec.processGroup: must be a string, got a mapping"));
}

TEST(PolicyRules, NegativeAndZeroNumbers) {
  EXPECT_THAT(problems("  capacity: {minTotal: -1}\n"),
              ElementsAre("p.yaml:7:24: spec.capacity.minTotal: must not be negative, got -1"));
  EXPECT_THAT(problems("  capacity: {targetPerMachine: 0}\n"),
              ElementsAre("p.yaml:7:32: spec.capacity.targetPerMachine: must be greater than 0, "
                          "got 0"));
  EXPECT_THAT(problems("  traffic: {interval: 0s}\n"),
              ElementsAre("p.yaml:7:23: spec.traffic.interval: must be longer than 0s, got 0s"));
}

TEST(PolicyRules, MinGreaterThanMax) {
  EXPECT_THAT(problems("  capacity: {minPerRegion: 3, maxPerRegion: 2}\n"),
              ElementsAre("p.yaml:7:28: spec.capacity.minPerRegion: minPerRegion (3) is greater "
                          "than maxPerRegion (2)"));
  EXPECT_THAT(problems("  capacity: {minTotal: 5, maxTotal: 4}\n"),
              ElementsAre("p.yaml:7:24: spec.capacity.minTotal: minTotal (5) is greater than "
                          "maxTotal (4)"));
  EXPECT_THAT(problems("  placement: {removeThreshold: 51}\n"),
              ElementsAre("p.yaml:7:32: spec.placement.removeThreshold: removeThreshold (51) is "
                          "greater than trafficThreshold (50)"));
}

// Regions of exactly 2 machines make only even totals: none from 3 to 3. (The decision core would
// keep maxTotal and give 2; the loader says so up front.) 3 to 4 is fine: two regions make 4.
TEST(PolicyRules, MinTotalThatNoNumberOfRegionsCanMakeWithinMaxTotal) {
  EXPECT_THAT(
      problems("  capacity: {minPerRegion: 2, maxPerRegion: 2, minTotal: 3, maxTotal: 3}\n"),
      ElementsAre("p.yaml:7:58: spec.capacity.minTotal: minTotal (3) cannot be met within "
                  "maxTotal (3): a region in use holds 2 to 2 machines (max(1, "
                  "minPerRegion) to maxPerRegion), and no number of regions makes a total "
                  "from 3 to 3"));
  EXPECT_THAT(
      problems("  capacity: {minPerRegion: 2, maxPerRegion: 2, minTotal: 3, maxTotal: 4}\n"),
      IsEmpty());
  EXPECT_THAT(
      problems("  capacity: {minPerRegion: 2, maxPerRegion: 3, minTotal: 3, maxTotal: 3}\n"),
      IsEmpty());
}

TEST(PolicyRules, ARelationIsReportedAtTheFieldItNamesEvenWhenThatOneIsADefault) {
  // maxPerRegion is left at its default (5): the rule points at minPerRegion, which is written.
  EXPECT_THAT(problems("  capacity:\n    minPerRegion: 6\n"),
              ElementsAre("p.yaml:8:19: spec.capacity.minPerRegion: minPerRegion (6) is greater "
                          "than maxPerRegion (5)"));
  // removeThreshold keeps its default (10): the rule points at the section holding it.
  EXPECT_THAT(problems("  placement:\n    trafficThreshold: 5\n"),
              ElementsAre("p.yaml:7:3: spec.placement.removeThreshold: removeThreshold (10) is "
                          "greater than trafficThreshold (5)"));
}

TEST(PolicyRules, UnknownRegion) {
  EXPECT_THAT(problems("  regions: {allowed: [fra, zzz]}\n"),
              ElementsAre("p.yaml:7:28: spec.regions.allowed[1]: unknown region \"zzz\"; "
                          "hostable regions: ams, arn, bom, cdg, dfw, ewr, fra, gru, iad, jnb, "
                          "lax, lhr, nrt, ord, sin, sjc, syd, yyz"));
  EXPECT_THAT(problems("  regions: {pinned: [Fra]}\n"),
              ElementsAre("p.yaml:7:22: spec.regions.pinned[0]: unknown region \"Fra\"; did you "
                          "mean \"fra\"?"));
}

TEST(PolicyRules, EdgeOnlyRegionIsNotHostable) {
  EXPECT_THAT(problems("  regions: {allowed: [waw]}\n"),
              ElementsAre("p.yaml:7:23: spec.regions.allowed[0]: region \"waw\" is edge-only: "
                          "machines cannot run there (its traffic is served from the nearest "
                          "hostable region, \"arn\")"));
}

TEST(PolicyRules, RegionBothPinnedAndExcluded) {
  EXPECT_THAT(problems("  regions:\n    excluded: [fra]\n    pinned: [fra]\n"),
              ElementsAre("p.yaml:9:14: spec.regions.pinned[0]: region \"fra\" is both pinned "
                          "and excluded"));
}

TEST(PolicyRules, PinnedRegionNotAllowed) {
  EXPECT_THAT(problems("  regions:\n    allowed: [ams]\n    pinned: [fra]\n"),
              ElementsAre("p.yaml:9:14: spec.regions.pinned[0]: pinned region \"fra\" is not in "
                          "spec.regions.allowed"));
}

TEST(PolicyRules, RegionListedTwice) {
  EXPECT_THAT(problems("  regions: {excluded: [bom, bom]}\n"),
              ElementsAre("p.yaml:7:29: spec.regions.excluded[1]: region \"bom\" is listed "
                          "twice"));
}

TEST(PolicyRules, PinnedRegionsOverTheBudget) {
  EXPECT_THAT(problems("  regions: {pinned: [fra, ams, lhr]}\n  capacity: {maxTotal: 2}\n"),
              ElementsAre("p.yaml:7:13: spec.regions.pinned: 3 pinned regions need at least 3 "
                          "machines (max(1, minPerRegion) each), more than maxTotal (2)"));
}

TEST(PolicyRules, EveryRegionExcluded) {
  std::string all;
  for (const std::string& code : RegionCatalog::builtin().hostable_codes()) {
    all += (all.empty() ? "" : ", ") + code;
  }
  EXPECT_THAT(problems("  regions:\n    excluded: [" + all + "]\n"),
              ElementsAre("p.yaml:7:3: spec.regions: no region left to run machines in: every "
                          "hostable region is excluded"));
}

TEST(PolicyRules, UnknownApiVersionAndKind) {
  LoadResult r = load(
      "apiVersion: autoplacer.fly.io/v2\nkind: placementpolicy\nmetadata: {name: a}\n"
      "spec: {app: a}\n");
  EXPECT_THAT(r.messages(),
              ElementsAre("p.yaml:1:13: apiVersion: unsupported apiVersion "
                          "\"autoplacer.fly.io/v2\"; supported: autoplacer.fly.io/v1alpha1",
                          "p.yaml:2:7: kind: unsupported kind \"placementpolicy\"; supported: "
                          "PlacementPolicy"));
  EXPECT_THAT(r.policies, IsEmpty());
}

TEST(PolicyRules, MissingNameAndApp) {
  LoadResult r = load(
      "apiVersion: autoplacer.fly.io/v1alpha1\nkind: PlacementPolicy\nmetadata: {}\nspec:\n"
      "  mode: dryRun\n");
  EXPECT_THAT(r.messages(), ElementsAre("p.yaml:3:1: metadata.name: required field is missing",
                                        "p.yaml:4:1: spec.app: required field is missing"));
}

TEST(PolicyRules, BadDurations) {
  EXPECT_THAT(problems("  traffic: {interval: 5min}\n"),
              ElementsAre("p.yaml:7:23: spec.traffic.interval: invalid duration \"5min\": write "
                          "numbers with units ms, s, m, h or d, e.g. 30s, 5m, 1h30m"));
  EXPECT_THAT(problems("  traffic: {interval: 45}\n"),
              ElementsAre("p.yaml:7:23: spec.traffic.interval: invalid duration \"45\": add a "
                          "unit, e.g. 45s"));
  EXPECT_THAT(problems("  traffic: {interval: 5m, staleness: 30s, historyWindow: 1h30m}\n"),
              IsEmpty());
}

TEST(PolicyRules, BadEnumListsTheAllowedValues) {
  EXPECT_THAT(problems("  retire: {action: kill}\n"),
              ElementsAre("p.yaml:7:20: spec.retire.action: invalid value \"kill\"; allowed: "
                          "stop, suspend, destroy"));
}

TEST(PolicyRules, QueryVariables) {
  EXPECT_THAT(problems("  traffic:\n    query: 'x{a=\"$ENV\"}'\n"),
              ElementsAre("p.yaml:8:12: spec.traffic.query: uses $ENV, which "
                          "spec.traffic.variables does not define"));
  EXPECT_THAT(problems("  traffic:\n    query: 'x{a=\"${ENV}\", b=\"$APP\"} $$'\n    variables: "
                       "{ENV: prod}\n"),
              IsEmpty());
}

TEST(PolicyRules, QueryTimeoutLongerThanInterval) {
  EXPECT_THAT(problems("  traffic: {interval: 5s}\n"),
              ElementsAre("p.yaml:7:3: spec.traffic.queryTimeout: queryTimeout (10s) is longer "
                          "than interval (5s)"));
}

TEST(PolicyRules, StaticPlacementIsChecked) {
  EXPECT_THAT(problems("  onMetricsUnavailable:\n    action: static\n"),
              ElementsAre("p.yaml:8:13: spec.onMetricsUnavailable.action: action static needs a "
                          "staticPlacement (region: machines)"));
}

TEST(PolicyRules, WarningsDoNotDropThePolicy) {
  LoadResult r = load(std::string(kHeader) +
                      "  retire: {action: destroy, keepCloneSources: 0}\n"
                      "  onMetricsUnavailable: {staticPlacement: {fra: 1}}\n");
  EXPECT_THAT(r.messages(),
              ElementsAre("p.yaml:7:47: warning: spec.retire.keepCloneSources: 0 with action "
                          "destroy can leave no machine to clone new ones from",
                          "p.yaml:8:26: warning: spec.onMetricsUnavailable.staticPlacement: is "
                          "only used when action is static"));
  EXPECT_FALSE(r.has_errors());
  EXPECT_EQ(r.policies.size(), 1u);
}

TEST(PolicyRules, AFieldThatDidNotReadGetsNoFurtherRules) {
  // The bad value keeps the default; no "must not be empty" or min/max noise on top.
  EXPECT_THAT(problems("  capacity: {minPerRegion: [9], maxPerRegion: 2}\n"),
              ElementsAre("p.yaml:7:28: spec.capacity.minPerRegion: must be an integer, got a "
                          "list"));
}

TEST(PolicyRules, EveryProblemIsReportedAtOnce) {
  LoadResult r = load(
      "apiVersion: autoplacer.fly.io/v1alpha1\n"
      "kind: PlacementPolicy\n"
      "metadata: {name: web}\n"
      "spec:\n"
      "  app: my-app\n"
      "  mode: fast\n"
      "  regions: {allowed: [xyz], pinned: [waw]}\n"
      "  capacity: {minTotal: 9, maxTotal: 3}\n"
      "  traffic: {interval: 1 minute}\n");
  EXPECT_EQ(r.messages().size(), 5u);
  EXPECT_THAT(r.policies, IsEmpty());
}

// --- documents, files, directories ---------------------------------------------------------

TEST(PolicyDocuments, MultiDocumentFileKeepsLinesOfTheFile) {
  LoadResult r = load(policy_text("a", "app-a") + "---\n# a comment\n---\n" +
                      policy_text("b", "app-b") + "...\n--- " +
                      "{apiVersion: autoplacer.fly.io/v1alpha1, kind: PlacementPolicy, "
                      "metadata: {name: c}, spec: {app: app-c, mode: nope}}\n");
  EXPECT_THAT(r.messages(),
              ElementsAre("p.yaml:17:115: spec.mode: invalid value \"nope\"; allowed: enforce, "
                          "dryRun, forecastOnly"));
  ASSERT_EQ(r.policies.size(), 2u);
  EXPECT_EQ(r.policies[0].metadata.name, "a");
  EXPECT_EQ(r.policies[0].sourceLine, 1);
  EXPECT_EQ(r.policies[1].metadata.name, "b");
  EXPECT_EQ(r.policies[1].sourceLine, 10);
}

TEST(PolicyDocuments, SyntaxErrorInOneDocumentDoesNotHideTheOthers) {
  LoadResult r = load(policy_text("a", "app-a") + "  mode: [\n---\n" + policy_text("b", "app-b") +
                      "  mode: nope\n---\n" + policy_text("c", "app-c"));
  EXPECT_THAT(r.messages(),
              ElementsAre("p.yaml:8:1: YAML syntax error: end of sequence flow not found",
                          "p.yaml:15:9: spec.mode: invalid value \"nope\"; allowed: "
                          "enforce, dryRun, forecastOnly"));
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].metadata.name, "c");
}

TEST(PolicyDocuments, EmptyInputHasNoDocuments) {
  EXPECT_THAT(load("").messages(), ElementsAre("p.yaml: no PlacementPolicy documents"));
  EXPECT_THAT(load("# nothing\n---\n...\n").messages(),
              ElementsAre("p.yaml: no PlacementPolicy documents"));
}

TEST(PolicyDocuments, DuplicateNamesAcrossFiles) {
  TempDir dir;
  const std::string a = dir.write("a.yaml", policy_text("web", "app-a"));
  const std::string b = dir.write("b.yaml", "# b\n" + policy_text("web", "app-b"));
  LoadResult r = load_policies({a, b});
  EXPECT_THAT(r.messages(), ElementsAre(b +
                                        ":5:9: metadata.name: duplicate policy name \"web\"; "
                                        "first defined at " +
                                        a + ":4:9"));
  ASSERT_EQ(r.policies.size(), 1u);
  EXPECT_EQ(r.policies[0].spec.app, "app-a");
}

TEST(PolicyDocuments, SameProcessGroupInTwoPolicies) {
  LoadResult r =
      load(policy_text("a", "shared") + "---\n" + policy_text("b", "shared") +
           "  processGroup: app\n---\n" + policy_text("c", "shared") + "  processGroup: worker\n");
  EXPECT_THAT(r.messages(),
              ElementsAre("p.yaml:13:8: spec.app: app \"shared\" process group \"app\" is "
                          "already placed by policy \"a\" (p.yaml:4:9)"));
  EXPECT_EQ(r.policies.size(), 2u);
}

TEST(PolicyDocuments, DirectoryReadsYamlFilesInNameOrder) {
  TempDir dir;
  dir.write("b.yml", policy_text("b", "app-b"));
  dir.write("a.yaml", policy_text("a", "app-a") + "---\n" + policy_text("a2", "app-a2"));
  dir.write("notes.txt", "not a policy");
  dir.write(".hidden.yaml", "garbage: [");
  std::filesystem::create_directory(std::filesystem::path(dir.path()) / "sub.yaml");
  LoadResult r = load_policies(dir.path());
  ASSERT_THAT(r.messages(), IsEmpty());
  ASSERT_EQ(r.policies.size(), 3u);
  EXPECT_EQ(r.policies[0].metadata.name, "a");
  EXPECT_EQ(r.policies[1].metadata.name, "a2");
  EXPECT_EQ(r.policies[2].metadata.name, "b");
  EXPECT_EQ(r.policies[2].sourceFile, (std::filesystem::path(dir.path()) / "b.yml").string());
}

TEST(PolicyDocuments, EmptyDirectoryAndMissingPathAreErrors) {
  TempDir dir;
  EXPECT_THAT(load_policies(dir.path()).messages(),
              ElementsAre(dir.path() + ": no policy files (*.yaml, *.yml) here"));
  const std::string missing = dir.path() + "/missing.yaml";
  EXPECT_THAT(load_policies(missing).messages(),
              ElementsAre(missing + ": no such file or directory"));
}

TEST(PolicyDocuments, OversizedFileIsRefusedUnread) {
  TempDir dir;
  const std::string f = dir.write("big.yaml", std::string(2000, '#'));
  LoadOptions options;
  options.max_file_bytes = 1000;
  EXPECT_THAT(load_policies(f, options).messages(),
              ElementsAre(f + ": file is larger than 1000 bytes"));
}

TEST(PolicyDocuments, RegionCatalogComesFromTheOptions) {
  RegionCatalog catalog = RegionCatalog::builtin();
  catalog.merge_platform_regions({{"waw", "Warsaw", 52.17, 20.97, true, false}});
  LoadOptions options;
  options.regions = &catalog;
  const std::string text = std::string(kHeader) + "  regions: {pinned: [waw]}\n";
  EXPECT_THAT(load_policies_from_string(text, "p.yaml", options).messages(), IsEmpty());
  EXPECT_EQ(load(text).messages().size(), 1u);
}

TEST(PolicyDocuments, NoInputMakesItThrow) {
  const std::vector<std::string> inputs = {
      std::string("\0\1\2\xff", 4),
      std::string(5000, '['),
      std::string(5000, '{') + std::string(5000, '}'),
      "a: &x [*x]\n",
      "? [a]\n: b\n",
      "apiVersion: !!binary aGVsbG8=\n",
      "--- !foo\nbar\n",
      "%YAML 9.9\n---\na: 1\n",
      std::string(kHeader) + "  regions: {allowed: *nope}\n",
      std::string(kHeader) + "  traffic: {variables: {[a]: b}}\n",
      std::string(kHeader) + "  onMetricsUnavailable: {staticPlacement: {fra: 99999999999999}}\n",
      "\xEF\xBB\xBF" + std::string(kHeader),
  };
  for (const std::string& in : inputs) {
    LoadResult r;
    EXPECT_NO_THROW(r = load(in)) << in;
  }
  EXPECT_THAT(load("\xEF\xBB\xBF" + std::string(kHeader)).messages(), IsEmpty());
}

// --- the spec hash -------------------------------------------------------------------------

TEST(SpecHash, SameContentSameHash) {
  LoadResult plain = load(kHeader);
  // Defaults written out, region order and metadata changed: the spec means the same.
  LoadResult written = load(
      "apiVersion: autoplacer.fly.io/v1alpha1\nkind: PlacementPolicy\n"
      "metadata: {name: other, labels: {a: b}}\nspec:\n  app: my-app\n  processGroup: app\n"
      "  capacity: {maxTotal: 20, minTotal: 1}\n  traffic: {interval: 30s}\n");
  ASSERT_EQ(plain.policies.size(), 1u);
  ASSERT_EQ(written.policies.size(), 1u);
  EXPECT_EQ(plain.policies[0].specHash, written.policies[0].specHash);
  EXPECT_NE(plain.policies[0].specHash, 0u);

  LoadResult ab = load(std::string(kHeader) + "  regions: {allowed: [ams, fra]}\n");
  LoadResult ba = load(std::string(kHeader) + "  regions: {allowed: [fra, ams]}\n");
  EXPECT_EQ(ab.policies.at(0).specHash, ba.policies.at(0).specHash);
}

TEST(SpecHash, AnyChangeChangesTheHash) {
  const std::uint64_t base = load(kHeader).policies.at(0).specHash;
  for (const char* change : {"  mode: dryRun\n", "  capacity: {maxTotal: 21}\n",
                             "  traffic: {staleness: 121s}\n", "  forecast: {horizon: 30s}\n",
                             "  behavior: {scaleUp: {policies: [{type: machines, "
                             "value: 4, period: 16s}]}}\n",
                             "  onMetricsUnavailable: {staticPlacement: {fra: 1}}\n",
                             "  fastPath: {minDemand: 5.5}\n"}) {
    LoadResult r = load(std::string(kHeader) + change);
    ASSERT_FALSE(r.policies.empty()) << change;
    EXPECT_NE(r.policies[0].specHash, base) << change;
  }
}

TEST(SpecHash, IsStableAcrossRuns) {
  // FNV-1a of the canonical text: no pointer, seed or locale in it.
  PlacementPolicySpec spec;
  spec.app = "my-app";
  EXPECT_EQ(spec_hash(spec), spec_hash(PlacementPolicySpec(spec)));
  EXPECT_NE(canonical_text(spec).find("capacity.maxTotal=2:20\n"), std::string::npos);
}

// --- enum names ------------------------------------------------------------------------------

TEST(SpecEnums, NamesRoundTrip) {
  EXPECT_THAT(enum_names<Mode>(), ElementsAre("enforce", "dryRun", "forecastOnly"));
  EXPECT_THAT(enum_names<SelectPolicy>(), ElementsAre("max", "min", "disabled"));
  EXPECT_EQ(from_string<ForecastModel>("holtWinters"), ForecastModel::kHoltWinters);
  EXPECT_EQ(from_string<RetireAction>("Destroy"), std::nullopt);
  for (std::string_view n : enum_names<MetricsUnavailableAction>()) {
    EXPECT_EQ(to_string(*from_string<MetricsUnavailableAction>(n)), n);
  }
}

TEST(PolicySchema, KnownFieldPathsCoverTheSpec) {
  const auto paths = known_field_paths();
  for (const char* p : {"apiVersion", "metadata.name", "spec.app", "spec.capacity.maxTotal",
                        "spec.behavior.scaleDown.policies[].period", "spec.fastPath.minDemand"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
  }
}

}  // namespace
}  // namespace autoplacer
