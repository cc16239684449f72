// The real PrometheusClient + PrometheusTrafficSource against a fake Prometheus on a loopback
// port that is slow, answers errors, garbage or too much, or is not there: every case is an
// unknown reading with a reason, never a crash and never zero.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "metrics/prometheus_client.h"
#include "metrics/prometheus_traffic_source.h"
#include "metrics/run_coro.h"
#include "metrics/test_http_server.h"
#include "support/prometheus_server.h"

namespace autoplacer::metrics {
namespace {
using testing::run_coro;
using testing::TestHttpServer;
using namespace std::chrono_literals;

const TimePoint kNow = from_unix_seconds(1700000000);

std::string vector_body(double fra) {
  return R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":"fra"},"value":[1700000000,")" +
         std::to_string(fra) + R"("]}]}})";
}

PlacementPolicy policy() {
  PlacementPolicy p;
  p.metadata.name = "web";
  p.spec.app = "web-app";
  p.spec.traffic.latencyQuery = "";
  p.spec.traffic.queryTimeout = 2s;
  return p;
}

struct Rig {
  explicit Rig(const std::string& url, PrometheusClientOptions o = {}) {
    o.url = url;
    api = PrometheusClient::create(io.get_executor(), o);
    source = std::make_unique<PrometheusTrafficSource>(api, RegionCatalog::builtin());
  }
  DemandReading read(const PlacementPolicy& p) { return run_coro(io, source->read(p, kNow)); }
  boost::asio::io_context io;
  std::shared_ptr<PrometheusClient> api;
  std::unique_ptr<PrometheusTrafficSource> source;
};

TEST(PrometheusFault, SendsAFormPostWithTimeAndAuthUnderThePathPrefix) {
  net::Request seen;
  TestHttpServer server([&](const net::Request& req) {
    seen = req;
    return TestHttpServer::reply(200, vector_body(12.5));
  });
  Rig rig(server.url() + "/prometheus/my-org/", {.token = "fm2_secret_token_value"});
  const auto r = rig.read(policy());
  EXPECT_TRUE(r.known) << r.reason;
  EXPECT_DOUBLE_EQ(r.rps.at("fra"), 12.5);
  EXPECT_EQ(seen.method(), net::http::verb::post);
  EXPECT_EQ(seen.target(), "/prometheus/my-org/api/v1/query");
  EXPECT_EQ(seen[net::http::field::content_type], "application/x-www-form-urlencoded");
  EXPECT_EQ(seen[net::http::field::authorization], "FlyV1 fm2_secret_token_value");
  const std::string body = seen.body();
  EXPECT_NE(body.find("query=sum%20by%20%28region%29"), std::string::npos) << body;
  EXPECT_NE(body.find("web-app"), std::string::npos) << body;
  EXPECT_NE(body.find("time=1700000000.000"), std::string::npos) << body;
  EXPECT_NE(body.find("timeout=2s"), std::string::npos) << body;
}

TEST(PrometheusFault, BackfillSendsARangeQuery) {
  net::Request seen;
  TestHttpServer server([&](const net::Request& req) {
    seen = req;
    return TestHttpServer::reply(
        200,
        R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"region":"fra"},"values":[[1699999940,"1"],[1699999970,"2"],[1700000000,"3"]]}]}})");
  });
  Rig rig(server.url(), {.token = "plain-bearer-token"});
  auto r = run_coro(rig.io, rig.source->backfill(policy(), kNow - 60s, kNow, 30s));
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_DOUBLE_EQ((*r)[2].rps.at("fra"), 3);
  EXPECT_EQ(seen.target(), "/api/v1/query_range");
  EXPECT_EQ(seen[net::http::field::authorization], "Bearer plain-bearer-token");
  const std::string body = seen.body();
  EXPECT_NE(body.find("start=1699999940.000"), std::string::npos) << body;
  EXPECT_NE(body.find("end=1700000000.000"), std::string::npos) << body;
  EXPECT_NE(body.find("step=30"), std::string::npos) << body;
}

TEST(PrometheusFault, SlowServerTimesOut) {
  TestHttpServer server(
      [](const net::Request&) { return TestHttpServer::reply(200, vector_body(1)); });
  server.set_delay(5s);
  Rig rig(server.url());
  auto p = policy();
  p.spec.traffic.queryTimeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto r = rig.read(p);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("timeout"), std::string::npos) << r.reason;
  EXPECT_LT(took, 3s);  // bounded by the query time-out, not by the server
}

TEST(PrometheusFault, ErrorAnswersAreUnknownWithTheServersReason) {
  TestHttpServer server([](const net::Request&) {
    return TestHttpServer::reply(
        422,
        R"({"status":"error","errorType":"execution","error":"query processing would load too many samples"})");
  });
  Rig rig(server.url());
  const auto r = rig.read(policy());
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("execution: query processing would load too many samples"),
            std::string::npos)
      << r.reason;
}

TEST(PrometheusFault, ProxyErrorPageIsUnknown) {
  TestHttpServer server([](const net::Request&) {
    return TestHttpServer::reply(503, "<html>Service Unavailable</html>", "text/html");
  });
  Rig rig(server.url());
  const auto r = rig.read(policy());
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("HTTP 503"), std::string::npos) << r.reason;
}

TEST(PrometheusFault, GarbageIsUnknown) {
  for (
      const char* body :
      {"", "\x89PNG\r\n", "{\"status\":\"success\",\"data\":{\"resultType\":",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":"fra"},"value":[1,"lots"]}]}})"}) {
    TestHttpServer server([&](const net::Request&) { return TestHttpServer::reply(200, body); });
    Rig rig(server.url());
    const auto r = rig.read(policy());
    EXPECT_FALSE(r.known) << body;
    EXPECT_NE(r.reason.find("bad_response"), std::string::npos) << r.reason;
  }
}

TEST(PrometheusFault, NaNAndEmptyAreUnknownNotZero) {
  TestHttpServer server([](const net::Request&) {
    return TestHttpServer::reply(
        200,
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":"fra"},"value":[1700000000,"NaN"]}]}})");
  });
  Rig rig(server.url());
  auto r = rig.read(policy());
  EXPECT_FALSE(r.known);
  EXPECT_EQ(r.unknown.at("fra"), "value is NaN");
  server.set_handler([](const net::Request&) {
    return TestHttpServer::reply(
        200, R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  });
  r = rig.read(policy());
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("empty result"), std::string::npos);
}

TEST(PrometheusFault, OversizedAnswerIsRefused) {
  std::string huge = R"({"status":"success","data":{"resultType":"vector","result":[)";
  for (int i = 0; i < 40000; ++i) {
    if (i) huge += ",";
    huge += R"({"metric":{"region":"r)" + std::to_string(i) + R"("},"value":[1700000000,"1"]})";
  }
  huge += "]}}";
  ASSERT_GT(huge.size(), 1u << 20);
  TestHttpServer server([&](const net::Request&) { return TestHttpServer::reply(200, huge); });
  Rig rig(server.url(), {.maxResponseBytes = 1u << 20});
  const auto r = rig.read(policy());
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("too_large"), std::string::npos) << r.reason;
}

TEST(PrometheusFault, NothingListeningIsUnknown) {
  Rig rig("http://127.0.0.1:" + std::to_string(autoplacer::testing::free_loopback_port()));
  const auto r = rig.read(policy());
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("query failed: transport"), std::string::npos) << r.reason;
  auto b = run_coro(rig.io, rig.source->backfill(policy(), kNow - 60s, kNow, 30s));
  EXPECT_FALSE(b.ok());
}

TEST(PrometheusAuthorization, Schemes) {
  EXPECT_EQ(prometheus_authorization("", PrometheusAuth::kAuto), "");
  EXPECT_EQ(prometheus_authorization("fm1r_abc", PrometheusAuth::kAuto), "FlyV1 fm1r_abc");
  EXPECT_EQ(prometheus_authorization("fm2_a,fm2_b", PrometheusAuth::kAuto), "FlyV1 fm2_a,fm2_b");
  EXPECT_EQ(prometheus_authorization("xyz", PrometheusAuth::kAuto), "Bearer xyz");
  EXPECT_EQ(prometheus_authorization("xyz", PrometheusAuth::kFlyV1), "FlyV1 xyz");
  EXPECT_EQ(prometheus_authorization("fm2_x", PrometheusAuth::kBearer), "Bearer fm2_x");
  EXPECT_EQ(prometheus_authorization("FlyV1 fm2_x", PrometheusAuth::kBearer), "FlyV1 fm2_x");
}

}  // namespace
}  // namespace autoplacer::metrics
