// FakeStateStore (fault injection, corrupt blobs) and the etcd adapter against the fake etcd.
#include "controller/state_store.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "controller/etcd_fake.h"
#include "controller/etcd_state_store.h"
#include "controller/etcd_test_util.h"

namespace autoplacer::controller {
namespace {

namespace json = boost::json;
using ::autoplacer::testing::run_sync;

TEST(StateNameTest, AcceptsOnlySafeNames) {
  EXPECT_TRUE(valid_state_name("web"));
  EXPECT_TRUE(valid_state_name("decision_state"));
  EXPECT_TRUE(valid_state_name("my-app.v2"));
  EXPECT_FALSE(valid_state_name(""));
  EXPECT_FALSE(valid_state_name(".hidden"));
  EXPECT_FALSE(valid_state_name(".."));
  EXPECT_FALSE(valid_state_name("a/b"));
  EXPECT_FALSE(valid_state_name("a b"));
  EXPECT_FALSE(valid_state_name(std::string(201, 'a')));
}

TEST(FakeStateStoreTest, SaveLoadListRemove) {
  FakeStateStore store;
  auto missing = store.load_now("web", "status");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  ASSERT_TRUE(store.save_now("web", "status", json::object{{"a", 1}}).ok());
  ASSERT_TRUE(store.save_now("web", "decision_state", json::array{1, 2}).ok());
  ASSERT_TRUE(store.save_now("api", "status", json::object{}).ok());

  auto loaded = store.load_now("web", "status");
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, (json::value(json::object{{"a", 1}})));

  auto web = store.list_now("web");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(*web, (std::vector<StateKey>{{"web", "decision_state"}, {"web", "status"}}));
  auto all = store.list_now("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);

  ASSERT_TRUE(store.remove_now("web", "status").ok());
  ASSERT_TRUE(store.remove_now("web", "status").ok());  // missing: still fine
  EXPECT_FALSE(store.load_now("web", "status")->has_value());
}

TEST(FakeStateStoreTest, RejectsBadNames) {
  FakeStateStore store;
  auto r = store.save_now("../etc", "passwd", json::value{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, StateError::Kind::kInvalidKey);
}

TEST(FakeStateStoreTest, CorruptBlobIsAnErrorValue) {
  FakeStateStore store;
  store.put_raw("web", "status", "{\"truncated\": ");
  auto r = store.load_now("web", "status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, StateError::Kind::kCorrupt);
  EXPECT_NE(r.error().message.find("web/status"), std::string::npos);
}

TEST(FakeStateStoreTest, InjectedFailures) {
  FakeStateStore store;
  store.fail_next(FakeStateStore::Op::kSave, StateError{StateError::Kind::kIo, "disk full"}, 2);
  EXPECT_FALSE(store.save_now("web", "status", json::object{}).ok());
  EXPECT_FALSE(store.save_now("web", "status", json::object{}).ok());
  EXPECT_TRUE(store.save_now("web", "status", json::object{}).ok());
  EXPECT_EQ(store.calls(FakeStateStore::Op::kSave), 3);

  store.fail_always(FakeStateStore::Op::kLoad, StateError{StateError::Kind::kUnavailable, "x"});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(store.load_now("web", "status").ok());
  store.fail_always(FakeStateStore::Op::kLoad, std::nullopt);
  EXPECT_TRUE(store.load_now("web", "status").ok());
}

TEST(FakeStateStoreTest, AsyncInterface) {
  FakeStateStore store;
  StateStore& iface = store;
  ASSERT_TRUE(run_sync(iface.save("web", "status", json::object{{"x", true}})).ok());
  auto loaded = run_sync(iface.load("web", "status"));
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((**loaded).at("x"), true);
  auto listed = run_sync(iface.list(""));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
  ASSERT_TRUE(run_sync(iface.remove("web", "status")).ok());
  EXPECT_EQ(store.size(), 0u);
}

// ---- etcd adapter ----

constexpr const char* kLeaderKey = "/ap/app/leader";

class EtcdStateStoreAdapterTest : public ::testing::Test {
 protected:
  void lead() {
    auto lease = run_sync(etcd.lease_grant(15));
    ASSERT_TRUE(lease.ok());
    auto put = run_sync(etcd.put(etcd::PutRequest::of(kLeaderKey, "me", lease->id)));
    ASSERT_TRUE(put.ok());
    fence = put->header.revision;
  }

  ManualClock clock{TimePoint{Duration{1'700'000'000'000}}};
  etcd::FakeEtcd etcd{clock};
  std::optional<etcd::Revision> fence;
  etcd::EtcdStateStore raw{etcd, "/ap/app/state/",
                           etcd::LeaderFence{kLeaderKey, [this] { return fence; }}};
  EtcdStateStoreAdapter store{raw};
};

TEST_F(EtcdStateStoreAdapterTest, RoundTripsWhileLeading) {
  lead();
  ASSERT_TRUE(run_sync(store.save("web", "status", json::object{{"g", 3}})).ok());
  ASSERT_TRUE(run_sync(store.save("web", "decision_state", json::object{})).ok());
  ASSERT_TRUE(run_sync(store.save("api", "status", json::object{})).ok());
  auto loaded = run_sync(store.load("web", "status"));
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((**loaded).at("g"), 3);

  auto web = run_sync(store.list("web"));
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(*web, (std::vector<StateKey>{{"web", "decision_state"}, {"web", "status"}}));
  auto all = run_sync(store.list(""));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);

  ASSERT_TRUE(run_sync(store.remove("web", "status")).ok());
  auto gone = run_sync(store.load("web", "status"));
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(EtcdStateStoreAdapterTest, WritesAreFencedByLeadership) {
  auto r = run_sync(store.save("web", "status", json::object{}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, StateError::Kind::kNotLeader);
}

TEST_F(EtcdStateStoreAdapterTest, CorruptValueIsAnErrorValue) {
  lead();
  ASSERT_TRUE(run_sync(raw.put("web/status", "not json at all")).ok());
  auto r = run_sync(store.load("web", "status"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, StateError::Kind::kCorrupt);
}

}  // namespace
}  // namespace autoplacer::controller
