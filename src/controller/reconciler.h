#pragma once
// One reconcile pass for one policy, level-triggered: observe the machines and the traffic
// afresh, decide, diff, apply (per the policy's mode), update status and metrics, save state.
//
//   1. the leader gate is asked; a replica that may not act skips the pass ("skipped");
//   2. the saved state (decision state, status, pass counter) is loaded on the first pass;
//   3. list the app's machines (one list call) -> FleetObservation; unknown outcomes of earlier
//      actions are settled by this list, never retried blind;
//   4. read demand (unknown is not zero: decide() holds the placement);
//   5. decide() -> Decision; diff() -> Plan;
//   6. the decision state and pass counter are saved BEFORE anything is applied (write-ahead):
//      a crash after an action can never forget the cooldown that action started. If the save
//      fails nothing is applied (the pass is an error);
//   7. enforce: the Executor applies the plan (re-listing and leasing as it goes); dryRun and
//      forecastOnly: nothing is touched, the plan is logged / exported;
//   8. status conditions, recent decisions and metrics are updated and the status is saved.
// A restart therefore resumes with the same cooldowns and windows, and the list of step 3 makes a
// machine created just before a crash count, so it is not created twice.
//
// The fast path (sample_spike) reads demand between passes and reports a region whose demand
// jumped past spikeFactor times its value at the last pass; the controller then runs a pass now.
//
// Not thread-safe: the controller runs every reconciler on one thread (its event loop); passes of
// one policy never overlap (the work queue is stingy).
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "controller/executor.h"
#include "controller/leader_gate.h"
#include "controller/plan.h"
#include "controller/state_store.h"
#include "controller/status.h"
#include "controller/time_to_serve.h"
#include "fly/machines_api.h"
#include "metrics/traffic_source.h"
#include "policy/decision.h"
#include "policy/decision_state.h"
#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer::metrics {
class SelfMetrics;
}

namespace autoplacer::controller {

// What every reconciler shares. References must outlive the reconcilers.
struct ReconcilerEnv {
  const Clock* clock = nullptr;
  const RegionCatalog* catalog = nullptr;
  metrics::TrafficSource* traffic = nullptr;
  StateStore* store = nullptr;
  const LeaderGate* leader = nullptr;       // null: always leader
  metrics::SelfMetrics* metrics = nullptr;  // null: no metrics
  // Called at named points of a pass ("pass.listed", "pass.state_saved", "pass.applied",
  // "pass.status_saved"): the restart test kills the process there. Null in production.
  std::function<void(std::string_view point)> on_point;
};

// The result of one pass, as logged, returned by /trigger and printed by `autoplacer plan`.
struct PassResult {
  std::string policy;
  std::string result = "skipped";  // "success" | "error" | "skipped"
  std::string reason;              // error/skip code: "MachinesApiError", "NotLeader", ...
  std::string message;
  std::uint64_t generation = 0;  // the pass counter (part of create operation ids)
  TimePoint started{};
  TimePoint finished{};
  std::optional<Decision> decision;
  std::optional<Plan> plan;
  std::optional<ApplyReport> report;
  // Regions above desired whose surplus is not ours (or held): region -> reason ("not owned").
  // Not a change: describe_pass() shows them as held, not as "fra 1 -> 0".
  std::map<std::string, std::string> held;
  // With PassOptions::defer_apply: the regions whose actions wait for their own queue key
  // (report then says "queued" for them until the controller merges the region's report).
  std::vector<std::string> dispatched;

  bool succeeded() const { return result == "success"; }
  bool has_changes() const { return plan && !plan->empty(); }
  boost::json::value to_json() const;
};

struct PassOptions {
  // Plan only (`autoplacer plan`): decide and diff, apply nothing and save nothing, whatever the
  // policy's mode.
  bool plan_only = false;
  // The controller's passes: decide, diff and save, then keep each region's actions for
  // apply_region() (run under the region's own work-queue key, so a slow or failing region
  // backs off alone) instead of applying them in this pass.
  bool defer_apply = false;
};

class PolicyReconciler {
 public:
  PolicyReconciler(PlacementPolicy policy, std::shared_ptr<fly::MachinesApi> api,
                   ReconcilerEnv env);

  const PlacementPolicy& policy() const { return policy_; }
  const std::string& name() const { return policy_.metadata.name; }
  // A validated change of the policy (the watcher). A different spec bumps the generation.
  void set_policy(PlacementPolicy policy);
  // The policy files changed but are invalid: reported as Degraded until the next valid change.
  void set_invalid_change(std::optional<std::string> error);

  boost::asio::awaitable<PassResult> reconcile(PassOptions options = {});

  // Applies the actions the latest deferred pass kept for `region` (re-listing first, like every
  // apply). nullopt: nothing is waiting for the region. When actions failed the region's plan is
  // kept (unless a newer pass replaced it) so the controller's backed-off retry applies it again.
  boost::asio::awaitable<std::optional<ApplyReport>> apply_region(const std::string& region);
  bool has_region_work(const std::string& region) const { return region_plans_.contains(region); }

  // Fast path: a description of the spike ("fra 4.0 -> 40.0 req/s") or nullopt.
  boost::asio::awaitable<std::optional<std::string>> sample_spike();

  const PolicyStatus& status() const { return status_; }
  // /status: the status plus the app, mode and last pass.
  boost::json::value status_json() const;
  bool first_pass_succeeded() const { return first_success_; }
  std::int64_t policy_generation() const { return policy_generation_; }
  const DecisionState& decision_state() const { return state_; }
  const TimeToServe& time_to_serve() const { return tts_; }

  // Loads the saved state now (otherwise the first pass does). Errors leave a cold start.
  boost::asio::awaitable<void> load_state();
  // Saves status and decision state (graceful shutdown).
  boost::asio::awaitable<StateResult<Unit>> save_state();

 private:
  boost::asio::awaitable<StateResult<Unit>> save_write_ahead();
  void point(std::string_view name) const;
  void update_status(const PassResult& r, const FleetObservation& fleet,
                     const DemandReading& demand, TimePoint now);
  // After an apply (whole plan or one region): per-region failures, the AbleToScale and
  // Degraded conditions, action metrics and log lines, and time-to-serve watches.
  void record_apply(const ApplyReport& report, bool whole_plan, TimePoint started, TimePoint now);
  void refresh_action_conditions(TimePoint now);
  // Regions whose surplus stays (not owned / held): logged once per change, not every pass.
  void note_held(PassResult& r, bool report);
  void observe_time_to_serve(const std::vector<fly::Machine>& machines, TimePoint now);
  boost::asio::awaitable<void> backfill_history();
  void export_metrics(const Decision& d, const DemandReading& demand,
                      const std::map<std::string, std::string>& held);
  void log_pass(const PassResult& r) const;
  PassResult fail(PassResult r, std::string reason, std::string message, TimePoint now);

  PlacementPolicy policy_;
  std::shared_ptr<fly::MachinesApi> api_;
  ReconcilerEnv env_;
  Executor executor_;

  bool loaded_ = false;
  std::uint64_t loaded_term_ = 0;  // LeaderGate::term() when the state was loaded (HA)
  bool first_success_ = false;
  DecisionState state_;
  PolicyStatus status_;
  std::uint64_t generation_ = 0;        // pass counter, persisted
  std::int64_t policy_generation_ = 1;  // bumps on every real spec change, persisted
  std::uint64_t spec_hash_ = 0;
  std::optional<std::string> invalid_change_;
  std::map<std::string, double> baseline_rps_;  // origin -> demand at the last pass
  std::vector<std::string> exported_regions_;   // for forgetting series of regions that left
  std::optional<PassResult> last_;
  std::map<std::string, Plan> region_plans_;  // defer_apply: region -> its actions, to apply
  struct RegionErrors {
    int failed = 0;
    int unknown = 0;
  };
  std::map<std::string, RegionErrors> region_errors_;  // the last apply of each region
  std::map<std::string, std::string> held_logged_;     // region -> "n->m reason" last logged
  TimeToServe tts_;
};

// Short lines for the live log: "web: fra 0 -> 2 (up, demand): demand 80 req/s ...".
std::vector<std::string> describe_pass(const PassResult& r);

}  // namespace autoplacer::controller
