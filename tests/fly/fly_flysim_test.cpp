// MachinesClient against flysim over real loopback sockets: every operation, pagination, leases,
// each error class, rate limits (no 429 with the client's limiter on; Retry-After honoured in
// both forms without it), time-outs, dropped connections, and TLS through a terminating proxy
// with the test CA. Every request the client sends and every answer flysim gives is checked
// against the OpenAPI subset on the wire (FlySimOptions::on_exchange).
//
// flysim runs on the system clock here (the client's limiter and flysim's buckets must agree on
// time, and both sleep on real timers), so lifecycle delays are kept to tens of milliseconds and
// time assertions are lower bounds (what the buckets allow) rather than exact figures.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "fly/machines_client.h"
#include "net/client_test_server.h"
#include "net/client_test_util.h"
#include "net/tls_context.h"
#include "sim/flysim.h"
#include "support/openapi_contract.h"

namespace autoplacer::fly {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = net::http;
using autoplacer::testing::OpenApiContract;
using autoplacer::testing::run_sync;
using namespace std::chrono_literals;

constexpr const char* kApp = "app";
constexpr const char* kToken = "fm2_flysim-test-token";

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
  void on_rate_limit_wait(std::string_view, std::chrono::duration<double>) override {
    std::lock_guard lock(mu);
    ++waits;
  }
  void on_retry(std::string_view, std::string_view reason,
                std::chrono::duration<double> delay) override {
    std::lock_guard lock(mu);
    retries.emplace_back(std::string(reason), delay);
  }
  std::mutex mu;
  std::vector<std::string> requests;
  std::vector<std::pair<std::string, std::chrono::duration<double>>> retries;
  int waits = 0;
};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

sim::SeedMachine seed(std::string name, std::string region, std::string state = "started") {
  sim::SeedMachine s;
  s.app = kApp;
  s.name = std::move(name);
  s.region = std::move(region);
  s.state = std::move(state);
  s.image = "registry.fly.io/app:deployment-01HZX3K9Q2";
  s.metadata = {{"fly_process_group", "app"}};
  return s;
}

// A fault rule: on the given call numbers of `operation` (1-based, counted from when the rules
// are set), or on every call when `calls` is empty.
sim::FaultRule fault(std::string operation, sim::FaultKind kind,
                     std::vector<std::uint64_t> calls = {}) {
  sim::FaultRule r;
  r.operation = std::move(operation);
  r.kind = kind;
  r.calls = std::move(calls);
  r.probability = r.calls.empty() ? 1.0 : 0.0;
  return r;
}
sim::FaultRule with_status(sim::FaultRule r, int status) {
  r.status = status;
  return r;
}
sim::FaultRule with_delay(sim::FaultRule r, Duration delay) {
  r.delay = delay;
  return r;
}
sim::FaultRule after_apply(sim::FaultRule r) {
  r.after_apply = true;
  return r;
}

class FlyVsFlySim : public ::testing::Test {
 protected:
  // A flysim on the system clock with short lifecycle delays and the documented rate limits.
  void start(sim::FlySimOptions o = {}) {
    o.apps = {kApp};
    o.token = kToken;
    o.delays.create = 40ms;
    o.delays.start = 40ms;
    o.delays.stop = 40ms;
    o.delays.suspend = 40ms;
    o.delays.destroy = 40ms;
    o.tick = 20ms;
    o.wait_poll = 10ms;
    o.on_exchange = [this](const net::Request& req, const net::Response* res) {
      std::vector<std::string> problems = contract().check_request(req);
      if (res != nullptr) {
        auto more = contract().check_response(std::string(req.method_string()),
                                              std::string(req.target()), *res);
        problems.insert(problems.end(), more.begin(), more.end());
      }
      std::lock_guard lock(mu_);
      wire_.push_back({req, res ? std::optional<net::Response>(*res) : std::nullopt});
      for (auto& p : problems)
        violations_.push_back(std::string(req.method_string()) + " " + std::string(req.target()) +
                              ": " + p);
    };
    sim_ = std::make_unique<sim::FlySim>(sim_io_.get_executor(), clock_, std::move(o));
    auto port = sim_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    sim_thread_ = std::thread([this] { sim_io_.run(); });
  }
  void TearDown() override {
    if (sim_) sim_->stop(0ms);
    if (sim_thread_.joinable()) sim_thread_.join();
    std::lock_guard lock(mu_);
    EXPECT_EQ(joined(violations_), "");
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<MachinesClient> make_client(MachinesClientOptions o = {}) {
    o.app = kApp;
    if (o.base_url == MachinesClientOptions{}.base_url) o.base_url = base_url();
    if (o.token.empty()) o.token = kToken;
    o.backoff_base = 10ms;
    o.backoff_max = 50ms;
    o.jitter_seed = 7;
    if (o.http.request_timeout == net::HttpClient::Options{}.request_timeout)
      o.http.request_timeout = 3s;
    return std::make_unique<MachinesClient>(io_.get_executor(), o, clock_, observer_);
  }
  template <class T>
  T run(asio::awaitable<T> aw) {
    return run_sync(io_, std::move(aw));
  }

  std::string id_of(const std::string& name) {
    return sim_->with_world([&](sim::FlyWorld& w) {
      for (const auto* m : w.machines(kApp))
        if (m->name == name) return m->id;
      return std::string();
    });
  }
  std::string state_of(const std::string& id) {
    return sim_->with_world([&](sim::FlyWorld& w) {
      const auto* m = w.find(kApp, id);
      return m ? m->state : std::string("<missing>");
    });
  }
  std::uint64_t answered(const std::string& operation, const std::string& status) const {
    const auto counts = sim_->request_counts();
    auto it = counts.find({operation, status});
    return it == counts.end() ? 0 : it->second;
  }
  struct Exchange {
    net::Request req;
    std::optional<net::Response> res;
  };
  std::vector<Exchange> wire() {
    std::lock_guard lock(mu_);
    return wire_;
  }

  SystemClock clock_;
  asio::io_context io_;
  asio::io_context sim_io_;
  std::thread sim_thread_;
  std::unique_ptr<sim::FlySim> sim_;
  std::uint16_t port_ = 0;
  std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
  std::mutex mu_;
  std::vector<Exchange> wire_;
  std::vector<std::string> violations_;
};

TEST_F(FlyVsFlySim, EveryOperationOnTheWire) {
  sim::FlySimOptions o;
  o.machines = {seed("web-iad", "iad")};
  start(o);
  auto api = make_client();

  auto listed = run(api->list_machines({}));
  ASSERT_TRUE(listed.ok()) << describe(listed.error());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].process_group(), "app");
  const std::string src_id = (*listed)[0].id;

  auto src = run(api->get_machine(src_id, true));
  ASSERT_TRUE(src.ok()) << describe(src.error());
  EXPECT_EQ(src->state, "started");
  EXPECT_FALSE(src->config.empty());

  CloneOptions co;
  co.region = "fra";
  co.metadata = {{"autoplacer_policy", "p1"}, {"autoplacer_op_id", "op1"}};
  auto clone = run(clone_machine(*api, *src, co));
  ASSERT_TRUE(clone.ok()) << describe(clone.error());
  EXPECT_EQ(clone->region, "fra");
  const std::string id = clone->id;
  auto up = run(wait_for_state(*api, id, "started", 10s));
  ASSERT_TRUE(up.ok()) << describe(up.error());
  EXPECT_EQ(state_of(id), "started");

  // The clone kept the process group, pinned the image and carries our ownership marks.
  auto cloned = run(api->get_machine(id, false));
  ASSERT_TRUE(cloned.ok()) << describe(cloned.error());
  EXPECT_EQ(cloned->process_group(), "app");
  EXPECT_EQ(cloned->metadata_value("autoplacer_policy"), "p1");
  ASSERT_TRUE(cloned->config.if_contains("image"));
  ASSERT_TRUE(src->image_ref.has_value());
  EXPECT_EQ(cloned->config.at("image").as_string(), src->image_ref->to_image());

  ListOptions mine;
  mine.metadata = {{"autoplacer_policy", "p1"}};
  mine.states = {"started", "stopped"};
  mine.region = "fra";
  mine.include_leases = true;
  auto owned = run(api->list_machines(mine));
  ASSERT_TRUE(owned.ok()) << describe(owned.error());
  ASSERT_EQ(owned->size(), 1u);
  EXPECT_EQ((*owned)[0].id, id);
  ListOptions summary;
  summary.summary = true;
  summary.region = "iad";
  auto in_iad = run(api->list_machines(summary));
  ASSERT_TRUE(in_iad.ok()) << describe(in_iad.error());
  ASSERT_EQ(in_iad->size(), 1u);
  EXPECT_EQ((*in_iad)[0].id, src_id);

  StopOptions stop;
  stop.signal = "SIGTERM";
  stop.timeout = 10s;
  ASSERT_TRUE(run(api->stop_machine(id, stop, "")).ok());
  ASSERT_TRUE(run(wait_for_state(*api, id, "stopped", 10s)).ok());
  EXPECT_EQ(state_of(id), "stopped");
  ASSERT_TRUE(run(api->start_machine(id, "")).ok());
  ASSERT_TRUE(run(wait_for_state(*api, id, "started", 10s)).ok());
  ASSERT_TRUE(run(api->suspend_machine(id, "")).ok());
  ASSERT_TRUE(run(wait_for_state(*api, id, "suspended", 10s)).ok());
  EXPECT_EQ(state_of(id), "suspended");
  ASSERT_TRUE(run(api->cordon_machine(id, "")).ok());
  EXPECT_TRUE(sim_->with_world([&](sim::FlyWorld& w) { return w.find(kApp, id)->cordoned; }));
  ASSERT_TRUE(run(api->uncordon_machine(id, "")).ok());
  EXPECT_FALSE(sim_->with_world([&](sim::FlyWorld& w) { return w.find(kApp, id)->cordoned; }));

  ASSERT_TRUE(run(api->set_metadata(id, "role", "edge", "")).ok());
  auto md = run(api->get_metadata(id));
  ASSERT_TRUE(md.ok()) << describe(md.error());
  EXPECT_EQ(md->at("role"), "edge");
  EXPECT_EQ(md->at("autoplacer_op_id"), "op1");
  ASSERT_TRUE(run(api->delete_metadata(id, "role", "")).ok());
  md = run(api->get_metadata(id));
  ASSERT_TRUE(md.ok()) << describe(md.error());
  EXPECT_EQ(md->count("role"), 0u);

  auto regions = run(api->list_regions());
  ASSERT_TRUE(regions.ok()) << describe(regions.error());
  EXPECT_GE(regions->size(), 10u);

  ASSERT_TRUE(run(api->delete_machine(id, true, "")).ok());
  ASSERT_TRUE(run(wait_for_state(*api, id, "destroyed", 10s)).ok());
  EXPECT_EQ(state_of(id), "destroyed");

  // What went over the wire: every operation of this walk, each one an operation of the spec.
  std::set<std::string> operations;
  for (const auto& x : wire()) {
    auto tmpl = contract().match(std::string(x.req.method_string()), std::string(x.req.target()));
    ASSERT_TRUE(tmpl.has_value()) << x.req.target();
    operations.insert(std::string(x.req.method_string()) + " " + *tmpl);
  }
  EXPECT_EQ(operations.size(), 14u) << joined({operations.begin(), operations.end()});
  bool saw_force = false, saw_stop_body = false, saw_create = false;
  for (const auto& x : wire()) {
    EXPECT_EQ(x.req[http::field::authorization], std::string("FlyV1 ") + kToken);
    ASSERT_TRUE(x.res.has_value());
    EXPECT_NE(x.res->find("fly-request-id"), x.res->end());
    if (x.req.method() == http::verb::delete_ &&
        x.req.target().find("force=true") != std::string::npos)
      saw_force = true;
    if (x.req.target().ends_with("/stop") &&
        x.req.body() == R"({"signal":"SIGTERM","timeout":"10s"})")
      saw_stop_body = true;
    if (x.req.method() == http::verb::post && x.req.target() == "/v1/apps/app/machines")
      saw_create = x.req.body().find("\"mounts\"") == std::string::npos;
  }
  EXPECT_TRUE(saw_force);
  EXPECT_TRUE(saw_stop_body);
  EXPECT_TRUE(saw_create);
  EXPECT_EQ(sim_->rate_limited_total(), 0u);
}

TEST_F(FlyVsFlySim, ListFollowsCursorPaginationWithFilters) {
  sim::FlySimOptions o;
  for (int i = 0; i < 25; ++i) {
    auto s = seed("m" + std::to_string(i), i % 2 ? "fra" : "lhr");
    s.metadata["shard"] = i < 12 ? "a" : "b";
    o.machines.push_back(s);
  }
  start(o);
  MachinesClientOptions co;
  co.page_size = 10;
  auto api = make_client(co);

  auto all = run(api->list_machines({}));
  ASSERT_TRUE(all.ok()) << describe(all.error());
  ASSERT_EQ(all->size(), 25u);
  std::set<std::string> ids;
  for (const auto& m : *all) ids.insert(m.id);
  EXPECT_EQ(ids.size(), 25u);  // no page repeated or skipped

  auto lists = [&] {
    std::vector<std::string> targets;
    for (const auto& x : wire())
      if (x.req.method() == http::verb::get && x.req.target().starts_with("/v1/apps/app/machines?"))
        targets.push_back(std::string(x.req.target()));
    return targets;
  };
  auto targets = lists();
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_NE(targets[0].find("limit=10"), std::string::npos);
  EXPECT_EQ(targets[0].find("cursor="), std::string::npos);
  EXPECT_NE(targets[1].find("cursor="), std::string::npos);
  EXPECT_NE(targets[2].find("cursor="), std::string::npos);

  ListOptions shard_a;
  shard_a.metadata = {{"shard", "a"}};
  co.page_size = 5;
  auto small_pages = make_client(co);
  auto a = run(small_pages->list_machines(shard_a));
  ASSERT_TRUE(a.ok()) << describe(a.error());
  EXPECT_EQ(a->size(), 12u);
  for (const auto& m : *a) EXPECT_EQ(m.metadata_value("shard"), "a");
  EXPECT_EQ(lists().size(), 3u + 3u);  // 5 + 5 + 2
  EXPECT_EQ(sim_->rate_limited_total(), 0u);
}

TEST_F(FlyVsFlySim, LeasesAndTheNonce) {
  sim::FlySimOptions o;
  o.machines = {seed("mine", "fra"), seed("deploying", "lhr")};
  o.machines[1].lease_owner = "deploy-bot@fly.io";
  start(o);
  auto api = make_client();
  const std::string mine = id_of("mine");
  const std::string theirs = id_of("deploying");

  // Someone else's lease: we can neither take it nor change the machine.
  auto taken = run(api->acquire_lease(theirs, 30s, "autoplacer op1"));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().kind, FlyError::Kind::kConflict);
  EXPECT_EQ(taken.error().http_status, 409);
  EXPECT_FALSE(taken.error().request_id.empty());
  auto blocked = run(api->stop_machine(theirs, {}, ""));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().kind, FlyError::Kind::kConflict);
  EXPECT_FALSE(blocked.error().outcome_unknown);  // a 409 is an answer: nothing happened
  EXPECT_EQ(state_of(theirs), "started");
  auto seen = run(api->get_machine(theirs, true));
  ASSERT_TRUE(seen.ok()) << describe(seen.error());
  ASSERT_TRUE(seen->lease.has_value());
  EXPECT_EQ(seen->lease->owner, "deploy-bot@fly.io");
  EXPECT_TRUE(seen->lease->nonce.empty());  // a machine shows a stripped lease

  // Our own lease.
  auto lease = run(api->acquire_lease(mine, 30s, "autoplacer op2"));
  ASSERT_TRUE(lease.ok()) << describe(lease.error());
  ASSERT_FALSE(lease->nonce.empty());
  auto second = run(api->acquire_lease(mine, 30s, "a second holder"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, FlyError::Kind::kConflict);
  auto without_nonce = run(api->cordon_machine(mine, ""));
  ASSERT_FALSE(without_nonce.ok());
  EXPECT_EQ(without_nonce.error().kind, FlyError::Kind::kConflict);
  auto wrong_nonce = run(api->cordon_machine(mine, "not-the-nonce"));
  ASSERT_FALSE(wrong_nonce.ok());
  EXPECT_EQ(wrong_nonce.error().kind, FlyError::Kind::kConflict);

  EXPECT_TRUE(run(api->stop_machine(mine, {}, lease->nonce)).ok());
  EXPECT_TRUE(run(api->set_metadata(mine, "autoplacer_op_id", "op2", lease->nonce)).ok());
  auto refreshed = run(api->refresh_lease(mine, lease->nonce, 60s));
  ASSERT_TRUE(refreshed.ok()) << describe(refreshed.error());
  EXPECT_EQ(refreshed->nonce, lease->nonce);
  EXPECT_GT(refreshed->expires_at, lease->expires_at);
  EXPECT_TRUE(run(api->release_lease(mine, lease->nonce)).ok());
  ASSERT_TRUE(run(wait_for_state(*api, mine, "stopped", 10s)).ok());
  EXPECT_TRUE(run(api->start_machine(mine, "")).ok());  // released: anyone may act again

  int with_nonce = 0;
  for (const auto& x : wire())
    if (x.req["fly-machine-lease-nonce"] == lease->nonce) ++with_nonce;
  EXPECT_EQ(with_nonce, 4);  // stop, metadata, refresh, release
  EXPECT_EQ(sim_->rate_limited_total(), 0u);
}

TEST_F(FlyVsFlySim, EachErrorClass) {
  sim::FlySimOptions o;
  o.machines = {seed("web", "fra"), seed("taken-name", "fra")};
  o.capacity = {{"syd", 0}};
  start(o);
  auto api = make_client();
  const std::string web = id_of("web");

  auto missing = run(api->get_machine("0000000000000", false));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, FlyError::Kind::kNotFound);
  EXPECT_EQ(missing.error().http_status, 404);

  auto source = run(api->get_machine(web, false));
  ASSERT_TRUE(source.ok()) << describe(source.error());
  auto req = make_clone_request(*source, [] {
    CloneOptions c;
    c.region = "syd";
    return c;
  }());
  ASSERT_TRUE(req.ok()) << req.error();
  auto capacity = run(api->create_machine(*req));
  ASSERT_FALSE(capacity.ok());
  EXPECT_EQ(capacity.error().kind, FlyError::Kind::kInsufficientCapacity);
  EXPECT_EQ(capacity.error().fly_status, "insufficient_capacity");
  EXPECT_FALSE(capacity.error().outcome_unknown);

  req->region = "fra";
  req->name = "taken-name";
  auto taken = run(api->create_machine(*req));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().kind, FlyError::Kind::kUnprocessable);

  CreateMachineRequest no_image;
  no_image.region = "fra";
  no_image.config["guest"] = boost::json::object{{"cpus", 1}};
  auto bad = run(api->create_machine(no_image));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, FlyError::Kind::kBadRequest);

  auto not_stopped = run(api->delete_machine(web, false, ""));
  ASSERT_FALSE(not_stopped.ok());
  EXPECT_EQ(not_stopped.error().kind, FlyError::Kind::kPrecondition);

  auto wait = run(api->wait_machine(web, "stopped", 1s, ""));  // it stays started
  ASSERT_FALSE(wait.ok());
  EXPECT_EQ(wait.error().kind, FlyError::Kind::kWaitTimeout);
  EXPECT_EQ(wait.error().http_status, 408);
  auto overall = run(wait_for_state(*api, web, "stopped", 2s));  // loops the 408, then gives up
  ASSERT_FALSE(overall.ok());
  EXPECT_EQ(overall.error().kind, FlyError::Kind::kWaitTimeout);

  MachinesClientOptions wrong;
  wrong.token = "fm2_not-the-token";
  auto intruder = make_client(wrong);
  auto unauthorized = run(intruder->list_machines({}));
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_EQ(unauthorized.error().kind, FlyError::Kind::kUnauthorized);
  EXPECT_EQ(unauthorized.error().message.find("fm2_"), std::string::npos);

  // 5xx: a read is retried through it, a write is not (and its outcome is unknown).
  sim_->set_faults({with_status(fault("get", sim::FaultKind::kError, {1, 2}), 503)}, 1);
  auto got = run(api->get_machine(web, false));
  ASSERT_TRUE(got.ok()) << describe(got.error());
  EXPECT_EQ(answered("get", "503"), 2u);
  sim_->set_faults({with_status(fault("cordon", sim::FaultKind::kError), 502)}, 1);
  auto cordon = run(api->cordon_machine(web, ""));
  ASSERT_FALSE(cordon.ok());
  EXPECT_EQ(cordon.error().kind, FlyError::Kind::kServer);
  EXPECT_EQ(cordon.error().http_status, 502);
  EXPECT_TRUE(cordon.error().outcome_unknown);
  EXPECT_EQ(answered("cordon", "502"), 1u);

  // A capacity fault from the fault injector looks the same as a full region.
  sim_->set_faults({fault("create", sim::FaultKind::kInsufficientCapacity)}, 1);
  req->name.clear();
  auto full = run(api->create_machine(*req));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind, FlyError::Kind::kInsufficientCapacity);
  EXPECT_EQ(sim_->rate_limited_total(), 0u);
}

// The client's buckets pace a burst so flysim's buckets (the documented limits) never refuse.
//
// flysim counts a request when it arrives, the client when it leaves. The server refuses none as
// long as no request is delayed on the way by more than the headroom beyond a later one. The
// first burst opens a dozen connections at once and the later requests reuse them, so under
// ASan on a busy 2-core CI machine that difference has exceeded the default 50 ms. This test is
// about the pacing, not the size of the headroom, so it keeps a margin no scheduler stall
// reaches.
TEST_F(FlyVsFlySim, RateLimiterKeepsFlysimFromSaying429) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra"), seed("b", "fra")};
  start(o);
  MachinesClientOptions co;
  co.rate_limit_headroom = 500ms;
  auto api = make_client(co);
  const std::string a = id_of("a"), b = id_of("b");
  // 12 gets of one machine (Get: 5/s, burst 10, shrunk to 7.5 by the headroom) and 4 cordons of
  // another (1/s, burst 3, shrunk to 2.5), all at once. The 4th cordon cannot go before 1.5 s
  // has passed; the 12th get not before 0.9 s.
  int ok = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 12; ++i) {
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          if ((co_await api->get_machine(a, false)).ok()) ++ok;
        },
        asio::detached);
  }
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          if ((co_await api->cordon_machine(b, "")).ok()) ++ok;
        },
        asio::detached);
  }
  io_.run();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ok, 16);
  EXPECT_GE(took, 1500ms);
  EXPECT_EQ(sim_->rate_limited_total(), 0u);
  EXPECT_EQ(answered("get", "200"), 12u);
  EXPECT_EQ(answered("cordon", "200"), 4u);
  EXPECT_GE(observer_->waits, 3);
  EXPECT_TRUE(observer_->retries.empty());
}

TEST_F(FlyVsFlySim, WithoutTheClientLimiterFlysimSays429) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra")};
  start(o);
  MachinesClientOptions co;
  co.rate_limit = false;
  co.max_attempts = 1;
  auto api = make_client(co);
  const std::string a = id_of("a");
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = run(api->cordon_machine(a, ""));
    if (r.ok()) continue;
    EXPECT_EQ(r.error().kind, FlyError::Kind::kRateLimited);
    EXPECT_EQ(r.error().http_status, 429);
    EXPECT_FALSE(r.error().outcome_unknown);  // refused: nothing happened
    ASSERT_TRUE(r.error().retry_after.has_value());
    EXPECT_GE(*r.error().retry_after, 1s);
    ++refused;
  }
  EXPECT_GE(refused, 2);
  EXPECT_EQ(sim_->rate_limited_total(), static_cast<std::uint64_t>(refused));
}

// A 429 is waited out for as long as Retry-After says, then the (refused, so safe) write is
// sent again. Both forms RFC 9110 allows: delta seconds and an HTTP-date.
TEST_F(FlyVsFlySim, RetryAfterDeltaSeconds) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra")};
  start(o);
  MachinesClientOptions co;
  co.rate_limit = false;
  auto api = make_client(co);
  const std::string a = id_of("a");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(run(api->cordon_machine(a, "")).ok());  // the burst
  const auto t0 = std::chrono::steady_clock::now();
  auto fourth = run(api->cordon_machine(a, ""));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(fourth.ok()) << describe(fourth.error());
  ASSERT_FALSE(observer_->retries.empty());
  EXPECT_EQ(observer_->retries[0].first, "429");
  EXPECT_GE(observer_->retries[0].second, 1s);  // "Retry-After: 1", not the 10-50 ms backoff
  EXPECT_GE(took, 1000ms);
  bool saw_delta = false;
  for (const auto& x : wire())
    if (x.res && x.res->result_int() == 429) saw_delta = (*x.res)[http::field::retry_after] == "1";
  EXPECT_TRUE(saw_delta);
}

TEST_F(FlyVsFlySim, RetryAfterHttpDate) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra")};
  o.retry_after_http_date = true;
  start(o);
  MachinesClientOptions co;
  co.rate_limit = false;
  co.max_attempts = 3;  // the date has whole-second resolution: allow one more refusal
  auto api = make_client(co);
  const std::string a = id_of("a");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(run(api->cordon_machine(a, "")).ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto fourth = run(api->cordon_machine(a, ""));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(fourth.ok()) << describe(fourth.error());
  ASSERT_FALSE(observer_->retries.empty());
  EXPECT_EQ(observer_->retries[0].first, "429");
  // The bucket needed just under 1 s; the date rounds up to the next whole second.
  EXPECT_GE(observer_->retries[0].second, 500ms);
  EXPECT_GE(took, 500ms);
  bool saw_date = false;
  for (const auto& x : wire())
    if (x.res && x.res->result_int() == 429)
      saw_date = (*x.res)[http::field::retry_after].ends_with(" GMT");
  EXPECT_TRUE(saw_date);

  // A Retry-After further away than the client is willing to wait goes back to the caller.
  co.max_retry_after = 10ms;
  co.max_attempts = 4;
  auto impatient = make_client(co);
  for (int i = 0; i < 3; ++i) (void)run(impatient->start_machine(a, ""));
  auto refused = run(impatient->start_machine(a, ""));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, FlyError::Kind::kRateLimited);
  ASSERT_TRUE(refused.error().retry_after.has_value());
  EXPECT_GT(*refused.error().retry_after, 10ms);
}

TEST_F(FlyVsFlySim, TimeoutsReadsRetriedWritesNot) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra", "stopped")};
  start(o);
  MachinesClientOptions co;
  co.http.request_timeout = 300ms;
  auto api = make_client(co);
  const std::string a = id_of("a");

  // The first get hangs past the client's deadline; the retry gets through.
  sim_->set_faults({with_delay(fault("get", sim::FaultKind::kTimeout, {1}), 1500ms)}, 1);
  auto got = run(api->get_machine(a, false));
  ASSERT_TRUE(got.ok()) << describe(got.error());
  ASSERT_FALSE(observer_->retries.empty());
  EXPECT_EQ(observer_->retries[0].first, "timeout");

  // A start that hangs: the client gives up and says it cannot know whether it happened.
  sim_->set_faults({after_apply(with_delay(fault("start", sim::FaultKind::kTimeout), 1500ms))}, 1);
  auto start_result = run(api->start_machine(a, ""));
  ASSERT_FALSE(start_result.ok());
  EXPECT_EQ(start_result.error().kind, FlyError::Kind::kTimeout);
  EXPECT_TRUE(start_result.error().outcome_unknown);
  EXPECT_NE(state_of(a), "stopped");  // it did happen: the reconciler must re-list, not repeat
  sim_->set_faults({}, 1);

  // Slow but within the deadline is fine.
  sim_->set_faults({with_delay(fault("*", sim::FaultKind::kSlow), 100ms)}, 1);
  auto slow = run(api->get_machine(a, false));
  EXPECT_TRUE(slow.ok()) << describe(slow.error());
  // Only one start ever reached flysim (a write is never re-sent blindly): once its hold is
  // over flysim drops it, and counts it once.
  for (int i = 0; i < 100 && answered("start", "dropped") == 0; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(answered("start", "dropped"), 1u);
  EXPECT_EQ(answered("start", "200"), 0u);
}

TEST_F(FlyVsFlySim, DroppedConnections) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra", "stopped"), seed("src", "iad")};
  start(o);
  auto api = make_client();
  const std::string a = id_of("a");

  sim_->set_faults({fault("get", sim::FaultKind::kDrop, {1})}, 1);
  auto got = run(api->get_machine(a, false));
  ASSERT_TRUE(got.ok()) << describe(got.error());  // reads are retried
  EXPECT_EQ(answered("get", "dropped"), 1u);

  sim_->set_faults({fault("start", sim::FaultKind::kDrop)}, 1);
  auto started = run(api->start_machine(a, ""));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().kind, FlyError::Kind::kTransport);
  EXPECT_TRUE(started.error().outcome_unknown);
  EXPECT_EQ(answered("start", "dropped"), 1u);  // not re-sent
  EXPECT_EQ(state_of(a), "stopped");            // dropped before it took effect

  // The create took effect, then the connection died: the write is unknown, a re-list by our
  // ownership marks finds exactly one machine.
  auto src = run(api->get_machine(id_of("src"), false));
  ASSERT_TRUE(src.ok()) << describe(src.error());
  sim_->set_faults({after_apply(fault("create", sim::FaultKind::kDrop))}, 1);
  CloneOptions co;
  co.region = "ams";
  co.metadata = {{"autoplacer_policy", "p9"}, {"autoplacer_op_id", "op-drop"}};
  auto clone = run(clone_machine(*api, *src, co));
  ASSERT_FALSE(clone.ok());
  EXPECT_EQ(clone.error().kind, FlyError::Kind::kTransport);
  EXPECT_TRUE(clone.error().outcome_unknown);
  sim_->set_faults({}, 1);
  ListOptions mine;
  mine.metadata = {{"autoplacer_op_id", "op-drop"}};
  auto relisted = run(api->list_machines(mine));
  ASSERT_TRUE(relisted.ok()) << describe(relisted.error());
  EXPECT_EQ(relisted->size(), 1u);
  EXPECT_EQ(answered("create", "dropped"), 1u);
}

// A TLS-terminating proxy (the test CA's localhost certificate) in front of flysim: the client
// verifies the chain and the host name, sends SNI, and speaks to flysim through it.
class TlsProxy {
 public:
  TlsProxy(std::shared_ptr<asio::ssl::context> tls, std::uint16_t upstream)
      : server_([upstream](const net::Request& req) { return forward(req, upstream); },
                std::move(tls)) {}
  std::uint16_t port() const { return server_.port(); }
  std::size_t forwarded() const { return server_.request_count(); }

 private:
  static testing::TestReply forward(const net::Request& req, std::uint16_t upstream) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    testing::TestReply reply;
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), upstream}, ec);
    if (ec) {
      reply.drop = true;
      return reply;
    }
    net::Request out = req;
    out.keep_alive(false);
    http::write(s, out, ec);
    beast::flat_buffer buf;
    if (!ec) http::read(s, buf, reply.response, ec);
    if (ec) reply.drop = true;
    return reply;
  }
  testing::TestHttpServer server_;
};

TEST_F(FlyVsFlySim, OverTlsWithTheTestCa) {
  sim::FlySimOptions o;
  o.machines = {seed("a", "fra")};
  start(o);
  auto server_ctx = net::make_server_tls_context(AP_TEST_FIXTURES "/tls/server.crt",
                                                 AP_TEST_FIXTURES "/tls/server.key");
  ASSERT_TRUE(server_ctx.ok()) << server_ctx.error().message;
  TlsProxy proxy(server_ctx.value(), port_);

  MachinesClientOptions co;
  co.base_url = "https://localhost:" + std::to_string(proxy.port());
  co.http.ca_file = AP_TEST_FIXTURES "/tls/ca.crt";
  auto api = make_client(co);
  auto list = run(api->list_machines({}));
  ASSERT_TRUE(list.ok()) << describe(list.error());
  ASSERT_EQ(list->size(), 1u);
  auto got = run(api->get_machine((*list)[0].id, false));
  ASSERT_TRUE(got.ok()) << describe(got.error());
  EXPECT_EQ(api->http()->connections_opened(), 1u);  // kept alive across both calls
  EXPECT_EQ(proxy.forwarded(), 2u);

  co.http.ca_file = AP_TEST_FIXTURES "/tls/other_ca.crt";
  co.max_attempts = 1;
  auto untrusting = make_client(co);
  auto refused = run(untrusting->list_machines({}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, FlyError::Kind::kTransport);
  EXPECT_FALSE(refused.error().outcome_unknown);
  EXPECT_EQ(proxy.forwarded(), 2u);  // nothing reached flysim

  // The certificate names 127.0.0.1 too: an IP base URL is verified against it.
  co.http.ca_file = AP_TEST_FIXTURES "/tls/ca.crt";
  co.base_url = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto by_ip = make_client(co);
  auto via_ip = run(by_ip->list_machines({}));
  ASSERT_TRUE(via_ip.ok()) << describe(via_ip.error());
  EXPECT_EQ(proxy.forwarded(), 3u);

  // A certificate from the trusted CA, but for another host name.
  auto wrong_ctx = net::make_server_tls_context(AP_TEST_FIXTURES "/tls/wrong_host.crt",
                                                AP_TEST_FIXTURES "/tls/wrong_host.key");
  ASSERT_TRUE(wrong_ctx.ok()) << wrong_ctx.error().message;
  TlsProxy impostor(wrong_ctx.value(), port_);
  co.base_url = "https://localhost:" + std::to_string(impostor.port());
  auto fooled = make_client(co);
  auto mismatch = run(fooled->list_machines({}));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().kind, FlyError::Kind::kTransport);
  EXPECT_EQ(impostor.forwarded(), 0u);
}

}  // namespace
}  // namespace autoplacer::fly
