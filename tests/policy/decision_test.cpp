// decide(): one table-style test per rule, through the public contract.
#include "policy/decision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "policy/decision_state.h"

namespace autoplacer {
namespace {

const TimePoint kT0 = from_unix_seconds(1'700'000'000);

struct Harness {
  PlacementPolicy policy;
  RegionCatalog catalog = RegionCatalog::builtin();
  DecisionState state;
  FleetObservation fleet;
  TimePoint now = kT0;

  Harness() {
    policy.spec.app = "app";
    policy.spec.capacity.maxPerRegion = 20;
    policy.spec.capacity.maxTotal = 60;
    policy.spec.capacity.minTotal = 0;
    policy.spec.forecast.model = ForecastModel::kNone;  // rules first; forecasting has its tests
  }

  DecisionInput input(std::map<std::string, double> rps) {
    DecisionInput in;
    in.policy = &policy;
    in.catalog = &catalog;
    in.fleet = fleet;
    in.now = now;
    in.demand.at = now;
    in.demand.known = true;
    in.demand.rps = std::move(rps);
    return in;
  }
  // Decides, then lets the fleet follow the decision (machines serve at once).
  Decision pass(std::map<std::string, double> rps, bool follow = true) {
    Decision d = decide(input(std::move(rps)), state);
    if (follow) apply(d);
    return d;
  }
  void apply(const Decision& d) {
    fleet.regions.clear();
    for (const auto& [r, n] : d.desired) fleet.regions[r].running = n;
  }
  void set(const std::string& region, int running) { fleet.regions[region].running = running; }
  int desired(const Decision& d, const std::string& r) const {
    auto it = d.desired.find(r);
    return it == d.desired.end() ? 0 : it->second;
  }
};

TEST(Decide, SizesTheNearestRegionForDemand) {
  Harness h;
  const Decision d = h.pass({{"fra", 120}});
  EXPECT_EQ(d.desired, (RegionMap<int>{{"fra", 3}}));  // ceil(120 * 1.1 / 50)
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kDemand);
  EXPECT_EQ(d.regions.at("fra").direction, Direction::kUp);
  EXPECT_NEAR(d.regions.at("fra").demandRps, 120, 1e-9);
  EXPECT_NEAR(d.expectedMeanRttMs, 5, 1e-9);
  EXPECT_EQ(d.retire, RetireAction::kStop);
}

// The result's maps are sorted vectors built in one pass; a catalog that lists a region twice
// still gives one entry per region, in code order.
TEST(Decide, ACatalogListingARegionTwiceGivesOneEntryPerRegion) {
  Harness h;
  std::vector<Region> regions = RegionCatalog::builtin().regions();
  regions.push_back(*RegionCatalog::builtin().find("fra"));
  h.catalog = RegionCatalog(regions);
  const Decision d = h.pass({{"fra", 120}, {"nrt", 30}});
  EXPECT_EQ(d.desired, (RegionMap<int>{{"fra", 3}, {"nrt", 1}}));
  EXPECT_EQ(d.regions.count("fra"), 1u);
  EXPECT_EQ(d.regions.at("fra").desired, 3);
  EXPECT_TRUE(std::is_sorted(d.regions.begin(), d.regions.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; }));
  EXPECT_TRUE(std::adjacent_find(d.regions.begin(), d.regions.end(),
                                 [](const auto& a, const auto& b) { return a.first == b.first; }) ==
              d.regions.end());
}

TEST(Decide, EdgeOnlyOriginIsServedFromANearbyHostableRegion) {
  Harness h;
  const Decision d = h.pass({{"waw", 60}});
  ASSERT_EQ(d.desired.size(), 1U);
  EXPECT_TRUE(h.catalog.hostable(d.desired.begin()->first));
  EXPECT_LT(d.expectedMeanRttMs, 20);
}

TEST(Decide, SmallFarDemandIsNotWorthAMachine) {
  Harness h;
  h.policy.spec.placement.costWeightMs = 20;
  // 2% of the traffic in Sydney: a machine there would save ~2 ms of mean RTT, worth less than 20.
  const Decision d = h.pass({{"iad", 490}, {"syd", 10}});
  EXPECT_EQ(h.desired(d, "syd"), 0);
  ASSERT_TRUE(d.regions.count("syd"));
  EXPECT_EQ(d.regions.at("syd").reason, ReasonCode::kLatencyNotWorthIt);
  h.policy.spec.placement.costWeightMs = 0.5;
  DecisionState fresh;
  h.state = fresh;
  h.fleet = {};
  EXPECT_EQ(h.desired(h.pass({{"iad", 490}, {"syd", 10}}), "syd"), 1);
}

TEST(Decide, UnknownForAllHoldsEverything) {
  Harness h;
  h.set("fra", 4);
  h.set("nrt", 1);
  DecisionInput in = h.input({});
  in.demand.known = false;
  in.demand.reason = "query failed: timeout";
  const Decision d = decide(in, h.state);
  EXPECT_TRUE(d.heldAll);
  EXPECT_NE(d.heldReason.find("timeout"), std::string::npos);
  EXPECT_EQ(d.desired, (RegionMap<int>{{"fra", 4}, {"nrt", 1}}));
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kUnknownDemand);
}

TEST(Decide, UnknownForOneOriginHoldsTheRegionServingIt) {
  Harness h;
  h.policy.spec.behavior.scaleDown.stabilizationWindow = 0s;
  h.set("fra", 4);
  h.set("nrt", 3);
  DecisionInput in = h.input({{"nrt", 10}});
  in.demand.unknown["fra"] = "series missing";
  const Decision d = decide(in, h.state);
  EXPECT_EQ(h.desired(d, "fra"), 4);  // held
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kUnknownDemand);
  EXPECT_EQ(h.desired(d, "nrt"), 1);  // known: follows demand down
}

TEST(Decide, InvalidValueCountsAsUnknown) {
  Harness h;
  h.set("fra", 4);
  const Decision d = h.pass({{"fra", std::nan("")}});
  EXPECT_EQ(h.desired(d, "fra"), 4);
}

TEST(Decide, StaticFallbackAfterMetricsUnavailableLongEnough) {
  Harness h;
  auto& mu = h.policy.spec.onMetricsUnavailable;
  mu.action = MetricsUnavailableAction::kStatic;
  mu.after = 10min;
  mu.staticPlacement = {{"iad", 2}, {"lhr", 1}};
  h.set("fra", 3);
  DecisionInput in = h.input({});
  in.demand.known = false;
  Decision d = decide(in, h.state);
  EXPECT_TRUE(d.heldAll);  // still within `after`
  EXPECT_EQ(h.desired(d, "fra"), 3);
  in.now = h.now + 10min;
  d = decide(in, h.state);
  EXPECT_FALSE(d.heldAll);
  EXPECT_EQ(d.desired, (RegionMap<int>{{"iad", 2}, {"lhr", 1}}));
  EXPECT_EQ(d.regions.at("iad").reason, ReasonCode::kStaticFallback);
  // Known demand again: the streak ends.
  h.now += 11min;
  h.pass({{"fra", 10}});
  EXPECT_FALSE(h.state.unknownSinceMs.has_value());
}

TEST(Decide, PinnedRegionNeverEmpty) {
  Harness h;
  h.policy.spec.regions.pinned = {"gru"};
  const Decision d = h.pass({{"fra", 10}});
  EXPECT_EQ(h.desired(d, "gru"), 1);
  EXPECT_EQ(d.regions.at("gru").reason, ReasonCode::kPinned);
}

TEST(Decide, ExcludedAndNotAllowedRegionsGoToZero) {
  Harness h;
  h.policy.spec.regions.excluded = {"fra"};
  h.set("fra", 2);
  Decision d = h.pass({{"fra", 100}});
  EXPECT_EQ(h.desired(d, "fra"), 0);
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kNotAllowed);
  EXPECT_GT(h.desired(d, "ams") + h.desired(d, "cdg") + h.desired(d, "lhr"), 0);
  Harness g;
  g.policy.spec.regions.allowed = {"iad", "ord"};
  d = g.pass({{"fra", 100}});
  for (const auto& [r, n] : d.desired) EXPECT_TRUE(r == "iad" || r == "ord") << r;
}

TEST(Decide, MaxTotalAndMaxPerRegionCap) {
  Harness h;
  h.policy.spec.capacity.maxPerRegion = 3;
  h.policy.spec.capacity.maxTotal = 4;
  const Decision d = h.pass({{"fra", 1000}});
  int total = 0;
  for (const auto& [r, n] : d.desired) {
    total += n;
    EXPECT_LE(n, 3);
  }
  EXPECT_EQ(total, 4);
  EXPECT_TRUE(d.limited);
}

TEST(Decide, MinTotalAndMinPerRegion) {
  Harness h;
  h.policy.spec.capacity.minTotal = 2;
  h.policy.spec.capacity.minPerRegion = 2;
  const Decision d = h.pass({{"fra", 10}});
  EXPECT_EQ(h.desired(d, "fra"), 2);
}

// minTotal 3 cannot be met in regions of exactly 2 machines within maxTotal 3: the budget wins
// (found by the decision fuzzer: minTotal had raised two regions to 4 machines).
TEST(Decide, MinTotalNeverRaisesBeyondMaxTotal) {
  for (const bool known : {true, false}) {
    Harness h;
    h.policy.spec.capacity.minTotal = 3;
    h.policy.spec.capacity.maxTotal = 3;
    h.policy.spec.capacity.minPerRegion = 2;
    h.policy.spec.capacity.maxPerRegion = 2;
    DecisionInput in = h.input({{"fra", 10}});
    in.demand.known = known;
    const Decision d = decide(in, h.state);
    int total = 0;
    for (const auto& [r, n] : d.desired) total += n;
    EXPECT_EQ(total, 2) << "demand known: " << known;
  }
}

// With no demand anywhere, minTotal keeps the machine where it runs. It used to go to the first
// region in catalog order ("ams"): the users' region was emptied, and when they came back the
// cooldown after its removal had them served from a neighbour (backtest elb-1region-5m: mean RTT
// 5.06 ms against a limit of 5.00).
TEST(Decide, MinTotalWithoutDemandKeepsTheMachineWhereItRuns) {
  Harness h;
  h.policy.spec.capacity.minTotal = 1;
  h.set("iad", 1);
  const Decision d = h.pass({{"iad", 0}});
  EXPECT_EQ(d.desired, (RegionMap<int>{{"iad", 1}}));
  EXPECT_EQ(d.regions.at("iad").reason, ReasonCode::kMinimum);
  EXPECT_EQ(d.regions.at("iad").direction, Direction::kNone);
}

// Where none runs, a region with a stopped machine comes before others: it is started, not created.
TEST(Decide, MinTotalWithoutDemandPrefersAStoppedMachineToACreate) {
  Harness h;
  h.policy.spec.capacity.minTotal = 1;
  h.fleet.regions["syd"].stopped = 1;
  const Decision d = h.pass({{"syd", 0}, {"fra", 0}});
  EXPECT_EQ(d.desired, (RegionMap<int>{{"syd", 1}}));
}

// Demand still comes first: the region with traffic gets the minimum, not the one that runs.
TEST(Decide, MinTotalGoesWhereDemandIsBeforeWhereMachinesRun) {
  Harness h;
  h.policy.spec.capacity.minTotal = 2;
  h.policy.spec.capacity.minPerRegion = 2;
  h.set("iad", 1);
  const Decision d = h.pass({{"fra", 10}, {"iad", 0}});
  EXPECT_EQ(h.desired(d, "fra"), 2);
  EXPECT_EQ(h.desired(d, "iad"), 0);
}

// placement.partialRegions: with it (the default) fra's third machine, which would carry 9 of
// its 100 req/s, is saved and the overflow goes to ams's spare capacity (0.4 ms of mean RTT
// against a machine worth 0.5 ms); without it every region is sized for all it serves.
TEST(Decide, PartialRegionsCanBeTurnedOff) {
  Harness h;
  h.policy.spec.placement.costWeightMs = 0.5;
  const std::map<std::string, double> rps = {{"fra", 100}, {"ams", 25}};
  Decision d = h.pass(rps, false);
  EXPECT_EQ(d.desired, (RegionMap<int>{{"ams", 1}, {"fra", 2}}));
  h.policy.spec.placement.partialRegions = false;
  d = decide(h.input(rps), h.state);
  EXPECT_EQ(d.desired, (RegionMap<int>{{"ams", 1}, {"fra", 3}}));
}

TEST(Decide, ScaleDownStabilizationHoldsTheHighestRecentRecommendation) {
  Harness h;  // scale-down window 5 min
  h.set("fra", 9);
  h.pass({{"fra", 400}});  // 9 machines
  h.now += 30s;
  Decision d = h.pass({{"fra", 100}});
  EXPECT_EQ(h.desired(d, "fra"), 9);
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kStabilizing);
  EXPECT_EQ(d.regions.at("fra").proposed, 3);
  h.now += 5min;  // the 9 ages out
  d = h.pass({{"fra", 100}});
  EXPECT_EQ(h.desired(d, "fra"), 3);
}

TEST(Decide, ScaleUpRatePolicyLimitsAPass) {
  Harness h;
  h.policy.spec.behavior.maxCreatesPerPass = 100;
  h.set("fra", 2);
  const Decision d = h.pass({{"fra", 900}});  // asks 20
  // Default scale-up: max(4 machines, 100 %) per 15 s from 2: 6.
  EXPECT_EQ(h.desired(d, "fra"), 6);
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kRateLimited);
  EXPECT_TRUE(d.limited);
}

TEST(Decide, MaxCreatesPerPassStartsStoppedMachinesFreely) {
  Harness h;
  h.policy.spec.behavior.maxCreatesPerPass = 1;
  h.fleet.regions["fra"].stopped = 3;
  const Decision d = h.pass({{"fra", 180}});  // asks 4: 3 starts + 1 create
  EXPECT_EQ(h.desired(d, "fra"), 4);
  Harness g;
  g.policy.spec.behavior.maxCreatesPerPass = 1;
  EXPECT_EQ(g.desired(g.pass({{"fra", 180}}), "fra"), 1);
}

TEST(Decide, ToleranceDeadBand) {
  Harness h;
  h.set("fra", 2);
  // 95 req/s * 1.1 = 104.5 needs 3 machines by ceil, but is within 10 % of 2 * 50.
  const Decision d = h.pass({{"fra", 95}});
  EXPECT_EQ(h.desired(d, "fra"), 2);
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kWithinTolerance);
}

TEST(Decide, CooldownAfterAddKeepsANewRegion) {
  Harness h;
  h.policy.spec.behavior.scaleDown.stabilizationWindow = 0s;
  // 90 req/s fill 2 machines at fra (no overflow a partial region could send to nrt's slack).
  h.pass({{"fra", 90}, {"nrt", 100}});
  h.now += 1min;
  Decision d = h.pass({{"fra", 90}});
  EXPECT_EQ(h.desired(d, "nrt"), 1);  // added a minute ago: not removed yet
  EXPECT_EQ(d.regions.at("nrt").reason, ReasonCode::kCooldown);
  h.now += 5min;
  d = h.pass({{"fra", 90}});
  EXPECT_EQ(h.desired(d, "nrt"), 0);
}

TEST(Decide, CooldownAfterRemoveKeepsItAway) {
  Harness h;
  h.policy.spec.behavior.scaleDown.stabilizationWindow = 0s;
  h.policy.spec.behavior.cooldownAfterAdd = 0s;
  h.pass({{"fra", 100}, {"nrt", 100}});
  h.now += 1min;
  h.pass({{"fra", 100}});  // nrt removed
  h.now += 1min;
  Decision d = h.pass({{"fra", 100}, {"nrt", 100}});
  EXPECT_EQ(h.desired(d, "nrt"), 0);
  EXPECT_EQ(d.regions.at("nrt").reason, ReasonCode::kCooldown);
  EXPECT_GT(d.expectedMeanRttMs, 5);  // nrt's users are served from farther away meanwhile
  h.now += 10min;
  d = h.pass({{"fra", 100}, {"nrt", 100}});
  EXPECT_GT(h.desired(d, "nrt"), 0);
}

// The cooldown runs from the pass that first wanted the region empty. A machine that stays while
// desired is 0 (one the policy may not retire, or one still stopping) does not renew it.
TEST(Decide, CooldownAfterRemoveRunsFromTheFirstRemovalNotTheLastPass) {
  Harness h;
  h.policy.spec.behavior.scaleDown.stabilizationWindow = 0s;
  h.policy.spec.behavior.cooldownAfterAdd = 0s;
  h.pass({{"fra", 100}, {"nrt", 100}});
  // nrt's machine stays for 8 minutes after the decision to remove it.
  for (int i = 0; i < 8; ++i) {
    h.now += 1min;
    const Decision d = h.pass({{"fra", 100}}, /*follow=*/false);
    EXPECT_EQ(h.desired(d, "nrt"), 0);
    h.set("fra", h.desired(d, "fra"));
  }
  h.set("nrt", 0);  // gone at last
  h.now += 1min;
  Decision d = h.pass({{"fra", 100}, {"nrt", 100}});
  EXPECT_EQ(h.desired(d, "nrt"), 0);  // 8 minutes after the removal: still cooling down
  EXPECT_EQ(d.regions.at("nrt").reason, ReasonCode::kCooldown);
  h.now += 2min;  // 10 minutes after the first removal, 3 after the last pass that saw it
  d = h.pass({{"fra", 100}, {"nrt", 100}});
  EXPECT_GT(h.desired(d, "nrt"), 0);
}

TEST(Decide, ObservedEdgeLatencyOverridesTheModel) {
  Harness h;
  h.policy.spec.placement.costWeightMs = 20;
  h.set("iad", 10);
  // By the model, syd's 10 % is not worth a machine; measured, its users see 900 ms.
  DecisionInput in = h.input({{"iad", 470}, {"syd", 30}});
  Decision d = decide(in, h.state);
  EXPECT_EQ(h.desired(d, "syd"), 0);
  DecisionState fresh;
  in.demand.p95LatencyMs["syd"] = 900;
  d = decide(in, fresh);

  EXPECT_GE(h.desired(d, "syd"), 1);
}

TEST(Decide, ForecastRaisesAheadOfADailyRise) {
  Harness h;
  h.policy.spec.forecast.model = ForecastModel::kHoltWinters;
  h.policy.spec.behavior.scaleDown.stabilizationWindow = 0s;
  h.policy.spec.behavior.scaleUp.policies = {{RatePolicyType::kMachines, 100, 15s}};
  h.policy.spec.behavior.maxCreatesPerPass = 100;
  // Two days of a step: 50 req/s, then 400 req/s from 12:00 to 18:00 every day.
  auto demand_at = [](TimePoint t) {
    const auto hour = (t.time_since_epoch().count() / 3'600'000) % 24;
    return hour >= 12 && hour < 18 ? 400.0 : 50.0;
  };
  const TimePoint start = from_unix_seconds(1'700'006'400);  // a midnight UTC
  for (TimePoint t = start; t < start + 48h + 11h + 50min; t += 5min) {
    h.now = t;
    h.pass({{"fra", demand_at(t)}});
  }
  // 11:55: observed 50 req/s, but the rise comes within the horizon (20 s boot + 5 min passes).
  h.now = start + 48h + 11h + 55min;
  const Decision d = h.pass({{"fra", 50}});
  EXPECT_GT(h.desired(d, "fra"), 2);
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kForecast);
  EXPECT_GT(d.regions.at("fra").forecastRps, 200);
}

TEST(Decide, ForecastNeverLowersBelowObserved) {
  Harness h;
  h.policy.spec.forecast.model = ForecastModel::kHoltWinters;
  // A fall forecast (demand high at 11:55, low from 12:00) is acted on only when observed.
  auto demand_at = [](TimePoint t) {
    const auto hour = (t.time_since_epoch().count() / 3'600'000) % 24;
    return hour < 12 ? 400.0 : 50.0;
  };
  const TimePoint start = from_unix_seconds(1'700'006'400);
  for (TimePoint t = start; t < start + 48h + 11h + 55min; t += 5min) {
    h.now = t;
    h.pass({{"fra", demand_at(t)}});
  }
  h.now = start + 48h + 11h + 55min;
  const Decision d = h.pass({{"fra", 400}});
  EXPECT_EQ(h.desired(d, "fra"), 9);  // ceil(400 * 1.1 / 50)
}

TEST(Decide, ThresholdStrategyDeploysAndRemoves) {
  Harness h;
  h.policy.spec.placement.strategy = Strategy::kThreshold;
  Decision d = h.pass({{"fra", 0}});
  EXPECT_EQ(h.desired(d, "fra"), 0);
  h.now += 30s;
  d = h.pass({{"fra", 60}});          // 18000 per 5 min, above the long average
  EXPECT_EQ(h.desired(d, "fra"), 1);  // short EWMA 0.3 * 60 = 18 req/s: one machine
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kThresholdDeploy);
  h.now += 5s;  // inside the 10 s cooldown
  d = h.pass({{"fra", 0}});
  EXPECT_EQ(d.regions.at("fra").reason, ReasonCode::kCooldown);
  for (int i = 0; i < 8; ++i) {
    h.now += 30s;
    d = h.pass({{"fra", 0}});
  }
  EXPECT_EQ(h.desired(d, "fra"), 0);
}

TEST(Decide, RepeatedPassGivesTheSameDecision) {
  Harness h;
  h.pass({{"fra", 300}, {"iad", 200}});
  h.now += 30s;
  const DecisionInput in = h.input({{"fra", 30}, {"iad", 900}, {"nrt", 40}});
  const Decision a = decide(in, h.state);
  const DecisionState after_first = h.state;
  const Decision b = decide(in, h.state);
  EXPECT_EQ(a.desired, b.desired);
  EXPECT_EQ(boost::json::serialize(to_json(after_first)), boost::json::serialize(to_json(h.state)));
}

TEST(Decide, NoPolicyHoldsWithoutCrashing) {
  DecisionState s;
  DecisionInput in;
  in.fleet.regions["fra"].running = 2;
  const Decision d = decide(in, s);
  EXPECT_TRUE(d.heldAll);
  EXPECT_EQ(d.desired.at("fra"), 2);
}

TEST(Decide, UnknownOriginCodesAreReportedNotPlaced) {
  Harness h;
  const Decision d = h.pass({{"fra", 10}, {"xyz", 100}});
  EXPECT_EQ(d.ignoredOrigins, (std::vector<std::string>{"xyz"}));
  EXPECT_EQ(d.desired.size(), 1U);
}

TEST(DecisionState, JsonRoundTripAndBoundedSize) {
  Harness h;
  h.policy.spec.forecast.model = ForecastModel::kHoltWinters;
  h.policy.spec.forecast.weekly = true;
  // 35 origins for two days at 5 min.
  std::map<std::string, double> rps;
  for (const Region& r : h.catalog.regions()) rps[r.code] = 10;
  rps["xx1"] = 10;  // 35th: unknown to the catalog, still bounded
  for (int i = 0; i < 2 * 288; ++i) {
    for (auto& [code, v] : rps) v = 10 + (i * 7 + static_cast<int>(code[0])) % 50 + 0.123456;
    h.pass(rps);
    h.now += 5min;
  }
  ASSERT_EQ(h.state.origins.size(), 35U);
  const std::size_t bytes = serialized_size(h.state);
  std::printf("[ state ] 35 origins, weekly on: %zu bytes of JSON\n", bytes);
  EXPECT_LT(bytes, 256U * 1024U);
  auto restored =
      decision_state_from_json(boost::json::parse(boost::json::serialize(to_json(h.state))));
  ASSERT_TRUE(restored.ok()) << restored.error();
  EXPECT_EQ(boost::json::serialize(to_json(*restored)), boost::json::serialize(to_json(h.state)));
}

TEST(DecisionState, MalformedJsonIsAnErrorNotACrash) {
  for (const char* text : {"[]", "{}", R"({"version":1,"origins":[]})",
                           R"({"version":1,"origins":{"fra":{"ago":[1],"rps":[]}}})",
                           R"({"version":1,"regions":{"fra":{"rec":[[1]]}}})",
                           R"({"version":1,"lastDecisionMs":"x"})"}) {
    auto r = decision_state_from_json(boost::json::parse(text));
    EXPECT_FALSE(r.ok()) << text;
  }
  EXPECT_TRUE(decision_state_from_json(boost::json::parse(R"({"version":1})")).ok());
}

}  // namespace
}  // namespace autoplacer
