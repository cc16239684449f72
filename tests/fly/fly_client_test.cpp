// MachinesClient over real loopback HTTP against MiniFly (FakeMachinesApi behind a Beast server,
// Fly's rate limits enforced, every request and response checked against the OpenAPI subset).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>

#include "fly/machines_client.h"
#include "fly/mini_fly_server.h"
#include "net/client_test_util.h"
#include "net/tls_context.h"

namespace autoplacer::fly {
namespace {
using autoplacer::testing::json_reply;
using autoplacer::testing::MiniFly;
using autoplacer::testing::OpenApiContract;
using autoplacer::testing::run_sync;
using autoplacer::testing::TestReply;
using namespace std::chrono_literals;
namespace http = net::http;

const OpenApiContract& contract() {
  static const OpenApiContract c = [] {
    auto r = OpenApiContract::load_file(AP_TEST_FIXTURES "/openapi/machines-subset.json");
    if (!r) throw std::runtime_error(r.error());
    return std::move(r).value();
  }();
  return c;
}

struct RecordingObserver : ApiObserver {
  void on_request(std::string_view op, std::string_view status,
                  std::chrono::duration<double>) override {
    std::lock_guard lock(mu);
    requests.push_back(std::string(op) + " " + std::string(status));
  }
  void on_rate_limit_wait(std::string_view, std::chrono::duration<double> waited) override {
    std::lock_guard lock(mu);
    ++waits;
    waited_s += waited.count();
  }
  void on_retry(std::string_view, std::string_view reason, std::chrono::duration<double>) override {
    std::lock_guard lock(mu);
    retries.push_back(std::string(reason));
  }
  std::mutex mu;
  std::vector<std::string> requests;
  std::vector<std::string> retries;
  int waits = 0;
  double waited_s = 0;
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

class FlyClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<MachinesClient> make_client(MachinesClientOptions o = {}) {
    o.app = "app";
    o.base_url = fly.base_url();
    if (o.token.empty()) o.token = "fm2_testmacaroon";
    o.backoff_base = 10ms;
    o.backoff_max = 50ms;
    o.jitter_seed = 7;
    if (o.http.request_timeout == net::HttpClient::Options{}.request_timeout)
      o.http.request_timeout = 2s;
    return std::make_unique<MachinesClient>(io.get_executor(), o, clock, observer);
  }
  template <class T>
  T run(boost::asio::awaitable<T> aw) {
    return run_sync(io, std::move(aw));
  }
  void TearDown() override { EXPECT_EQ(joined(fly.violations()), ""); }

  boost::asio::io_context io;
  SystemClock clock;
  std::shared_ptr<RecordingObserver> observer = std::make_shared<RecordingObserver>();
  MiniFly fly{contract()};
};

TEST_F(FlyClientTest, EveryOperationRoundTripsWithinTheContract) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("src", "fra"));
  auto api = make_client();

  auto listed = run(api->list_machines({}));
  ASSERT_TRUE(listed.ok()) << describe(listed.error());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].process_group(), "app");

  auto src = run(api->get_machine("src", true));
  ASSERT_TRUE(src.ok()) << describe(src.error());
  CloneOptions co;
  co.region = "syd";
  co.metadata = {{"autoplacer_policy", "p1"}, {"autoplacer_op_id", "op1"}};
  auto clone = run(clone_machine(*api, *src, co));
  ASSERT_TRUE(clone.ok()) << describe(clone.error());
  EXPECT_EQ(clone->region, "syd");
  const std::string id = clone->id;
  EXPECT_TRUE(run(wait_for_state(*api, id, "started", 5s)).ok());

  ListOptions mine;
  mine.metadata = {{"autoplacer_policy", "p1"}};
  mine.states = {"started", "stopped"};
  mine.include_leases = true;
  auto owned = run(api->list_machines(mine));
  ASSERT_TRUE(owned.ok()) << describe(owned.error());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].id, id);

  StopOptions stop;
  stop.signal = "SIGTERM";
  stop.timeout = 10s;
  EXPECT_TRUE(run(api->stop_machine(id, stop, "")).ok());
  EXPECT_EQ(fly.fake().find(id)->state, "stopped");
  EXPECT_TRUE(run(api->start_machine(id, "")).ok());
  EXPECT_TRUE(run(api->suspend_machine(id, "")).ok());
  EXPECT_EQ(fly.fake().find(id)->state, "suspended");
  EXPECT_TRUE(run(api->cordon_machine(id, "")).ok());
  EXPECT_TRUE(fly.fake().find(id)->cordoned);
  EXPECT_TRUE(run(api->uncordon_machine(id, "")).ok());

  EXPECT_TRUE(run(api->set_metadata(id, "role", "edge", "")).ok());
  auto md = run(api->get_metadata(id));
  ASSERT_TRUE(md.ok()) << describe(md.error());
  EXPECT_EQ(md->at("role"), "edge");
  EXPECT_TRUE(run(api->delete_metadata(id, "role", "")).ok());
  EXPECT_EQ(fly.fake().find(id)->metadata.count("role"), 0u);

  auto regions = run(api->list_regions());
  ASSERT_TRUE(regions.ok()) << describe(regions.error());
  EXPECT_EQ(regions->size(), 18u);

  EXPECT_TRUE(run(api->delete_machine(id, true, "")).ok());
  EXPECT_EQ(fly.fake().find(id)->state, "destroyed");

  // What went over the wire.
  const auto reqs = fly.requests();
  bool saw_force = false, saw_stop_body = false;
  for (const auto& r : reqs) {
    EXPECT_EQ(r[http::field::authorization], "FlyV1 fm2_testmacaroon");
    if (r.method() == http::verb::delete_ && r.target().find("force=true") != std::string::npos)
      saw_force = true;
    if (r.target().ends_with("/stop") && r.body() == R"({"signal":"SIGTERM","timeout":"10s"})")
      saw_stop_body = true;
  }
  EXPECT_TRUE(saw_force);
  EXPECT_TRUE(saw_stop_body);
  EXPECT_EQ(fly.rate_limited(), 0u);
}

TEST_F(FlyClientTest, ListFollowsCursorPagination) {
  for (int i = 0; i < 25; ++i)
    fly.fake().add_machine(FakeMachinesApi::make_machine("m" + std::to_string(i), "fra"));
  MachinesClientOptions o;
  o.page_size = 10;
  auto api = make_client(o);
  auto all = run(api->list_machines({}));
  ASSERT_TRUE(all.ok()) << describe(all.error());
  ASSERT_EQ(all->size(), 25u);
  EXPECT_EQ((*all)[24].id, "m24");
  const auto reqs = fly.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_NE(reqs[0].target().find("limit=10"), std::string::npos);
  EXPECT_EQ(reqs[0].target().find("cursor="), std::string::npos);
  EXPECT_NE(reqs[1].target().find("cursor=o10"), std::string::npos);
  EXPECT_NE(reqs[2].target().find("cursor=o20"), std::string::npos);
}

TEST_F(FlyClientTest, RepeatedCursorIsBadResponse) {
  fly.set_hook([](const net::Request&) -> std::optional<TestReply> {
    auto r = json_reply(http::status::ok, "[]");
    r.response.set("fly-next-cursor", "same");
    return r;
  });
  auto api = make_client();
  auto all = run(api->list_machines({}));
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().kind, FlyError::Kind::kBadResponse);
  EXPECT_EQ(fly.requests().size(), 2u);
}

TEST_F(FlyClientTest, LeaseNonceGuardsEveryChange) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  auto api = make_client();
  auto lease = run(api->acquire_lease("m1", 30s, "autoplacer op1"));
  ASSERT_TRUE(lease.ok()) << describe(lease.error());
  EXPECT_FALSE(lease->nonce.empty());

  auto second = run(api->acquire_lease("m1", 30s, "someone else"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, FlyError::Kind::kConflict);
  EXPECT_EQ(second.error().http_status, 409);
  EXPECT_FALSE(second.error().request_id.empty());

  auto refused = run(api->stop_machine("m1", {}, ""));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, FlyError::Kind::kConflict);
  EXPECT_FALSE(refused.error().outcome_unknown);  // a 409 is an answer: nothing happened

  EXPECT_TRUE(run(api->stop_machine("m1", {}, lease->nonce)).ok());
  EXPECT_TRUE(run(api->set_metadata("m1", "k", "v", lease->nonce)).ok());
  auto refreshed = run(api->refresh_lease("m1", lease->nonce, 60s));
  ASSERT_TRUE(refreshed.ok()) << describe(refreshed.error());
  EXPECT_EQ(refreshed->nonce, lease->nonce);
  EXPECT_TRUE(run(api->release_lease("m1", lease->nonce)).ok());
  EXPECT_TRUE(run(api->start_machine("m1", "")).ok());

  int with_nonce = 0;
  for (const auto& r : fly.requests()) {
    if (r["fly-machine-lease-nonce"] == lease->nonce) ++with_nonce;
  }
  EXPECT_EQ(with_nonce, 4);  // stop, metadata, refresh, release
}

TEST_F(FlyClientTest, ErrorClasses) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  fly.fake().add_machine(FakeMachinesApi::make_machine("named", "fra"));
  fly.fake().find_mutable("named")->name = "taken";
  auto api = make_client();

  auto missing = run(api->get_machine("nope", false));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, FlyError::Kind::kNotFound);

  fly.fake().set_capacity("syd", false);
  CreateMachineRequest c;
  c.region = "syd";
  auto capacity = run(api->create_machine(c));
  ASSERT_FALSE(capacity.ok());
  EXPECT_EQ(capacity.error().kind, FlyError::Kind::kInsufficientCapacity);
  EXPECT_EQ(capacity.error().fly_status, "insufficient_capacity");

  c.region = "fra";
  c.name = "taken";
  auto taken = run(api->create_machine(c));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().kind, FlyError::Kind::kUnprocessable);

  auto wait = run(api->wait_machine("m1", "stopped", 1s, ""));
  ASSERT_FALSE(wait.ok());
  EXPECT_EQ(wait.error().kind, FlyError::Kind::kWaitTimeout);

  auto not_stopped = run(api->delete_machine("m1", false, ""));
  ASSERT_FALSE(not_stopped.ok());
  EXPECT_EQ(not_stopped.error().kind, FlyError::Kind::kPrecondition);

  fly.set_hook([](const net::Request&) -> std::optional<TestReply> {
    return json_reply(http::status::unauthorized, R"({"error":"token invalid"})");
  });
  auto unauthorized = run(api->list_machines({}));
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_EQ(unauthorized.error().kind, FlyError::Kind::kUnauthorized);
  EXPECT_EQ(unauthorized.error().message, "token invalid");

  fly.set_hook([](const net::Request&) -> std::optional<TestReply> {
    return json_reply(http::status::ok, R"([{"id": 12}])");
  });
  auto malformed = run(api->list_machines({}));
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().kind, FlyError::Kind::kBadResponse);
  fly.set_hook(nullptr);
  // The malformed body is our own doing: the contract check must have caught it.
  EXPECT_NE(joined(fly.take_violations()).find("id"), std::string::npos);
}

TEST_F(FlyClientTest, ReadsRetryServerErrorsWritesDoNot) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra", "stopped"));
  auto api = make_client();
  int calls = 0;
  fly.set_hook([&calls](const net::Request&) -> std::optional<TestReply> {
    if (++calls <= 2) return json_reply(http::status::service_unavailable, R"({"error":"busy"})");
    return std::nullopt;
  });
  auto got = run(api->get_machine("m1", false));
  ASSERT_TRUE(got.ok()) << describe(got.error());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(observer->retries, (std::vector<std::string>{"503", "503"}));

  calls = 0;
  auto start = run(api->start_machine("m1", ""));
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(start.error().kind, FlyError::Kind::kServer);
  EXPECT_TRUE(start.error().outcome_unknown);
  EXPECT_EQ(calls, 1);
}

TEST_F(FlyClientTest, TooManyRequestsHonoursRetryAfter) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra", "stopped"));
  auto api = make_client();
  int calls = 0;
  fly.set_hook([&calls](const net::Request&) -> std::optional<TestReply> {
    if (++calls == 1) {
      auto r = json_reply(http::status::too_many_requests, R"({"error":"slow down"})");
      r.response.set(http::field::retry_after, "1");
      return r;
    }
    return std::nullopt;
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto start = run(api->start_machine("m1", ""));  // a refused write is safe to re-send
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(start.ok()) << describe(start.error());
  EXPECT_EQ(calls, 2);
  EXPECT_GE(took, 1000ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_EQ(fly.fake().find("m1")->state, "started");

  // A Retry-After longer than we are willing to wait comes back to the caller.
  fly.set_hook([](const net::Request&) -> std::optional<TestReply> {
    auto r = json_reply(http::status::too_many_requests, R"({"error":"slow down"})");
    r.response.set(http::field::retry_after, "600");
    return r;
  });
  auto refused = run(api->get_machine("m1", false));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, FlyError::Kind::kRateLimited);
  EXPECT_EQ(refused.error().retry_after, std::chrono::milliseconds(600'000));
}

TEST_F(FlyClientTest, ClientRateLimitKeepsTheServerHappy) {
  for (int i = 0; i < 3; ++i)
    fly.fake().add_machine(FakeMachinesApi::make_machine("m" + std::to_string(i), "fra"));
  auto api = make_client();
  // 12 gets of one machine at 5/s burst 10 and 4 cordons of another at 1/s burst 3, with the
  // client's 50 ms headroom (bursts of 9.75 and 2.95): the 10th, 11th and 12th gets wait 50,
  // 250 and 450 ms; the 3rd and 4th cordons 50 and 1050 ms.
  int ok = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 12; ++i) {
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          if ((co_await api->get_machine("m0", false)).ok()) ++ok;
        },
        boost::asio::detached);
  }
  for (int i = 0; i < 4; ++i) {
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          if ((co_await api->cordon_machine("m1", "")).ok()) ++ok;
        },
        boost::asio::detached);
  }
  io.run();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ok, 16);
  EXPECT_GE(took, 1040ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_EQ(fly.rate_limited(), 0u);
  EXPECT_EQ(observer->waits, 5);
  EXPECT_NEAR(observer->waited_s, 0.05 + 0.25 + 0.45 + 0.05 + 1.05, 0.05);
}

TEST_F(FlyClientTest, WithoutClientLimitTheServerSays429) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  MachinesClientOptions o;
  o.rate_limit = false;
  o.max_attempts = 1;
  auto api = make_client(o);
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = run(api->cordon_machine("m1", ""));
    if (!r.ok() && r.error().kind == FlyError::Kind::kRateLimited) ++refused;
  }
  EXPECT_GE(refused, 2);
  EXPECT_EQ(fly.rate_limited(), static_cast<std::size_t>(refused));
}

TEST_F(FlyClientTest, TimeoutsAndDroppedConnections) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra", "stopped"));
  MachinesClientOptions o;
  o.http.request_timeout = 200ms;
  auto api = make_client(o);
  fly.set_hook([](const net::Request&) -> std::optional<TestReply> {
    TestReply r = json_reply(http::status::ok, "{}");
    r.delay = 600ms;
    return r;
  });
  auto start = run(api->start_machine("m1", ""));
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(start.error().kind, FlyError::Kind::kTimeout);
  EXPECT_TRUE(start.error().outcome_unknown);
  EXPECT_EQ(fly.requests().size(), 1u);  // a write is never re-sent blindly

  int calls = 0;
  fly.set_hook([&calls](const net::Request&) -> std::optional<TestReply> {
    if (++calls == 1) {
      TestReply r;
      r.drop = true;
      return r;
    }
    return std::nullopt;
  });
  auto got = run(api->get_machine("m1", false));
  ASSERT_TRUE(got.ok()) << describe(got.error());  // reads are retried
  EXPECT_EQ(calls, 2);

  calls = 0;
  fly.set_hook([&calls](const net::Request&) -> std::optional<TestReply> {
    ++calls;
    TestReply r;
    r.drop = true;
    return r;
  });
  CreateMachineRequest c;
  c.region = "fra";
  auto created = run(api->create_machine(c));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().kind, FlyError::Kind::kTransport);
  EXPECT_TRUE(created.error().outcome_unknown);
  EXPECT_EQ(calls, 1);
}

TEST_F(FlyClientTest, BodyTooLargeIsBadResponse) {
  MachinesClientOptions o;
  o.http.max_body_bytes = 4096;
  o.max_attempts = 1;
  auto api = make_client(o);
  fly.set_hook([](const net::Request&) -> std::optional<TestReply> {
    return json_reply(http::status::ok, "[" + std::string(10000, ' ') + "]");
  });
  auto r = run(api->list_machines({}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, FlyError::Kind::kBadResponse);
}

TEST_F(FlyClientTest, WaitForStateLoopsOn408) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  auto api = make_client();
  int waits = 0;
  fly.set_hook([&waits](const net::Request& r) -> std::optional<TestReply> {
    if (r.target().find("/wait") != std::string::npos && ++waits <= 2) {
      return json_reply(http::status::request_timeout, R"({"error":"deadline exceeded"})");
    }
    return std::nullopt;
  });
  auto w = run(wait_for_state(*api, "m1", "started", 30s));
  ASSERT_TRUE(w.ok()) << describe(w.error());
  EXPECT_EQ(w->state, "started");
  EXPECT_EQ(waits, 3);
}

TEST_F(FlyClientTest, ObserverSeesEveryAttempt) {
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  auto api = make_client();
  (void)run(api->get_machine("m1", false));
  (void)run(api->get_machine("zz", false));
  EXPECT_EQ(observer->requests, (std::vector<std::string>{"get 200", "get 404"}));
}

TEST(FlyClientTls, OverHttpsWithTestCa) {
  auto server_ctx = net::make_server_tls_context(AP_TEST_FIXTURES "/tls/server.crt",
                                                 AP_TEST_FIXTURES "/tls/server.key");
  ASSERT_TRUE(server_ctx.ok());
  MiniFly fly(contract(), "app", RateLimits{}, server_ctx.value());
  fly.fake().add_machine(FakeMachinesApi::make_machine("m1", "fra"));
  boost::asio::io_context io;
  SystemClock clock;
  MachinesClientOptions o;
  o.app = "app";
  o.base_url = "https://localhost:" + std::to_string(fly.server().port());
  o.http.ca_file = AP_TEST_FIXTURES "/tls/ca.crt";
  MachinesClient api(io.get_executor(), o, clock);
  auto list = run_sync(io, api.list_machines({}));
  ASSERT_TRUE(list.ok()) << describe(list.error());
  EXPECT_EQ(list->size(), 1u);

  o.http.ca_file = AP_TEST_FIXTURES "/tls/other_ca.crt";
  o.max_attempts = 1;
  MachinesClient untrusting(io.get_executor(), o, clock);
  auto refused = run_sync(io, untrusting.list_machines({}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, FlyError::Kind::kTransport);
  EXPECT_FALSE(refused.error().outcome_unknown);
}

}  // namespace
}  // namespace autoplacer::fly
