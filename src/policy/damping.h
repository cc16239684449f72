#pragma once
// Damping, as Kubernetes HPA users expect it, per region:
//  - tolerance: no change while |1 - demand / capacity| <= tolerance;
//  - stabilisation windows: the recommendation kept is the lowest of the scale-up window (a rise
//    must persist) and the highest of the scale-down window (a fall must persist);
//  - rate policies: at most N machines or P percent per period, relative to the count at the
//    start of the period; `select` picks the policy allowing the largest (Max) or smallest (Min)
//    change, or disables scaling in that direction;
//  - cooldowns after a region is added (not removed before cooldownAfterAdd) and after it is
//    removed (not added back before cooldownAfterRemove).
// Pure functions over RegionState; times are unix ms.
#include <cstdint>
#include <vector>

#include "policy/decision_state.h"
#include "policy/spec.h"

namespace autoplacer {

// True when the change is inside the dead band. demandRps: what the region must carry (with
// headroom); current: active machines.
bool within_tolerance(double tolerance, int current, double demandRps, double targetPerMachine);

// Appends (or, at the same time, replaces) a recommendation and forgets those older than
// `keepMs`; at most RegionState::kMaxEntries are kept.
void record_recommendation(RegionState& s, std::int64_t nowMs, int recommendation,
                           std::int64_t keepMs);

// The HPA rule: start from current; if the lowest recommendation within the scale-up window is
// above current, take it; if the highest within the scale-down window is below current, take it.
// The recommendation of `nowMs` must already be recorded. A window of 0 covers only `nowMs`.
int stabilize(const RegionState& s, std::int64_t nowMs, int current, std::int64_t upWindowMs,
              std::int64_t downWindowMs);

// Machines added (positive events) or removed (negative) within (now - period, now].
int changes_in_period(const std::vector<TimedCount>& events, std::int64_t nowMs,
                      std::int64_t periodMs, bool added);

// Highest count the scale-up rules allow this pass; lowest the scale-down rules allow.
int scale_up_limit(const RegionState& s, std::int64_t nowMs, int current, const ScalingRules& up);
int scale_down_limit(const RegionState& s, std::int64_t nowMs, int current,
                     const ScalingRules& down);

// Records a change of `delta` machines at `nowMs` (replacing one already recorded at that time, so
// a repeated pass counts once) and forgets events older than `keepMs`.
void record_event(RegionState& s, std::int64_t nowMs, int delta, std::int64_t keepMs);

// The longest period of any rate policy: how long events must be kept.
std::int64_t longest_period_ms(const BehaviorSpec& b);

// Cooldowns. An add is blocked within cooldownAfterRemove of the last removal; a removal within
// cooldownAfterAdd of the last add.
bool add_blocked(const RegionState& s, std::int64_t nowMs, const BehaviorSpec& b);
bool remove_blocked(const RegionState& s, std::int64_t nowMs, const BehaviorSpec& b);

}  // namespace autoplacer
