#include "controller/diff.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace autoplacer::controller {

namespace {

struct Seen {
  const fly::Machine* m;
  MachineClass c;
};

bool listed_gone(const fly::Machine& m) {
  return m.state == "destroyed" || m.state == "replaced" || m.state == "migrated";
}

int start_rank(const std::string& state) {
  if (state == "suspended") return 0;  // resumes fastest
  if (state == "stopped") return 1;
  return 2;  // created
}

std::vector<std::string> usable_regions(const PlacementPolicy& policy,
                                        const RegionCatalog& catalog) {
  const auto& spec = policy.spec.regions;
  std::vector<std::string> base = spec.allowed.empty() ? catalog.hostable_codes() : spec.allowed;
  std::vector<std::string> out;
  for (const auto& r : base) {
    if (!catalog.hostable(r)) continue;
    if (std::find(spec.excluded.begin(), spec.excluded.end(), r) != spec.excluded.end()) continue;
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::string plural(int n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string operation_id(std::string_view policy, std::string_view region, std::uint64_t generation,
                         int index) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
  auto mix = [&](std::string_view s) {
    for (unsigned char ch : s) {
      h ^= ch;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // field separator, so ("ab","c") differs from ("a","bc")
    h *= 1099511628211ULL;
  };
  mix(policy);
  mix(region);
  mix(std::to_string(generation));
  mix(std::to_string(index));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<std::string> fallback_regions(const PlacementPolicy& policy,
                                          const RegionCatalog& catalog, std::string_view region,
                                          int max) {
  std::vector<std::string> candidates = usable_regions(policy, catalog);
  std::erase(candidates, std::string(region));
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const std::string& a, const std::string& b) {
                     const double ra = catalog.rtt_ms(region, a);
                     const double rb = catalog.rtt_ms(region, b);
                     return ra != rb ? ra < rb : a < b;
                   });
  if (max >= 0 && static_cast<int>(candidates.size()) > max) candidates.resize(max);
  return candidates;
}

FleetObservation build_fleet_observation(const std::vector<fly::Machine>& machines,
                                         const PlacementPolicy& policy, TimePoint at) {
  const OwnershipRules rules = OwnershipRules::from(policy);
  FleetObservation fleet;
  fleet.at = at;
  for (const auto& m : machines) {
    if (listed_gone(m)) continue;
    if (!classify(m, rules).counted()) continue;
    RegionMachines& r = fleet.regions[home_region(m)];
    const bool host_ok = m.host_status.empty() || m.host_status == "ok";
    if (!host_ok) {
      ++r.other;
      continue;
    }
    switch (state_group(m.state)) {
      case StateGroup::kRunning:
        if (m.cordoned) {
          ++r.other;
        } else {
          ++r.running;
        }
        break;
      case StateGroup::kStarting:
        ++r.starting;
        break;
      case StateGroup::kStartable:
        if (m.state == "suspended") {
          ++r.suspended;
        } else {
          ++r.stopped;
        }
        break;
      default:
        ++r.other;
        break;
    }
  }
  return fleet;
}

Plan diff(const Decision& decision, const std::vector<fly::Machine>& machines,
          const PlacementPolicy& policy, const RegionCatalog& catalog, std::uint64_t generation) {
  const OwnershipRules rules = OwnershipRules::from(policy);
  Plan plan;
  plan.policy = policy.metadata.name;
  plan.app = policy.spec.app;
  plan.generation = generation;
  plan.at = decision.at;
  plan.retire = decision.retire;

  // Counted machines by home region, in list order.
  std::map<std::string, std::vector<Seen>> by_region;
  for (const auto& m : machines) {
    if (listed_gone(m)) continue;
    MachineClass c = classify(m, rules);
    if (!c.counted()) continue;
    by_region[home_region(m)].push_back(Seen{&m, std::move(c)});
  }

  std::set<std::string> regions;
  for (const auto& [r, n] : decision.desired) regions.insert(r);
  for (const auto& [r, v] : by_region) regions.insert(r);
  for (const auto& r : regions) {
    int active = 0;
    if (auto it = by_region.find(r); it != by_region.end()) {
      for (const auto& s : it->second) active += is_active(*s.m) ? 1 : 0;
    }
    plan.active[r] = active;
    auto d = decision.desired.find(r);
    plan.desired[r] = d == decision.desired.end() ? 0 : std::max(0, d->second);
  }

  if (decision.heldAll) {
    // Unknown is not zero: hold everything as it is.
    plan.desired = plan.active;
    plan.notes.push_back(
        {"", "",
         "placement held: " +
             (decision.heldReason.empty() ? std::string("demand unknown") : decision.heldReason)});
    return plan;
  }

  // Held machines are reported, never acted on.
  for (const auto& [r, seen] : by_region) {
    for (const auto& s : seen) {
      if (s.c.hold == Hold::kNone || s.c.hold == Hold::kTerminal) continue;
      plan.notes.push_back({r, s.m->id, describe_hold(s.c) + ", left alone"});
    }
  }

  auto demand_of = [&](const std::string& r) {
    auto it = decision.regions.find(r);
    return it == decision.regions.end() ? 0.0 : it->second.demandRps;
  };

  // ---- short of desired: uncordon, start, then create ----
  std::vector<std::string> up;
  for (const auto& r : regions) {
    if (plan.active[r] < plan.desired[r]) up.push_back(r);
  }
  std::stable_sort(up.begin(), up.end(), [&](const std::string& a, const std::string& b) {
    return demand_of(a) > demand_of(b);
  });

  std::map<std::string, std::vector<Action>> fast;  // uncordon/start per region
  std::map<std::string, int> need_create;
  std::set<std::string> uncordoned;  // machine ids used for uncordon/start
  for (const auto& r : up) {
    int deficit = plan.desired[r] - plan.active[r];
    std::vector<const Seen*> cordoned, startable;
    for (const auto& s : by_region[r]) {
      if (!s.c.actionable()) continue;
      const StateGroup g = state_group(s.m->state);
      if (g == StateGroup::kRunning && s.m->cordoned) cordoned.push_back(&s);
      if (g == StateGroup::kStartable) startable.push_back(&s);
    }
    std::stable_sort(startable.begin(), startable.end(), [](const Seen* a, const Seen* b) {
      const int ra = start_rank(a->m->state), rb = start_rank(b->m->state);
      return ra != rb ? ra < rb : a->m->id < b->m->id;
    });
    std::stable_sort(cordoned.begin(), cordoned.end(),
                     [](const Seen* a, const Seen* b) { return a->m->id < b->m->id; });
    const std::string why =
        "desired " + std::to_string(plan.desired[r]) + ", active " + std::to_string(plan.active[r]);
    for (const Seen* s : cordoned) {
      if (deficit <= 0) break;
      Action a;
      a.kind = ActionKind::kUncordon;
      a.region = r;
      a.machineId = s->m->id;
      a.machineName = s->m->name;
      a.machineRegion = s->m->region;
      a.fromState = s->m->state;
      a.reason = why;
      fast[r].push_back(std::move(a));
      uncordoned.insert(s->m->id);
      --deficit;
    }
    for (const Seen* s : startable) {
      if (deficit <= 0) break;
      Action a;
      a.kind = ActionKind::kStart;
      a.region = r;
      a.machineId = s->m->id;
      a.machineName = s->m->name;
      a.machineRegion = s->m->region;
      a.fromState = s->m->state;
      a.uncordon = s->m->cordoned;
      a.reason = why;
      fast[r].push_back(std::move(a));
      --deficit;
    }
    if (deficit > 0) need_create[r] = deficit;
  }

  // ---- above desired: retire, idle-most first; finish half-done retires ----
  // (Worked out before creates so a clone is never made from a machine being retired.)
  std::vector<Action> retires;
  int clone_sources = 0;
  for (const auto& m : machines) clone_sources += is_clone_source(m, rules) ? 1 : 0;
  const int keep_sources = std::max(1, policy.spec.retire.keepCloneSources);

  auto retire_action = [&](const std::string& r, const Seen& s, bool cordon_first,
                           std::string reason) {
    Action a;
    switch (decision.retire) {
      case RetireAction::kStop:
        a.kind = ActionKind::kStop;
        break;
      case RetireAction::kSuspend:
        a.kind = ActionKind::kSuspend;
        break;
      case RetireAction::kDestroy:
        a.kind = ActionKind::kDestroy;
        break;
    }
    a.region = r;
    a.machineId = s.m->id;
    a.machineName = s.m->name;
    a.machineRegion = s.m->region;
    a.fromState = s.m->state;
    a.cordonFirst = cordon_first && !s.m->cordoned;
    a.reason = std::move(reason);
    if (a.kind == ActionKind::kDestroy && is_clone_source(*s.m, rules)) {
      if (clone_sources - 1 < keep_sources) {
        a.kind = ActionKind::kStop;
        a.reason += "; stopped, not destroyed: it is one of the last " +
                    std::to_string(keep_sources) + " machine(s) a clone can be made from";
      } else {
        --clone_sources;
      }
    }
    retires.push_back(std::move(a));
  };

  for (const auto& r : regions) {
    auto& seen = by_region[r];
    const int surplus = plan.active[r] - plan.desired[r];
    if (surplus > 0) {
      std::vector<const Seen*> candidates;
      for (const auto& s : seen) {
        if (s.c.actionable() && state_group(s.m->state) == StateGroup::kRunning && !s.m->cordoned) {
          candidates.push_back(&s);
        }
      }
      // Our own creations before adopted machines (the user's originals), newest first.
      std::stable_sort(candidates.begin(), candidates.end(), [](const Seen* a, const Seen* b) {
        const bool oa = a->c.ownership == Ownership::kOwned;
        const bool ob = b->c.ownership == Ownership::kOwned;
        if (oa != ob) return oa;
        if (a->m->created_at != b->m->created_at) return a->m->created_at > b->m->created_at;
        return a->m->id > b->m->id;
      });
      const int n = std::min<int>(surplus, static_cast<int>(candidates.size()));
      const std::string why = "desired " + std::to_string(plan.desired[r]) + ", active " +
                              std::to_string(plan.active[r]);
      for (int i = 0; i < n; ++i) {
        retire_action(r, *candidates[i], policy.spec.retire.cordonFirst, why);
      }
      if (n < surplus) {
        // Why the rest stays: active machines we may not change (not ours), or ours but held.
        HeldSurplus held;
        for (const auto& s : seen) {
          if (!is_active(*s.m) || s.c.actionable()) continue;
          if (s.c.managed()) {
            ++held.held;
          } else {
            ++held.notOwned;
          }
        }
        const int left = surplus - n;
        held.notOwned = std::min(held.notOwned, left);
        held.held = std::min(held.held, left - held.notOwned);
        if (held.notOwned + held.held == 0) held.held = left;
        plan.heldSurplus[r] = held;
        std::string kept;
        if (held.notOwned > 0)
          kept = std::to_string(held.notOwned) + " not ours (adoptExisting is " +
                 (rules.adoptExisting ? "on" : "off") + ")";
        if (held.held > 0) kept += (kept.empty() ? "" : ", ") + std::to_string(held.held) + " held";
        plan.notes.push_back({r, "", plural(left, "surplus machine") + " left running: " + kept});
      }
    }
    // A machine we cordoned in an earlier pass whose retire did not finish: not serving, not
    // needed (it would have been uncordoned above), so complete the retire.
    for (const auto& s : seen) {
      if (s.c.ownership != Ownership::kOwned || s.c.hold != Hold::kNone) continue;
      if (state_group(s.m->state) != StateGroup::kRunning || !s.m->cordoned) continue;
      if (uncordoned.count(s.m->id)) continue;
      retire_action(r, s, false, "cordoned by an earlier pass; finishing its retire");
    }
  }
  // Creates share one budget per pass, handed out round-robin so no region starves another.
  std::set<std::string> retiring;
  for (const auto& a : retires) retiring.insert(a.machineId);
  std::vector<fly::Machine> staying;
  for (const auto& m : machines) {
    if (!retiring.count(m.id)) staying.push_back(m);
  }
  const fly::Machine* source = choose_clone_source(staying, rules);
  if (source == nullptr) source = choose_clone_source(machines, rules);
  std::map<std::string, int> creates;
  if (!need_create.empty() && source == nullptr) {
    for (const auto& [r, n] : need_create) {
      plan.notes.push_back({r, "",
                            plural(n, "machine") +
                                " short, but no machine to clone from (none of process "
                                "group " +
                                rules.processGroup + " has host ok, a config and an image)"});
    }
    need_create.clear();
  }
  int budget = std::max(0, policy.spec.behavior.maxCreatesPerPass);
  for (bool progress = true; progress && budget > 0;) {
    progress = false;
    for (const auto& r : up) {
      if (budget <= 0) break;
      if (need_create[r] > creates[r]) {
        ++creates[r];
        --budget;
        progress = true;
      }
    }
  }
  for (const auto& r : up) {
    const int deferred = need_create[r] - creates[r];
    if (deferred > 0) {
      plan.createsLimited = true;
      plan.notes.push_back({r, "",
                            plural(deferred, "create") +
                                " deferred to a later pass: behavior.maxCreatesPerPass = " +
                                std::to_string(policy.spec.behavior.maxCreatesPerPass)});
    }
  }

  for (const auto& r : up) {
    for (auto& a : fast[r]) plan.actions.push_back(std::move(a));
    const std::vector<std::string> fallbacks = fallback_regions(policy, catalog, r);
    for (int i = 0; i < creates[r]; ++i) {
      Action a;
      a.kind = ActionKind::kCreate;
      a.region = r;
      a.machineRegion = r;
      a.opId = operation_id(plan.policy, r, generation, i);
      a.sourceId = source->id;
      a.sourceName = source->name;
      a.fallbackRegions = fallbacks;
      a.reason = "desired " + std::to_string(plan.desired[r]) + ", active " +
                 std::to_string(plan.active[r]);
      plan.actions.push_back(std::move(a));
    }
  }

  for (auto& a : retires) plan.actions.push_back(std::move(a));
  return plan;
}

}  // namespace autoplacer::controller
