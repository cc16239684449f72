#pragma once
// The controller under injected Machines API faults, in process (owner: faults): a FlyWorld
// served by sim::WorldMachinesApi, wrapped in sim::FaultyMachinesApi, driven by a real
// PolicyReconciler on a ManualClock. An Invariants checker sees the world before and after every
// API call and at every pass boundary. Shared by the fault-schedule and failure-at-every-call
// tests (faults_*_test.cpp); no sockets, no real time, so one run of 20-odd passes takes
// milliseconds.
//
// The promises checked (docs/reliability.md, "Fault schedules"):
//   - budget: in a pass, no region ever holds more active machines than max(what it had when
//     the pass began, what the pass's plan wants there); so the whole fleet never exceeds
//     maxTotal plus the surplus that pass is about to retire (scale-ups run before retires);
//   - no duplicate: no two live machines carry the same create operation id;
//   - ownership: no write (start, stop, cordon, delete, lease, metadata) ever names a machine
//     that is not the policy's own, and machines not ours never change;
//   - pinned regions: once a pinned region serves, it never drops to no active machine;
//   - unknown demand: while demand (or one region's demand) is unknown, no call cuts capacity
//     there: no cordon, stop, suspend or destroy of a serving machine (finishing the retire of
//     a machine an earlier pass already cordoned is allowed: it serves nothing);
//   - convergence: once faults stop, within a bounded number of quiet passes the fleet is the
//     decision's placement and the pass has nothing left to do.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "controller/executor_test_util.h"
#include "controller/loop_test_util.h"
#include "controller/reconciler.h"
#include "controller/state_store.h"
#include "metrics/fake_traffic_source.h"
#include "sim/faults.h"
#include "sim/faulty_machines_api.h"
#include "sim/fly_world.h"
#include "sim/flysim.h"
#include "sim/world_machines_api.h"

namespace autoplacer::controller::faults {

using namespace std::chrono_literals;

inline constexpr const char* kApp = "demo-app";
inline constexpr const char* kPolicy = "web";
inline const TimePoint kT0 = from_unix_seconds(1'700'000'000);

inline std::string meta(const sim::SimMachine& m, const char* key) {
  const auto* md = m.config.if_contains("metadata");
  if (md == nullptr || !md->is_object()) return {};
  const auto* v = md->get_object().if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline bool ours(const sim::SimMachine& m) {
  return meta(m, "autoplacer_policy") == kPolicy;
}

// The world as the invariants see it, read straight from the simulated machines (not through
// the controller's own classification code).
struct WorldView {
  std::map<std::string, int> active;        // home region -> counted machines serving or about to
  std::map<std::string, int> owned_active;  // the same, the policy's own machines only
  int total_active = 0;
  std::map<std::string, std::string> foreign;  // id -> fingerprint, machines not ours
  std::vector<std::string> duplicate_ops;
};

inline std::string home_region_of(const sim::SimMachine& m) {
  const std::string f = meta(m, "autoplacer_fallback_for");
  return f.empty() ? m.region : f;
}

inline WorldView view_of(const sim::FlyWorld& w) {
  WorldView v;
  std::map<std::string, int> ops;
  for (const auto* m : w.machines(kApp)) {
    if (m->state == "destroyed") continue;
    if (!ours(*m)) {
      v.foreign[m->id] = m->state + "|" + m->instance_id + "|" + (m->cordoned ? "c" : "") + "|" +
                         m->region + "|" + boost::json::serialize(m->config);
    }
    if (const std::string op = meta(*m, "autoplacer_op_id"); !op.empty()) ++ops[op];
    const std::string policy = meta(*m, "autoplacer_policy");
    const bool counted =
        meta(*m, "fly_process_group") == "app" && (policy.empty() || policy == kPolicy);
    const bool active =
        (m->state == "started" || m->state == "starting" || m->state == "creating") &&
        !m->cordoned && m->host_status == "ok";
    if (counted && active) {
      ++v.active[home_region_of(*m)];
      ++v.total_active;
      if (ours(*m)) ++v.owned_active[home_region_of(*m)];
    }
  }
  for (const auto& [op, n] : ops)
    if (n > 1) v.duplicate_ops.push_back(op);
  return v;
}

template <class Map>
inline int at(const Map& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

// How the invariants look at the world: directly (in process) or under flysim's lock.
struct MachineFacts {
  bool ours = false;
  std::string name;
  std::string home_region;
  bool serving = false;  // started, not cordoned, host ok: a retire call would cut capacity
};
struct WorldProbe {
  std::function<WorldView()> view;
  std::function<std::optional<MachineFacts>(const std::string& id)> machine;

  static WorldProbe of(const sim::FlyWorld& w) {
    return {[&w] { return view_of(w); },
            [&w](const std::string& id) -> std::optional<MachineFacts> {
              const sim::SimMachine* m = w.find(kApp, id);
              if (m == nullptr) return std::nullopt;
              return MachineFacts{ours(*m), m->name, home_region_of(*m), m->serving()};
            }};
  }
};

class Invariants {
 public:
  Invariants(WorldProbe probe, const PlacementPolicy& policy)
      : probe_(std::move(probe)), policy_(policy) {
    foreign_ = probe_.view().foreign;
  }

  // demand_unknown: the whole reading; unknown_region: one region's value only.
  void begin_pass(bool demand_unknown, std::string unknown_region) {
    demand_unknown_ = demand_unknown;
    unknown_region_ = std::move(unknown_region);
    start_ = probe_.view();
    pass_max_ = start_.active;
    pass_max_total_ = start_.total_active;
    step("pass start");
  }

  void before_call(const sim::FaultyCall& c) {
    ++calls_;
    if (!c.write || c.machine_id.empty()) return;
    const std::optional<MachineFacts> m = probe_.machine(c.machine_id);
    if (!m) return;  // gone: the API answers 404, nothing is touched
    if (!m->ours)
      fail("call " + std::to_string(c.number) + " " + c.operation + " names machine " +
           c.machine_id + " (" + m->name + ") that is not the policy's");
    const bool retire = c.operation == "stop" || c.operation == "suspend" ||
                        c.operation == "delete" || c.operation == "cordon";
    // Finishing the retire of a machine an earlier pass cordoned cuts no capacity: allowed.
    if (retire && m->serving && (demand_unknown_ || m->home_region == unknown_region_))
      fail("call " + std::to_string(c.number) + " " + c.operation + " of " + c.machine_id + " in " +
           m->home_region + " while demand was unknown");
  }

  void after_call(const sim::FaultyCall& c) { step("after call " + std::to_string(c.number)); }

  void end_pass(const PassResult& r) {
    step("pass end");
    std::map<std::string, int> desired;
    if (r.plan) desired = r.plan->desired;
    int allowance = 0;
    for (const auto& [region, n] : start_.active) allowance += std::max(0, n - at(desired, region));
    for (const auto& [region, n] : pass_max_) {
      const int bound = std::max(at(start_.active, region), at(desired, region));
      if (n > bound)
        fail("pass " + std::to_string(r.generation) + ": " + region + " reached " +
             std::to_string(n) + " active machines, above max(start " +
             std::to_string(at(start_.active, region)) + ", desired " +
             std::to_string(at(desired, region)) + ")");
    }
    const int total_bound = policy_.spec.capacity.maxTotal + allowance;
    if (pass_max_total_ > std::max(total_bound, start_.total_active))
      fail("pass " + std::to_string(r.generation) + ": " + std::to_string(pass_max_total_) +
           " active machines, above maxTotal " + std::to_string(policy_.spec.capacity.maxTotal) +
           " + " + std::to_string(allowance) + " being retired");
    max_over_budget_ = std::max(max_over_budget_, pass_max_total_ - policy_.spec.capacity.maxTotal);
    demand_unknown_ = false;
    unknown_region_.clear();
  }

  const std::vector<std::string>& violations() const { return violations_; }
  std::uint64_t steps() const { return steps_; }
  std::uint64_t calls() const { return calls_; }
  int max_over_budget() const { return max_over_budget_; }  // most active above maxTotal seen
  void fail(std::string what) {
    if (violations_.size() < 20) violations_.push_back(std::move(what));
  }

 private:
  void step(const std::string& where) {
    ++steps_;
    const WorldView v = probe_.view();
    for (const auto& [region, n] : v.active) pass_max_[region] = std::max(pass_max_[region], n);
    pass_max_total_ = std::max(pass_max_total_, v.total_active);
    for (const auto& [id, print] : foreign_) {
      auto it = v.foreign.find(id);
      if (it == v.foreign.end() || it->second != print)
        fail(where + ": machine " + id + " (not ours) changed");
    }
    for (const auto& op : v.duplicate_ops)
      fail(where + ": operation " + op + " created more than one machine");
    for (const auto& region : policy_.spec.regions.pinned) {
      if (at(v.active, region) > 0) {
        pinned_up_.insert(region);
      } else if (pinned_up_.count(region)) {
        fail(where + ": pinned region " + region + " has no active machine");
      }
    }
  }

  WorldProbe probe_;
  const PlacementPolicy& policy_;
  std::map<std::string, std::string> foreign_;
  std::set<std::string> pinned_up_;
  WorldView start_;
  std::map<std::string, int> pass_max_;
  int pass_max_total_ = 0;
  int max_over_budget_ = -1000;
  bool demand_unknown_ = false;
  std::string unknown_region_;
  std::vector<std::string> violations_;
  std::uint64_t steps_ = 0;
  std::uint64_t calls_ = 0;
};

// nullopt when every region holds what the decision wants, counting machines the controller
// may not touch (unmanaged, deploying) as they stand; else what differs.
inline std::optional<std::string> placement_problem(const WorldView& v, const Decision& d,
                                                    const PlacementPolicy& policy) {
  std::set<std::string> regions;
  for (const auto& [r, n] : d.desired) regions.insert(r);
  for (const auto& [r, n] : v.active) regions.insert(r);
  for (const auto& region : regions) {
    const int desired = at(d.desired, region);
    const int not_ours = at(v.active, region) - at(v.owned_active, region);
    const int want = std::max(desired, not_ours);
    if (at(v.active, region) != want)
      return region + ": " + std::to_string(at(v.active, region)) + " active, decision wants " +
             std::to_string(desired);
  }
  for (const auto& region : policy.spec.regions.pinned)
    if (at(v.active, region) == 0) return "pinned region " + region + " is empty";
  // The budget covers what the controller places: machines it may not retire (unmanaged,
  // deploying) come on top (the decision plans maxTotal beside them; docs/reliability.md).
  int owned_total = 0;
  for (const auto& [r, k] : v.owned_active) owned_total += k;
  if (owned_total > policy.spec.capacity.maxTotal)
    return std::to_string(owned_total) + " active machines of the policy, above maxTotal";
  return std::nullopt;
}

// One simulated app, its world, the faulty API and a reconciler.
class FaultRig {
 public:
  struct Config {
    PlacementPolicy policy = testing::loop_policy(kPolicy, kApp);
    std::vector<sim::SeedMachine> machines = sim::default_fleet(kApp);
    std::map<std::string, int> capacity;
    std::uint64_t seed = 1;
  };

  explicit FaultRig(Config c)
      : config_(std::move(c)),
        world_(world_options(config_)),
        inner_(world_, clock_, kApp, &clock_),
        api_(inner_, injector_, clock_, hooks()),
        invariants_(WorldProbe::of(seed_world()), config_.policy) {
    ReconcilerEnv env;
    env.clock = &clock_;
    env.catalog = &RegionCatalog::builtin();
    env.traffic = &traffic_;
    env.store = &store_;
    rec_ = std::make_unique<PolicyReconciler>(config_.policy, non_owning(api_), env);
  }
  FaultRig(const FaultRig&) = delete;
  FaultRig& operator=(const FaultRig&) = delete;

  ManualClock& clock() { return clock_; }
  sim::FlyWorld& world() { return world_; }
  sim::FaultInjector& injector() { return injector_; }
  sim::FaultyMachinesApi& api() { return api_; }
  metrics::FakeTrafficSource& traffic() { return traffic_; }
  FakeStateStore& store() { return store_; }
  Invariants& invariants() { return invariants_; }
  const PlacementPolicy& policy() const { return config_.policy; }
  PolicyReconciler& reconciler() { return *rec_; }

  // One pass, checked. unknown_region: that region's demand is unknown in this pass.
  PassResult pass(bool demand_unknown = false, std::string unknown_region = {}) {
    invariants_.begin_pass(demand_unknown, std::move(unknown_region));
    PassResult r = testing::run(ioc_, rec_->reconcile());
    invariants_.end_pass(r);
    ++passes_;
    return r;
  }

  // Faults off, known demand: quiet passes `step` apart until the fleet is the decision's
  // placement and a pass has nothing to do. Returns an explanation when it does not get there.
  std::optional<std::string> converge(int max_passes = 24, Duration step = 10s) {
    api_.set_enabled(false);
    std::string why = "no pass ran";
    for (int i = 0; i < max_passes; ++i) {
      clock_.advance(step);
      PassResult r = pass();
      if (!r.succeeded()) {
        why = "pass failed: " + r.message;
        continue;
      }
      if (r.has_changes()) {
        why = "still changing: " + format_plan(*r.plan);
        continue;
      }
      auto placed = placement_matches(*r.decision);
      if (!placed) return std::nullopt;
      why = *placed;
      if (std::getenv("AP_FAULT_DEBUG") != nullptr) why += "\n" + debug_dump(r);
    }
    return why;
  }

  std::optional<std::string> placement_matches(const Decision& d) {
    return placement_problem(view_of(world_), d, config_.policy);
  }

  int passes() const { return passes_; }

  // The pass and the world, for a failing seed (AP_FAULT_DEBUG=1).
  std::string debug_dump(const PassResult& r) {
    std::string out =
        boost::json::serialize(r.to_json()) + "\nnow " + sim::format_rfc3339(clock_.now()) + "\n";
    for (const auto* m : world_.machines(kApp))
      out += "  " + m->id + " " + m->name + " " + m->region + " " + m->state +
             (m->cordoned ? " cordoned" : "") + " host=" + m->host_status +
             " policy=" + meta(*m, "autoplacer_policy") +
             " fallback_for=" + meta(*m, "autoplacer_fallback_for") +
             (m->lease ? " lease=" + m->lease->owner + " until " +
                             sim::format_rfc3339(m->lease->expires_at)
                       : "") +
             "\n";
    return out;
  }

 private:
  static sim::FlyWorld::Options world_options(const Config& c) {
    sim::FlyWorld::Options o;
    o.apps = {kApp};
    o.capacity = c.capacity;
    o.seed = c.seed;
    return o;
  }
  const sim::FlyWorld& seed_world() {
    for (const auto& s : config_.machines) world_.seed(s, clock_.now());
    return world_;
  }
  sim::FaultyHooks hooks() {
    sim::FaultyHooks h;
    h.before = [this](const sim::FaultyCall& c) { invariants_.before_call(c); };
    h.after = [this](const sim::FaultyCall& c) { invariants_.after_call(c); };
    h.delay = [this](Duration d) { clock_.advance(d); };
    h.foreign_lease = [this](const std::string& id, Duration ttl) {
      world_.set_foreign_lease(kApp, id, "deploy-bot@fly.io", ttl, clock_.now());
    };
    return h;
  }
  static std::shared_ptr<fly::MachinesApi> non_owning(fly::MachinesApi& api) {
    return std::shared_ptr<fly::MachinesApi>(std::shared_ptr<void>(), &api);
  }

  Config config_;
  ManualClock clock_{kT0};
  boost::asio::io_context ioc_;
  sim::FlyWorld world_;
  sim::WorldMachinesApi inner_;
  sim::FaultInjector injector_;
  sim::FaultyMachinesApi api_;
  Invariants invariants_;
  metrics::FakeTrafficSource traffic_;
  FakeStateStore store_;
  std::unique_ptr<PolicyReconciler> rec_;
  int passes_ = 0;
};

}  // namespace autoplacer::controller::faults
