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

TEST(RegionCatalog, CountsEighteenHostableAndSomeEdgeOnly) {
  const auto& c = RegionCatalog::builtin();
  EXPECT_EQ(c.hostable_codes().size(), 18u);
  std::size_t edge_only = 0;
  for (const Region& r : c.regions()) {
    EXPECT_EQ(r.code.size(), 3u) << r.code;
    if (!r.hostable) ++edge_only;
  }
  EXPECT_GE(edge_only, 10u);
}

TEST(RegionCatalog, EveryEdgeOnlyRegionMapsToItsNearestHostable) {
  const auto& c = RegionCatalog::builtin();
  for (const Region& r : c.regions()) {
    auto nearest = c.nearest_hostable(r.code);
    ASSERT_TRUE(nearest.has_value()) << r.code;
    EXPECT_TRUE(c.hostable(*nearest)) << r.code;
    if (r.hostable) {
      EXPECT_EQ(*nearest, r.code);
      continue;
    }
    // No hostable region is nearer than the one chosen.
    for (const std::string& h : c.hostable_codes()) {
      EXPECT_LE(c.distance_km(r.code, *nearest), c.distance_km(r.code, h) + 1e-9)
          << r.code << " -> " << *nearest << " but " << h << " is nearer";
    }
  }
  EXPECT_EQ(c.nearest_hostable("mad"), "cdg");
  EXPECT_EQ(c.nearest_hostable("sea"), "sjc");
  EXPECT_EQ(c.nearest_hostable("hkg"), "sin");
}

TEST(RegionCatalog, RttModelIsFiveMsPlusKmOverSeventy) {
  EXPECT_DOUBLE_EQ(modelled_rtt_ms(0), 5.0);
  EXPECT_DOUBLE_EQ(modelled_rtt_ms(700), 15.0);
  const auto& c = RegionCatalog::builtin();
  // iad-lhr is about 5,900 km: about 89 ms modelled.
  EXPECT_NEAR(c.distance_km("iad", "lhr"), 5900, 100);
  EXPECT_NEAR(c.rtt_ms("iad", "lhr"), 5.0 + c.distance_km("iad", "lhr") / 70.0, 1e-9);
  EXPECT_DOUBLE_EQ(c.rtt_ms("iad", "lhr"), c.rtt_ms("lhr", "iad"));
  // Edge-only regions have coordinates too: RTT from where users are.
  EXPECT_LT(c.rtt_ms("waw", "arn"), c.rtt_ms("waw", "lhr"));
}

TEST(RegionCatalog, MeasuredRttOverridesOnlyItsPair) {
  RegionCatalog c = RegionCatalog::builtin();
  const double modelled = c.rtt_ms("fra", "ams");
  c.set_measured_rtt("fra", "lhr", 9.0);
  EXPECT_DOUBLE_EQ(c.rtt_ms("lhr", "fra"), 9.0);
  EXPECT_DOUBLE_EQ(c.rtt_ms("fra", "ams"), modelled);
  c.set_measured_rtt("fra", "lhr", 11.0);  // a newer measurement replaces the old one
  EXPECT_DOUBLE_EQ(c.rtt_ms("fra", "lhr"), 11.0);
}

}  // namespace
}  // namespace autoplacer
