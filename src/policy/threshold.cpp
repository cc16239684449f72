#include "policy/threshold.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace autoplacer {
namespace {

std::string averages(double short5, double long5) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "Current avg: %.2f, Long-term avg: %.2f", short5, long5);
  return buf;
}

}  // namespace

ThresholdVerdict threshold_verdict(const PlacementSpec& placement, double targetPerMachine,
                                   int current, double shortRps, double longRps, bool cooling) {
  ThresholdVerdict v;
  const double short5 = shortRps * kSecondsPer5Min;
  const double long5 = longRps * kSecondsPer5Min;
  const bool deployed = current > 0;
  if (cooling) {
    v.proposed = current;
    v.reason = ReasonCode::kCooldown;
    v.message = "Region is in cooldown after its last change. " + averages(short5, long5);
    return v;
  }
  if (short5 >= placement.trafficThreshold && short5 > long5) {
    const double per = targetPerMachine > 0 ? targetPerMachine : 1.0;
    v.proposed = std::max(1, static_cast<int>(std::ceil(shortRps / per - 1e-9)));
    v.reason = ReasonCode::kThresholdDeploy;
    v.message = "Traffic meets the adaptive thresholds. " + averages(short5, long5);
    v.acted = v.proposed != current;
    return v;
  }
  if (deployed && short5 <= placement.removeThreshold && short5 < long5) {
    v.proposed = 0;
    v.reason = ReasonCode::kThresholdRemove;
    v.message = "Traffic fell to the remove threshold. " + averages(short5, long5);
    v.acted = true;
    return v;
  }
  v.proposed = current;
  v.reason = ReasonCode::kThresholdBelow;
  v.message = "Traffic does not meet adaptive thresholds. " + averages(short5, long5);
  return v;
}

}  // namespace autoplacer
