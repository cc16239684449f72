#pragma once
// From the decision core's desired placement and the machines observed to the minimal plan that
// closes the gap. Pure: no I/O, no clock; the same inputs give the same plan (operation ids
// included), so a plan can be shown (`autoplacer plan`), applied, and applied again.
//
// Per region, with `active` = counted machines running or starting (not cordoned, host ok):
//   short of desired: uncordon our cordoned started machines, then start stopped/suspended ones
//     (suspended first: fastest), then create clones of a healthy template for the rest, at
//     most behavior.maxCreatesPerPass creates in the whole pass (shared round-robin by demand);
//   above desired: retire our idle-most machines (our own creations before adopted ones, newest
//     first) by decision.retire, cordoning first when retire.cordonFirst; a destroy that would
//     leave fewer than max(1, retire.keepCloneSources) clone sources in the app becomes a stop.
// Machines not ours, or held (deploy, foreign lease, host not ok, transient), are never in a plan;
// held ones still count as capacity where they serve. A decision with heldAll gives no actions.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controller/ownership.h"
#include "controller/plan.h"
#include "fly/models.h"
#include "policy/decision.h"
#include "policy/observation.h"
#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer::controller {

// generation: the caller's pass counter (persisted), part of every create's operation id.
Plan diff(const Decision& decision, const std::vector<fly::Machine>& machines,
          const PlacementPolicy& policy, const RegionCatalog& catalog, std::uint64_t generation);

// Machines -> per-region counts for the decision core: counted machines only (owned, adopted,
// unmanaged of the policy's process group), by home region (a capacity fallback counts for the
// region it stands in for). Host-not-ok and cordoned started machines count as `other`.
FleetObservation build_fleet_observation(const std::vector<fly::Machine>& machines,
                                         const PlacementPolicy& policy, TimePoint at);

// 16 hex digits of FNV-1a over (policy, region, generation, index): the same create in the same
// pass always gets the same id, so a retried apply recognises it in the next list.
std::string operation_id(std::string_view policy, std::string_view region, std::uint64_t generation,
                         int index);

// Where a create for `region` goes when it has no capacity: the policy's other usable regions
// (allowed, not excluded, hostable), nearest first by the catalog's RTT, at most `max`.
std::vector<std::string> fallback_regions(const PlacementPolicy& policy,
                                          const RegionCatalog& catalog, std::string_view region,
                                          int max = 3);

}  // namespace autoplacer::controller
