#include "metrics/prometheus_response.h"

#include <gtest/gtest.h>

#include <cmath>

namespace autoplacer::metrics {
namespace {

TEST(PrometheusResponse, ParsesVector) {
  const auto r = parse_prometheus_response(R"({"status":"success","data":{"resultType":"vector",
    "result":[{"metric":{"region":"fra"},"value":[1700000000.5,"12.25"]},
              {"metric":{"region":"syd"},"value":[1700000000,"0"]}]}})",
                                           200);
  ASSERT_TRUE(r.ok()) << describe(r.error());
  EXPECT_EQ(r->type, PromResultType::kVector);
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].labels.at("region"), "fra");
  ASSERT_EQ(r->series[0].points.size(), 1u);
  EXPECT_DOUBLE_EQ(r->series[0].points[0].value, 12.25);
  EXPECT_EQ(r->series[0].points[0].at, from_unix_seconds(1700000000.5));
  EXPECT_EQ(r->series[1].points[0].value, 0.0);
}

TEST(PrometheusResponse, ParsesMatrix) {
  const auto r = parse_prometheus_response(R"({"status":"success","data":{"resultType":"matrix",
    "result":[{"metric":{"region":"fra","app":"a"},"values":[[10,"1"],[40,"2"],[70,"NaN"]]}]}})",
                                           200);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, PromResultType::kMatrix);
  ASSERT_EQ(r->series[0].points.size(), 3u);
  EXPECT_EQ(r->series[0].points[1].at, from_unix_seconds(40));
  EXPECT_TRUE(std::isnan(r->series[0].points[2].value));
  EXPECT_EQ(r->series[0].labels.size(), 2u);
}

TEST(PrometheusResponse, ParsesScalarAndString) {
  auto s = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"scalar","result":[5,"3.5"]}})", 200);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->type, PromResultType::kScalar);
  ASSERT_EQ(s->series.size(), 1u);
  EXPECT_TRUE(s->series[0].labels.empty());
  EXPECT_DOUBLE_EQ(s->series[0].points[0].value, 3.5);
  auto t = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"string","result":[5,"hello"]}})", 200);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->type, PromResultType::kString);
}

TEST(PrometheusResponse, SpecialValues) {
  const auto r = parse_prometheus_response(R"({"status":"success","data":{"resultType":"vector",
    "result":[{"metric":{"region":"a"},"value":[1,"NaN"]},{"metric":{"region":"b"},"value":[1,"+Inf"]},
              {"metric":{"region":"c"},"value":[1,"-Inf"]},{"metric":{"region":"d"},"value":[1,"-2.5e1"]},
              {"metric":{"region":"e"},"value":[1,"Inf"]}]}})",
                                           200);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r->series[0].points[0].value));
  EXPECT_TRUE(std::isinf(r->series[1].points[0].value));
  EXPECT_GT(r->series[1].points[0].value, 0);
  EXPECT_LT(r->series[2].points[0].value, 0);
  EXPECT_DOUBLE_EQ(r->series[3].points[0].value, -25.0);
  EXPECT_TRUE(std::isinf(r->series[4].points[0].value));
}

TEST(PrometheusResponse, EmptyVectorIsASuccess) {
  const auto r = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"vector","result":[]}})", 200);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->series.empty());
}

TEST(PrometheusResponse, ErrorBodyWithErrorStatus) {
  const auto r = parse_prometheus_response(
      R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})", 400);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, PromError::Kind::kApi);
  EXPECT_NE(r.error().message.find("bad_data: parse error at char 5"), std::string::npos);
  EXPECT_NE(r.error().message.find("HTTP 400"), std::string::npos);
}

TEST(PrometheusResponse, ErrorBodyWith200) {
  const auto r =
      parse_prometheus_response(R"({"status":"error","errorType":"timeout","error":"x"})", 200);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, PromError::Kind::kApi);
}

TEST(PrometheusResponse, ProxyErrorPage) {
  const auto r = parse_prometheus_response("<html><body>502 Bad Gateway</body></html>", 502);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, PromError::Kind::kHttpStatus);
  EXPECT_NE(r.error().message.find("HTTP 502"), std::string::npos);
}

TEST(PrometheusResponse, Garbage) {
  for (const char* body :
       {"", "not json", "{", "[]", "42", R"({"data":{}})", R"({"status":5})", "\x01\x02\xff\xfe"}) {
    const auto r = parse_prometheus_response(body, 200);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, PromError::Kind::kParse) << body;
    for (char c : r.error().message) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable in message";
  }
}

TEST(PrometheusResponse, WrongShapes) {
  const char* bodies[] = {
      R"({"status":"success"})",
      R"({"status":"success","data":[]})",
      R"({"status":"success","data":{"resultType":"vector"}})",
      R"({"status":"success","data":{"resultType":"histogram","result":[]}})",
      R"({"status":"success","data":{"resultType":"vector","result":{}}})",
      R"({"status":"success","data":{"resultType":"vector","result":[5]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"region":1},"value":[1,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,1]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x","1"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1.0abc"]}]}})",
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[-5,"1"]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2]]}]}})",
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{}}]}})",
      R"({"status":"success","data":{"resultType":"scalar","result":[1]}})",
  };
  for (const char* body : bodies) {
    const auto r = parse_prometheus_response(body, 200);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, PromError::Kind::kParse) << body;
  }
}

TEST(PrometheusResponse, SuccessBodyWithErrorStatusIsAnError) {
  const auto r = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"vector","result":[]}})", 500);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, PromError::Kind::kHttpStatus);
}

TEST(PrometheusResponse, KeepsWarnings) {
  const auto r = parse_prometheus_response(
      R"({"status":"success","warnings":["partial"],"data":{"resultType":"vector","result":[]}})",
      200);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "partial");
}

TEST(PrometheusResponse, QuotedTimestampsFromProxies) {
  const auto r = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["12.5","1"]}]}})",
      200);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->series[0].points[0].at, from_unix_seconds(12.5));
}

TEST(PrometheusValue, Parse) {
  double v = 0;
  EXPECT_TRUE(parse_prom_value("1e3", v));
  EXPECT_EQ(v, 1000.0);
  EXPECT_TRUE(parse_prom_value("+3", v));
  EXPECT_EQ(v, 3.0);
  EXPECT_FALSE(parse_prom_value("", v));
  EXPECT_TRUE(parse_prom_value("nan", v));  // lenient: judged as NaN later anyway
  EXPECT_TRUE(std::isnan(v));
  EXPECT_FALSE(parse_prom_value("1 ", v));
  EXPECT_FALSE(parse_prom_value("0x10", v));
}

TEST(PrometheusFormat, TimesAndSteps) {
  EXPECT_EQ(format_prom_time(from_unix_seconds(1700000000.25)), "1700000000.250");
  EXPECT_EQ(format_prom_time(TimePoint{}), "0.000");
  EXPECT_EQ(format_prom_seconds(Duration{30000}), "30");
  EXPECT_EQ(format_prom_seconds(Duration{500}), "0.500");
  EXPECT_EQ(format_prom_seconds(Duration{90250}), "90.250");
}

}  // namespace
}  // namespace autoplacer::metrics
