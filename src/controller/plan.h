#pragma once
// A plan: the ordered actions one reconcile pass would take on an app's machines, made by diff()
// (controller/diff.h) and carried out by the Executor (controller/executor.h). Printed for
// `autoplacer plan` like `terraform plan`.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "policy/spec.h"

namespace autoplacer::controller {

enum class ActionKind {
  kUncordon,  // a started machine we cordoned earlier: fastest way back to serving
  kStart,     // a stopped, suspended or created machine (resumes a suspended one)
  kCreate,    // clone of a template machine
  kStop,      // retire
  kSuspend,   // retire
  kDestroy,   // retire
};
const char* to_string(ActionKind k);  // "uncordon", "start", "create", "stop", ...
bool is_retire(ActionKind k);         // stop, suspend, destroy

struct Action {
  ActionKind kind = ActionKind::kStart;
  // The region this action serves (the plan groups and re-lists by it). For a retire of a
  // capacity-fallback machine this is its home region, and `machineRegion` where it runs.
  std::string region;
  std::string machineId;      // empty for create
  std::string machineName;    // for printing
  std::string machineRegion;  // where the machine runs (create: = region)
  std::string fromState;      // start: "stopped" / "suspended" / "created"

  // create
  std::string opId;                          // deterministic; written as autoplacer_op_id
  std::string sourceId;                      // the template machine
  std::string sourceName;                    // for printing
  std::vector<std::string> fallbackRegions;  // tried in order on insufficient_capacity

  bool uncordon = false;     // start: the machine is cordoned, uncordon it after the start
  bool cordonFirst = false;  // retire: cordon before stop/suspend/destroy
  std::string reason;        // why, for logs and `plan`
};

// A region above its desired count whose surplus the controller may not retire: the machines
// are not ours (adoptExisting off) or are held (deploy, foreign lease, host not ok). Such a
// region is "held", not a change: it is logged and reported once, not announced every pass.
struct HeldSurplus {
  int notOwned = 0;  // counted machines that are not ours to change
  int held = 0;      // ours, but held this pass
  // "not owned", "held" or "not owned, held": the reason logged and shown in status.
  std::string reason() const;
};

// Something deliberately not done, for the plan printout and status.
struct PlanNote {
  std::string region;
  std::string machineId;  // "" for region-level notes
  std::string message;
};

struct Plan {
  std::string policy;
  std::string app;
  std::uint64_t generation = 0;
  TimePoint at{};
  RetireAction retire = RetireAction::kStop;
  // Region -> desired machines and active machines seen by the diff, for every region that is in
  // the decision or has counted machines. The executor re-checks its actions against these
  // (a create is skipped when the region already has `desired` active machines).
  std::map<std::string, int> desired;
  std::map<std::string, int> active;
  std::vector<Action> actions;  // execution order: scale-up regions first, then scale-down
  std::vector<PlanNote> notes;
  bool createsLimited = false;  // behavior.maxCreatesPerPass cut creates short
  // Regions whose surplus (or part of it) stays because it is not ours or held.
  std::map<std::string, HeldSurplus> heldSurplus;

  bool empty() const { return actions.empty(); }
  // Regions that have actions, in order of their first action.
  std::vector<std::string> regions() const;
  int count(ActionKind k) const;
};

// Like `terraform plan`:
//   Plan for policy web (app demo-app), generation 7
//     + create  fra  clone of web-iad-original (148e...)  op 3f2a91c0d4e8b7a1  fallback ams,cdg
//     ~ start   fra  9080e... web-fra-2 (stopped)
//     - stop    lhr  3d8d... web-lhr-1 (cordon first)
//     # fra: 9185...: deploy in progress (bluegreen tag bg-1), left alone
//   Plan: 1 to create, 1 to start, 0 to uncordon, 1 to retire (stop).
// or "No changes. ..." when empty.
std::string format_plan(const Plan& plan);
// The part of `plan` one region's work-queue key applies: that region's actions and notes, with
// the whole plan's desired and active counts (the executor re-checks against them).
Plan region_plan(const Plan& plan, const std::string& region);
std::string format_action(const Action& a);  // one line, no indentation

}  // namespace autoplacer::controller
