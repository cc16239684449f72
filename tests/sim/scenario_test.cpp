#include "sim/scenario.h"

#include <gtest/gtest.h>

namespace autoplacer::sim {
namespace {

constexpr const char* kCsv =
    "timestamp,region,rps\n"
    "1000,iad,10\n1000,waw,2.5\n"
    "1300,iad,20\n1300,waw,0\n"
    "1600,iad,5\n1600,waw,7\n";

TEST(Scenario, ParsesStepsRegionsAndDemand) {
  auto s = Scenario::parse_csv(kCsv, "t.csv");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->regions(), (std::vector<std::string>{"iad", "waw"}));
  EXPECT_EQ(s->step_count(), 3u);
  EXPECT_EQ(s->step(), Duration{300'000});
  EXPECT_EQ(s->start(), from_unix_seconds(1000));
  EXPECT_EQ(s->end(), from_unix_seconds(1900));
  EXPECT_DOUBLE_EQ(s->rps(1, 0), 20);
  EXPECT_DOUBLE_EQ(s->total_rps(2), 12);
  EXPECT_DOUBLE_EQ(s->peak_region_rps(), 20);
}

TEST(Scenario, DemandAtPicksTheStepContainingTheTimeAndClamps) {
  auto s = Scenario::parse_csv(kCsv, "t.csv");
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->demand_at(from_unix_seconds(1299)).at("iad"), 10);
  EXPECT_DOUBLE_EQ(s->demand_at(from_unix_seconds(1300)).at("iad"), 20);
  EXPECT_DOUBLE_EQ(s->demand_at(from_unix_seconds(0)).at("iad"), 10);
  EXPECT_DOUBLE_EQ(s->demand_at(from_unix_seconds(99999)).at("waw"), 7);
}

TEST(Scenario, ReportsTheLineOfBadRows) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"", "t.csv: empty file"},
      {"time,region,rps\n", "t.csv:1: header must be timestamp,region,rps"},
      {"timestamp,region,rps\n", "t.csv: no data rows"},
      {"timestamp,region,rps\n1,iad\n", "t.csv:2: expected 3 fields"},
      {"timestamp,region,rps\nx,iad,1\n", "t.csv:2: timestamp is not an integer"},
      {"timestamp,region,rps\n1,iad,abc\n", "t.csv:2: rps is not a number"},
      {"timestamp,region,rps\n1,iad,nan\n", "t.csv:2: rps is not a number"},
      {"timestamp,region,rps\n1,iad,-1\n", "t.csv:2: rps is negative"},
      {"timestamp,region,rps\n1,,1\n", "t.csv:2: region is empty"},
      {"timestamp,region,rps\n10,iad,1\n20,iad,1\n40,iad,1\n",
       "t.csv: steps are not uniform at 40"},
      {"timestamp,region,rps\n10,iad,1\n5,iad,1\n", "t.csv: timestamps go backwards at 5"},
  };
  for (const Case& c : cases) {
    auto s = Scenario::parse_csv(c.text, "t.csv");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error(), c.error);
  }
}

TEST(Scenario, AcceptsCrLfAndMissingRegionsAsZero) {
  auto s = Scenario::parse_csv("timestamp,region,rps\r\n1,iad,1\r\n1,lhr,2\r\n61,iad,3\r\n", "t");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_DOUBLE_EQ(s->rps(1, 1), 0.0);
  EXPECT_EQ(s->step(), Duration{60'000});
}

TEST(Scenario, ReadsRpsAsStrtodDoes) {
  // Plain decimals go through std::from_chars; other spellings strtod accepts keep working.
  auto s = Scenario::parse_csv(
      "timestamp,region,rps\n0,iad,0.1\n0,waw,+5\n0,fra,1e1\n0,nrt, 2.5 \n0,syd,0x10\n", "t");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->rps(0, 0), 0.1);
  EXPECT_EQ(s->rps(0, 1), 5.0);
  EXPECT_EQ(s->rps(0, 2), 10.0);
  EXPECT_EQ(s->rps(0, 3), 2.5);
  EXPECT_EQ(s->rps(0, 4), 16.0);
  EXPECT_FALSE(Scenario::parse_csv("timestamp,region,rps\n0,iad,1e999\n", "t").ok());
  EXPECT_FALSE(Scenario::parse_csv("timestamp,region,rps\n0,iad,5x\n", "t").ok());
}

}  // namespace
}  // namespace autoplacer::sim
