// Failure at every call (issue 9), after Beast's test-suite `fail_count`: one scenario pass
// that creates (with a capacity fallback), starts, cordons and retires, run again and again with
// its k-th Machines API call failing, for k = 1, 2, ... until a run makes fewer than k calls, so
// every call the pass makes has failed once, in each of these ways:
//   - 503 before the call took effect,
//   - the call took effect and the answer was lost (connection dropped: outcome unknown),
//   - a time-out before it took effect (outcome unknown to the controller),
//   - 429 (refused, safe to repeat),
//   - 409 (a lease held by someone else).
// After each run the invariants of faults_harness.h must have held at every step, and quiet
// passes without faults must reach the decision's placement.
#include <gtest/gtest.h>

#include "controller/faults_harness.h"

namespace autoplacer::controller::faults {
namespace {

struct Variant {
  const char* name;
  fly::FlyError error;
  bool after_apply;
};

fly::FlyError status_error(int status) {
  return sim::FaultyMachinesApi::error_for(sim::FaultKind::kError, status, false);
}

std::vector<Variant> variants() {
  fly::FlyError timeout;
  timeout.kind = fly::FlyError::Kind::kTimeout;
  timeout.message = "no answer in time (injected)";
  fly::FlyError drop;
  drop.kind = fly::FlyError::Kind::kTransport;
  drop.message = "connection closed without an answer (injected)";
  return {{"503 before acting", status_error(503), false},
          {"answer lost after acting", drop, true},
          {"time-out", timeout, false},
          {"429", status_error(429), false},
          {"409 lease held", status_error(409), false}};
}

FaultRig::Config scenario() {
  FaultRig::Config c;
  c.policy.spec.regions.pinned = {"ams"};
  c.policy.spec.capacity.maxTotal = 9;
  c.policy.spec.retire.cordonFirst = true;
  c.policy.specHash = spec_hash(c.policy.spec);
  c.capacity["nrt"] = 0;  // every create for nrt falls back to a neighbour
  auto owned = [&](const char* name, const char* region, const char* state) {
    sim::SeedMachine s = c.machines.front();  // the user's original: a valid clone
    s.name = name;
    s.region = region;
    s.state = state;
    s.metadata["autoplacer_policy"] = kPolicy;
    c.machines.push_back(s);
  };
  owned("web-syd-1", "syd", "started");  // no users there: retired
  owned("web-syd-2", "syd", "started");
  owned("web-gru-1", "gru", "stopped");  // users there: started again
  return c;
}

const std::map<std::string, double> kDemand = {{"iad", 30}, {"fra", 140}, {"nrt", 90}, {"gru", 40}};

class FailAtEveryCall : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
  }
  void TearDown() override { spdlog::set_level(level_); }
  spdlog::level::level_enum level_ = spdlog::level::info;
};

TEST_F(FailAtEveryCall, TheScenarioPassMakesEveryKindOfCall) {
  FaultRig rig(scenario());
  rig.traffic().set_demand(kDemand);
  PassResult r = rig.pass();
  ASSERT_TRUE(r.succeeded()) << r.message;
  ASSERT_TRUE(r.plan);
  EXPECT_GT(r.plan->count(ActionKind::kCreate), 0) << format_plan(*r.plan);
  EXPECT_GT(r.plan->count(ActionKind::kStart), 0) << format_plan(*r.plan);
  EXPECT_GT(r.plan->count(ActionKind::kStop), 0) << format_plan(*r.plan);
  EXPECT_GT(rig.api().calls(), 10u);
  EXPECT_TRUE(rig.invariants().violations().empty()) << rig.invariants().violations().front();
  EXPECT_EQ(rig.converge(), std::nullopt);
}

TEST_F(FailAtEveryCall, InvariantsHoldAndTheFleetConvergesWhicheverCallFails) {
  int runs = 0;
  for (const auto& v : variants()) {
    std::uint64_t calls_without_failure = 0;
    for (std::uint64_t k = 1;; ++k) {
      FaultRig rig(scenario());
      rig.traffic().set_demand(kDemand);
      rig.api().fail_call(k, v.error, v.after_apply);
      PassResult r = rig.pass();
      const std::uint64_t made = rig.api().calls();
      ++runs;
      if (made < k) {  // the pass ended before reaching k: every call has failed once
        calls_without_failure = made;
        EXPECT_TRUE(r.succeeded()) << v.name << ": " << r.message;
        break;
      }
      auto not_converged = rig.converge();
      EXPECT_EQ(not_converged, std::nullopt) << v.name << ", call " << k << " failed";
      for (const auto& problem : rig.invariants().violations())
        ADD_FAILURE() << v.name << ", call " << k << " failed: " << problem;
      ASSERT_LT(k, 500u) << "the pass never ends";
    }
    EXPECT_GT(calls_without_failure, 10u) << v.name;
    std::printf("failure at every call (%s): %llu calls in the pass, each failed once\n", v.name,
                static_cast<unsigned long long>(calls_without_failure));
  }
  std::printf("failure at every call: %d runs\n", runs);
}

}  // namespace
}  // namespace autoplacer::controller::faults
