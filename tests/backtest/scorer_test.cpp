// The C++ scorer on tiny timelines worked out by hand (the serving model of score_timeline.py).
#include "backtest/scorer.h"

#include <gtest/gtest.h>

namespace autoplacer::backtest {
namespace {

const RegionCatalog& catalog() {
  return RegionCatalog::builtin();
}

double rtt(const char* a, const char* b) {
  return scorer_rtt_ms(*catalog().find(a), *catalog().find(b));
}

Scorer make(const std::vector<std::string>& origins, const std::vector<std::string>& regions,
            double capacity, std::int64_t step_s) {
  std::string error;
  auto s = Scorer::make(catalog(), origins, regions, regions, capacity, step_s, &error);
  EXPECT_TRUE(s.has_value()) << error;
  return std::move(*s);
}

TEST(Scorer, RttModelIsFiveMsPlusKmOver70) {
  EXPECT_DOUBLE_EQ(rtt("iad", "iad"), 5.0);
  // The built-in catalog's model and the scorer's agree to rounding.
  EXPECT_NEAR(rtt("iad", "fra"), catalog().rtt_ms("iad", "fra"), 1e-9);
  EXPECT_NEAR(rtt("iad", "fra"), 5.0 + catalog().distance_km("iad", "fra") / 70.0, 1e-9);
}

TEST(Scorer, DemandBeyondRunningCapacityIsUnserved) {
  // capacity 10/machine; iad needs 25 and ord 5, only 2 machines in iad: iad (largest) takes all
  // 20, nothing is left for ord.
  Scorer s = make({"iad", "ord"}, {"iad", "ord"}, 10, 3600);
  StepScore step = s.add_step(0, {25, 5}, {{0, 2}});
  EXPECT_DOUBLE_EQ(step.served, 20);
  EXPECT_DOUBLE_EQ(step.unserved, 10);
  Score r = s.finish().rounded();
  EXPECT_DOUBLE_EQ(*r.mean_rtt_ms, 5.0);
  EXPECT_DOUBLE_EQ(r.p95_rtt_ms, 5.0);
  EXPECT_DOUBLE_EQ(r.unserved_fraction, 0.33333);
  EXPECT_DOUBLE_EQ(r.machine_hours, 2.0);
  EXPECT_DOUBLE_EQ(r.limit_machine_hours, 3.0);  // ceil(30 / 10) for one hour
  EXPECT_DOUBLE_EQ(*r.limit_mean_rtt_ms, 5.0);   // both at home
  EXPECT_EQ(r.changes, 1);
  EXPECT_EQ(r.flaps, 0);
}

TEST(Scorer, OverflowSpillsToTheNextNearestRegion) {
  // iad 15 req/s, one machine (10) in iad and one in ord: 10 at 5 ms, 5 at iad->ord.
  Scorer s = make({"iad"}, {"iad", "ord"}, 10, 3600);
  (void)s.add_step(0, {15}, {{0, 1}, {1, 1}});
  Score r = s.finish();
  EXPECT_DOUBLE_EQ(*r.mean_rtt_ms, (10 * 5.0 + 5 * rtt("iad", "ord")) / 15);
  EXPECT_DOUBLE_EQ(r.unserved_fraction, 0);
  EXPECT_DOUBLE_EQ(r.p95_rtt_ms, rtt("iad", "ord"));  // 95% of 15 is past the first 10
}

TEST(Scorer, LargestOriginChoosesFirst) {
  // One machine of 10 in fra; lhr (8) is larger than ams (4) and is served first at fra, ams gets
  // the 2 left.
  Scorer s = make({"ams", "lhr"}, {"fra"}, 10, 60);
  StepScore step = s.add_step(0, {4, 8}, {{0, 1}});
  EXPECT_DOUBLE_EQ(step.unserved, 2);
  EXPECT_DOUBLE_EQ(step.mean_rtt_ms, (8 * rtt("lhr", "fra") + 2 * rtt("ams", "fra")) / 10);
}

TEST(Scorer, P95IsTheRttAtWhich95PercentOfServedDemandIsCovered) {
  Scorer a = make({"iad", "nrt"}, {"iad"}, 100, 60);
  (void)a.add_step(0, {95, 5}, {{0, 1}});
  EXPECT_DOUBLE_EQ(a.finish().p95_rtt_ms, 5.0);  // exactly 95% at 5 ms
  Scorer b = make({"iad", "nrt"}, {"iad"}, 100, 60);
  (void)b.add_step(0, {94, 6}, {{0, 1}});
  EXPECT_DOUBLE_EQ(b.finish().p95_rtt_ms, rtt("nrt", "iad"));
}

TEST(Scorer, ChangesAndFlapsWithinThirtyMinutes) {
  // iad: 1 at 0, 0 at 600 (removed 10 min after added: flap), 1 at 1200 (added back: flap),
  // 2 at 3600 (a change, not an add), 0 at 7200 (removed 100 min after the last add: no flap).
  Scorer s = make({"iad"}, {"iad"}, 10, 600);
  (void)s.add_step(0, {1}, {{0, 1}});
  (void)s.add_step(600, {1}, {});
  (void)s.add_step(1200, {1}, {{0, 1}});
  (void)s.add_step(3600, {1}, {{0, 2}});
  (void)s.add_step(7200, {1}, {});
  Score r = s.finish();
  EXPECT_EQ(r.changes, 5);
  EXPECT_EQ(r.flaps, 2);
}

TEST(Scorer, AFlapAtExactlyThirtyMinutesCounts) {
  Scorer s = make({"iad"}, {"iad"}, 10, 1800);
  (void)s.add_step(0, {1}, {{0, 1}});
  (void)s.add_step(1800, {1}, {});
  EXPECT_EQ(s.finish().flaps, 1);
}

TEST(Scorer, MachineHoursAndLimitUseTheStepLength) {
  Scorer s = make({"iad"}, {"iad"}, 10, 300);
  for (int k = 0; k < 12; ++k) (void)s.add_step(k * 300, {21}, {{0, 3}});
  Score r = s.finish();
  EXPECT_DOUBLE_EQ(r.machine_hours, 3.0);        // 3 machines for an hour
  EXPECT_DOUBLE_EQ(r.limit_machine_hours, 3.0);  // ceil(21 / 10) = 3 for an hour
}

TEST(Scorer, NoDemandGivesNullMeans) {
  Scorer s = make({"iad"}, {"iad"}, 10, 60);
  (void)s.add_step(0, {0}, {{0, 1}});
  Score r = s.finish();
  EXPECT_FALSE(r.mean_rtt_ms.has_value());
  EXPECT_FALSE(r.limit_mean_rtt_ms.has_value());
  EXPECT_DOUBLE_EQ(r.unserved_fraction, 0);
}

TEST(Scorer, LimitUsesTheNearestAllowedRegion) {
  std::string error;
  auto s = Scorer::make(catalog(), {"waw"}, {"fra", "arn"}, {"fra"}, 10, 60, &error);
  ASSERT_TRUE(s.has_value()) << error;
  (void)s->add_step(0, {10}, {{1, 1}});
  EXPECT_DOUBLE_EQ(*s->finish().limit_mean_rtt_ms, rtt("waw", "fra"));
}

TEST(Scorer, UnknownRegionsAreAnError) {
  std::string error;
  EXPECT_FALSE(Scorer::make(catalog(), {"xxx"}, {"iad"}, {"iad"}, 10, 60, &error).has_value());
  EXPECT_NE(error.find("xxx"), std::string::npos);
  EXPECT_FALSE(Scorer::make(catalog(), {"iad"}, {"iad"}, {"iad"}, 0, 60, &error).has_value());
}

TEST(Scorer, RoundsLikePython) {
  // Python: round(0.125, 2) == 0.12, round(2.675, 2) == 2.67, round(1.35, 1) == 1.4,
  // round(0.333333, 5) == 0.33333, round(1e-06, 5) == 0.0
  EXPECT_DOUBLE_EQ(round_like_python(0.125, 2), 0.12);
  EXPECT_DOUBLE_EQ(round_like_python(2.675, 2), 2.67);
  EXPECT_DOUBLE_EQ(round_like_python(1.35, 1), 1.4);
  EXPECT_DOUBLE_EQ(round_like_python(1.0 / 3.0, 5), 0.33333);
  EXPECT_DOUBLE_EQ(round_like_python(1e-6, 5), 0.0);
}

}  // namespace
}  // namespace autoplacer::backtest
