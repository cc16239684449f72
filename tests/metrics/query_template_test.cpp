#include "metrics/query_template.h"

#include <gtest/gtest.h>

#include "policy/spec.h"

namespace autoplacer::metrics {
namespace {

TEST(QueryTemplate, DefaultQueryExpandsApp) {
  PlacementPolicy p;
  p.spec.app = "my-app";
  const auto q = expand_query(p.spec.traffic.query, query_variables(p));
  ASSERT_TRUE(q.ok()) << q.error();
  EXPECT_EQ(*q, R"(sum by (region) (rate(fly_edge_http_responses_count{app="my-app"}[1m])))");
  const auto l = expand_query(p.spec.traffic.latencyQuery, query_variables(p));
  ASSERT_TRUE(l.ok());
  EXPECT_NE(l->find(R"({app="my-app"})"), std::string::npos);
}

TEST(QueryTemplate, BracedLongestNameAndDollarDollar) {
  const std::map<std::string, std::string> vars{{"APP", "a"}, {"APP_NAME", "b"}, {"WINDOW", "5m"}};
  EXPECT_EQ(*expand_query("$APP_NAME $APP ${APP}x [$WINDOW] $$", vars), "b a ax [5m] $");
}

TEST(QueryTemplate, Errors) {
  const std::map<std::string, std::string> vars{{"APP", "a"}, {"BAD", "x\"}) or vector(1"}};
  EXPECT_NE(expand_query("$NOPE", vars).error().find("undefined variable $NOPE"),
            std::string::npos);
  EXPECT_FALSE(expand_query("${APP", vars).ok());
  EXPECT_FALSE(expand_query("${1X}", vars).ok());
  EXPECT_FALSE(expand_query("cost $5", vars).ok());
  EXPECT_FALSE(expand_query("end $", vars).ok());
  EXPECT_NE(expand_query("{app=\"$BAD\"}", vars).error().find("quote"), std::string::npos);
}

TEST(QueryTemplate, PolicyVariablesAndExplicitAppWins) {
  PlacementPolicy p;
  p.spec.app = "from-spec";
  p.spec.traffic.variables = {{"ORG", "acme"}};
  auto vars = query_variables(p);
  EXPECT_EQ(vars.at("APP"), "from-spec");
  EXPECT_EQ(vars.at("ORG"), "acme");
  p.spec.traffic.variables["APP"] = "override";
  EXPECT_EQ(query_variables(p).at("APP"), "override");
}

}  // namespace
}  // namespace autoplacer::metrics
