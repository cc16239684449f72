#pragma once
// Carries out a Plan through the Machines API, safely enough to repeat:
//   - before acting on a region it re-lists the app (with leases) and re-checks every action
//     against what is there now: a machine that is gone, no longer ours, held (deploy, foreign
//     lease, host not ok, transient) or already in the wanted state is skipped with a reason; a
//     create is skipped when its operation id is already listed or the region already has its
//     desired machines; a retire is skipped when the region is no longer above desired;
//   - it takes a lease (nonce) on every machine it changes and releases it afterwards; a lease
//     held by someone else (409) skips the machine;
//   - creates are clones carrying the ownership marks; insufficient_capacity falls back to the
//     action's fallback regions in order (marked autoplacer_fallback_for);
//   - an action whose outcome is unknown (time-out, connection lost after sending, 5xx on a
//     write) is recorded, never retried blind: later creates in that region are skipped this
//     pass, and the next list settles it (settle());
//   - a policy in dryRun or forecastOnly mode executes nothing: every action is reported
//     skipped ("dry run") and no API call is made.
// Applying the same plan twice gives the same fleet.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/plan.h"
#include "fly/errors.h"
#include "fly/machines_api.h"
#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer::controller {

enum class Outcome { kOk, kFailed, kUnknown, kSkipped };
const char* to_string(Outcome o);  // "ok", "failed", "unknown", "skipped" (metric label values)

struct ActionResult {
  Action action;
  Outcome outcome = Outcome::kSkipped;
  std::string reason;  // why skipped / failed / unknown; for ok, e.g. "created in ams (fallback)"
  std::string machineId;  // the machine acted on or created
  std::string region;     // where it happened (create: the region it landed in)
  std::optional<fly::FlyError> error;
};

// An action whose result was not known; the next list says whether it happened.
struct PendingUnknown {
  Action action;
  std::uint64_t generation = 0;
  std::string machineId;  // for actions on an existing machine
};

struct ApplyReport {
  std::string policy;
  std::uint64_t generation = 0;
  bool dryRun = false;
  Plan plan;
  std::vector<ActionResult> results;  // one per plan action, in plan order
  int lists = 0;                      // Machines API list calls made
  // Unknown outcomes of earlier applies settled by this apply's first list (see settle()).
  std::vector<std::string> settled;

  int count(Outcome o) const;
  // Something was changed (or may have been: unknown outcomes count).
  bool changed() const { return count(Outcome::kOk) + count(Outcome::kUnknown) > 0; }
};

struct ExecutorOptions {
  std::chrono::seconds leaseTtl{60};
  std::string leaseDescription = "autoplacer";
  // Set: re-lists forget leases past their expiry (forget_expired_leases). Null in old callers.
  const Clock* clock = nullptr;
};

class Executor {
 public:
  Executor(fly::MachinesApi& api, const RegionCatalog& catalog, ExecutorOptions options = {});

  // Applies `plan` for `policy` (the policy decides dryRun and retire details such as the stop
  // timeout). Never throws on API errors: they are results.
  boost::asio::awaitable<ApplyReport> apply(const Plan& plan, const PlacementPolicy& policy);

  // Unknown outcomes not yet settled by a list.
  const std::vector<PendingUnknown>& pending_unknowns() const { return pending_; }
  // Settles pending unknowns against a full list of the app's machines (the next pass's
  // observation): a create happened iff a machine carries its operation id; a change to an
  // existing machine is settled by its listed state. Returns one sentence per settled action.
  std::vector<std::string> settle(const std::vector<fly::Machine>& machines);

 private:
  struct Pass;  // state of one apply (regions out of capacity, ...)
  boost::asio::awaitable<void> run_region(const Plan& plan, const PlacementPolicy& policy,
                                          const std::string& region, Pass& pass,
                                          ApplyReport& report);

  fly::MachinesApi& api_;
  const RegionCatalog& catalog_;
  ExecutorOptions options_;
  std::vector<PendingUnknown> pending_;
};

// The list the controller observes with: every machine of the app, full (with config, for
// cloning) and with leases.
boost::asio::awaitable<fly::FlyResult<std::vector<fly::Machine>>> list_fleet(fly::MachinesApi& api);

}  // namespace autoplacer::controller
