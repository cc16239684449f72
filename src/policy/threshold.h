#pragma once
// Strategy `threshold`: the earlier Python prototype's algorithm, kept as a baseline and for users
// who want it. Per region a short EWMA (shortAlpha, last 5 points) and a long EWMA (longAlpha, last
// 20 points) of its demand, in requests per 5 minutes as the prototype's metric was: deploy when
// the short average is at least trafficThreshold and above the long one, remove when it is at most
// removeThreshold and below the long one, nothing while the region's cooldown runs. A deployed
// region gets ceil(short average / targetPerMachine) machines.
#include <string>

#include "policy/decision.h"

namespace autoplacer {

inline constexpr std::size_t kThresholdShortPoints = 5;
inline constexpr std::size_t kThresholdLongPoints = 20;
inline constexpr double kSecondsPer5Min = 300.0;

struct ThresholdVerdict {
  int proposed = 0;
  ReasonCode reason = ReasonCode::kThresholdBelow;
  std::string message;
  bool acted = false;  // deploy, resize or remove: starts the region's cooldown
};

// shortRps/longRps: the region's EWMAs in req/s; current: active machines in the region.
ThresholdVerdict threshold_verdict(const PlacementSpec& placement, double targetPerMachine,
                                   int current, double shortRps, double longRps, bool cooling);

}  // namespace autoplacer
