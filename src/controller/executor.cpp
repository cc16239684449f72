#include "controller/executor.h"

#include <algorithm>
#include <set>

#include "controller/diff.h"
#include "controller/ownership.h"

namespace autoplacer::controller {
namespace asio = boost::asio;

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kUnknown:
      return "unknown";
    case Outcome::kSkipped:
      return "skipped";
  }
  return "unknown";
}

int ApplyReport::count(Outcome o) const {
  return static_cast<int>(std::count_if(results.begin(), results.end(),
                                        [&](const ActionResult& r) { return r.outcome == o; }));
}

asio::awaitable<fly::FlyResult<std::vector<fly::Machine>>> list_fleet(fly::MachinesApi& api) {
  fly::ListOptions o;
  o.include_leases = true;
  co_return co_await api.list_machines(std::move(o));
}

struct Executor::Pass {
  std::set<std::string> no_capacity;    // regions that refused a create this pass
  std::vector<PendingUnknown> earlier;  // unknowns of earlier applies, settled by 1st list
  bool settled = false;
};

namespace {

// A write whose effect we cannot know: never repeat it, let the next list say.
bool unknown_outcome(const fly::FlyError& e) {
  return e.outcome_unknown || e.kind == fly::FlyError::Kind::kTimeout;
}

const fly::Machine* find_machine(const std::vector<fly::Machine>& ms, const std::string& id) {
  for (const auto& m : ms) {
    if (m.id == id && m.state != "destroyed") return &m;
  }
  return nullptr;
}

const fly::Machine* find_op(const std::vector<fly::Machine>& ms, const std::string& op_id) {
  if (op_id.empty()) return nullptr;
  for (const auto& m : ms) {
    if (m.state != "destroyed" && m.metadata_value(kMetaOpId) == op_id) return &m;
  }
  return nullptr;
}

void set_result(ActionResult& r, Outcome o, std::string reason,
                std::optional<fly::FlyError> error = std::nullopt) {
  r.outcome = o;
  r.reason = std::move(reason);
  r.error = std::move(error);
}

void set_error(ActionResult& r, const std::string& what, const fly::FlyError& e) {
  if (unknown_outcome(e)) {
    set_result(r, Outcome::kUnknown,
               what + ": outcome unknown (" + fly::describe(e) + "); the next list settles it", e);
  } else {
    set_result(r, Outcome::kFailed, what + ": " + fly::describe(e), e);
  }
}

std::vector<std::string> settle_against(std::vector<PendingUnknown>& pending,
                                        const std::vector<fly::Machine>& machines) {
  std::vector<std::string> out;
  for (const auto& p : pending) {
    const Action& a = p.action;
    if (a.kind == ActionKind::kCreate) {
      if (const fly::Machine* m = find_op(machines, a.opId)) {
        out.push_back("create " + a.opId + " for " + a.region + " happened: machine " + m->id +
                      " in " + m->region + " (" + m->state + ")");
      } else {
        out.push_back("create " + a.opId + " for " + a.region + " did not happen");
      }
    } else {
      const fly::Machine* m = find_machine(machines, p.machineId);
      out.push_back(
          std::string(to_string(a.kind)) + " of " + p.machineId + ": machine is " +
          (m == nullptr ? std::string("gone") : m->state + (m->cordoned ? " (cordoned)" : "")));
    }
  }
  pending.clear();
  return out;
}

}  // namespace

Executor::Executor(fly::MachinesApi& api, const RegionCatalog& catalog, ExecutorOptions options)
    : api_(api), catalog_(catalog), options_(std::move(options)) {}

std::vector<std::string> Executor::settle(const std::vector<fly::Machine>& machines) {
  return settle_against(pending_, machines);
}

asio::awaitable<ApplyReport> Executor::apply(const Plan& plan, const PlacementPolicy& policy) {
  ApplyReport report;
  report.policy = plan.policy;
  report.generation = plan.generation;
  report.plan = plan;
  report.results.reserve(plan.actions.size());
  for (const auto& a : plan.actions) {
    ActionResult r;
    r.action = a;
    r.machineId = a.machineId;
    r.region = a.machineRegion.empty() ? a.region : a.machineRegion;
    report.results.push_back(std::move(r));
  }
  if (policy.spec.mode != Mode::kEnforce) {
    report.dryRun = true;
    for (auto& r : report.results) {
      set_result(r, Outcome::kSkipped,
                 std::string("dry run (mode ") + autoplacer::to_string(policy.spec.mode) + ")");
    }
    co_return report;
  }
  Pass pass;
  pass.earlier = std::move(pending_);
  pending_.clear();
  for (const auto& region : plan.regions()) {
    co_await run_region(plan, policy, region, pass, report);
  }
  // Nothing listed (no region acted on): earlier unknowns wait for the next list.
  if (!pass.settled) {
    pending_.insert(pending_.begin(), pass.earlier.begin(), pass.earlier.end());
  }
  co_return report;
}

asio::awaitable<void> Executor::run_region(const Plan& plan, const PlacementPolicy& policy,
                                           const std::string& region, Pass& pass,
                                           ApplyReport& report) {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < plan.actions.size(); ++i) {
    if (plan.actions[i].region == region) indices.push_back(i);
  }

  // Re-list before acting: the plan may be stale (another pass, a deploy, Fly Proxy).
  auto listed = co_await list_fleet(api_);
  ++report.lists;
  if (!listed) {
    for (auto i : indices) {
      set_result(report.results[i], Outcome::kFailed,
                 "re-list before acting on " + region + " failed: " + fly::describe(listed.error()),
                 listed.error());
    }
    co_return;
  }
  // An expired lease (ours, its release lost to a fault) must not hold the machine for ever.
  if (options_.clock != nullptr) forget_expired_leases(listed.value(), options_.clock->now());
  const std::vector<fly::Machine>& machines = listed.value();
  if (!pass.settled) {
    pass.settled = true;
    auto s = settle_against(pass.earlier, machines);
    report.settled.insert(report.settled.end(), s.begin(), s.end());
  }

  const OwnershipRules rules = OwnershipRules::from(policy);
  int active = 0;
  for (const auto& m : machines) {
    if (m.state == "destroyed") continue;
    if (classify(m, rules).counted() && home_region(m) == region && is_active(m)) ++active;
  }
  const auto desired_it = plan.desired.find(region);
  const int desired = desired_it == plan.desired.end() ? 0 : desired_it->second;
  int clone_sources = 0;
  for (const auto& m : machines) clone_sources += is_clone_source(m, rules) ? 1 : 0;
  const int keep_sources = std::max(1, policy.spec.retire.keepCloneSources);
  bool create_unknown = false;

  for (auto i : indices) {
    const Action& a = plan.actions[i];
    ActionResult& res = report.results[i];

    if (a.kind == ActionKind::kCreate) {
      if (create_unknown) {
        set_result(res, Outcome::kSkipped,
                   "an earlier create for " + region +
                       " has an unknown outcome; the next list settles it");
        continue;
      }
      if (const fly::Machine* done = find_op(machines, a.opId)) {
        res.machineId = done->id;
        res.region = done->region;
        set_result(res, Outcome::kSkipped,
                   "already created: machine " + done->id + " has op " + a.opId);
        continue;
      }
      if (active >= desired) {
        set_result(res, Outcome::kSkipped,
                   region + " already has " + std::to_string(active) + " active (desired " +
                       std::to_string(desired) + ")");
        continue;
      }
      const fly::Machine* source = find_machine(machines, a.sourceId);
      if (source == nullptr || !is_clone_source(*source, rules)) {
        source = choose_clone_source(machines, rules);
      }
      if (source == nullptr) {
        set_result(res, Outcome::kFailed, "no machine to clone from");
        continue;
      }
      std::vector<std::string> targets{region};
      // A hand-made plan without fallbacks still gets the nearest usable regions.
      const std::vector<std::string> fallbacks = a.fallbackRegions.empty()
                                                     ? fallback_regions(policy, catalog_, region)
                                                     : a.fallbackRegions;
      targets.insert(targets.end(), fallbacks.begin(), fallbacks.end());
      std::vector<std::string> refused;
      bool done = false;
      for (const auto& target : targets) {
        if (pass.no_capacity.count(target)) {
          refused.push_back(target);
          continue;
        }
        fly::CloneOptions o;
        o.region = target;
        o.metadata = ownership_marks(rules, a.opId, source->id, target == region ? "" : region);
        auto created = co_await fly::clone_machine(api_, *source, std::move(o));
        if (created) {
          res.machineId = created->id;
          res.region = created->region.empty() ? target : created->region;
          set_result(res, Outcome::kOk,
                     target == region ? "created in " + target + " from " + source->id
                                      : "created in " + target + " from " + source->id +
                                            " (no capacity in " + region + ")");
          ++active;
          done = true;
          break;
        }
        const fly::FlyError& e = created.error();
        if (e.kind == fly::FlyError::Kind::kInsufficientCapacity ||
            e.fly_status == "insufficient_capacity") {
          pass.no_capacity.insert(target);
          refused.push_back(target);
          continue;
        }
        set_error(res, "create in " + target, e);
        if (res.outcome == Outcome::kUnknown) {
          create_unknown = true;
          pending_.push_back(PendingUnknown{a, plan.generation, ""});
        }
        done = true;
        break;
      }
      if (!done) {
        std::string list;
        for (const auto& r : refused) list += (list.empty() ? "" : ",") + r;
        set_result(res, Outcome::kFailed, "insufficient capacity in " + list);
      }
      continue;
    }

    // ---- actions on an existing machine ----
    const fly::Machine* m = find_machine(machines, a.machineId);
    if (m == nullptr) {
      set_result(res, Outcome::kSkipped, "machine " + a.machineId + " is gone");
      continue;
    }
    const MachineClass c = classify(*m, rules);
    if (!c.managed()) {
      set_result(res, Outcome::kSkipped,
                 std::string("machine is not ours (") + to_string(c.ownership) + ")");
      continue;
    }
    if (c.hold != Hold::kNone) {
      set_result(res, Outcome::kSkipped, describe_hold(c));
      continue;
    }
    const StateGroup g = state_group(m->state);
    ActionKind kind = a.kind;
    bool was_active = is_active(*m);
    if (kind == ActionKind::kStart || kind == ActionKind::kUncordon) {
      if (was_active) {
        set_result(res, Outcome::kSkipped, "already serving (" + m->state + ")");
        continue;
      }
      if (kind == ActionKind::kStart && g != StateGroup::kStartable) {
        set_result(res, Outcome::kSkipped, "cannot start from state " + m->state);
        continue;
      }
      if (kind == ActionKind::kUncordon && !(g == StateGroup::kRunning && m->cordoned)) {
        set_result(res, Outcome::kSkipped, "not a cordoned started machine (" + m->state + ")");
        continue;
      }
      if (active >= desired) {
        set_result(res, Outcome::kSkipped,
                   region + " already has " + std::to_string(active) + " active (desired " +
                       std::to_string(desired) + ")");
        continue;
      }
    } else {  // retire
      if (g != StateGroup::kRunning &&
          !(kind == ActionKind::kDestroy && g == StateGroup::kStartable)) {
        set_result(res, Outcome::kSkipped, "already retired (" + m->state + ")");
        continue;
      }
      if (was_active && active <= desired) {
        set_result(res, Outcome::kSkipped,
                   region + " is no longer above desired (" + std::to_string(active) +
                       " active, desired " + std::to_string(desired) + ")");
        continue;
      }
      if (kind == ActionKind::kDestroy && is_clone_source(*m, rules)) {
        if (clone_sources - 1 < keep_sources) {
          kind = ActionKind::kStop;  // keep something to clone from
        } else {
          --clone_sources;
        }
      }
    }

    auto lease = co_await api_.acquire_lease(m->id, options_.leaseTtl, options_.leaseDescription);
    if (!lease) {
      if (lease.error().kind == fly::FlyError::Kind::kConflict) {
        set_result(res, Outcome::kSkipped, "lease held by someone else", lease.error());
      } else {
        set_result(res, Outcome::kFailed, "lease: " + fly::describe(lease.error()), lease.error());
      }
      continue;
    }
    const std::string nonce = lease->nonce;
    const std::string id = m->id;
    const bool cordoned = m->cordoned;

    switch (kind) {
      case ActionKind::kStart: {
        auto r = co_await api_.start_machine(id, nonce);
        if (!r) {
          set_error(res, "start", r.error());
          break;
        }
        if (cordoned) {
          auto u = co_await api_.uncordon_machine(id, nonce);
          if (!u) {
            set_error(res, "started, but uncordon", u.error());
            break;
          }
        }
        set_result(res, Outcome::kOk, std::string("started from ") + m->state);
        ++active;
        break;
      }
      case ActionKind::kUncordon: {
        auto r = co_await api_.uncordon_machine(id, nonce);
        if (!r) {
          set_error(res, "uncordon", r.error());
          break;
        }
        set_result(res, Outcome::kOk, "uncordoned");
        ++active;
        break;
      }
      default: {
        if (a.cordonFirst && !cordoned) {
          auto r = co_await api_.cordon_machine(id, nonce);
          if (!r) {
            set_error(res, "cordon", r.error());
            break;
          }
        }
        fly::FlyResult<Unit> r = Unit{};
        if (kind == ActionKind::kStop) {
          fly::StopOptions so;
          so.timeout =
              std::chrono::duration_cast<std::chrono::seconds>(policy.spec.retire.stopTimeout);
          r = co_await api_.stop_machine(id, so, nonce);
        } else if (kind == ActionKind::kSuspend) {
          r = co_await api_.suspend_machine(id, nonce);
        } else {
          r = co_await api_.delete_machine(id, true, nonce);
        }
        if (!r) {
          set_error(res, to_string(kind), r.error());
          break;
        }
        std::string why = std::string(kind == ActionKind::kStop      ? "stopped"
                                      : kind == ActionKind::kSuspend ? "suspended"
                                                                     : "destroyed");
        if (kind != a.kind) why += " instead of destroyed: one of the last clone sources";
        set_result(res, Outcome::kOk, std::move(why));
        if (was_active) --active;
        break;
      }
    }
    if (res.outcome == Outcome::kUnknown)
      pending_.push_back(PendingUnknown{a, plan.generation, id});

    // A destroyed machine's lease goes with it.
    if (!(kind == ActionKind::kDestroy && res.outcome == Outcome::kOk)) {
      auto released = co_await api_.release_lease(id, nonce);
      if (!released && released.error().kind != fly::FlyError::Kind::kNotFound) {
        res.reason += "; lease release failed (" + fly::describe(released.error()) +
                      "), it expires in " + std::to_string(options_.leaseTtl.count()) + "s";
      }
    }
  }
}

}  // namespace autoplacer::controller
