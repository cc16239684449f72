// The etcd client, leader election and fenced state store against a real etcd (Debian's
// etcd-server 3.4) started by the test on free loopback ports: one node and a three-node cluster.
//
// Each replica runs on its own thread and io_context with its own client, like a process.
// "Kill" stops its io_context abruptly (no resign, no more keep-alives: what SIGKILL leaves
// behind); "freeze" blocks its thread (what SIGSTOP does). Durations are scaled down from the
// 15 s / 10 s / 2 s defaults to 3 s / 2 s / 0.5 s so the suite runs in about a minute;
// bench/leader_takeover_main.cpp measures the defaults with real processes.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <thread>

#include "common/log.h"
#include "controller/etcd_client.h"
#include "controller/etcd_state_store.h"
#include "controller/etcd_test_util.h"
#include "controller/leader_election.h"
#include "support/etcd_server.h"

namespace autoplacer::etcd {
namespace {
namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EtcdServer;
using testing::run_sync;
using Steady = std::chrono::steady_clock;

constexpr const char* kKey = "/autoplacer/itest/leader";
constexpr auto kTtl = seconds(3);
constexpr auto kRenew = seconds(2);
constexpr auto kRetry = milliseconds(500);
// etcd checks lease expiry every 500 ms, and a round is a couple of HTTP requests.
constexpr auto kSlack = milliseconds(1000);

EtcdClientOptions client_options(std::vector<std::string> endpoints) {
  EtcdClientOptions o;
  o.endpoints = std::move(endpoints);
  o.request_timeout = milliseconds(1000);
  return o;
}

class Replica {
 public:
  Replica(std::vector<std::string> endpoints, std::string id)
      : transport_(make_etcd_transport(ctx_.get_executor(), {}, milliseconds(500))),
        client_(client_options(std::move(endpoints)), transport_),
        elector_(client_, clock_, config(std::move(id))) {}
  ~Replica() { kill(); }

  static LeaderElectionConfig config(std::string id) {
    LeaderElectionConfig c;
    c.key = kKey;
    c.identity = std::move(id);
    c.lease_duration = kTtl;
    c.renew_deadline = kRenew;
    c.retry_period = kRetry;
    return c;
  }

  void start() {
    asio::co_spawn(ctx_, elector_.run(), asio::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }
  // Abrupt end: the loop stops mid-flight, nothing is revoked.
  void kill() {
    if (!thread_.joinable()) return;
    ctx_.stop();
    thread_.join();
  }
  // Blocks the replica's only thread, as SIGSTOP would.
  void freeze(milliseconds d) {
    asio::post(ctx_, [d] { std::this_thread::sleep_for(d); });
  }

  LeaderElector& elector() { return elector_; }
  Etcd& etcd() { return client_; }
  const std::string& id() const { return elector_.config().identity; }

 private:
  asio::io_context ctx_;  // first: destroyed last, after everything its handlers refer to
  std::shared_ptr<EtcdTransport> transport_;
  EtcdGatewayClient client_;
  SystemClock clock_;
  LeaderElector elector_;
  std::thread thread_;
};

// Samples all replicas every 10 ms and counts moments when more than one believed it led.
class OverlapWatch {
 public:
  explicit OverlapWatch(std::vector<Replica*> replicas) : replicas_(std::move(replicas)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        int leaders = 0;
        for (auto* r : replicas_) leaders += r->elector().is_leader() ? 1 : 0;
        if (leaders > 1) ++overlaps_;
        std::this_thread::sleep_for(milliseconds(10));
      }
    });
  }
  ~OverlapWatch() {
    stop_ = true;
    thread_.join();
  }
  int overlaps() const { return overlaps_; }

 private:
  std::vector<Replica*> replicas_;
  std::atomic<bool> stop_{false};
  std::atomic<int> overlaps_{0};
  std::thread thread_;
};

// The replica that leads, waiting up to `timeout`; nullptr if none.
Replica* wait_leader(const std::vector<Replica*>& replicas, milliseconds timeout,
                     Replica* except = nullptr) {
  const auto deadline = Steady::now() + timeout;
  while (Steady::now() < deadline) {
    for (auto* r : replicas) {
      if (r != except && r->elector().is_leader()) return r;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return nullptr;
}

class EtcdIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("off");
    if (!EtcdServer::available()) GTEST_SKIP() << "etcd is not installed (Debian: etcd-server)";
  }
};

TEST_F(EtcdIntegration, ClientSpeaksTheGateway) {
  EtcdServer server(1);
  asio::io_context ctx;
  EtcdGatewayClient c(client_options({server.client_url(0)}),
                      make_etcd_transport(ctx.get_executor(), {}));
  auto put = run_sync(ctx, c.put(PutRequest::of("/t/a", std::string("v\0x", 3))));
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto got = run_sync(ctx, c.range(RangeRequest::single("/t/a")));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].value, std::string("v\0x", 3));
  EXPECT_EQ(got->kvs[0].create_revision, put->header.revision);
  ASSERT_TRUE(run_sync(ctx, c.put(PutRequest::of("/t/b", "w"))).ok());
  auto list = run_sync(ctx, c.range(RangeRequest::prefix("/t/")));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->count, 2);

  TxnRequest create_if_absent;
  create_if_absent.compare.push_back(Compare::create_revision("/t/a", Compare::Result::kEqual, 0));
  create_if_absent.success.emplace_back(PutRequest::of("/t/a", "new"));
  create_if_absent.failure.emplace_back(RangeRequest::single("/t/a"));
  auto t = run_sync(ctx, c.txn(create_if_absent));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->succeeded);
  EXPECT_EQ(std::get<RangeResponse>(t->responses.at(0)).kvs.at(0).key, "/t/a");

  auto lease = run_sync(ctx, c.lease_grant(5));
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_EQ(lease->ttl, 5);
  ASSERT_TRUE(run_sync(ctx, c.put(PutRequest::of("/t/leased", "x", lease->id))).ok());
  auto ka = run_sync(ctx, c.lease_keep_alive(lease->id));
  ASSERT_TRUE(ka.ok()) << ka.error().message;
  EXPECT_EQ(ka->ttl, 5);
  auto ttl = run_sync(ctx, c.lease_time_to_live(lease->id));
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT(ttl->ttl, 0);
  ASSERT_TRUE(run_sync(ctx, c.lease_revoke(lease->id)).ok());
  EXPECT_TRUE(run_sync(ctx, c.range(RangeRequest::single("/t/leased")))->kvs.empty());
  auto gone = run_sync(ctx, c.lease_keep_alive(lease->id));
  ASSERT_TRUE(gone.ok());
  EXPECT_LE(gone->ttl, 0);
  auto bad = run_sync(ctx, c.put(PutRequest::of("/t/x", "x", 12345)));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, EtcdError::Kind::kLeaseNotFound);
  auto del = run_sync(ctx, c.delete_range(DeleteRangeRequest::single("/t/b")));
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->deleted, 1);
}

TEST_F(EtcdIntegration, FailsOverFromADeadEndpoint) {
  EtcdServer server(1);
  asio::io_context ctx;
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::free_loopback_port());
  EtcdGatewayClient c(client_options({dead, server.client_url(0)}),
                      make_etcd_transport(ctx.get_executor(), {}));
  ASSERT_TRUE(run_sync(ctx, c.put(PutRequest::of("k", "v"))).ok());
  EXPECT_EQ(c.current_endpoint(), server.client_url(0));
  EtcdGatewayClient none(client_options({dead}), make_etcd_transport(ctx.get_executor(), {}));
  auto r = run_sync(ctx, none.range(RangeRequest::single("k")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, EtcdError::Kind::kUnavailable);
}

TEST_F(EtcdIntegration, AuthenticatesWithUsernameAndPassword) {
  EtcdServer server(1);
  asio::io_context ctx;
  auto transport = make_etcd_transport(ctx.get_executor(), {});
  // Set up a root user and turn auth on, through the gateway.
  for (auto [path, body] : std::vector<std::pair<std::string, std::string>>{
           {"/v3/auth/user/add", R"({"name":"root","password":"root-pw-123"})"},
           {"/v3/auth/role/add", R"({"name":"root"})"},
           {"/v3/auth/user/grant", R"({"user":"root","role":"root"})"},
           {"/v3/auth/enable", "{}"}}) {
    auto r = run_sync(ctx, transport->post(server.client_url(0), path, body, "", seconds(2)));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200u) << path << ": " << r->body;
  }
  EtcdClientOptions anonymous = client_options({server.client_url(0)});
  EtcdGatewayClient anon(anonymous, transport);
  auto refused = run_sync(ctx, anon.range(RangeRequest::single("k")));
  ASSERT_FALSE(refused.ok());

  EtcdClientOptions with_auth = anonymous;
  with_auth.username = "root";
  with_auth.password = "root-pw-123";
  EtcdGatewayClient authed(with_auth, transport);
  auto ok = run_sync(ctx, authed.put(PutRequest::of("k", "v")));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_TRUE(run_sync(ctx, authed.range(RangeRequest::single("k"))).ok());

  with_auth.password = "wrong-pw-456";
  EtcdGatewayClient wrong(with_auth, transport);
  auto denied = run_sync(ctx, wrong.range(RangeRequest::single("k")));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind, EtcdError::Kind::kUnauthenticated);
}

TEST_F(EtcdIntegration, OneNodeKilledLeadersAreReplacedWithinTtlPlusRetry) {
  EtcdServer server(1);
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> replicas;
  for (auto id : {"r0", "r1", "r2"}) {
    owned.push_back(std::make_unique<Replica>(server.client_urls(), id));
    replicas.push_back(owned.back().get());
  }
  OverlapWatch watch(replicas);
  for (auto* r : replicas) r->start();
  Replica* leader = wait_leader(replicas, kTtl);
  ASSERT_NE(leader, nullptr);
  for (int kill = 0; kill < 2; ++kill) {
    std::this_thread::sleep_for(kRetry * 3);  // a few renewals
    ASSERT_TRUE(leader->elector().is_leader());
    const auto killed_at = Steady::now();
    leader->kill();
    std::vector<Replica*> alive;
    for (auto* r : replicas) {
      if (r != leader) alive.push_back(r);
    }
    Replica* next = wait_leader(alive, kTtl + kRetry + kSlack + seconds(2));
    ASSERT_NE(next, nullptr) << "no take-over after kill " << kill;
    const auto took = Steady::now() - killed_at;
    EXPECT_LE(took, kTtl + kRetry + kSlack) << "kill " << kill;
    EXPECT_GE(took, kTtl - kRetry - kSlack) << "kill " << kill;  // not before the lease ran out
    std::cout << "[ take-over " << kill << " ] "
              << std::chrono::duration_cast<milliseconds>(took).count() << " ms\n";
    auto key = run_sync(next->etcd().range(RangeRequest::single(kKey)));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(key->kvs.at(0).value, next->id());
    replicas = alive;
    leader = next;
  }
  EXPECT_EQ(watch.overlaps(), 0);
}

TEST_F(EtcdIntegration, APausedLeaderMustNotActAndCannotWriteAfterResuming) {
  EtcdServer server(1);
  Replica a(server.client_urls(), "a"), b(server.client_urls(), "b");
  OverlapWatch watch({&a, &b});
  a.start();
  ASSERT_EQ(wait_leader({&a}, kTtl), &a);
  b.start();
  std::this_thread::sleep_for(kRetry * 2);
  ASSERT_EQ(b.elector().state().leader_identity, "a");
  const Revision a_revision = *a.elector().leadership_revision();
  EtcdStateStore a_store(a.etcd(), "/autoplacer/itest/state/",
                         LeaderFence{kKey, [&] { return a.elector().leadership_revision(); }});
  ASSERT_TRUE(run_sync(a_store.put("history", "a1")).ok());

  a.freeze(kTtl + seconds(2));
  // While frozen, a's own answer turns to "not leader" at its renew deadline...
  std::this_thread::sleep_for(kRenew + milliseconds(100));
  EXPECT_FALSE(a.elector().is_leader());
  // ...and b takes over once a's lease has run out.
  ASSERT_EQ(wait_leader({&b}, kTtl + kSlack), &b);
  EtcdStateStore b_store(b.etcd(), "/autoplacer/itest/state/",
                         LeaderFence{kKey, [&] { return b.elector().leadership_revision(); }});
  ASSERT_TRUE(run_sync(b_store.put("history", "b1")).ok());

  // a resumes: it does not believe it leads, its loop steps down and follows b...
  std::this_thread::sleep_for(seconds(3));
  EXPECT_FALSE(a.elector().is_leader());
  EXPECT_EQ(a.elector().state().role, Role::kFollower);
  EXPECT_EQ(a.elector().state().leader_identity, "b");
  EXPECT_TRUE(b.elector().is_leader());
  // ...and a write it had in flight with its old revision is refused by etcd.
  EtcdStateStore stale(a.etcd(), "/autoplacer/itest/state/",
                       LeaderFence{kKey, [&] { return std::optional<Revision>(a_revision); }});
  auto w = run_sync(stale.put("history", "late a2"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, StateStoreError::Kind::kNotLeader);
  auto h = run_sync(b_store.get("history"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)->value, "b1");
  EXPECT_EQ(watch.overlaps(), 0);
}

TEST_F(EtcdIntegration, EtcdDownEveryoneHoldsAndRecoversWhenItReturns) {
  EtcdServer server(1);
  Replica a(server.client_urls(), "a"), b(server.client_urls(), "b");
  OverlapWatch watch({&a, &b});
  a.start();
  b.start();
  ASSERT_NE(wait_leader({&a, &b}, kTtl), nullptr);
  server.kill(0);
  std::this_thread::sleep_for(kRenew + kRetry + milliseconds(1500));
  for (auto* r : {&a, &b}) {
    EXPECT_FALSE(r->elector().is_leader()) << r->id();
    auto s = r->elector().state();
    EXPECT_EQ(s.role, Role::kNoQuorum) << r->id();
    EXPECT_FALSE(s.last_error.empty()) << r->id();
  }
  server.restart(0);
  // etcd restores leases on restart with a fresh TTL, so the old key may live one more TTL.
  Replica* again = wait_leader({&a, &b}, kTtl * 2 + kSlack * 2);
  ASSERT_NE(again, nullptr);
  Replica* other = again == &a ? &b : &a;
  std::this_thread::sleep_for(kRetry * 3);
  EXPECT_EQ(other->elector().state().role, Role::kFollower);
  EXPECT_EQ(other->elector().state().leader_identity, again->id());
  EXPECT_EQ(watch.overlaps(), 0);
}

TEST_F(EtcdIntegration, ThreeNodeClusterSurvivesTheLossOfOneNode) {
  EtcdServer server(3);
  std::vector<std::unique_ptr<Replica>> owned;
  std::vector<Replica*> replicas;
  for (auto id : {"r0", "r1", "r2"}) {
    owned.push_back(std::make_unique<Replica>(server.client_urls(), id));
    replicas.push_back(owned.back().get());
  }
  OverlapWatch watch(replicas);
  for (auto* r : replicas) r->start();
  Replica* leader = wait_leader(replicas, kTtl);
  ASSERT_NE(leader, nullptr);
  // Lose the member every replica talks to first.
  server.kill(0);
  std::this_thread::sleep_for(kTtl);
  Replica* still = wait_leader(replicas, kTtl + kSlack);
  ASSERT_NE(still, nullptr);
  auto key = run_sync(still->etcd().range(RangeRequest::single(kKey)));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->kvs.at(0).value, still->id());
  // And with two members left, killing the leading replica still hands over.
  const auto killed_at = Steady::now();
  still->kill();
  Replica* next = wait_leader(replicas, kTtl + kRetry + kSlack + seconds(2), still);
  ASSERT_NE(next, nullptr);
  EXPECT_LE(Steady::now() - killed_at, kTtl + kRetry + kSlack);
  EXPECT_EQ(watch.overlaps(), 0);
}

}  // namespace
}  // namespace autoplacer::etcd
