// The etcd state store against the fake etcd: compare-and-put, and the leadership fence.
#include "controller/etcd_state_store.h"

#include <gtest/gtest.h>

#include "controller/etcd_fake.h"
#include "controller/etcd_test_util.h"

namespace autoplacer::etcd {
namespace {
using testing::run_sync;

constexpr const char* kLeaderKey = "/ap/app/leader";

class EtcdStateStoreTest : public ::testing::Test {
 protected:
  // Makes `who` the holder of the leader key (on a fresh lease) and returns its revision.
  Revision take_leadership(const std::string& who) {
    auto lease = run_sync(etcd.lease_grant(15));
    EXPECT_TRUE(lease.ok());
    (void)run_sync(etcd.delete_range(DeleteRangeRequest::single(kLeaderKey)));
    auto put = run_sync(etcd.put(PutRequest::of(kLeaderKey, who, lease->id)));
    EXPECT_TRUE(put.ok());
    return put->header.revision;
  }
  EtcdStateStore store_for(std::optional<Revision>* fence) {
    return EtcdStateStore(etcd, "/ap/app/state/",
                          LeaderFence{kLeaderKey, [fence] { return *fence; }});
  }

  ManualClock clock{TimePoint{Duration{1'700'000'000'000}}};
  FakeEtcd etcd{clock};
};

TEST_F(EtcdStateStoreTest, PutGetListRemoveWhileLeading) {
  std::optional<Revision> fence = take_leadership("a");
  auto store = store_for(&fence);
  auto r1 = run_sync(store.put("history/001", "one"));
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  ASSERT_TRUE(run_sync(store.put("history/002", "two")).ok());
  ASSERT_TRUE(run_sync(store.put("ops/x", "op")).ok());
  auto got = run_sync(store.get("history/001"));
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "one");
  EXPECT_EQ((*got)->revision, *r1);
  auto list = run_sync(store.list("history/"));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "history/001");
  EXPECT_EQ((*list)[1].value, "two");
  ASSERT_TRUE(run_sync(store.remove("history/001")).ok());
  EXPECT_FALSE(run_sync(store.get("history/001"))->has_value());
  EXPECT_TRUE(run_sync(store.remove("never-there")).ok());
}

TEST_F(EtcdStateStoreTest, CompareAndPutDetectsConflicts) {
  std::optional<Revision> fence = take_leadership("a");
  auto store = store_for(&fence);
  auto created = run_sync(store.put("k", "v1", Revision{0}));  // create only
  ASSERT_TRUE(created.ok());
  auto again = run_sync(store.put("k", "v1", Revision{0}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, StateStoreError::Kind::kConflict);
  auto updated = run_sync(store.put("k", "v2", *created));
  ASSERT_TRUE(updated.ok());
  auto stale = run_sync(store.put("k", "v3", *created));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, StateStoreError::Kind::kConflict);
  EXPECT_EQ(run_sync(store.remove("k", *created)).error().kind, StateStoreError::Kind::kConflict);
  EXPECT_TRUE(run_sync(store.remove("k", *updated)).ok());
}

TEST_F(EtcdStateStoreTest, NoWriteWithoutLeadership) {
  std::optional<Revision> fence;
  auto store = store_for(&fence);
  auto r = run_sync(store.put("k", "v"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, StateStoreError::Kind::kNotLeader);
  EXPECT_FALSE(etcd.get("/ap/app/state/k"));
}

TEST_F(EtcdStateStoreTest, ADeposedLeaderCannotOverwriteTheNewLeadersState) {
  std::optional<Revision> old_fence = take_leadership("a");
  auto old_store = store_for(&old_fence);
  ASSERT_TRUE(run_sync(old_store.put("history/001", "from a")).ok());
  // b takes over (a's key expired, b created its own); a still believes it leads.
  std::optional<Revision> new_fence = take_leadership("b");
  auto new_store = store_for(&new_fence);
  ASSERT_TRUE(run_sync(new_store.put("history/001", "from b")).ok());
  auto late = run_sync(old_store.put("history/001", "late write from a"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().kind, StateStoreError::Kind::kNotLeader);
  EXPECT_NE(late.error().message.find("'b'"), std::string::npos) << late.error().message;
  EXPECT_EQ(run_sync(old_store.remove("history/001")).error().kind,
            StateStoreError::Kind::kNotLeader);
  EXPECT_EQ(etcd.get("/ap/app/state/history/001")->value, "from b");
}

TEST_F(EtcdStateStoreTest, EtcdDownIsUnavailable) {
  std::optional<Revision> fence = take_leadership("a");
  auto store = store_for(&fence);
  etcd.set_available(false);
  EXPECT_EQ(run_sync(store.put("k", "v")).error().kind, StateStoreError::Kind::kUnavailable);
  EXPECT_EQ(run_sync(store.get("k")).error().kind, StateStoreError::Kind::kUnavailable);
}

TEST_F(EtcdStateStoreTest, FakeEtcdExpiresLeasesAndTheirKeysByTheClock) {
  auto lease = run_sync(etcd.lease_grant(15));
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(run_sync(etcd.put(PutRequest::of("k", "v", lease->id))).ok());
  clock.advance(std::chrono::seconds(14));
  ASSERT_TRUE(run_sync(etcd.lease_keep_alive(lease->id)).ok());
  clock.advance(std::chrono::seconds(14));
  EXPECT_TRUE(etcd.get("k"));
  clock.advance(std::chrono::seconds(1));
  EXPECT_FALSE(etcd.get("k"));
  auto ka = run_sync(etcd.lease_keep_alive(lease->id));
  ASSERT_TRUE(ka.ok());
  EXPECT_EQ(ka->ttl, 0);
  EXPECT_EQ(run_sync(etcd.put(PutRequest::of("k", "v", lease->id))).error().kind,
            EtcdError::Kind::kLeaseNotFound);
}

}  // namespace
}  // namespace autoplacer::etcd
