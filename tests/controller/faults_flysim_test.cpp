// Fault schedules over real loopback sockets (issue 9): the same promises as
// faults_schedule_test.cpp, but through the real MachinesClient (its retries, time-outs and
// error mapping) against flysim injecting faults on the wire (5xx, 429, dropped connections
// before and after acting, time-outs, slow answers, insufficient_capacity, foreign leases).
// A few seeds only: each is real HTTP and real timers. The invariants are checked before and
// after every call, looking into flysim's world under its lock.
#include <gtest/gtest.h>

#include <thread>

#include "controller/faults_harness.h"
#include "fly/machines_client.h"

namespace autoplacer::controller::faults {
namespace {
namespace asio = boost::asio;

std::vector<sim::FaultRule> wire_rules(double share) {
  using K = sim::FaultKind;
  auto rule = [](std::string op, K kind, double p, int status = 503, Duration delay = Duration{0},
                 bool after = false) {
    sim::FaultRule r;
    r.operation = std::move(op);
    r.kind = kind;
    r.probability = p;
    r.status = status;
    r.delay = delay;
    r.after_apply = after;
    return r;
  };
  return {rule("*", K::kError, share * 0.25, 503),
          rule("*", K::kError, share * 0.10, 429),
          rule("*", K::kDrop, share * 0.10),
          rule("*", K::kDrop, share * 0.10, 503, Duration{0}, true),
          rule("*", K::kTimeout, share * 0.04, 503, 400ms),  // the client gives up at 250 ms
          rule("*", K::kSlow, share * 0.10, 503, 20ms),
          rule("create", K::kInsufficientCapacity, share * 0.30),
          rule("*", K::kForeignLease, share * 0.05, 503, 20s)};
}

class FaultsOverLoopback : public ::testing::TestWithParam<std::uint64_t> {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::off);
  }
  void TearDown() override {
    if (sim_) sim_->stop(0ms);
    for (auto& t : threads_) t.join();
    spdlog::set_level(level_);
  }

  WorldView view() {
    return sim_->with_world([](sim::FlyWorld& w) { return view_of(w); });
  }

  ManualClock clock_{kT0};
  asio::io_context sim_ioc_;
  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::unique_ptr<sim::FlySim> sim_;
  spdlog::level::level_enum level_ = spdlog::level::info;
};

TEST_P(FaultsOverLoopback, InvariantsHoldAndTheFleetConverges) {
  const std::uint64_t seed = GetParam();
  PlacementPolicy policy = testing::loop_policy(kPolicy, kApp);
  policy.spec.regions.pinned = {"ams"};
  policy.spec.capacity.maxTotal = 9;
  policy.specHash = spec_hash(policy.spec);

  sim::FlySimOptions o;
  o.apps = {kApp};
  o.machines = sim::default_fleet(kApp);
  o.rate_limits.enabled = false;  // the test's clock does not move between requests
  o.seed = seed;
  o.capacity["nrt"] = 1;
  sim_ = std::make_unique<sim::FlySim>(sim_ioc_.get_executor(), clock_, o, &clock_);
  auto port = sim_->start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.error();
  for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { sim_ioc_.run(); });

  fly::MachinesClientOptions c;
  c.app = kApp;
  c.base_url = "http://127.0.0.1:" + std::to_string(*port);
  c.rate_limit = false;
  c.max_attempts = 2;
  c.backoff_base = 5ms;
  c.jitter_seed = seed;
  c.http.request_timeout = 250ms;
  fly::MachinesClient client(ioc_.get_executor(), c, clock_);

  WorldProbe probe{[this] { return view(); },
                   [this](const std::string& id) -> std::optional<MachineFacts> {
                     return sim_->with_world([&](sim::FlyWorld& w) -> std::optional<MachineFacts> {
                       const sim::SimMachine* m = w.find(kApp, id);
                       if (m == nullptr) return std::nullopt;
                       return MachineFacts{ours(*m), m->name, home_region_of(*m), m->serving()};
                     });
                   }};
  Invariants inv(probe, policy);
  sim::FaultInjector none;  // faults come from flysim; the decorator only watches
  sim::FaultyHooks hooks;
  hooks.before = [&](const sim::FaultyCall& call) { inv.before_call(call); };
  hooks.after = [&](const sim::FaultyCall& call) { inv.after_call(call); };
  sim::FaultyMachinesApi watched(client, none, clock_, hooks);

  metrics::FakeTrafficSource traffic;
  FakeStateStore store;
  ReconcilerEnv env;
  env.clock = &clock_;
  env.catalog = &RegionCatalog::builtin();
  env.traffic = &traffic;
  env.store = &store;
  PolicyReconciler rec(policy, std::shared_ptr<fly::MachinesApi>(std::shared_ptr<void>(), &watched),
                       env);

  std::mt19937_64 rng(seed);
  const std::vector<std::map<std::string, double>> demands = {
      {{"iad", 30}, {"fra", 140}, {"nrt", 90}},
      {{"fra", 60}, {"syd", 120}, {"gru", 50}},
      {{"iad", 100}, {"lhr", 80}, {"nrt", 40}}};
  auto pass = [&](bool unknown) {
    inv.begin_pass(unknown, "");
    PassResult r = testing::run(ioc_, rec.reconcile());
    inv.end_pass(r);
    return r;
  };
  for (int i = 0; i < 8; ++i) {
    sim_->set_faults(wire_rules(0.5 * (i + 1) / 8), seed * 100 + i);
    const bool unknown = std::uniform_int_distribution<int>(0, 5)(rng) == 0;
    if (unknown) {
      traffic.set_unknown("prometheus unreachable (simulated)");
    } else {
      traffic.set_demand(demands[static_cast<std::size_t>(i / 3) % demands.size()]);
    }
    pass(unknown);
    clock_.advance(std::chrono::seconds(std::uniform_int_distribution<int>(2, 12)(rng)));
  }
  sim_->set_faults({}, seed);
  traffic.set_demand(demands[2]);
  std::optional<std::string> problem = "no quiet pass ran";
  for (int i = 0; i < 24 && problem; ++i) {
    clock_.advance(10s);
    PassResult r = pass(false);
    if (!r.succeeded()) {
      problem = "pass failed: " + r.message;
    } else if (r.has_changes()) {
      problem = "still changing: " + format_plan(*r.plan);
    } else {
      problem = placement_problem(view(), *r.decision, policy);
    }
  }
  EXPECT_EQ(problem, std::nullopt) << "seed " << seed << " did not converge";
  for (const auto& v : inv.violations()) ADD_FAILURE() << "seed " << seed << ": " << v;
  std::uint64_t dropped = 0, answered_5xx = 0;
  for (const auto& [key, n] : sim_->request_counts()) {
    if (key.second == "dropped") dropped += n;
    if (key.second.size() == 3 && key.second[0] == '5') answered_5xx += n;
  }
  EXPECT_GT(dropped + answered_5xx, 0u) << "flysim injected nothing";
  std::printf(
      "seed %llu over loopback: %llu calls, %llu dropped, %llu answered 5xx\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(watched.calls()),
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(answered_5xx));
}

INSTANTIATE_TEST_SUITE_P(Seeds, FaultsOverLoopback, ::testing::Values(11u, 12u, 13u, 14u));

}  // namespace
}  // namespace autoplacer::controller::faults
