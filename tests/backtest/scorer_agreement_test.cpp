// The C++ scorer against numbers printed by score_timeline.py on the shipped fixture timelines
// (docs/backtest.md says how to re-derive them). Reads the files, as the script does.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "backtest/timeline.h"

namespace autoplacer::backtest {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Pinned {
  const char* timeline;
  double capacity;
  std::vector<std::string> allowed;  // empty: the script's default (every hostable region)
  double mean, p95, unserved, machine_hours;
  int changes, flaps;
  double limit_mean, limit_machine_hours;
};

class ScorerAgreement : public testing::TestWithParam<Pinned> {};

TEST_P(ScorerAgreement, MatchesScoreTimelinePy) {
  const Pinned& p = GetParam();
  auto scenario = sim::Scenario::load_csv(std::string(AP_TEST_FIXTURES) +
                                          "/scenarios/backtest-3region-15m.csv");
  ASSERT_TRUE(scenario.ok()) << scenario.error();
  auto timeline =
      parse_timeline_csv(read(std::string(AP_TEST_FIXTURES) + "/backtest/" + p.timeline));
  ASSERT_TRUE(timeline.ok()) << timeline.error();
  auto score =
      score_timeline(*scenario, *timeline, RegionCatalog::builtin(), p.capacity, p.allowed);
  ASSERT_TRUE(score.ok()) << score.error();
  const Score s = score->rounded();
  EXPECT_EQ(s.steps, 288u);
  EXPECT_EQ(s.step_s, 900);
  EXPECT_EQ(*s.mean_rtt_ms, p.mean);
  EXPECT_EQ(s.p95_rtt_ms, p.p95);
  EXPECT_EQ(s.unserved_fraction, p.unserved);
  EXPECT_EQ(s.machine_hours, p.machine_hours);
  EXPECT_EQ(s.changes, p.changes);
  EXPECT_EQ(s.flaps, p.flaps);
  EXPECT_EQ(*s.limit_mean_rtt_ms, p.limit_mean);
  EXPECT_EQ(s.limit_machine_hours, p.limit_machine_hours);
}

// Each from: python3 score_timeline.py tests/fixtures/scenarios/backtest-3region-15m.csv
//   tests/fixtures/backtest/TIMELINE CAPACITY [ALLOWED]
INSTANTIATE_TEST_SUITE_P(
    Fixture, ScorerAgreement,
    testing::Values(
        Pinned{"timeline-sample.csv", 10, {}, 60.17, 159.93, 0.34447, 687.0, 174, 45, 7.78, 1076.8},
        Pinned{"timeline-sample.csv",
               22.5607,
               {"fra", "iad", "nrt"},
               12.4,
               20.74,
               0.0,
               687.0,
               174,
               45,
               7.92,
               498.2},
        Pinned{"timeline-oracle.csv", 10, {}, 58.41, 159.93, 0.45333, 569.0, 101, 0, 7.78, 1076.8},
        Pinned{"timeline-oracle.csv",
               22.5607,
               {"fra", "iad", "nrt"},
               7.78,
               17.19,
               0.0,
               569.0,
               101,
               0,
               7.92,
               498.2}));

TEST(Timeline, ParsesRowsInFileOrderAndSkipsZeros) {
  auto t = parse_timeline_csv(
      "timestamp,region,running,desired\n10,iad,2,2\n10,fra,0,1\n10,ams,1.0,1\n20,iad,1,1\n");
  ASSERT_TRUE(t.ok()) << t.error();
  ASSERT_EQ(t->running.at(10).size(), 2u);
  EXPECT_EQ(t->running.at(10)[0], (std::pair<std::string, int>{"iad", 2}));
  EXPECT_EQ(t->running.at(10)[1], (std::pair<std::string, int>{"ams", 1}));
  EXPECT_FALSE(parse_timeline_csv("nope\n").ok());
  EXPECT_FALSE(parse_timeline_csv("timestamp,region,running\nx,iad,1\n").ok());
}

}  // namespace
}  // namespace autoplacer::backtest
