#include "controller/ownership.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "policy/regions.h"

namespace autoplacer::controller {

const char* to_string(Ownership o) {
  switch (o) {
    case Ownership::kOwned:
      return "owned";
    case Ownership::kAdopted:
      return "adopted";
    case Ownership::kUnmanaged:
      return "unmanaged";
    case Ownership::kOtherPolicy:
      return "other-policy";
    case Ownership::kOtherGroup:
      return "other-group";
  }
  return "unknown";
}

const char* to_string(Hold h) {
  switch (h) {
    case Hold::kNone:
      return "none";
    case Hold::kDeployInProgress:
      return "deploy-in-progress";
    case Hold::kForeignLease:
      return "foreign-lease";
    case Hold::kHostNotOk:
      return "host-not-ok";
    case Hold::kTransient:
      return "transient";
    case Hold::kTerminal:
      return "terminal";
  }
  return "unknown";
}

StateGroup state_group(std::string_view s) {
  if (s == "started") return StateGroup::kRunning;
  if (s == "creating" || s == "starting") return StateGroup::kStarting;
  if (s == "stopped" || s == "suspended" || s == "created") return StateGroup::kStartable;
  if (s == "stopping" || s == "suspending" || s == "destroying" || s == "restarting" ||
      s == "updating" || s == "replacing" || s == "launch_failed") {
    return StateGroup::kSettling;
  }
  return StateGroup::kGone;  // failed, destroyed, replaced, migrated, anything new
}

OwnershipRules OwnershipRules::from(const PlacementPolicy& policy) {
  OwnershipRules r;
  r.policyName = policy.metadata.name;
  r.processGroup = policy.spec.processGroup;
  r.adoptExisting = policy.spec.adoptExisting;
  return r;
}

namespace {

bool host_ok(const fly::Machine& m) {
  // The API leaves host_status out of summary lists; only an explicit bad value is a problem.
  return m.host_status.empty() || m.host_status == "ok";
}

bool same_group(const fly::Machine& m, const OwnershipRules& rules) {
  const std::string group = m.process_group();
  // Machines made by `fly machine run` without a group belong to the default group "app".
  return group == rules.processGroup || (group.empty() && rules.processGroup == "app");
}

}  // namespace

MachineClass classify(const fly::Machine& m, const OwnershipRules& rules) {
  MachineClass c;
  const std::string owner = m.metadata_value(kMetaPolicy);
  if (!owner.empty()) {
    c.ownership = owner == rules.policyName ? Ownership::kOwned : Ownership::kOtherPolicy;
  } else if (!same_group(m, rules)) {
    c.ownership = Ownership::kOtherGroup;
  } else {
    c.ownership = rules.adoptExisting ? Ownership::kAdopted : Ownership::kUnmanaged;
  }
  // Our own machine moved to another group by the user is no longer ours to size.
  if (c.ownership == Ownership::kOwned && !same_group(m, rules)) {
    c.ownership = Ownership::kOtherGroup;
  }

  const StateGroup g = state_group(m.state);
  if (const std::string tag = m.metadata_value(fly::kMetaBlueGreenTag); !tag.empty()) {
    c.hold = Hold::kDeployInProgress;
    c.holdDetail = "bluegreen tag " + tag;
  } else if (m.lease) {
    // We release every lease we take, so a live lease in a list is someone else's (or ours from
    // a crashed pass, which expires by its TTL).
    c.hold = Hold::kForeignLease;
    c.holdDetail = "lease held by " + (m.lease->owner.empty() ? "another owner" : m.lease->owner);
  } else if (!host_ok(m)) {
    c.hold = Hold::kHostNotOk;
    c.holdDetail = "host_status " + m.host_status;
  } else if (g == StateGroup::kGone) {
    c.hold = Hold::kTerminal;
    c.holdDetail = "state " + m.state;
  } else if (g == StateGroup::kStarting || g == StateGroup::kSettling) {
    c.hold = Hold::kTransient;
    c.holdDetail = "state " + m.state;
  }
  return c;
}

std::string describe_hold(const MachineClass& c) {
  switch (c.hold) {
    case Hold::kNone:
      return "not held";
    case Hold::kDeployInProgress:
      return "deploy in progress (" + c.holdDetail + ")";
    case Hold::kForeignLease:
      return c.holdDetail;
    case Hold::kHostNotOk:
      return "host not ok (" + c.holdDetail + ")";
    case Hold::kTransient:
      return "in transition (" + c.holdDetail + ")";
    case Hold::kTerminal:
      return "gone (" + c.holdDetail + ")";
  }
  return c.holdDetail;
}

bool is_active(const fly::Machine& m) {
  const StateGroup g = state_group(m.state);
  if (g == StateGroup::kStarting) return host_ok(m);
  return g == StateGroup::kRunning && !m.cordoned && host_ok(m);
}

bool is_clone_source(const fly::Machine& m, const OwnershipRules& rules) {
  const MachineClass c = classify(m, rules);
  if (!c.counted() || !same_group(m, rules)) return false;
  if (m.host_status != "ok" && !m.host_status.empty()) return false;
  if (m.config.empty()) return false;
  if (!m.metadata_value(fly::kMetaBlueGreenTag).empty()) return false;
  const StateGroup g = state_group(m.state);
  if (g == StateGroup::kGone || m.state == "destroying") return false;
  const bool has_image = (m.image_ref && !m.image_ref->to_image().empty()) || [&] {
    const auto* i = m.config.if_contains("image");
    return i != nullptr && i->is_string() && !i->get_string().empty();
  }();
  return has_image;
}

const fly::Machine* choose_clone_source(const std::vector<fly::Machine>& machines,
                                        const OwnershipRules& rules) {
  const fly::Machine* best = nullptr;
  auto key = [](const fly::Machine& m) {
    const bool started = m.state == "started";
    const long release = std::strtol(m.metadata_value("fly_release_version").c_str(), nullptr, 10);
    // Larger is better for the first two; the id breaks ties (smallest wins).
    return std::make_tuple(started, release);
  };
  for (const auto& m : machines) {
    if (!is_clone_source(m, rules)) continue;
    if (best == nullptr || key(m) > key(*best) || (key(m) == key(*best) && m.id < best->id)) {
      best = &m;
    }
  }
  return best;
}

std::string home_region(const fly::Machine& m) {
  const std::string home = m.metadata_value(kMetaFallbackFor);
  if (!home.empty() && RegionCatalog::builtin().hostable(home)) return home;
  return m.region;
}

std::map<std::string, std::string> ownership_marks(const OwnershipRules& rules,
                                                   std::string_view op_id,
                                                   std::string_view source_id,
                                                   std::string_view fallback_for) {
  std::map<std::string, std::string> md;
  md[std::string(kMetaPolicy)] = rules.policyName;
  if (!op_id.empty()) md[std::string(kMetaOpId)] = std::string(op_id);
  if (!source_id.empty()) md[std::string(kMetaSource)] = std::string(source_id);
  if (!fallback_for.empty()) md[std::string(kMetaFallbackFor)] = std::string(fallback_for);
  md[std::string(fly::kMetaProcessGroup)] = rules.processGroup;
  return md;
}

void forget_expired_leases(std::vector<fly::Machine>& machines, TimePoint now) {
  const auto now_s = static_cast<std::int64_t>(to_unix_seconds(now));
  for (auto& m : machines)
    if (m.lease && m.lease->expires_at != 0 && m.lease->expires_at <= now_s) m.lease.reset();
}

}  // namespace autoplacer::controller
