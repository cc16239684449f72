// Leader election against the fake etcd under a ManualClock: the deadlines, take-over, pause,
// outage and fencing rules, tick by tick.
#include "controller/leader_election.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>

#include "common/log.h"
#include "controller/etcd_fake.h"
#include "controller/etcd_state_store.h"
#include "controller/etcd_test_util.h"

namespace autoplacer::etcd {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::run_sync;

constexpr const char* kKey = "/autoplacer/app/leader";

LeaderElectionConfig config_for(const std::string& identity) {
  LeaderElectionConfig c;
  c.key = kKey;
  c.identity = identity;
  return c;  // 15 s / 10 s / 2 s
}

struct Replica {
  Replica(Etcd& etcd, const Clock& clock, const std::string& id)
      : elector(etcd, clock, config_for(id),
                LeaderCallbacks{[this](Revision r) { started.push_back(r); },
                                [this](const std::string& why) { stopped.push_back(why); },
                                [this](const std::string& who) { observed.push_back(who); }}) {}
  void tick() { run_sync(elector.tick()); }
  std::vector<Revision> started;
  std::vector<std::string> stopped;
  std::vector<std::string> observed;
  LeaderElector elector;
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override { log::init("off"); }
  // Advances the clock by one retry period and ticks each of `replicas`.
  void round(std::initializer_list<Replica*> replicas) {
    clock.advance(seconds(2));
    for (auto* r : replicas) r->tick();
  }
  ManualClock clock{TimePoint{Duration{1'700'000'000'000}}};
  FakeEtcd etcd{clock};
};

TEST(LeaderElectionConfig, DefaultsAreKubernetesAndRelationsAreChecked) {
  auto c = config_for("a");
  EXPECT_EQ(c.lease_duration, seconds(15));
  EXPECT_EQ(c.renew_deadline, seconds(10));
  EXPECT_EQ(c.retry_period, seconds(2));
  EXPECT_FALSE(validate(c));
  auto bad = c;
  bad.renew_deadline = seconds(15);
  EXPECT_TRUE(validate(bad));
  bad = c;
  bad.retry_period = seconds(9);
  EXPECT_TRUE(validate(bad));
  bad = c;
  bad.lease_duration = milliseconds(15500);
  EXPECT_TRUE(validate(bad));
  bad = c;
  bad.identity.clear();
  EXPECT_TRUE(validate(bad));
}

TEST_F(LeaderElectionTest, FirstReplicaLeadsTheOthersFollowAndObserveIt) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b"), c(etcd, clock, "c");
  EXPECT_EQ(a.elector.state().role, Role::kNoQuorum);  // before the first round
  a.tick();
  b.tick();
  c.tick();
  EXPECT_TRUE(a.elector.is_leader());
  EXPECT_FALSE(b.elector.is_leader());
  ASSERT_EQ(a.started.size(), 1u);
  auto key = etcd.get(kKey);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->value, "a");
  EXPECT_EQ(a.started[0], key->create_revision);
  EXPECT_EQ(a.elector.leadership_revision(), key->create_revision);
  auto bs = b.elector.state();
  EXPECT_EQ(bs.role, Role::kFollower);
  EXPECT_EQ(bs.leader_identity, "a");
  EXPECT_EQ(bs.leader_revision, key->create_revision);
  EXPECT_EQ(b.observed, std::vector<std::string>{"a"});
  EXPECT_FALSE(b.elector.leadership_revision());
  // Steady state: a keeps leading for a long time, nobody else ever does.
  for (int i = 0; i < 100; ++i) round({&a, &b, &c});
  EXPECT_TRUE(a.elector.is_leader());
  EXPECT_TRUE(b.started.empty());
  EXPECT_TRUE(c.started.empty());
  EXPECT_EQ(a.elector.state().transitions, 1u);
}

TEST_F(LeaderElectionTest, AKilledLeaderIsReplacedWithinLeaseTtlPlusOneRetry) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  b.tick();
  ASSERT_TRUE(a.elector.is_leader());
  round({&a, &b});  // a's last renewal
  const TimePoint killed = clock.now();
  // a is gone: no more ticks from it. b keeps trying every retry period.
  TimePoint took_over{};
  for (int i = 0; i < 20 && b.started.empty(); ++i) {
    round({&b});
    if (!b.started.empty()) took_over = clock.now();
  }
  ASSERT_FALSE(b.started.empty());
  EXPECT_LE(took_over - killed, seconds(15) + seconds(2));
  EXPECT_GE(took_over - killed, seconds(15));  // never before a's lease can have run out
  EXPECT_TRUE(b.elector.is_leader());
  EXPECT_EQ(etcd.get(kKey)->value, "b");
  // a's own view expired at its renew deadline, before b could take over.
  EXPECT_FALSE(a.elector.is_leader());
}

TEST_F(LeaderElectionTest, LeaderStepsDownAtTheRenewDeadlineBeforeItsLeaseCanExpire) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  b.tick();
  const TimePoint last_renew = clock.now();
  // a is cut off from etcd, b is not (a partition): etcd is down only during a's rounds.
  TimePoint stepped_down{};
  TimePoint b_took_over{};
  for (int i = 0; i < 12; ++i) {
    clock.advance(seconds(2));
    etcd.set_available(false);
    a.tick();
    if (!a.stopped.empty() && stepped_down == TimePoint{}) stepped_down = clock.now();
    // Between rounds a reports itself leader only within the deadline.
    EXPECT_EQ(a.elector.is_leader(), clock.now() - last_renew < seconds(10)) << i;
    etcd.set_available(true);
    b.tick();
    if (!b.started.empty() && b_took_over == TimePoint{}) b_took_over = clock.now();
  }
  ASSERT_NE(stepped_down, TimePoint{});
  EXPECT_LE(stepped_down - last_renew, seconds(10) + seconds(2));
  ASSERT_NE(b_took_over, TimePoint{});
  EXPECT_GE(b_took_over - last_renew, seconds(15));
  EXPECT_LT(stepped_down, b_took_over);  // never two leaders
  EXPECT_EQ(a.elector.state().role, Role::kNoQuorum);
  EXPECT_NE(a.elector.state().last_error.find("unavailable"), std::string::npos);
}

TEST_F(LeaderElectionTest, APausedLeaderStopsActingOnWakeAndItsWritesAreFenced) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  b.tick();
  const Revision a_revision = *a.elector.leadership_revision();
  EtcdStateStore a_store(etcd, "/autoplacer/app/state/",
                         LeaderFence{kKey, [&] { return a.elector.leadership_revision(); }});
  ASSERT_TRUE(run_sync(a_store.put("history", "a1")).ok());
  // a freezes (SIGSTOP) for 30 s; b carries on.
  for (int i = 0; i < 15; ++i) round({&b});
  ASSERT_TRUE(b.elector.is_leader());
  EtcdStateStore b_store(etcd, "/autoplacer/app/state/",
                         LeaderFence{kKey, [&] { return b.elector.leadership_revision(); }});
  ASSERT_TRUE(run_sync(b_store.put("history", "b1")).ok());
  // a wakes: before its loop runs, it already knows it must not act...
  EXPECT_FALSE(a.elector.is_leader());
  EXPECT_EQ(a.elector.state().role, Role::kNoQuorum);
  auto refused = run_sync(a_store.put("history", "a2"));
  EXPECT_EQ(refused.error().kind, StateStoreError::Kind::kNotLeader);
  // ...and a write that was already past that check (carrying a's old revision) fails in etcd.
  EtcdStateStore in_flight(etcd, "/autoplacer/app/state/",
                           LeaderFence{kKey, [&] { return std::optional<Revision>(a_revision); }});
  auto fenced = run_sync(in_flight.put("history", "a2"));
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.error().kind, StateStoreError::Kind::kNotLeader);
  EXPECT_EQ(etcd.get("/autoplacer/app/state/history")->value, "b1");
  // Its next round makes it step down and follow b.
  a.tick();
  EXPECT_EQ(a.stopped.size(), 1u);
  round({&a, &b});
  EXPECT_EQ(a.elector.state().role, Role::kFollower);
  EXPECT_EQ(a.elector.state().leader_identity, "b");
  EXPECT_TRUE(b.elector.is_leader());
}

TEST_F(LeaderElectionTest, EtcdOutageEveryoneHoldsThenRecovers) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  b.tick();
  etcd.set_available(false);
  for (int i = 0; i < 6; ++i) round({&a, &b});  // 12 s without etcd
  EXPECT_FALSE(a.elector.is_leader());
  EXPECT_FALSE(b.elector.is_leader());
  EXPECT_EQ(a.elector.state().role, Role::kNoQuorum);
  EXPECT_EQ(b.elector.state().role, Role::kNoQuorum);
  EXPECT_EQ(b.elector.state().leader_identity, "");
  EXPECT_EQ(a.stopped.size(), 1u);
  etcd.set_available(true);
  // a could not revoke its lease while etcd was down; its key lives until the TTL, then one of
  // them leads again.
  for (int i = 0; i < 10; ++i) round({&a, &b});
  EXPECT_NE(a.elector.is_leader(), b.elector.is_leader());
  EXPECT_EQ(b.elector.state().role == Role::kLeader ? Role::kFollower : Role::kLeader,
            a.elector.state().role);
}

TEST_F(LeaderElectionTest, ShortHiccupsWithinTheRenewDeadlineDoNotChangeTheLeader) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  b.tick();
  for (int i = 0; i < 20; ++i) {
    etcd.fail_next(i % 3 == 0 ? 3 : 0);  // a's keep-alive (and more) fails every third round
    round({&a, &b});
    ASSERT_TRUE(a.elector.is_leader()) << i;
  }
  EXPECT_EQ(a.elector.state().transitions, 1u);
  EXPECT_TRUE(b.started.empty());
}

TEST_F(LeaderElectionTest, ResignHandsOverAtTheNextRound) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  b.tick();
  run_sync(a.elector.resign());
  EXPECT_FALSE(a.elector.is_leader());
  EXPECT_EQ(a.stopped, std::vector<std::string>{"resigned"});
  EXPECT_FALSE(etcd.get(kKey));
  round({&b});
  EXPECT_TRUE(b.elector.is_leader());
}

TEST_F(LeaderElectionTest, ALeaderWhoseKeyWasDeletedStepsDown) {
  Replica a(etcd, clock, "a"), b(etcd, clock, "b");
  a.tick();
  (void)run_sync(etcd.delete_range(DeleteRangeRequest::single(kKey)));
  b.tick();  // b creates the key anew
  ASSERT_TRUE(b.elector.is_leader());
  round({&a});
  EXPECT_FALSE(a.elector.is_leader());
  EXPECT_EQ(a.elector.state().role, Role::kFollower);
  EXPECT_EQ(a.elector.state().leader_identity, "b");
}

TEST_F(LeaderElectionTest, RunLoopsUntilStopped) {
  // The loop with real timers (short periods) but still the fake etcd: no sockets.
  SystemClock system_clock;
  FakeEtcd fast_etcd(system_clock);
  LeaderElectionConfig c = config_for("a");
  c.lease_duration = seconds(2);
  c.renew_deadline = milliseconds(1000);
  c.retry_period = milliseconds(50);
  LeaderElector a(fast_etcd, system_clock, c);
  boost::asio::io_context ctx;
  bool done = false;
  boost::asio::co_spawn(ctx, a.run(), [&](std::exception_ptr) { done = true; });
  std::thread t([&] { ctx.run(); });
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(a.is_leader());
  a.stop();
  t.join();
  EXPECT_TRUE(done);
  EXPECT_GE(fast_etcd.calls(), 6u);  // several rounds ran
}

}  // namespace
}  // namespace autoplacer::etcd
