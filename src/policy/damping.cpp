#include "policy/damping.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace autoplacer {
namespace {

void upsert(std::vector<TimedCount>& xs, std::int64_t nowMs, int value, std::int64_t keepMs) {
  if (!xs.empty() && xs.back().atMs == nowMs) {
    xs.back().value = value;
  } else if (!xs.empty() && xs.back().atMs > nowMs) {
    return;  // time went backwards: keep what we know rather than reorder
  } else {
    xs.push_back({nowMs, value});
  }
  const std::int64_t since = nowMs - keepMs;
  auto first_kept =
      std::find_if(xs.begin(), xs.end(), [&](const TimedCount& t) { return t.atMs >= since; });
  xs.erase(xs.begin(), first_kept);
  if (xs.size() > RegionState::kMaxEntries) {
    xs.erase(xs.begin(),
             xs.begin() + static_cast<std::ptrdiff_t>(xs.size() - RegionState::kMaxEntries));
  }
}

int period_start(const RegionState& s, std::int64_t nowMs, int current, std::int64_t periodMs) {
  return current - changes_in_period(s.events, nowMs, periodMs, true) +
         changes_in_period(s.events, nowMs, periodMs, false);
}

}  // namespace

bool within_tolerance(double tolerance, int current, double demandRps, double targetPerMachine) {
  if (current <= 0 || targetPerMachine <= 0 || tolerance <= 0) return false;
  const double ratio = demandRps / (current * targetPerMachine);
  return std::fabs(1.0 - ratio) <= tolerance;
}

void record_recommendation(RegionState& s, std::int64_t nowMs, int recommendation,
                           std::int64_t keepMs) {
  upsert(s.recommendations, nowMs, recommendation, keepMs);
}

int stabilize(const RegionState& s, std::int64_t nowMs, int current, std::int64_t upWindowMs,
              std::int64_t downWindowMs) {
  int up = INT_MAX, down = INT_MIN;
  for (const TimedCount& r : s.recommendations) {
    const std::int64_t age = nowMs - r.atMs;
    if (age < 0) continue;
    if (age <= upWindowMs) up = std::min(up, r.value);
    if (age <= downWindowMs) down = std::max(down, r.value);
  }
  int result = current;
  if (up != INT_MAX && result < up) result = up;
  if (down != INT_MIN && result > down) result = down;
  return result;
}

int changes_in_period(const std::vector<TimedCount>& events, std::int64_t nowMs,
                      std::int64_t periodMs, bool added) {
  int sum = 0;
  for (const TimedCount& e : events) {
    // Events of this very pass (atMs == now) are not counted: a repeated pass must agree.
    if (e.atMs <= nowMs - periodMs || e.atMs >= nowMs) continue;
    if (added && e.value > 0) sum += e.value;
    if (!added && e.value < 0) sum -= e.value;
  }
  return sum;
}

int scale_up_limit(const RegionState& s, std::int64_t nowMs, int current, const ScalingRules& up) {
  if (up.select == SelectPolicy::kDisabled) return current;
  if (up.policies.empty()) return INT_MAX;
  int result = up.select == SelectPolicy::kMin ? INT_MAX : INT_MIN;
  for (const RatePolicy& p : up.policies) {
    const int start = period_start(s, nowMs, current, p.period.count());
    int proposed = 0;
    if (p.type == RatePolicyType::kMachines) {
      proposed = start + p.value;
    } else {
      // Rounded up, or a small region could never grow by a percentage.
      proposed = static_cast<int>(std::ceil(start * (1.0 + p.value / 100.0)));
    }
    result =
        up.select == SelectPolicy::kMin ? std::min(result, proposed) : std::max(result, proposed);
  }
  return std::max(result, current);
}

int scale_down_limit(const RegionState& s, std::int64_t nowMs, int current,
                     const ScalingRules& down) {
  if (down.select == SelectPolicy::kDisabled) return current;
  if (down.policies.empty()) return 0;
  int result = down.select == SelectPolicy::kMin ? INT_MIN : INT_MAX;
  for (const RatePolicy& p : down.policies) {
    const int start = period_start(s, nowMs, current, p.period.count());
    int proposed = 0;
    if (p.type == RatePolicyType::kMachines) {
      proposed = start - p.value;
    } else {
      proposed = static_cast<int>(start * (1.0 - p.value / 100.0));
    }
    // Max selects the largest change: the lowest count.
    result =
        down.select == SelectPolicy::kMin ? std::max(result, proposed) : std::min(result, proposed);
  }
  return std::clamp(result, 0, current);
}

void record_event(RegionState& s, std::int64_t nowMs, int delta, std::int64_t keepMs) {
  if (delta == 0) {
    // A repeated pass at the same time that now changes nothing undoes the earlier record.
    if (!s.events.empty() && s.events.back().atMs == nowMs) s.events.pop_back();
    return;
  }
  upsert(s.events, nowMs, delta, keepMs);
}

std::int64_t longest_period_ms(const BehaviorSpec& b) {
  std::int64_t longest = 0;
  for (const RatePolicy& p : b.scaleUp.policies) longest = std::max(longest, p.period.count());
  for (const RatePolicy& p : b.scaleDown.policies) longest = std::max(longest, p.period.count());
  return longest;
}

bool add_blocked(const RegionState& s, std::int64_t nowMs, const BehaviorSpec& b) {
  return s.removedAtMs && nowMs >= *s.removedAtMs &&
         nowMs - *s.removedAtMs < b.cooldownAfterRemove.count();
}

bool remove_blocked(const RegionState& s, std::int64_t nowMs, const BehaviorSpec& b) {
  return s.addedAtMs && nowMs >= *s.addedAtMs && nowMs - *s.addedAtMs < b.cooldownAfterAdd.count();
}

}  // namespace autoplacer
