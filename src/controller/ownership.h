#pragma once
// Which machines of an app belong to a policy, which of them the controller may change this pass,
// and the marks it writes on what it creates. Pure functions over fly::Machine; no I/O.
//
// Ownership is read from metadata only, because that is what survives a restart and is visible
// to every other tool (`fly machine list`):
//   autoplacer_policy        = the policy's name          (every machine the controller creates)
//   autoplacer_op_id         = the create's operation id  (recognise a create whose answer was
//   lost) autoplacer_source        = the machine it was cloned from autoplacer_fallback_for  = the
//   region a capacity fallback stands in for fly_process_group        = the policy's process group
//   (copied from the clone source)
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "fly/models.h"
#include "policy/spec.h"

namespace autoplacer::controller {

inline constexpr std::string_view kMetaPolicy = fly::kMetaPolicy;
inline constexpr std::string_view kMetaOpId = fly::kMetaOpId;
inline constexpr std::string_view kMetaSource = fly::kMetaSource;
// Set on a machine created in another region because its own region had no capacity: it is
// counted for (and retired with) that region, so the next pass does not retire it as surplus
// where it stands and create again where capacity is missing.
inline constexpr std::string_view kMetaFallbackFor = "autoplacer_fallback_for";

// Whose a machine is, seen from one policy.
enum class Ownership {
  kOwned,        // autoplacer_policy is this policy
  kAdopted,      // no autoplacer mark, same process group, and the policy adopts existing ones
  kUnmanaged,    // no autoplacer mark, same process group, not adopted: counted, never changed
  kOtherPolicy,  // another autoplacer policy's: neither counted nor changed
  kOtherGroup,   // another process group: neither counted nor changed
};
const char* to_string(Ownership o);

// Why a machine must be left alone this pass even if it is ours.
enum class Hold {
  kNone,
  kDeployInProgress,  // carries fly_bluegreen_deployment_tag
  kForeignLease,      // someone else holds a lease (a deploy, an operator, another controller)
  kHostNotOk,         // host_status unknown/unreachable: its state cannot be trusted
  kTransient,         // creating, starting, stopping, ...: wait until it settles
  kTerminal,          // failed, destroyed, replaced, migrated
};
const char* to_string(Hold h);

// What a machine's state means for capacity.
enum class StateGroup {
  kRunning,    // started
  kStarting,   // creating, starting: will serve soon
  kStartable,  // stopped, suspended, created: a start makes it serve (well under a second)
  kSettling,   // stopping, suspending, destroying, restarting, updating, replacing, launch_failed
  kGone,       // failed, destroyed, replaced, migrated, or a state we do not know
};
StateGroup state_group(std::string_view state);

struct OwnershipRules {
  std::string policyName;  // PlacementPolicy::metadata.name
  std::string processGroup = "app";
  bool adoptExisting = false;

  static OwnershipRules from(const PlacementPolicy& policy);
};

struct MachineClass {
  Ownership ownership = Ownership::kUnmanaged;
  Hold hold = Hold::kNone;
  std::string holdDetail;  // "bluegreen tag bluegreen-01", "lease held by deploy-bot@fly.io", ...

  // Part of the policy's fleet (its capacity): owned, adopted or unmanaged.
  bool counted() const {
    return ownership == Ownership::kOwned || ownership == Ownership::kAdopted ||
           ownership == Ownership::kUnmanaged;
  }
  // The controller may change it (when not held): owned or adopted.
  bool managed() const {
    return ownership == Ownership::kOwned || ownership == Ownership::kAdopted;
  }
  bool actionable() const { return managed() && hold == Hold::kNone; }
};

MachineClass classify(const fly::Machine& m, const OwnershipRules& rules);

// A human phrase for a hold, e.g. "deploy in progress (bluegreen tag bg-1)".
std::string describe_hold(const MachineClass& c);

// Whether a serving-capable machine counts as capacity: running or starting, not cordoned
// (a cordoned machine gets no traffic from Fly Proxy), host ok.
bool is_active(const fly::Machine& m);

// A machine a clone can be made from: same process group, counted, host ok, a config and an
// image, not being deployed, not gone. (Stopped and suspended machines keep their config.)
bool is_clone_source(const fly::Machine& m, const OwnershipRules& rules);

// The best template among `machines` for a clone, or nullptr: a clone source, preferring
// started ones, then the newest fly_release_version, then the lowest id (deterministic).
const fly::Machine* choose_clone_source(const std::vector<fly::Machine>& machines,
                                        const OwnershipRules& rules);

// A lease past its expiry holds nothing (anyone may take the machine), yet a list may still
// show it (flysim does). Without this, a lease of ours whose release failed kept the machine
// "held" for ever once expired (found by the fault schedules, docs/reliability.md). Leases with
// no expiry (0) are kept.
void forget_expired_leases(std::vector<fly::Machine>& machines, TimePoint now);

// The region a machine is counted for: its fallback_for mark when set and hostable, else its
// own region.
std::string home_region(const fly::Machine& m);

// The marks a create carries (merged into the clone's config.metadata).
std::map<std::string, std::string> ownership_marks(const OwnershipRules& rules,
                                                   std::string_view op_id,
                                                   std::string_view source_id,
                                                   std::string_view fallback_for = {});

}  // namespace autoplacer::controller
