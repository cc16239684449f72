#include "policy/regions.h"

#include <gtest/gtest.h>

namespace autoplacer {
namespace {

TEST(RegionCatalog, HasTheEighteenHostableRegions) {
  const auto& c = RegionCatalog::builtin();
  EXPECT_EQ(
      c.hostable_codes(),
      (std::vector<std::string>{"ams", "arn", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad",
                                "jnb", "lax", "lhr", "nrt", "ord", "sin", "sjc", "syd", "yyz"}));
}

TEST(RegionCatalog, MapsEdgeOnlyRegionsToTheNearestHostable) {
  const auto& c = RegionCatalog::builtin();
  EXPECT_EQ(c.nearest_hostable("waw"), "arn");
  EXPECT_EQ(c.nearest_hostable("otp"), "fra");
  EXPECT_EQ(c.nearest_hostable("fra"), "fra");
  EXPECT_EQ(c.nearest_hostable("xxx"), std::nullopt);
  EXPECT_FALSE(c.hostable("waw"));
}

TEST(RegionCatalog, RttModelMatchesTheScoringTool) {
  const auto& c = RegionCatalog::builtin();
  // score_timeline.py: 5 ms + km / 70; fra-lhr is about 655 km.
  EXPECT_NEAR(c.rtt_ms("fra", "lhr"), 5.0 + c.distance_km("fra", "lhr") / 70.0, 1e-9);
  EXPECT_NEAR(c.distance_km("fra", "lhr"), 655, 10);
  EXPECT_DOUBLE_EQ(c.rtt_ms("fra", "fra"), 5.0);
  EXPECT_DOUBLE_EQ(c.rtt_ms("fra", "nope"), 1000.0);
}

TEST(RegionCatalog, MeasuredRttOverridesTheModelBothWays) {
  RegionCatalog c = RegionCatalog::builtin();
  c.set_measured_rtt("lhr", "fra", 12.5);
  EXPECT_DOUBLE_EQ(c.rtt_ms("fra", "lhr"), 12.5);
  EXPECT_DOUBLE_EQ(c.rtt_ms("lhr", "fra"), 12.5);
}

TEST(RegionCatalog, MergesPlatformRegions) {
  RegionCatalog c = RegionCatalog::builtin();
  c.merge_platform_regions(
      {{"waw", "Warsaw", 52.17, 20.97, true, false}, {"qqq", "New place", 10, 10, true, false}});
  EXPECT_TRUE(c.hostable("waw"));
  EXPECT_TRUE(c.hostable("qqq"));
  EXPECT_EQ(c.nearest_hostable("waw"), "waw");
  EXPECT_TRUE(c.known("otp"));
}

}  // namespace
}  // namespace autoplacer
