#pragma once
// A policy's status, shaped like a Kubernetes resource's: observedGeneration, conditions with
// reasons and transition times, current vs desired placement, recent decisions with reasons and
// the last error. Served by GET /status (to_json) and saved in the state store (from_json reads
// it back after a restart, so transition times and recent decisions survive).
//
// Plain values, no I/O and no clock reads: every change takes `now` from the caller.
#include <boost/json/fwd.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace autoplacer::controller {

enum class ConditionType {
  kReady,             // the last pass succeeded and the placement is (being) applied
  kScalingActive,     // the controller can compute a placement (metrics known, policy valid)
  kScalingLimited,    // the desired placement was capped by a bound or a rate policy
  kAbleToScale,       // actions can be taken (not held by errors, deploys, dry-run...)
  kMetricsAvailable,  // the traffic source answered with known demand
  kDegraded,          // something is wrong but the controller keeps going (invalid policy
                      // change, repeated action errors, fallbacks)
};
inline constexpr ConditionType kAllConditionTypes[] = {
    ConditionType::kReady,       ConditionType::kScalingActive,    ConditionType::kScalingLimited,
    ConditionType::kAbleToScale, ConditionType::kMetricsAvailable, ConditionType::kDegraded};
const char* to_string(ConditionType type);  // "Ready", "ScalingActive", ...
std::optional<ConditionType> condition_type_from_string(std::string_view text);

enum class ConditionStatus { kTrue, kFalse, kUnknown };
const char* to_string(ConditionStatus status);  // "True", "False", "Unknown"
std::optional<ConditionStatus> condition_status_from_string(std::string_view text);

struct Condition {
  ConditionType type = ConditionType::kReady;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;   // CamelCase code, e.g. "ReconcileSucceeded"
  std::string message;  // a sentence for humans
  TimePoint last_transition_time{};
  bool operator==(const Condition&) const = default;
};

// One region's change (or hold) in one pass, with its reason.
struct DecisionRecord {
  TimePoint at{};
  std::string region;
  int from = 0;
  int to = 0;
  std::string direction;  // "up", "down", "none" (to_string(Direction))
  std::string reason;     // stable code (to_string(ReasonCode))
  std::string message;
  bool operator==(const DecisionRecord&) const = default;
};

struct ErrorRecord {
  TimePoint at{};
  std::string reason;  // stable code, e.g. "MachinesApiError", "MetricsUnavailable"
  std::string message;
  bool operator==(const ErrorRecord&) const = default;
};

class PolicyStatus {
 public:
  static constexpr std::size_t kDefaultDecisionCapacity = 32;

  explicit PolicyStatus(std::string policy = {},
                        std::size_t decision_capacity = kDefaultDecisionCapacity);

  // Sets a condition. last_transition_time changes only when the status changes (or the
  // condition is new); reason and message are always updated. Returns true on a transition.
  bool set_condition(ConditionType type, ConditionStatus status, std::string reason,
                     std::string message, TimePoint now);
  bool set_condition(ConditionType type, bool status, std::string reason, std::string message,
                     TimePoint now) {
    return set_condition(type, status ? ConditionStatus::kTrue : ConditionStatus::kFalse,
                         std::move(reason), std::move(message), now);
  }
  // nullptr when never set.
  const Condition* condition(ConditionType type) const;
  bool is_true(ConditionType type) const;
  // Conditions in kAllConditionTypes order (only those set).
  const std::vector<Condition>& conditions() const { return conditions_; }

  // Decisions go into a bounded ring: the oldest is dropped when full.
  void record_decision(DecisionRecord record);
  const std::deque<DecisionRecord>& recent_decisions() const { return decisions_; }
  std::size_t decision_capacity() const { return decision_capacity_; }

  void set_error(ErrorRecord error) { last_error_ = std::move(error); }
  void clear_error() { last_error_.reset(); }
  const std::optional<ErrorRecord>& last_error() const { return last_error_; }

  // region -> machines. current: active machines observed; desired: the decision's placement.
  void set_placement(std::map<std::string, int> current, std::map<std::string, int> desired) {
    current_ = std::move(current);
    desired_ = std::move(desired);
  }
  const std::map<std::string, int>& current() const { return current_; }
  const std::map<std::string, int>& desired() const { return desired_; }

  void set_observed_generation(std::int64_t generation) { observed_generation_ = generation; }
  std::int64_t observed_generation() const { return observed_generation_; }
  void set_mode(std::string mode) { mode_ = std::move(mode); }  // enforce | dryRun | forecastOnly
  const std::string& mode() const { return mode_; }
  void set_last_reconcile(TimePoint at, bool succeeded) {
    last_reconcile_ = at;
    if (succeeded) last_successful_reconcile_ = at;
  }
  std::optional<TimePoint> last_reconcile() const { return last_reconcile_; }
  std::optional<TimePoint> last_successful_reconcile() const { return last_successful_reconcile_; }

  const std::string& policy() const { return policy_; }

  // {"policy", "observedGeneration", "mode", "conditions": [{"type","status","reason","message",
  //  "lastTransitionTime"}], "placement": {"current": {region: n}, "desired": {region: n}},
  //  "recentDecisions": [{"at","region","from","to","direction","reason","message"}],
  //  "lastError": {"at","reason","message"} | null, "lastReconcileTime",
  //  "lastSuccessfulReconcileTime"}. Times are RFC 3339 UTC with milliseconds.
  boost::json::value to_json() const;
  // Reads what to_json wrote; a bad document is an error message, never a crash.
  static Result<PolicyStatus, std::string> from_json(
      const boost::json::value& json, std::size_t decision_capacity = kDefaultDecisionCapacity);

  bool operator==(const PolicyStatus&) const = default;

 private:
  std::string policy_;
  std::int64_t observed_generation_ = 0;
  std::string mode_;
  std::vector<Condition> conditions_;
  std::map<std::string, int> current_;
  std::map<std::string, int> desired_;
  std::size_t decision_capacity_;
  std::deque<DecisionRecord> decisions_;
  std::optional<ErrorRecord> last_error_;
  std::optional<TimePoint> last_reconcile_;
  std::optional<TimePoint> last_successful_reconcile_;
};

// RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.250Z") and back (also accepts no
// fraction, or a fraction of any length, and a "+00:00" suffix).
std::string format_rfc3339(TimePoint t);
std::optional<TimePoint> parse_rfc3339(std::string_view text);

}  // namespace autoplacer::controller
