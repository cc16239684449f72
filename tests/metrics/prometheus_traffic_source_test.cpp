#include "metrics/prometheus_traffic_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/fake_prometheus_api.h"
#include "metrics/query_template.h"
#include "metrics/run_coro.h"

namespace autoplacer::metrics {
namespace {
using testing::FakePrometheusApi;
using testing::run_coro;

const TimePoint kNow = from_unix_seconds(1700000000);

PromSeries series(std::map<std::string, std::string> labels, TimePoint at, double v) {
  return PromSeries{std::move(labels), {PromPoint{at, v}}};
}
PromResult vec(std::vector<PromSeries> s) {
  return PromQueryResult{PromResultType::kVector, std::move(s), {}};
}
PromResult region_vec(std::map<std::string, double> values, TimePoint at = kNow) {
  std::vector<PromSeries> s;
  for (const auto& [r, v] : values) s.push_back(series({{"region", r}}, at, v));
  return vec(std::move(s));
}

// --- interpret_demand: the table of "unknown is not zero" rules -------------------------------

TEST(InterpretDemand, KnownValuesAndMissingRegionsAreZero) {
  const auto r = interpret_demand(region_vec({{"fra", 12.5}, {"syd", 0}}), kNow, 2min);
  EXPECT_TRUE(r.known);
  EXPECT_TRUE(r.reason.empty());
  EXPECT_EQ(r.at, kNow);
  EXPECT_EQ(r.rps, (std::map<std::string, double>{{"fra", 12.5}, {"syd", 0}}));
  EXPECT_TRUE(r.unknown.empty());
}

TEST(InterpretDemand, FailedQueryIsUnknownWithReason) {
  const auto r = interpret_demand(
      make_err(PromError{PromError::Kind::kTimeout, "no answer within 10s"}), kNow, 2min);
  EXPECT_FALSE(r.known);
  EXPECT_EQ(r.reason, "query failed: timeout: no answer within 10s");
  EXPECT_TRUE(r.rps.empty());
}

TEST(InterpretDemand, EmptyVectorIsUnknownNotZero) {
  const auto r = interpret_demand(vec({}), kNow, 2min);
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("empty result"), std::string::npos);
}

TEST(InterpretDemand, WrongResultTypesAreUnknown) {
  for (auto t : {PromResultType::kScalar, PromResultType::kMatrix, PromResultType::kString}) {
    const auto r = interpret_demand(PromQueryResult{t, {series({}, kNow, 1)}, {}}, kNow, 2min);
    EXPECT_FALSE(r.known);
    EXPECT_NE(r.reason.find(to_string(t)), std::string::npos) << r.reason;
  }
}

TEST(InterpretDemand, SeriesWithoutRegionLabelMakesReadUnknown) {
  const auto r = interpret_demand(vec({series({{"region", "fra"}}, kNow, 1), series({}, kNow, 5)}),
                                  kNow, 2min);
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("region"), std::string::npos);
}

TEST(InterpretDemand, BadValuesMarkTheirRegionUnknown) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto r = interpret_demand(
      region_vec({{"fra", 3}, {"syd", nan}, {"lhr", inf}, {"nrt", -inf}, {"gru", -1}}), kNow, 2min);
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.rps, (std::map<std::string, double>{{"fra", 3}}));
  EXPECT_EQ(r.unknown.at("syd"), "value is NaN");
  EXPECT_EQ(r.unknown.at("lhr"), "value is infinite");
  EXPECT_EQ(r.unknown.at("nrt"), "value is infinite");
  EXPECT_EQ(r.unknown.at("gru"), "value is negative");
}

TEST(InterpretDemand, StaleSampleIsUnknown) {
  std::vector<PromSeries> s{series({{"region", "fra"}}, kNow - 3min, 4),
                            series({{"region", "ams"}}, kNow - 2min, 6)};
  const auto r = interpret_demand(vec(std::move(s)), kNow, 2min);
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.rps, (std::map<std::string, double>{{"ams", 6}}));  // exactly at the limit: fresh
  EXPECT_EQ(r.unknown.at("fra"), "stale: sample is 180s old (limit 120s)");
}

TEST(InterpretDemand, AllRegionsUnusableMakesWholeReadUnknown) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto r = interpret_demand(region_vec({{"fra", nan}, {"syd", 1}}, kNow - 1h), kNow, 2min);
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("no usable sample"), std::string::npos);
  EXPECT_EQ(r.unknown.size(), 2u);
}

TEST(InterpretDemand, DuplicateRegionsAreAddedAndPoisonedByUnknown) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<PromSeries> s{series({{"region", "fra"}, {"proxy_id", "1"}}, kNow, 2),
                            series({{"region", "fra"}, {"proxy_id", "2"}}, kNow, 3),
                            series({{"region", "syd"}, {"proxy_id", "1"}}, kNow, 1),
                            series({{"region", "syd"}, {"proxy_id", "2"}}, kNow, nan),
                            series({{"region", "syd"}, {"proxy_id", "3"}}, kNow, 1)};
  const auto r = interpret_demand(vec(std::move(s)), kNow, 2min);
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.rps, (std::map<std::string, double>{{"fra", 5}}));
  EXPECT_EQ(r.unknown.count("syd"), 1u);
}

TEST(InterpretLatency, SecondsToMsSkippingUnusable) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<PromSeries> s{
      series({{"region", "fra"}}, kNow, 0.045),    series({{"region", "syd"}}, kNow, nan),
      series({{"region", "lhr"}}, kNow - 1h, 0.1), series({{"region", "nrt"}}, kNow, 0.2),
      series({{"region", "nrt"}}, kNow, 0.3),      series({}, kNow, 0.3)};
  const auto ms = interpret_latency_ms(vec(std::move(s)), kNow, 2min);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_NEAR(ms.at("fra"), 45, 1e-9);
  EXPECT_NEAR(ms.at("nrt"), 300, 1e-9);
  EXPECT_TRUE(interpret_latency_ms(make_err(PromError{}), kNow, 2min).empty());
}

// --- interpret_range ---------------------------------------------------------------------------

PromResult matrix(std::map<std::string, std::vector<std::pair<TimePoint, double>>> data) {
  PromQueryResult q{PromResultType::kMatrix, {}, {}};
  for (const auto& [region, pts] : data) {
    PromSeries s{{{"region", region}}, {}};
    for (const auto& [t, v] : pts) s.points.push_back({t, v});
    q.series.push_back(std::move(s));
  }
  return q;
}

TEST(InterpretRange, GridWithGapsAndZeros) {
  const TimePoint t0 = kNow;
  const auto r = interpret_range(
      matrix({{"fra", {{t0, 1}, {t0 + 30s, 2}, {t0 + 90s, 4}}}, {"syd", {{t0 + 30s, 7}}}}), t0,
      t0 + 100s, 30s);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 4u);  // t0, +30, +60, +90
  EXPECT_EQ((*r)[0].at, t0);
  EXPECT_TRUE((*r)[0].known);
  EXPECT_EQ((*r)[0].rps, (std::map<std::string, double>{{"fra", 1}}));  // syd absent: zero
  EXPECT_EQ((*r)[1].rps, (std::map<std::string, double>{{"fra", 2}, {"syd", 7}}));
  EXPECT_FALSE((*r)[2].known);  // nobody has a point: a gap, not zero
  EXPECT_EQ((*r)[2].reason, "no data at this time");
  EXPECT_EQ((*r)[3].at, t0 + 90s);
  EXPECT_DOUBLE_EQ((*r)[3].rps.at("fra"), 4);
}

TEST(InterpretRange, BadValuesAndErrors) {
  const TimePoint t0 = kNow;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto r = interpret_range(matrix({{"fra", {{t0, nan}}}, {"syd", {{t0, 2}}}}), t0, t0, 30s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].unknown.at("fra"), "value is NaN");
  EXPECT_FALSE(interpret_range(region_vec({{"fra", 1}}), t0, t0, 30s).ok());
  EXPECT_FALSE(interpret_range(make_err(PromError{}), t0, t0, 30s).ok());
  EXPECT_FALSE(interpret_range(matrix({{"", {{t0, 1}}}}), t0, t0, 30s).ok());
  auto empty = interpret_range(matrix({}), t0, t0 + 60s, 30s);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 3u);
  for (const auto& e : *empty) EXPECT_FALSE(e.known);
}

// --- the source over a fake API ----------------------------------------------------------------

PlacementPolicy policy() {
  PlacementPolicy p;
  p.metadata.name = "web";
  p.spec.app = "web-app";
  return p;
}
std::string demand_q(const PlacementPolicy& p) {
  return *expand_query(p.spec.traffic.query, query_variables(p));
}
std::string latency_q(const PlacementPolicy& p) {
  return *expand_query(p.spec.traffic.latencyQuery, query_variables(p));
}

TEST(PrometheusTrafficSource, ReadsDemandAndLatencyWithExpandedQueries) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  const auto p = policy();
  api->answer(demand_q(p), region_vec({{"fra", 10}, {"hkg", 4}}));
  api->answer(latency_q(p), region_vec({{"fra", 0.05}}));
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  const auto r = run_coro(io, src.read(p, kNow));
  EXPECT_TRUE(r.known) << r.reason;
  EXPECT_EQ(r.rps, (std::map<std::string, double>{{"fra", 10}, {"hkg", 4}}));
  EXPECT_NEAR(r.p95LatencyMs.at("fra"), 50, 1e-9);
  ASSERT_EQ(api->instant.size(), 2u);
  EXPECT_NE(api->instant[0].query.find("app=\"web-app\""), std::string::npos);
  EXPECT_EQ(api->instant[0].time, kNow);
  EXPECT_EQ(api->instant[0].timeout, p.spec.traffic.queryTimeout);
  // Demand stays keyed by origin; the mapping onto hostable regions is exposed.
  EXPECT_EQ(src.last_mapping().toHostable.at("hkg"),
            *RegionCatalog::builtin().nearest_hostable("hkg"));
  EXPECT_EQ(src.last_mapping().edgeOnly, std::vector<std::string>{"hkg"});
}

TEST(PrometheusTrafficSource, LatencyFailureDoesNotMakeDemandUnknown) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  const auto p = policy();
  api->answer(demand_q(p), region_vec({{"fra", 10}}));
  // latency query: fallback = transport error
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  const auto r = run_coro(io, src.read(p, kNow));
  EXPECT_TRUE(r.known);
  EXPECT_TRUE(r.p95LatencyMs.empty());
}

TEST(PrometheusTrafficSource, EmptyLatencyQueryIsNotSent) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  auto p = policy();
  p.spec.traffic.latencyQuery = "";
  api->answer(demand_q(p), region_vec({{"fra", 10}}));
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  const auto r = run_coro(io, src.read(p, kNow));
  EXPECT_TRUE(r.known);
  EXPECT_EQ(api->instant.size(), 1u);
}

TEST(PrometheusTrafficSource, ApiErrorAndGarbageGiveUnknown) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  const auto p = policy();
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  api->answer_json(demand_q(p), R"({"status":"error","errorType":"execution","error":"boom"})",
                   422);
  auto r = run_coro(io, src.read(p, kNow));
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("execution: boom"), std::string::npos) << r.reason;
  api->answer_json(demand_q(p), "<<garbage>>", 200);
  r = run_coro(io, src.read(p, kNow));
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("bad_response"), std::string::npos) << r.reason;
}

TEST(PrometheusTrafficSource, BadTemplateIsUnknownWithoutQuerying) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  auto p = policy();
  p.spec.traffic.query = "sum by (region) (rate(x{app=\"$APP\",org=\"$ORG\"}[1m]))";
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  const auto r = run_coro(io, src.read(p, kNow));
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("undefined variable $ORG"), std::string::npos) << r.reason;
  EXPECT_TRUE(api->instant.empty());
}

TEST(PrometheusTrafficSource, WatchdogAbandonsAHangingApi) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  auto p = policy();
  p.spec.traffic.queryTimeout = 20ms;
  api->hang(demand_q(p));
  api->answer(latency_q(p), region_vec({{"fra", 0.05}}));
  PrometheusTrafficSource src(api, RegionCatalog::builtin(), {.watchdogGrace = 10ms});
  const auto r = run_coro(io, src.read(p, kNow));
  EXPECT_FALSE(r.known);
  EXPECT_NE(r.reason.find("timeout"), std::string::npos) << r.reason;
  EXPECT_EQ(api->cancelled, 1);  // the hanging call was cancelled, not leaked
}

TEST(PrometheusTrafficSource, BackfillIsOneRangeQueryOnTheGrid) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  const auto p = policy();
  const TimePoint from = kNow - 48h, to = kNow;
  api->on_range([&](const RangeQuery& q) -> PromResult {
    std::vector<std::pair<TimePoint, double>> pts;
    for (TimePoint t = q.start; t <= q.end; t += q.step) pts.emplace_back(t, 1.0);
    return matrix({{"fra", pts}});
  });
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  const auto step = default_backfill_step(p);
  EXPECT_EQ(step, 30s);
  auto r = run_coro(io, src.backfill(p, from, to, step));
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(api->range.size(), 1u);
  EXPECT_EQ(api->range[0].start, from);
  EXPECT_EQ(api->range[0].end, to);
  EXPECT_EQ(api->range[0].step, 30s);
  EXPECT_EQ(api->range[0].query, demand_q(p));
  ASSERT_EQ(r->size(), 48u * 120 + 1);
  for (std::size_t i = 1; i < r->size(); ++i) ASSERT_EQ((*r)[i].at - (*r)[i - 1].at, 30s);
  EXPECT_TRUE(r->back().known);
  EXPECT_EQ(r->back().at, to);
}

TEST(PrometheusTrafficSource, LongBackfillIsSplitAndAFailedChunkIsAGap) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  const auto p = policy();
  int calls = 0;
  api->on_range([&](const RangeQuery& q) -> PromResult {
    if (++calls == 2) return make_err(PromError{PromError::Kind::kTimeout, "slow"});
    std::vector<std::pair<TimePoint, double>> pts;
    for (TimePoint t = q.start; t <= q.end; t += q.step) pts.emplace_back(t, 2.0);
    return matrix({{"fra", pts}});
  });
  PrometheusTrafficSource src(api, RegionCatalog::builtin(), {.maxPointsPerRangeQuery = 10});
  auto r = run_coro(io, src.backfill(p, kNow, kNow + 24s, 1s));  // 25 points: 10 + 10 + 5
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(api->range.size(), 3u);
  EXPECT_EQ(api->range[1].start, kNow + 10s);
  EXPECT_EQ(api->range[1].end, kNow + 19s);
  ASSERT_EQ(r->size(), 25u);
  for (std::size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].at, kNow + std::chrono::seconds(i));
    EXPECT_EQ((*r)[i].known, i < 10 || i >= 20) << i;
  }
  EXPECT_NE((*r)[15].reason.find("timeout"), std::string::npos);
}

TEST(PrometheusTrafficSource, BackfillFailsWhenNothingCouldBeRead) {
  boost::asio::io_context io;
  auto api = std::make_shared<FakePrometheusApi>();
  PrometheusTrafficSource src(api, RegionCatalog::builtin());
  auto r = run_coro(io, src.backfill(policy(), kNow - 1h, kNow, 30s));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no answer scripted"), std::string::npos) << r.error();
  auto bad = run_coro(io, src.backfill(policy(), kNow, kNow - 1h, 30s));
  EXPECT_FALSE(bad.ok());
}

TEST(DefaultBackfillStep, CoarsensLongWindows) {
  auto p = policy();
  EXPECT_EQ(default_backfill_step(p), 30s);
  p.spec.traffic.interval = 5s;  // 48h / 5s = 34561 points > 11000
  const auto step = default_backfill_step(p);
  EXPECT_GE(step, 16s);
  EXPECT_LE(p.spec.traffic.historyWindow / step + 1, 11000);
}

}  // namespace
}  // namespace autoplacer::metrics
