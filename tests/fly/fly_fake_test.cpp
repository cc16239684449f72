#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "fly/fake_machines_api.h"
#include "net/client_test_util.h"

namespace autoplacer::fly {
namespace {
using autoplacer::testing::run_sync;

ListOptions by_metadata(std::string k, std::string v) {
  ListOptions o;
  o.metadata[k] = v;
  return o;
}
ListOptions by_state(std::string s) {
  ListOptions o;
  o.states = {s};
  return o;
}
ListOptions by_region(std::string r) {
  ListOptions o;
  o.region = r;
  return o;
}
CreateMachineRequest create_in(std::string region, std::string name = "") {
  CreateMachineRequest r;
  r.region = std::move(region);
  r.name = std::move(name);
  return r;
}

class FakeApiTest : public ::testing::Test {
 protected:
  template <class T>
  T run(boost::asio::awaitable<T> aw) {
    return run_sync(io, std::move(aw));
  }
  boost::asio::io_context io;
  ManualClock clock{TimePoint{std::chrono::seconds(1'700'000'000)}};
  FakeMachinesApi api{"app", &clock};
};

TEST_F(FakeApiTest, CloneListFilterAndLifecycle) {
  api.add_machine(FakeMachinesApi::make_machine("src", "fra"));
  CloneOptions co;
  co.region = "syd";
  co.metadata = {{"autoplacer_policy", "p"}};
  auto clone = run(clone_machine(api, *api.find("src"), co));
  ASSERT_TRUE(clone.ok()) << describe(clone.error());
  EXPECT_EQ(clone->region, "syd");
  EXPECT_EQ(clone->state, "started");
  EXPECT_EQ(clone->process_group(), "app");
  EXPECT_EQ(clone->metadata_value("autoplacer_policy"), "p");

  auto owned = run(api.list_machines(by_metadata("autoplacer_policy", "p")));
  ASSERT_TRUE(owned.ok());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].id, clone->id);

  ASSERT_TRUE(run(api.stop_machine(clone->id, {}, "")).ok());
  EXPECT_EQ(api.find(clone->id)->state, "stopped");
  auto stopped = run(api.list_machines(by_state("stopped")));
  ASSERT_EQ(stopped->size(), 1u);
  EXPECT_TRUE(run(wait_for_state(api, clone->id, "stopped", std::chrono::seconds(5))).ok());
  auto not_started = run(api.wait_machine(clone->id, "started", std::chrono::seconds(1), ""));
  ASSERT_FALSE(not_started.ok());
  EXPECT_EQ(not_started.error().kind, FlyError::Kind::kWaitTimeout);

  ASSERT_TRUE(run(api.delete_machine(clone->id, true, "")).ok());
  EXPECT_EQ(run(api.list_machines({}))->size(), 1u);
  EXPECT_EQ(run(api.get_machine(clone->id, false))->state, "destroyed");
  EXPECT_EQ(api.count("create"), 1u);
  EXPECT_EQ(api.count("list"), 3u);
}

TEST_F(FakeApiTest, CapacityAndNameTaken) {
  api.set_capacity("syd", false);
  auto r = run(api.create_machine(create_in("syd")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, FlyError::Kind::kInsufficientCapacity);
  auto fallback = run(api.create_machine(create_in("syd,sin")));
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->region, "sin");
  ASSERT_TRUE(run(api.create_machine(create_in("sin", "n1"))).ok());
  auto taken = run(api.create_machine(create_in("sin", "n1")));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().kind, FlyError::Kind::kUnprocessable);
  EXPECT_EQ(taken.error().fly_status, "name_taken");
}

TEST_F(FakeApiTest, LeasesGuardChanges) {
  api.add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  auto lease = run(api.acquire_lease("m1", std::chrono::seconds(30), "autoplacer"));
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(run(api.acquire_lease("m1", std::chrono::seconds(30), "x")).error().kind,
            FlyError::Kind::kConflict);
  EXPECT_EQ(run(api.stop_machine("m1", {}, "")).error().kind, FlyError::Kind::kConflict);
  EXPECT_TRUE(run(api.stop_machine("m1", {}, lease->nonce)).ok());
  EXPECT_EQ(run(api.set_metadata("m1", "k", "v", "wrong")).error().kind, FlyError::Kind::kConflict);
  EXPECT_TRUE(run(api.set_metadata("m1", "k", "v", lease->nonce)).ok());
  EXPECT_EQ(run(api.get_metadata("m1"))->at("k"), "v");
  auto refreshed = run(api.refresh_lease("m1", lease->nonce, std::chrono::seconds(60)));
  ASSERT_TRUE(refreshed.ok());
  EXPECT_EQ(refreshed->expires_at, 1'700'000'060);
  auto with_lease = run(api.get_machine("m1", true));
  ASSERT_TRUE(with_lease->lease.has_value());
  EXPECT_TRUE(with_lease->lease->nonce.empty());  // stripped
  EXPECT_TRUE(run(api.release_lease("m1", lease->nonce)).ok());
  EXPECT_TRUE(run(api.start_machine("m1", "")).ok());

  // Leases expire with the clock.
  api.set_foreign_lease("m1", "deployer", 1'700'000'010);
  EXPECT_EQ(run(api.stop_machine("m1", {}, "")).error().kind, FlyError::Kind::kConflict);
  clock.advance(std::chrono::seconds(11));
  EXPECT_TRUE(run(api.stop_machine("m1", {}, "")).ok());
}

TEST_F(FakeApiTest, ScriptedFailures) {
  api.add_machine(FakeMachinesApi::make_machine("m1", "fra", "stopped"));
  api.fail_next("start", FakeMachinesApi::http_error(503), 2);
  EXPECT_EQ(run(api.start_machine("m1", "")).error().kind, FlyError::Kind::kServer);
  EXPECT_EQ(run(api.start_machine("m1", "")).error().kind, FlyError::Kind::kServer);
  EXPECT_EQ(api.find("m1")->state, "stopped");
  EXPECT_TRUE(run(api.start_machine("m1", "")).ok());

  // A write whose answer is lost: it happened, the caller hears "outcome unknown".
  FlyError lost;
  lost.kind = FlyError::Kind::kTimeout;
  lost.outcome_unknown = true;
  api.fail_next("create", lost, 1, /*apply_anyway=*/true);
  auto r = run(api.create_machine(create_in("ams")));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().outcome_unknown);
  EXPECT_EQ(run(api.list_machines(by_region("ams")))->size(), 1u);

  EXPECT_EQ(run(api.get_machine("nope", false)).error().kind, FlyError::Kind::kNotFound);
  auto regions = run(api.list_regions());
  ASSERT_TRUE(regions.ok());
  EXPECT_EQ(regions->size(), 18u);
}

TEST_F(FakeApiTest, DeleteWithoutForceNeedsStopped) {
  api.add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  EXPECT_EQ(run(api.delete_machine("m1", false, "")).error().kind, FlyError::Kind::kPrecondition);
  EXPECT_TRUE(run(api.delete_machine("m1", true, "")).ok());
}

}  // namespace
}  // namespace autoplacer::fly
