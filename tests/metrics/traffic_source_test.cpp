#include "metrics/traffic_source.h"

#include <gtest/gtest.h>

#include "metrics/fake_traffic_source.h"
#include "metrics/run_coro.h"

namespace autoplacer::metrics {
namespace {
using testing::run_coro;

TEST(OriginMapping, EdgeOnlyOriginsMapToNearestHostableAndKeepTheirKey) {
  DemandReading r;
  r.known = true;
  r.rps = {{"fra", 10}, {"waw", 5}, {"mia", 3}, {"zzz", 1}};
  r.unknown = {{"hkg", "value is NaN"}};
  const auto& cat = RegionCatalog::builtin();
  const auto m = map_origins(r, cat);
  EXPECT_EQ(m.toHostable.at("fra"), "fra");
  EXPECT_EQ(m.toHostable.at("waw"), *cat.nearest_hostable("waw"));
  EXPECT_TRUE(cat.hostable(m.toHostable.at("mia")));
  EXPECT_TRUE(cat.hostable(m.toHostable.at("hkg")));
  EXPECT_EQ(m.edgeOnly, (std::vector<std::string>{"hkg", "mia", "waw"}));
  EXPECT_EQ(m.unmapped, std::vector<std::string>{"zzz"});

  const auto folded = demand_by_nearest_hostable(r, cat);
  double total = 0;
  for (const auto& [region, rps] : folded) {
    EXPECT_TRUE(cat.hostable(region)) << region;
    total += rps;
  }
  EXPECT_DOUBLE_EQ(total, 18);  // unknown code left out; unknown region has no value
}

TEST(FakeTrafficSource, SteadyQueuedHandlerAndUnknown) {
  boost::asio::io_context io;
  FakeTrafficSource src;
  PlacementPolicy p;
  p.spec.app = "a";
  const TimePoint t = from_unix_seconds(100);

  auto r = run_coro(io, src.read(p, t));
  EXPECT_FALSE(r.known);  // nothing set: unknown, never zero
  EXPECT_FALSE(r.reason.empty());

  src.set_demand({{"fra", 5}}, {{"fra", 20}});
  src.set_region_unknown("syd", "stale");
  r = run_coro(io, src.read(p, t));
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.at, t);
  EXPECT_EQ(r.rps.at("fra"), 5);
  EXPECT_EQ(r.unknown.at("syd"), "stale");
  EXPECT_EQ(r.p95LatencyMs.at("fra"), 20);

  DemandReading once;
  once.known = true;
  once.rps = {{"lhr", 1}};
  src.push(once);
  EXPECT_EQ(run_coro(io, src.read(p, t)).rps.count("lhr"), 1u);
  EXPECT_EQ(run_coro(io, src.read(p, t)).rps.count("fra"), 1u);

  src.set_handler([](const PlacementPolicy&, TimePoint now) {
    DemandReading d;
    d.known = true;
    d.rps = {{"nrt", to_unix_seconds(now)}};
    return d;
  });
  EXPECT_EQ(run_coro(io, src.read(p, from_unix_seconds(7))).rps.at("nrt"), 7);
  src.set_handler({});

  src.set_unknown("prometheus down");
  r = run_coro(io, src.read(p, t));
  EXPECT_FALSE(r.known);
  EXPECT_EQ(r.reason, "prometheus down");
  EXPECT_EQ(src.reads(), 6);
  EXPECT_EQ(src.apps_read().back(), "a");
}

TEST(FakeTrafficSource, Backfill) {
  boost::asio::io_context io;
  FakeTrafficSource src;
  PlacementPolicy p;
  std::vector<DemandReading> h(5);
  for (int i = 0; i < 5; ++i) h[static_cast<std::size_t>(i)].at = from_unix_seconds(i * 10);
  src.set_history(h);
  auto r = run_coro(io, src.backfill(p, from_unix_seconds(10), from_unix_seconds(30), 10s));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 3u);
  src.fail_backfill("down");
  r = run_coro(io, src.backfill(p, from_unix_seconds(0), from_unix_seconds(30), 10s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "down");
  EXPECT_EQ(src.backfills(), 2);
}

}  // namespace
}  // namespace autoplacer::metrics
