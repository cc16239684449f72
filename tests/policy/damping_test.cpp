// Table tests for the damping rules: tolerance, stabilisation windows, rate policies, cooldowns.
#include "policy/damping.h"

#include <gtest/gtest.h>

namespace autoplacer {
namespace {

constexpr std::int64_t kS = 1000;

TEST(Tolerance, DeadBandAroundCapacity) {
  struct Row {
    double tolerance;
    int current;
    double demand;
    bool within;
  };
  const Row rows[] = {
      {0.1, 2, 100, true}, {0.1, 2, 109, true},  {0.1, 2, 111, false}, {0.1, 2, 91, true},
      {0.1, 2, 89, false}, {0.0, 2, 100, false}, {0.1, 0, 10, false},  {0.5, 4, 120, true},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(within_tolerance(r.tolerance, r.current, r.demand, 50), r.within)
        << r.tolerance << " " << r.current << " " << r.demand;
  }
}

// The HPA documentation's example: with a scale-down window, recommendations
// [10, 9, 8, 9, 9, 8, 9, 8, 9, 8] keep 10 until the 10 ages out of the window.
TEST(Stabilization, HpaScaleDownExampleKeepsTenUntilItAgesOut) {
  RegionState s;
  const int recs[] = {10, 9, 8, 9, 9, 8, 9, 8, 9, 8};
  const std::int64_t window = 300 * kS;  // 5 min, one recommendation every 30 s
  int current = 10;
  for (int i = 0; i < 10; ++i) {
    const std::int64_t now = i * 30 * kS;
    record_recommendation(s, now, recs[i], window);
    current = stabilize(s, now, current, 0, window);
    EXPECT_EQ(current, 10) << "pass " << i;
  }
  // 10 was recorded at t=0; at t=330 s it is outside the 300 s window: the highest left is 9.
  record_recommendation(s, 330 * kS, 8, window);
  EXPECT_EQ(stabilize(s, 330 * kS, current, 0, window), 9);
}

TEST(Stabilization, ScaleUpWindowTakesLowestRecent) {
  RegionState s;
  const std::int64_t window = 60 * kS;
  record_recommendation(s, 0, 2, window);
  record_recommendation(s, 20 * kS, 6, window);
  EXPECT_EQ(stabilize(s, 20 * kS, 2, window, 0), 2);  // the 2 is still in the up window
  record_recommendation(s, 70 * kS, 5, window);
  EXPECT_EQ(stabilize(s, 70 * kS, 2, window, 0), 5);  // lowest of {6, 5}
}

TEST(Stabilization, ZeroWindowsFollowTheRecommendation) {
  RegionState s;
  record_recommendation(s, 0, 7, 0);
  EXPECT_EQ(stabilize(s, 0, 3, 0, 0), 7);
  record_recommendation(s, kS, 1, 0);
  EXPECT_EQ(stabilize(s, kS, 7, 0, 0), 1);
  EXPECT_EQ(s.recommendations.size(), 1U);  // bounded: older ones forgotten
}

TEST(Stabilization, RepeatedPassAtSameTimeReplaces) {
  RegionState s;
  record_recommendation(s, 5 * kS, 3, 300 * kS);
  record_recommendation(s, 5 * kS, 4, 300 * kS);
  ASSERT_EQ(s.recommendations.size(), 1U);
  EXPECT_EQ(s.recommendations[0].value, 4);
}

TEST(RatePolicy, ScaleUpMachinesAndPercentSelectMaxMinDisabled) {
  RegionState s;
  ScalingRules up{0s,
                  SelectPolicy::kMax,
                  {{RatePolicyType::kMachines, 4, 15s}, {RatePolicyType::kPercent, 100, 15s}}};
  struct Row {
    int current;
    SelectPolicy select;
    int limit;
  };
  const Row rows[] = {
      {0, SelectPolicy::kMax, 4},      {2, SelectPolicy::kMax, 6},   {10, SelectPolicy::kMax, 20},
      {0, SelectPolicy::kMin, 0},      {10, SelectPolicy::kMin, 14}, {2, SelectPolicy::kMin, 4},
      {5, SelectPolicy::kDisabled, 5},
  };
  for (const Row& r : rows) {
    up.select = r.select;
    EXPECT_EQ(scale_up_limit(s, 100 * kS, r.current, up), r.limit)
        << r.current << " select " << static_cast<int>(r.select);
  }
}

TEST(RatePolicy, EventsInThePeriodCount) {
  RegionState s;
  ScalingRules up{0s, SelectPolicy::kMax, {{RatePolicyType::kMachines, 4, 15s}}};
  record_event(s, 10 * kS, +3, 15 * kS);
  // At 20 s: 3 added within (5 s, 20 s]: the period started at 5 - 3 = 2 machines; limit 2 + 4.
  EXPECT_EQ(scale_up_limit(s, 20 * kS, 5, up), 6);
  // At 26 s the event has aged out of the 15 s period.
  EXPECT_EQ(scale_up_limit(s, 26 * kS, 5, up), 9);
  // The event of the current pass itself is not counted (a repeated pass gives the same answer).
  EXPECT_EQ(scale_up_limit(s, 10 * kS, 2, up), 6);
}

TEST(RatePolicy, ScaleDownPercentAndMachines) {
  RegionState s;
  ScalingRules down{300s,
                    SelectPolicy::kMax,
                    {{RatePolicyType::kPercent, 50, 60s}, {RatePolicyType::kMachines, 1, 60s}}};
  EXPECT_EQ(scale_down_limit(s, 0, 10, down), 5);  // the larger change: 50%
  down.select = SelectPolicy::kMin;
  EXPECT_EQ(scale_down_limit(s, 0, 10, down), 9);  // the smaller change: 1 machine
  down.select = SelectPolicy::kDisabled;
  EXPECT_EQ(scale_down_limit(s, 0, 10, down), 10);
  down.policies.clear();
  down.select = SelectPolicy::kMax;
  EXPECT_EQ(scale_down_limit(s, 0, 10, down), 0);
}

TEST(Cooldown, AfterAddAndAfterRemove) {
  BehaviorSpec b;  // 5 min after add, 10 min after remove
  RegionState s;
  s.addedAtMs = 0;
  EXPECT_TRUE(remove_blocked(s, 299 * kS, b));
  EXPECT_FALSE(remove_blocked(s, 300 * kS, b));
  s.removedAtMs = 1000 * kS;
  EXPECT_TRUE(add_blocked(s, 1599 * kS, b));
  EXPECT_FALSE(add_blocked(s, 1600 * kS, b));
  EXPECT_FALSE(add_blocked(RegionState{}, 0, b));
}

}  // namespace
}  // namespace autoplacer
