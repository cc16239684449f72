// The region catalog refresh from GET /v1/platform/regions (through the MachinesApi fake): the
// platform's list becomes the hostable set, edge-only origins stay and map to the nearest listed
// region, and a failed or unusable answer leaves the catalog as it was.
#include "metrics/region_catalog_refresh.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "fly/fake_machines_api.h"
#include "metrics/run_coro.h"

namespace autoplacer::metrics {
namespace {
using testing::run_coro;

Region listed(std::string code, double lat, double lon, bool deprecated = false) {
  Region r;
  r.code = std::move(code);
  r.latitude = lat;
  r.longitude = lon;
  r.deprecated = deprecated;
  r.hostable = !deprecated;
  return r;
}

// What the platform lists today: the built-in hostable regions.
std::vector<Region> platform_today() {
  std::vector<Region> out;
  for (const auto& r : RegionCatalog::builtin().regions()) {
    if (r.hostable) out.push_back(listed(r.code, r.latitude, r.longitude));
  }
  return out;
}

TEST(RegionCatalogRefresh, NewHostableRegionChangesWhereAnEdgeOriginMaps) {
  RegionCatalog catalog = RegionCatalog::builtin();
  ASSERT_EQ(catalog.nearest_hostable("hkg"), "sin");
  // The platform opens Hong Kong for machines.
  auto platform = platform_today();
  platform.push_back(listed("hkg", 22.31, 113.92));
  auto r = apply_platform_regions(platform, catalog);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->becameHostable, std::vector<std::string>{"hkg"});
  EXPECT_TRUE(r->added.empty());
  EXPECT_EQ(r->hostable, 19u);
  EXPECT_EQ(catalog.nearest_hostable("hkg"), "hkg");
  EXPECT_EQ(catalog.nearest_hostable("mia"), RegionCatalog::builtin().nearest_hostable("mia"));
}

TEST(RegionCatalogRefresh, DeprecatedOrUnlistedRegionsStopBeingHostableButStayKnown) {
  RegionCatalog catalog = RegionCatalog::builtin();
  auto platform = platform_today();
  std::erase_if(platform, [](const Region& r) { return r.code == "sin"; });  // retired
  for (auto& r : platform) {
    if (r.code == "nrt") r.deprecated = true;
  }
  auto r = apply_platform_regions(platform, catalog);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->noLongerHostable, (std::vector<std::string>{"nrt", "sin"}));
  EXPECT_EQ(r->hostable, 16u);
  EXPECT_TRUE(catalog.known("sin"));  // users still enter there
  EXPECT_FALSE(catalog.hostable("sin"));
  EXPECT_FALSE(catalog.hostable("nrt"));
  EXPECT_TRUE(catalog.find("nrt")->deprecated);
  // Both now map elsewhere, as does the edge-only origin that used to land on them.
  for (const char* origin : {"sin", "nrt", "hkg"}) {
    const auto to = catalog.nearest_hostable(origin);
    ASSERT_TRUE(to.has_value()) << origin;
    EXPECT_TRUE(catalog.hostable(*to)) << origin << " -> " << *to;
  }
}

TEST(RegionCatalogRefresh, UnknownCodesAreAddedWithCoordinatesAndBadEntriesSkipped) {
  RegionCatalog catalog = RegionCatalog::builtin();
  auto platform = platform_today();
  platform.push_back(listed("QRO", 20.62, -100.19));  // known edge-only, upper case
  platform.push_back(listed("xyz", 10, 10));          // new, with coordinates
  platform.push_back(listed("nowhere", 10, 10));      // not a region code
  platform.push_back(listed("abc", 0, 0));            // new without coordinates: cannot place it
  auto r = apply_platform_regions(platform, catalog);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->added, std::vector<std::string>{"xyz"});
  EXPECT_EQ(r->becameHostable, std::vector<std::string>{"qro"});
  EXPECT_EQ(r->skipped, (std::vector<std::string>{"nowhere", "abc"}));
  EXPECT_TRUE(catalog.hostable("qro"));
  EXPECT_TRUE(catalog.hostable("xyz"));
  EXPECT_FALSE(catalog.known("abc"));
  const std::string text = describe(*r);
  EXPECT_NE(text.find("added: xyz"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped bad entries: nowhere,abc"), std::string::npos) << text;
}

TEST(RegionCatalogRefresh, AnAnswerWithNothingHostableIsRefused) {
  RegionCatalog catalog = RegionCatalog::builtin();
  const auto before = catalog.hostable_codes();
  EXPECT_FALSE(apply_platform_regions({}, catalog).ok());
  EXPECT_FALSE(apply_platform_regions({listed("fra", 50, 8, /*deprecated=*/true)}, catalog).ok());
  EXPECT_FALSE(apply_platform_regions({listed("!!", 1, 1)}, catalog).ok());
  EXPECT_EQ(catalog.hostable_codes(), before);
}

TEST(RegionCatalogRefresh, ThroughTheMachinesApi) {
  boost::asio::io_context io;
  fly::FakeMachinesApi api;
  auto platform = platform_today();
  platform.push_back(listed("hkg", 22.31, 113.92));
  api.set_regions(platform);
  RegionCatalog catalog = RegionCatalog::builtin();
  auto r = run_coro(io, refresh_region_catalog(api, catalog));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(catalog.hostable("hkg"));
  EXPECT_EQ(api.count("regions"), 1u);
}

TEST(RegionCatalogRefresh, AFailedCallLeavesTheCatalogAsItWas) {
  boost::asio::io_context io;
  fly::FakeMachinesApi api;
  api.set_regions(platform_today());
  api.fail_next("regions", fly::FakeMachinesApi::http_error(503, "", "upstream down"));
  RegionCatalog catalog = RegionCatalog::builtin();
  catalog.merge_platform_regions({listed("hkg", 22.31, 113.92)});  // a state worth keeping
  auto r = run_coro(io, refresh_region_catalog(api, catalog));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("regions: "), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("503"), std::string::npos) << r.error();
  EXPECT_TRUE(catalog.hostable("hkg"));
}

}  // namespace
}  // namespace autoplacer::metrics
