#pragma once
// Shared set-up for the reconcile-loop tests (owner: loop): a demand-driven policy with short
// windows, and helpers to read a fleet.
#include <map>
#include <string>
#include <vector>

#include "controller/executor_test_util.h"
#include "controller/ownership.h"
#include "fly/models.h"
#include "policy/spec.h"

namespace autoplacer::controller::testing {

// A policy that follows demand quickly: no scale-down window, short cooldowns, no forecast.
inline PlacementPolicy loop_policy(std::string name = "web", std::string app = "test-app") {
  PlacementPolicy p = make_policy(std::move(name), std::move(app));
  p.spec.capacity.targetPerMachine = 50;
  p.spec.capacity.maxPerRegion = 4;
  p.spec.capacity.minTotal = 1;
  p.spec.capacity.maxTotal = 12;
  p.spec.forecast.model = ForecastModel::kNone;
  p.spec.forecast.headroom = 0;
  p.spec.behavior.scaleDown.stabilizationWindow = Duration{0};
  p.spec.behavior.cooldownAfterAdd = std::chrono::seconds(30);
  p.spec.behavior.cooldownAfterRemove = std::chrono::seconds(30);
  p.spec.traffic.interval = std::chrono::seconds(5);
  p.spec.fastPath.interval = std::chrono::seconds(1);
  p.specHash = spec_hash(p.spec);
  return p;
}

// Region -> active machines (running or starting, counted) of the policy.
inline std::map<std::string, int> active_by_region(const std::vector<fly::Machine>& machines,
                                                   const PlacementPolicy& policy) {
  std::map<std::string, int> out;
  const auto rules = OwnershipRules::from(policy);
  for (const auto& m : machines)
    if (classify(m, rules).counted() && is_active(m)) ++out[home_region(m)];
  return out;
}

inline int owned_count(const std::vector<fly::Machine>& machines, const std::string& policy) {
  int n = 0;
  for (const auto& m : machines)
    if (m.metadata_value(kMetaPolicy) == policy && state_group(m.state) != StateGroup::kGone) ++n;
  return n;
}

}  // namespace autoplacer::controller::testing
