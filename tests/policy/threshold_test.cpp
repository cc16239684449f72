// Strategy `threshold`: the prototype's rules, one row each.
#include "policy/threshold.h"

#include <gtest/gtest.h>

namespace autoplacer {
namespace {

TEST(Threshold, PrototypeRules) {
  const PlacementSpec spec;  // trafficThreshold 50, removeThreshold 10 (requests per 5 min)
  struct Row {
    const char* name;
    int current;
    double short5, long5;  // requests per 5 minutes
    bool cooling;
    int proposed;
    ReasonCode reason;
  };
  const Row rows[] = {
      {"deploy: at threshold and rising", 0, 50, 40, false, 1, ReasonCode::kThresholdDeploy},
      {"below threshold", 0, 49, 40, false, 0, ReasonCode::kThresholdBelow},
      {"above threshold but not above long", 0, 60, 60, false, 0, ReasonCode::kThresholdBelow},
      {"deployed, resized to ceil(short / target)", 1, 300 * 120, 300 * 100, false, 3,
       ReasonCode::kThresholdDeploy},
      {"remove: at remove threshold and falling", 2, 10, 20, false, 0,
       ReasonCode::kThresholdRemove},
      {"deployed, low but not falling: kept", 2, 10, 10, false, 2, ReasonCode::kThresholdBelow},
      {"deployed, in between: kept", 2, 30, 40, false, 2, ReasonCode::kThresholdBelow},
      {"cooldown holds", 2, 5, 20, true, 2, ReasonCode::kCooldown},
  };
  for (const Row& r : rows) {
    const ThresholdVerdict v =
        threshold_verdict(spec, 50, r.current, r.short5 / 300, r.long5 / 300, r.cooling);
    EXPECT_EQ(v.proposed, r.proposed) << r.name;
    EXPECT_EQ(v.reason, r.reason) << r.name;
  }
}

TEST(Threshold, MessageInThePrototypesWords) {
  const ThresholdVerdict v =
      threshold_verdict(PlacementSpec{}, 50, 0, 36.65 / 300, 39.29 / 300, false);
  EXPECT_EQ(v.message,
            "Traffic does not meet adaptive thresholds. Current avg: 36.65, Long-term avg: 39.29");
}

}  // namespace
}  // namespace autoplacer
