// The replay's index-based fast paths give what the plain ways give: the scorer's precomputed
// nearest-region order and grouped p95 against a per-step sort and one big sort of (rtt, served)
// pairs, the fleet's in-place observation and merge walk, and the oracle's dense placement.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "backtest/baselines.h"
#include "backtest/scorer.h"
#include "backtest/sim_fleet.h"

namespace autoplacer::backtest {
namespace {

const RegionCatalog& catalog() {
  return RegionCatalog::builtin();
}

Scorer make_scorer(const std::vector<std::string>& origins,
                   const std::vector<std::string>& regions) {
  std::string error;
  auto s = Scorer::make(catalog(), origins, regions, regions, 10, 300, &error);
  EXPECT_TRUE(s.has_value()) << error;
  return std::move(*s);
}

// Random steps over a few origins and regions, with some demand left unserved.
struct RandomSteps {
  std::vector<std::vector<double>> demand;
  std::vector<std::vector<std::pair<std::size_t, int>>> running;  // in index order
  RandomSteps(std::size_t origins, std::size_t regions, std::size_t steps) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> rps(0, 40);
    std::uniform_int_distribution<int> machines(-1, 3);
    for (std::size_t k = 0; k < steps; ++k) {
      demand.emplace_back();
      for (std::size_t o = 0; o < origins; ++o) demand.back().push_back(rps(rng));
      running.emplace_back();
      for (std::size_t r = 0; r < regions; ++r) {
        const int n = machines(rng);
        if (n > 0) running.back().emplace_back(r, n);
      }
    }
  }
};

const std::vector<std::string> kOrigins{"iad", "fra", "nrt", "gru"};
const std::vector<std::string> kRegions{"ams", "fra", "gru", "iad", "lax", "nrt", "ord", "syd"};

TEST(IndexPaths, RowsInIndexOrderScoreAsRowsInAnyOrder) {
  // No two of these regions tie in RTT from an origin, so row order cannot matter: the fast path
  // (rows in index order) and the sorting path (reversed rows) must give the same bits.
  const RandomSteps steps(kOrigins.size(), kRegions.size(), 300);
  Scorer fast = make_scorer(kOrigins, kRegions);
  Scorer sorted = make_scorer(kOrigins, kRegions);
  for (std::size_t k = 0; k < steps.demand.size(); ++k) {
    auto reversed = steps.running[k];
    std::reverse(reversed.begin(), reversed.end());
    const std::int64_t t = static_cast<std::int64_t>(k) * 300;
    const StepScore a = fast.add_step(t, steps.demand[k], steps.running[k]);
    const StepScore b = sorted.add_step(t, steps.demand[k], reversed);
    ASSERT_EQ(a.served, b.served) << "step " << k;
    ASSERT_EQ(a.mean_rtt_ms, b.mean_rtt_ms) << "step " << k;
  }
  const Score a = fast.finish(), b = sorted.finish();
  EXPECT_EQ(a.mean_rtt_ms, b.mean_rtt_ms);
  EXPECT_EQ(a.p95_rtt_ms, b.p95_rtt_ms);
  EXPECT_EQ(a.unserved_fraction, b.unserved_fraction);
}

TEST(IndexPaths, P95IsTheScriptsSortOfPairs) {
  // The script: sort (rtt, served) pairs, sum served until 95% of the total. Replayed here from
  // the same steps, serving as the scorer does (origins largest first, nearest spare first).
  const RandomSteps steps(kOrigins.size(), kRegions.size(), 500);
  Scorer scorer = make_scorer(kOrigins, kRegions);
  std::vector<std::pair<double, double>> pairs;
  double total = 0;
  for (std::size_t k = 0; k < steps.demand.size(); ++k) {
    const auto& d = steps.demand[k];
    (void)scorer.add_step(static_cast<std::int64_t>(k) * 300, d, steps.running[k]);
    std::vector<double> spare(kRegions.size(), 0);
    for (const auto& [r, n] : steps.running[k]) spare[r] = n * 10.0;
    std::vector<std::size_t> order{0, 1, 2, 3};
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return -d[a] < -d[b]; });
    for (std::size_t o : order) {
      std::vector<std::size_t> near;
      for (const auto& [r, n] : steps.running[k]) near.push_back(r);
      std::stable_sort(near.begin(), near.end(), [&](std::size_t a, std::size_t b) {
        return scorer.rtt(o, a) < scorer.rtt(o, b);
      });
      double left = d[o];
      for (std::size_t r : near) {
        if (left <= 0) break;
        const double take = std::min(left, spare[r]);
        if (take <= 0) continue;
        spare[r] -= take;
        left -= take;
        total += take;
        pairs.emplace_back(scorer.rtt(o, r), take);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());
  double acc = 0, p95 = 0;
  for (const auto& [v, w] : pairs) {
    acc += w;
    if (acc >= 0.95 * total) {
      p95 = v;
      break;
    }
  }
  ASSERT_GT(p95, 0);
  EXPECT_EQ(scorer.finish().p95_rtt_ms, p95);
}

TEST(IndexPaths, FleetObservesIntoAKeptMapAsObserveDoes) {
  SimulatedFleet f(FleetTimings{}, {"fra", "iad", "nrt"});
  FleetObservation kept;
  kept.regions["zzz"].running = 9;  // stale: not a region of the fleet
  f.advance(TimePoint{Duration{0}});
  f.apply({{"iad", 2}, {"nrt", 1}}, RetireAction::kDestroy);
  f.observe_into(kept);
  EXPECT_EQ(kept.regions.size(), 2u);
  EXPECT_EQ(kept.regions.at("iad").starting, 2);
  f.advance(TimePoint{Duration{60'000}});
  f.apply({{"fra", 1}, {"iad", 2}}, RetireAction::kDestroy);  // nrt emptied, fra filled
  f.observe_into(kept);
  const FleetObservation fresh = f.observe();
  ASSERT_EQ(kept.regions.size(), fresh.regions.size());
  for (const auto& [code, m] : fresh.regions) {
    ASSERT_EQ(kept.regions.count(code), 1u) << code;
    EXPECT_EQ(kept.regions.at(code).running, m.running) << code;
    EXPECT_EQ(kept.regions.at(code).starting, m.starting) << code;
  }
  EXPECT_EQ(kept.regions.count("nrt"), 0u);
  EXPECT_EQ(f.serving(f.region_index("iad")), 2);
}

TEST(IndexPaths, FleetAddsRegionsItWasNotBuiltWith) {
  SimulatedFleet f(FleetTimings{}, {"iad"});
  f.advance(TimePoint{Duration{0}});
  f.apply({{"ams", 1}, {"iad", 1}, {"zrh", 2}}, RetireAction::kStop);
  f.advance(TimePoint{Duration{60'000}});
  EXPECT_EQ(f.size(), 3u);
  EXPECT_EQ(f.serving("ams"), 1);
  EXPECT_EQ(f.serving("iad"), 1);
  EXPECT_EQ(f.serving("zrh"), 2);
  f.apply({{"zrh", 1}}, RetireAction::kStop);  // ams and iad absent: to zero
  EXPECT_EQ(f.serving("ams"), 0);
  EXPECT_EQ(f.serving("iad"), 0);
  EXPECT_EQ(f.observe().regions.at("iad").stopped, 1);
  EXPECT_EQ(f.counters().stops, 3);
}

TEST(IndexPaths, OracleDensePlacementIsItsMap) {
  PlacementPolicy policy;
  policy.spec.capacity.targetPerMachine = 10;
  policy.spec.capacity.maxPerRegion = 3;
  policy.spec.regions.pinned = {"syd"};
  OraclePlacer oracle(kOrigins, policy, catalog());
  const std::vector<double> demand{55, 12, 0, 3};
  const auto by_code = oracle.place(demand);
  std::vector<int> dense;
  oracle.place_dense(demand, dense);
  ASSERT_EQ(dense.size(), oracle.usable().size());
  for (std::size_t u = 0; u < dense.size(); ++u) {
    auto it = by_code.find(oracle.usable()[u]);
    EXPECT_EQ(dense[u], it == by_code.end() ? 0 : it->second) << oracle.usable()[u];
  }
  EXPECT_EQ(by_code.at("syd"), 1);
}

}  // namespace
}  // namespace autoplacer::backtest
