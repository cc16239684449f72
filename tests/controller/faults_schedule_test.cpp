// Fault schedules (issue 9): the reconcile loop against the simulated Fly with seeded random
// faults on a growing share of Machines API calls, then quiet passes. Every seed draws its own
// policy (retire action, budget, creates per pass), capacity limits, demand (with passes where
// demand, or one region's demand, is unknown) and fault rules; the invariants of
// faults_harness.h are checked before and after every API call, and the fleet must converge to
// the decision's placement once the faults stop.
//
// AP_FAULT_SEEDS (default 500) and AP_FAULT_SEED_BASE (default 1) choose the seeds; the soak
// script (scripts/soak_faults.sh) runs many more. A failing seed is printed with its violations;
// rerun just it with AP_FAULT_SEEDS=1 AP_FAULT_SEED_BASE=<seed>.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include "controller/faults_harness.h"

namespace autoplacer::controller::faults {
namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

sim::FaultRule rule(std::string op, sim::FaultKind kind, double p, int status = 503,
                    Duration delay = Duration{0}, bool after_apply = false) {
  sim::FaultRule r;
  r.operation = std::move(op);
  r.kind = kind;
  r.probability = p;
  r.status = status;
  r.delay = delay;
  r.after_apply = after_apply;
  return r;
}

// `share`: roughly the fraction of calls that meet a fault.
std::vector<sim::FaultRule> rules_for(double share) {
  using K = sim::FaultKind;
  return {
      rule("*", K::kError, share * 0.22, 503),
      rule("*", K::kError, share * 0.10, 429),
      rule("*", K::kError, share * 0.06, 500, Duration{0}, true),  // acted, then 500
      rule("*", K::kTimeout, share * 0.08, 503, 15s),
      rule("*", K::kTimeout, share * 0.05, 503, 15s, true),  // acted, answer never came
      rule("*", K::kDrop, share * 0.08),
      rule("*", K::kDrop, share * 0.08, 503, Duration{0}, true),
      rule("*", K::kSlow, share * 0.10, 503, 2s),
      rule("create", K::kInsufficientCapacity, share * 0.30),
      rule("*", K::kForeignLease, share * 0.05, 503, 20s),
  };
}

const std::vector<std::string> kDemandRegions = {"iad", "fra", "nrt", "syd", "gru",
                                                 "lhr", "sin", "ams", "cdg", "ord"};

std::map<std::string, double> random_demand(std::mt19937_64& rng) {
  std::map<std::string, double> d;
  const int n = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int i = 0; i < n; ++i) {
    const auto& region = kDemandRegions[std::uniform_int_distribution<std::size_t>(
        0, kDemandRegions.size() - 1)(rng)];
    d[region] = std::uniform_real_distribution<double>(0, 180)(rng);
  }
  return d;
}

struct SeedOutcome {
  std::vector<std::string> problems;
  std::uint64_t calls = 0;
  std::uint64_t faults = 0;
  int passes = 0;
  int max_over_budget = 0;
};

SeedOutcome run_seed(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  FaultRig::Config c;
  c.seed = seed;
  PlacementPolicy& p = c.policy;
  p.spec.regions.pinned = {"ams"};
  p.spec.capacity.maxTotal = std::uniform_int_distribution<int>(5, 12)(rng);
  p.spec.behavior.maxCreatesPerPass = std::uniform_int_distribution<int>(1, 5)(rng);
  const RetireAction retire[] = {RetireAction::kStop, RetireAction::kSuspend,
                                 RetireAction::kDestroy};
  p.spec.retire.action = retire[std::uniform_int_distribution<int>(0, 2)(rng)];
  p.spec.retire.cordonFirst = chance(0.7);
  p.specHash = spec_hash(p.spec);
  if (chance(0.3)) c.capacity[kDemandRegions[seed % kDemandRegions.size()]] = 1;
  // Machines the policy already has, some to retire, one stopped to start again.
  for (const char* region : {"syd", "gru"}) {
    if (!chance(0.5)) continue;
    sim::SeedMachine s = c.machines.front();  // the user's original: a valid clone
    s.name = std::string("web-") + region + "-owned";
    s.region = region;
    s.metadata["autoplacer_policy"] = kPolicy;
    s.state = chance(0.3) ? "stopped" : "started";
    c.machines.push_back(s);
  }

  FaultRig rig(std::move(c));
  const int fault_passes = 10;
  const double top_share = std::uniform_real_distribution<double>(0.2, 0.6)(rng);
  std::map<std::string, double> demand = random_demand(rng);
  for (int i = 0; i < fault_passes; ++i) {
    if (i % 3 == 0) demand = random_demand(rng);
    rig.injector().set_rules(rules_for(top_share * (i + 1) / fault_passes), seed * 1000 + i);
    rig.api().set_enabled(true);
    bool unknown = false;
    std::string unknown_region;
    if (chance(0.15)) {
      unknown = true;
      rig.traffic().set_unknown("prometheus unreachable (simulated)");
    } else {
      rig.traffic().set_demand(demand);
      if (chance(0.15)) {
        unknown_region = kDemandRegions[std::uniform_int_distribution<std::size_t>(
            0, kDemandRegions.size() - 1)(rng)];
        rig.traffic().set_region_unknown(unknown_region, "no sample (simulated)");
      }
    }
    rig.pass(unknown, unknown_region);
    rig.clock().advance(std::chrono::seconds(std::uniform_int_distribution<int>(2, 12)(rng)));
  }
  rig.injector().set_rules({}, seed);
  rig.traffic().set_demand(demand);

  SeedOutcome out;
  if (auto why = rig.converge()) out.problems.push_back("did not converge: " + *why);
  for (const auto& v : rig.invariants().violations()) out.problems.push_back(v);
  out.calls = rig.api().calls();
  out.faults = rig.api().faults_injected();
  out.passes = rig.passes();
  out.max_over_budget = rig.invariants().max_over_budget();
  return out;
}

class QuietLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
  }
  void TearDown() override { spdlog::set_level(level_); }
  spdlog::level::level_enum level_ = spdlog::level::info;
};

using FaultSchedules = QuietLogs;

TEST_F(FaultSchedules, InvariantsHoldAtEveryStepAndTheFleetConvergesOnceFaultsStop) {
  const std::uint64_t seeds = env_number("AP_FAULT_SEEDS", 500);
  const std::uint64_t base = env_number("AP_FAULT_SEED_BASE", 1);
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t calls = 0, faults = 0, passes = 0, failed = 0;
  int max_over = -1000;
  std::ostringstream report;
  for (std::uint64_t seed = base; seed < base + seeds; ++seed) {
    SeedOutcome o = run_seed(seed);
    calls += o.calls;
    faults += o.faults;
    passes += static_cast<std::uint64_t>(o.passes);
    max_over = std::max(max_over, o.max_over_budget);
    if (!o.problems.empty()) {
      ++failed;
      if (failed <= 5) {
        report << "seed " << seed << ":\n";
        for (const auto& p : o.problems) report << "  " << p << "\n";
      }
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "fault schedules: %llu seeds, %llu passes, %llu API calls, %llu faults injected, "
      "%llu seeds failed, most active machines above maxTotal in a pass: %d, %.1f s\n",
      static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(passes),
      static_cast<unsigned long long>(calls), static_cast<unsigned long long>(faults),
      static_cast<unsigned long long>(failed), max_over, secs);
  EXPECT_EQ(failed, 0u) << report.str();
  EXPECT_GT(faults, seeds) << "the schedules injected almost nothing";
}

}  // namespace
}  // namespace autoplacer::controller::faults
