// flysim over loopback HTTP on a ManualClock: the Machines API surface checked against the
// OpenAPI subset, auth, pagination headers, rate limits (429 + Retry-After), /wait, every fault
// kind, and the edge metrics of a replayed scenario.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

#include "sim/flysim.h"
#include "support/openapi_contract.h"

namespace autoplacer::sim {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace http = net::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

const TimePoint kT0 = from_unix_seconds(1'700'000'000);
constexpr const char* kToken = "test-token-123456";

struct Reply {
  int status = 0;  // 0: the connection closed without an answer
  std::string body;
  net::Response res;
  json::value json() const { return json::parse(body); }
};

class FlySimHttp : public ::testing::Test {
 protected:
  void start(FlySimOptions o = {}) {
    o.token = kToken;
    o.delays.create = 2s;
    o.delays.start = 1s;
    o.delays.stop = 1s;
    o.delays.destroy = 1s;
    sim_ = std::make_unique<FlySim>(ioc_.get_executor(), clock_, std::move(o), &clock_);
    auto port = sim_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (sim_) sim_->stop(0ms);
    for (auto& t : threads_) t.join();
  }

  Reply call(http::verb verb, const std::string& target, const std::string& body = "",
             std::map<std::string, std::string> headers = {}, bool auth = true) {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port_});
    net::Request req{verb, target, 11};
    req.set(http::field::host, "localhost");
    if (auth) req.set(http::field::authorization, std::string("Bearer ") + kToken);
    for (auto& [k, v] : headers) req.set(k, v);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    Reply r;
    boost::system::error_code ec;
    http::read(s, buf, r.res, ec);
    if (ec) return r;
    r.status = static_cast<int>(r.res.result_int());
    r.body = r.res.body();
    if (target.rfind("/v1/", 0) == 0) {
      EXPECT_NE(r.res.find("fly-request-id"), r.res.end()) << target;
    }
    if (contract_ && (target.rfind("/v1/apps/", 0) == 0 || target == "/v1/platform/regions")) {
      auto problems = contract_->check_response(std::string(http::to_string(verb)), target, r.res);
      for (const auto& p : problems) ADD_FAILURE() << target << ": " << p;
    }
    return r;
  }
  Reply get(const std::string& t) { return call(http::verb::get, t); }
  Reply post(const std::string& t, const std::string& b = "{}",
             std::map<std::string, std::string> h = {}) {
    return call(http::verb::post, t, b, std::move(h));
  }
  std::string create(const std::string& region, const std::string& extra = "") {
    auto r = post(
        "/v1/apps/demo-app/machines",
        R"({"region":")" + region +
            R"(","config":{"image":"registry.fly.io/demo-app:v1","metadata":{"autoplacer_policy":"p"}})" +
            extra + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? std::string(r.json().at("id").as_string()) : "";
  }
  void advance(Duration d) {
    auto r =
        call(http::verb::post, "/flysim/clock/advance?by=" + std::to_string(d.count()) + "ms", "");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void set_faults(const std::string& rules, int seed = 1) {
    auto r =
        post("/flysim/faults", R"({"seed":)" + std::to_string(seed) + R"(,"rules":)" + rules + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  static std::string m(const std::string& id, const std::string& rest = "") {
    return "/v1/apps/demo-app/machines/" + id + rest;
  }

  ManualClock clock_{kT0};
  asio::io_context ioc_;
  std::vector<std::thread> threads_;
  std::unique_ptr<FlySim> sim_;
  std::uint16_t port_ = 0;
  std::optional<testing::OpenApiContract> contract_ = [] {
    auto c = testing::OpenApiContract::load_file(AP_TEST_FIXTURES "/openapi/machines-subset.json");
    EXPECT_TRUE(c.ok()) << c.error();
    return c.ok() ? std::optional<testing::OpenApiContract>(std::move(c).value()) : std::nullopt;
  }();
};

TEST_F(FlySimHttp, MachineLifecycleMatchesTheContract) {
  FlySimOptions o;
  o.machines = default_fleet("demo-app");
  start(o);
  auto list = get("/v1/apps/demo-app/machines");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json().as_array().size(), 5u);
  EXPECT_EQ(get("/v1/apps/demo-app/machines?include_leases=true&summary=true").status, 200);

  const auto id = create("lhr,fra");
  auto got = get(m(id));
  EXPECT_EQ(got.json().at("state").as_string(), "creating");
  advance(3s);
  EXPECT_EQ(get(m(id)).json().at("state").as_string(), "started");
  EXPECT_EQ(get(m(id, "/wait?state=started&timeout=1")).status, 200);

  auto lease = post(m(id, "/lease"), R"({"ttl":30,"description":"autoplacer"})");
  ASSERT_EQ(lease.status, 201) << lease.body;
  const std::string nonce(lease.json().at("nonce").as_string());
  EXPECT_EQ(get(m(id, "/lease")).status, 200);
  EXPECT_EQ(post(m(id, "/stop"), R"({"signal":"SIGTERM","timeout":"5s"})").status, 409);
  const std::map<std::string, std::string> with_nonce{{"fly-machine-lease-nonce", nonce}};
  EXPECT_EQ(post(m(id, "/stop"), R"({"signal":"SIGTERM"})", with_nonce).status, 200);
  advance(2s);
  EXPECT_EQ(post(m(id, "/start"), "", with_nonce).status, 200);
  EXPECT_EQ(post(m(id, "/cordon"), "", with_nonce).status, 200);
  EXPECT_EQ(post(m(id, "/uncordon"), "", with_nonce).status, 200);
  EXPECT_EQ(post(m(id, "/metadata/autoplacer_op_id"), R"({"value":"op-1"})", with_nonce).status,
            204);
  EXPECT_EQ(get(m(id, "/metadata/autoplacer_op_id")).json().at("value").as_string(), "op-1");
  EXPECT_EQ(get(m(id, "/metadata")).json().at("autoplacer_op_id").as_string(), "op-1");
  EXPECT_EQ(
      call(http::verb::patch, m(id, "/metadata"), R"({"metadata":{"x":"y"}})", with_nonce).status,
      204);
  EXPECT_EQ(call(http::verb::delete_, m(id, "/metadata/x"), "", with_nonce).status, 204);
  EXPECT_EQ(get(m(id, "/metadata/x")).status, 404);
  EXPECT_EQ(call(http::verb::delete_, m(id, "/lease"), "", with_nonce).status, 200);
  advance(2s);
  EXPECT_EQ(call(http::verb::delete_, m(id)).status, 412);  // running: needs force
  EXPECT_EQ(call(http::verb::delete_, m(id) + "?force=true").status, 200);
  advance(2s);
  EXPECT_EQ(get(m(id, "/wait?state=destroyed&timeout=1")).status, 200);
  auto regions = get("/v1/platform/regions");
  ASSERT_EQ(regions.status, 200);
  EXPECT_EQ(regions.json().at("regions").as_array().size(), 18u);
  EXPECT_EQ(get("/v1/apps/nope/machines").status, 404);
  auto missing = get("/v1/nothing/here");  // not in the spec: only the error shape is checked
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.json().as_object().contains("error"));
}

TEST_F(FlySimHttp, KillAlsoForcesDelete) {
  start();
  const auto id = create("ams");
  advance(3s);
  EXPECT_EQ(call(http::verb::delete_, m(id) + "?kill=true").status, 200);
}

TEST_F(FlySimHttp, AuthIsRequired) {
  start();
  auto r = call(http::verb::get, "/v1/apps/demo-app/machines", "", {}, false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(call(http::verb::get, "/v1/apps/demo-app/machines", "",
                 {{"authorization", std::string("FlyV1 ") + kToken}}, false)
                .status,
            200);
  EXPECT_EQ(call(http::verb::get, "/v1/apps/demo-app/machines", "",
                 {{"authorization", "Bearer wrong"}}, false)
                .status,
            401);
}

TEST_F(FlySimHttp, PaginationUsesTheCursorHeader) {
  FlySimOptions o;
  o.rate_limits.enabled = false;
  start(o);
  for (int i = 0; i < 7; ++i) create("fra");
  std::set<std::string> seen;
  std::string target = "/v1/apps/demo-app/machines?limit=3";
  int pages = 0;
  for (;;) {
    auto r = get(target);
    ASSERT_EQ(r.status, 200);
    ++pages;
    const auto page = r.json();
    for (const auto& x : page.as_array()) seen.insert(std::string(x.at("id").as_string()));
    auto it = r.res.find("fly-next-cursor");
    if (it == r.res.end()) break;
    target = "/v1/apps/demo-app/machines?limit=3&cursor=" + std::string(it->value());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(get("/v1/apps/demo-app/machines?metadata.autoplacer_policy=p&region=fra")
                .json()
                .as_array()
                .size(),
            7u);
  EXPECT_EQ(get("/v1/apps/demo-app/machines?metadata.autoplacer_policy=q").json().as_array().size(),
            0u);
  EXPECT_EQ(get("/v1/apps/demo-app/machines?state=started,stopped").json().as_array().size(), 0u);
}

TEST_F(FlySimHttp, RateLimitsAnswer429WithRetryAfter) {
  start();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(post("/v1/apps/demo-app/machines", "{}").status, 400);
  auto r = post("/v1/apps/demo-app/machines", "{}");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.res[http::field::retry_after], "1");
  advance(1s);
  EXPECT_EQ(post("/v1/apps/demo-app/machines", "{}").status, 400);
  EXPECT_EQ(sim_->rate_limited_total(), 1u);
}

TEST_F(FlySimHttp, WaitBlocksUntilTheStateOr408) {
  start();
  const auto id = create("fra");
  std::thread later([this] {
    std::this_thread::sleep_for(150ms);
    clock_.advance(3s);
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = get(m(id, "/wait?state=started&timeout=30"));
  later.join();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("state").as_string(), "started");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  std::thread later2([this] {
    std::this_thread::sleep_for(100ms);
    clock_.advance(61s);
  });
  r = get(m(id, "/wait?state=stopped&timeout=60"));
  later2.join();
  EXPECT_EQ(r.status, 408) << r.body;
}

TEST_F(FlySimHttp, CapacityGivesInsufficientCapacity) {
  FlySimOptions o;
  o.capacity = {{"fra", 0}};
  start(o);
  auto r = post("/v1/apps/demo-app/machines",
                R"({"region":"fra","config":{"image":"registry.fly.io/demo-app:v1"}})");
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.json().at("status").as_string(), "insufficient_capacity");
}

TEST_F(FlySimHttp, EveryFaultKind) {
  FlySimOptions o;
  o.rate_limits.enabled = false;
  start(o);
  const auto id = create("fra");
  advance(3s);
  set_faults(R"([{"operation":"get","kind":"error","status":502,"calls":[1]}])");
  EXPECT_EQ(get(m(id)).status, 502);
  EXPECT_EQ(get(m(id)).status, 200);
  set_faults(R"([{"operation":"get","kind":"drop","calls":[1]}])");
  EXPECT_EQ(get(m(id)).status, 0);
  set_faults(R"([{"operation":"get","kind":"slow","delay_ms":300,"calls":[1]}])");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(m(id)).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  set_faults(R"([{"operation":"get","kind":"timeout","delay_ms":300,"calls":[1]}])");
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(m(id)).status, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  set_faults(R"([{"operation":"create","kind":"insufficient_capacity","probability":1}])");
  auto r = post("/v1/apps/demo-app/machines",
                R"({"region":"fra","config":{"image":"registry.fly.io/demo-app:v1"}})");
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.json().at("status").as_string(), "insufficient_capacity");
  set_faults(R"([{"operation":"stop","kind":"foreign_lease","calls":[1],"delay_ms":30000}])");
  EXPECT_EQ(post(m(id, "/stop")).status, 409);
  EXPECT_EQ(get(m(id, "/lease")).json().at("owner").as_string(), "deploy-bot@fly.io");
  // after_apply: the write happens, the answer is lost.
  set_faults(
      R"([{"operation":"create","kind":"error","status":500,"after_apply":true,"calls":[1]}])");
  const auto before = get("/v1/apps/demo-app/machines").json().as_array().size();
  r = post("/v1/apps/demo-app/machines",
           R"({"region":"ams","config":{"image":"registry.fly.io/demo-app:v1"}})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(get("/v1/apps/demo-app/machines").json().as_array().size(), before + 1);
}

TEST_F(FlySimHttp, FaultsAreReproducibleBySeed) {
  FlySimOptions o;
  o.rate_limits.enabled = false;
  start(o);
  const auto id = create("fra");
  auto trace = [&](int seed) {
    set_faults(R"([{"operation":"get","kind":"error","status":503,"probability":0.3},
                   {"operation":"get","kind":"drop","probability":0.2}])",
               seed);
    std::string out;
    for (int i = 0; i < 30; ++i) {
      const int s = get(m(id)).status;
      out += s == 200 ? '.' : s == 503 ? 'e' : s == 0 ? 'd' : '?';
    }
    return out;
  };
  const auto a = trace(7);
  EXPECT_EQ(a, trace(7));
  EXPECT_NE(a, trace(8));
  EXPECT_NE(a.find('e'), std::string::npos);
  EXPECT_NE(a.find('d'), std::string::npos);
}

TEST_F(FlySimHttp, MetricsReplayTheScenario) {
  auto scenario = Scenario::load_csv(AP_TEST_FIXTURES "/scenarios/flysim-2region-60s.csv");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  FlySimOptions o;
  o.scenario = std::move(*scenario);
  o.traffic_origin = kT0;
  start(o);
  // Nothing serves during the first minute: iad's 10 rps are 503s. Then a machine in iad serves.
  advance(58s);
  create("iad");
  advance(2s);
  advance(120s);
  auto r = get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.res[http::field::content_type].find("text/plain"), std::string::npos);
  auto value = [&](const std::string& series) {
    const auto pos = r.body.find(series + " ");
    EXPECT_NE(pos, std::string::npos) << series << "\n" << r.body;
    return pos == std::string::npos ? -1.0 : std::stod(r.body.substr(pos + series.size() + 1));
  };
  // Create at 58 s + 2 s creating + 1 s starting: served from 61 s on.
  EXPECT_NEAR(value(R"(fly_edge_http_responses_count{app="demo-app",region="iad",status="503"})"),
              610, 1e-6);
  EXPECT_NEAR(value(R"(fly_edge_http_responses_count{app="demo-app",region="iad",status="200"})"),
              2400 - 610, 1e-6);
  EXPECT_NEAR(value(R"(fly_edge_http_responses_count{app="demo-app",region="waw",status="200"})"),
              5 * 119, 1e-6);  // 61..180 s; 60..61 s were 503s
  // waw is served from iad: its latency is the iad-waw round trip, well above 50 ms.
  EXPECT_NEAR(
      value(
          R"(fly_edge_http_response_time_seconds_bucket{app="demo-app",region="waw",status="200",le="0.05"})"),
      0, 1e-9);
  EXPECT_GT(
      value(
          R"(fly_edge_http_response_time_seconds_bucket{app="demo-app",region="iad",status="200",le="0.025"})"),
      0);
  EXPECT_EQ(value(R"(flysim_machines{app="demo-app",region="iad",state="started"})"), 1);
}

TEST_F(FlySimHttp, StateAndAdminApi) {
  start();
  auto r =
      post("/flysim/machines", R"({"region":"sin","state":"stopped","host_status":"unreachable"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto state = get("/flysim/state").json();
  EXPECT_EQ(state.at("apps").at("demo-app").as_array().size(), 1u);
  EXPECT_EQ(post("/flysim/capacity", R"({"fra":1})").status, 200);
  create("fra");
  EXPECT_EQ(post("/v1/apps/demo-app/machines",
                 R"({"region":"fra","config":{"image":"registry.fly.io/demo-app:v1"}})")
                .status,
            412);
  EXPECT_EQ(get("/healthz").status, 200);
}

}  // namespace
}  // namespace autoplacer::sim
