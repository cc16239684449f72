// The executor end to end: the real MachinesClient over loopback HTTP against flysim (on a
// ManualClock the test advances). One pass = list -> diff -> apply, as the reconcile loop does.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <thread>

#include "controller/diff.h"
#include "controller/executor.h"
#include "controller/executor_test_util.h"
#include "fly/machines_client.h"
#include "sim/flysim.h"

namespace autoplacer::controller {
namespace {
using namespace testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

const TimePoint kT0 = from_unix_seconds(1'700'000'000);

class ExecutorFlySim : public ::testing::Test {
 protected:
  void start(sim::FlySimOptions o) {
    o.apps = {"demo-app"};
    o.rate_limits.enabled = false;  // the test's clock does not move between requests
    sim_ = std::make_unique<sim::FlySim>(sim_ioc_.get_executor(), clock_, std::move(o), &clock_);
    auto port = sim_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { sim_ioc_.run(); });
    fly::MachinesClientOptions c;
    c.app = "demo-app";
    c.base_url = "http://127.0.0.1:" + std::to_string(*port);
    c.rate_limit = false;
    c.max_attempts = 2;
    c.backoff_base = 10ms;
    c.jitter_seed = 1;
    client_ = std::make_unique<fly::MachinesClient>(ioc_.get_executor(), c, clock_);
    executor_ = std::make_unique<Executor>(*client_, RegionCatalog::builtin());
    policy_ = make_policy("web", "demo-app");
  }
  void TearDown() override {
    if (sim_) sim_->stop(0ms);
    for (auto& t : threads_) t.join();
  }

  std::vector<fly::Machine> list() {
    auto r = run(ioc_, list_fleet(*client_));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : fly::describe(r.error()));
    return r.ok() ? r.value() : std::vector<fly::Machine>{};
  }
  Plan plan_for(const Decision& d) {
    return diff(d, list(), policy_, RegionCatalog::builtin(), ++generation_);
  }
  ApplyReport apply(const Plan& p) { return run(ioc_, executor_->apply(p, policy_)); }
  ApplyReport pass(const Decision& d) { return apply(plan_for(d)); }
  void settle_time() { clock_.advance(10s); }

  // (region -> serving machines) of the policy's process group.
  std::map<std::string, int> serving() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> out;
      for (const auto* m : w.machines("demo-app")) {
        const auto* md = m->config.if_contains("metadata");
        const bool app_group = md && md->is_object() &&
                               md->get_object().contains("fly_process_group") &&
                               md->get_object().at("fly_process_group") == "app";
        if (app_group && m->serving()) ++out[m->region];
      }
      return out;
    });
  }
  std::uint64_t writes() {
    std::uint64_t n = 0;
    for (const auto& [key, count] : sim_->request_counts()) {
      const auto& op = key.first;
      if (op != "list" && op != "get" && op != "wait" && op != "regions") n += count;
    }
    return n;
  }
  std::string id_of(const std::string& name) {
    return sim_->with_world([&](sim::FlyWorld& w) {
      for (const auto* m : w.machines("demo-app")) {
        if (m->name == name) return m->id;
      }
      return std::string();
    });
  }
  std::string version_of(const std::string& id) {
    return sim_->with_world([&](sim::FlyWorld& w) {
      const auto* m = w.find("demo-app", id);
      return m ? m->state + "/" + m->instance_id + (m->cordoned ? "/c" : "") : std::string("gone");
    });
  }

  ManualClock clock_{kT0};
  asio::io_context sim_ioc_;
  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::unique_ptr<sim::FlySim> sim_;
  std::unique_ptr<fly::MachinesClient> client_;
  std::unique_ptr<Executor> executor_;
  PlacementPolicy policy_;
  std::uint64_t generation_ = 0;
};

sim::SeedMachine seed(std::string name, std::string region,
                      std::map<std::string, std::string> md = {}) {
  sim::SeedMachine s;
  s.name = std::move(name);
  s.region = std::move(region);
  s.metadata = {{"fly_process_group", "app"}};
  for (auto& [k, v] : md) s.metadata[k] = v;
  return s;
}

TEST_F(ExecutorFlySim, ConvergesBesideAForeignMixWithoutTouchingIt) {
  sim::FlySimOptions o;
  o.machines = sim::default_fleet("demo-app");
  start(std::move(o));
  std::map<std::string, std::string> before;
  for (auto name : {"web-iad-original", "worker-iad", "other-policy-lhr", "web-fra-deploying",
                    "web-sin-unreachable"}) {
    before[name] = version_of(id_of(name));
  }
  const auto d = make_decision({{"iad", 1}, {"fra", 2}, {"syd", 1}});
  auto report = pass(d);
  EXPECT_EQ(report.count(Outcome::kOk), 2) << format_plan(report.plan);  // fra +1, syd +1
  settle_time();
  auto s = serving();
  EXPECT_EQ(s["fra"], 2);
  EXPECT_EQ(s["syd"], 1);
  EXPECT_EQ(s["iad"], 1);
  for (const auto& [name, v] : before) EXPECT_EQ(version_of(id_of(name)), v) << name;
  // Converged: nothing more to do, no write.
  const auto w = writes();
  EXPECT_TRUE(pass(d).plan.empty());
  EXPECT_EQ(writes(), w);
}

TEST_F(ExecutorFlySim, ConvergesFromTooManyAndReleasesLeases) {
  sim::FlySimOptions o;
  o.machines = {seed("original", "iad")};
  for (int i = 0; i < 4; ++i)
    o.machines.push_back(seed("lhr-" + std::to_string(i), "lhr", {{"autoplacer_policy", "web"}}));
  start(std::move(o));
  const auto d = make_decision({{"iad", 1}, {"lhr", 1}});
  auto report = pass(d);
  EXPECT_EQ(report.count(Outcome::kOk), 3);
  settle_time();
  EXPECT_EQ(serving()["lhr"], 1);
  for (const auto& m : list()) EXPECT_FALSE(m.lease.has_value()) << m.id;
  EXPECT_TRUE(pass(d).plan.empty());
}

TEST_F(ExecutorFlySim, InsufficientCapacityFallsBack) {
  sim::FlySimOptions o;
  o.machines = {seed("original", "iad")};
  o.capacity = {{"fra", 0}};
  start(std::move(o));
  auto report = pass(make_decision({{"iad", 1}, {"fra", 1}}));
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].outcome, Outcome::kOk) << report.results[0].reason;
  EXPECT_EQ(report.results[0].region, "ams");
  settle_time();
  EXPECT_EQ(serving()["ams"], 1);
  EXPECT_TRUE(pass(make_decision({{"iad", 1}, {"fra", 1}})).plan.empty());
}

TEST_F(ExecutorFlySim, LeaseHeldByOthersAndDeployAreSkipped) {
  sim::FlySimOptions o;
  o.machines = {seed("original", "iad"), seed("mine-1", "fra", {{"autoplacer_policy", "web"}}),
                seed("mine-2", "fra", {{"autoplacer_policy", "web"}}),
                seed("deploying", "fra",
                     {{"autoplacer_policy", "web"}, {"fly_bluegreen_deployment_tag", "bg-7"}})};
  start(std::move(o));
  auto plan = plan_for(make_decision({{"iad", 1}}));
  ASSERT_EQ(plan.actions.size(), 2u) << format_plan(plan);  // the deploying one is not planned
  const std::string leased = plan.actions[0].machineId;
  sim_->with_world([&](sim::FlyWorld& w) {
    return w.set_foreign_lease("demo-app", leased, "operator@example.com", 1h, clock_.now());
  });
  auto report = apply(plan);
  EXPECT_EQ(report.results[0].outcome, Outcome::kSkipped);
  EXPECT_EQ(report.results[1].outcome, Outcome::kOk) << report.results[1].reason;
  settle_time();
  EXPECT_EQ(version_of(leased).substr(0, 7), "started");
  EXPECT_EQ(version_of(id_of("deploying")).substr(0, 7), "started");
}

TEST_F(ExecutorFlySim, DryRunTouchesNothing) {
  sim::FlySimOptions o;
  o.machines = {seed("original", "iad"), seed("mine", "lhr", {{"autoplacer_policy", "web"}})};
  start(std::move(o));
  policy_.spec.mode = Mode::kDryRun;
  auto plan = plan_for(make_decision({{"iad", 1}, {"fra", 2}}));
  ASSERT_EQ(plan.actions.size(), 3u);
  const auto w = writes();
  auto report = apply(plan);
  EXPECT_TRUE(report.dryRun);
  EXPECT_EQ(report.count(Outcome::kSkipped), 3);
  EXPECT_EQ(writes(), w);
  EXPECT_EQ(serving(), (std::map<std::string, int>{{"iad", 1}, {"lhr", 1}}));
}

TEST_F(ExecutorFlySim, LostCreateAnswerIsNotRetriedAndDoubleApplyIsIdempotent) {
  sim::FlySimOptions o;
  o.machines = {seed("original", "iad")};
  sim::FaultRule drop;
  drop.operation = "create";
  drop.kind = sim::FaultKind::kDrop;
  drop.calls = {1};
  drop.after_apply = true;
  o.faults = {drop};
  start(std::move(o));
  const auto d = make_decision({{"iad", 1}, {"fra", 2}});
  auto plan = plan_for(d);
  auto report = apply(plan);
  ASSERT_EQ(report.results.size(), 2u);
  EXPECT_EQ(report.results[0].outcome, Outcome::kUnknown) << report.results[0].reason;
  EXPECT_EQ(report.results[1].outcome, Outcome::kSkipped);
  // The same plan again: the dropped create is recognised by its operation id, the second runs.
  auto again = apply(plan);
  ASSERT_EQ(again.settled.size(), 1u);
  EXPECT_NE(again.settled[0].find("happened"), std::string::npos) << again.settled[0];
  EXPECT_EQ(again.results[0].outcome, Outcome::kSkipped);
  EXPECT_EQ(again.results[1].outcome, Outcome::kOk) << again.results[1].reason;
  settle_time();
  EXPECT_EQ(serving()["fra"], 2);
  EXPECT_EQ(apply(plan).count(Outcome::kOk), 0);
  EXPECT_TRUE(pass(d).plan.empty());
  settle_time();
  EXPECT_EQ(serving()["fra"], 2);
}

}  // namespace
}  // namespace autoplacer::controller
