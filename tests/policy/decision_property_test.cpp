// Properties of decide() over random policies, fleets and demand, with a fixed seed: bounds always
// hold, pinned regions are never empty, unknown never lowers anything, the same inputs give the
// same output, and a state restored from JSON decides exactly like the original.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "policy/decision.h"
#include "policy/decision_state.h"

namespace autoplacer {
namespace {

std::string text(const Decision& d) {
  std::ostringstream out;
  out << d.heldAll << d.heldReason << d.limited << "|";
  for (const auto& [r, n] : d.desired) out << r << "=" << n << ",";
  for (const auto& [r, x] : d.regions) {
    out << r << ":" << x.current << "/" << x.desired << "/" << x.proposed << "/"
        << to_string(x.reason) << "/" << x.message << ";";
  }
  for (const auto& l : d.limitedBy) out << l << ",";
  out << d.expectedMeanRttMs;
  return out.str();
}

struct World {
  std::mt19937_64 rng;
  PlacementPolicy policy;
  const RegionCatalog& catalog = RegionCatalog::builtin();
  std::vector<std::string> origins;

  explicit World(std::uint64_t seed) : rng(seed) {
    auto& s = policy.spec;
    std::uniform_int_distribution<int> coin(0, 3);
    const auto& hostable = catalog.hostable_codes();
    std::vector<std::string> pool = hostable;
    std::shuffle(pool.begin(), pool.end(), rng);
    if (coin(rng) == 0) s.regions.allowed.assign(pool.begin(), pool.begin() + 8);
    if (coin(rng) == 0) s.regions.excluded = {pool[9]};
    s.regions.pinned = {pool[0]};
    if (coin(rng) == 0) s.regions.pinned.push_back(pool[1]);
    s.capacity.targetPerMachine = std::uniform_real_distribution<double>(5, 100)(rng);
    s.capacity.minPerRegion = coin(rng) == 0 ? 2 : 0;
    s.capacity.maxPerRegion = std::uniform_int_distribution<int>(3, 8)(rng);
    s.capacity.maxTotal = std::uniform_int_distribution<int>(6, 30)(rng);
    s.capacity.minTotal = std::uniform_int_distribution<int>(0, 4)(rng);
    s.placement.strategy = coin(rng) == 0 ? Strategy::kThreshold : Strategy::kLatency;
    s.placement.costWeightMs = std::uniform_real_distribution<double>(0, 40)(rng);
    s.placement.maxRttMs = coin(rng) == 0 ? 80 : 0;
    s.placement.partialRegions = coin(rng) == 0;
    s.forecast.model = coin(rng) == 0 ? ForecastModel::kEwma : ForecastModel::kHoltWinters;
    s.forecast.seasonStep = 30min;  // short season so Holt-Winters warms up within the run
    s.forecast.season = 6h;
    s.behavior.scaleDown.stabilizationWindow = std::chrono::seconds(coin(rng) * 60);
    if (coin(rng) == 0) s.behavior.scaleUp.select = SelectPolicy::kMin;
    s.behavior.maxCreatesPerPass = coin(rng) == 0 ? 2 : 10;
    if (coin(rng) == 0) {
      s.onMetricsUnavailable.action = MetricsUnavailableAction::kStatic;
      s.onMetricsUnavailable.after = 2min;
      s.onMetricsUnavailable.staticPlacement = {{pool[2], 2}};
    }
    for (const Region& r : catalog.regions()) {
      if (coin(rng) != 0) origins.push_back(r.code);
    }
  }

  DemandReading demand(TimePoint now) {
    DemandReading d;
    d.at = now;
    std::uniform_int_distribution<int> die(0, 19);
    d.known = die(rng) != 0;
    if (!d.known) {
      d.reason = "query failed";
      return d;
    }
    std::lognormal_distribution<double> size(2.5, 1.5);
    for (const std::string& o : origins) {
      const int roll = die(rng);
      if (roll == 0)
        d.unknown[o] = "stale";
      else if (roll > 4)
        d.rps[o] = size(rng);
    }
    return d;
  }
};

int total(const Decision& d) {
  int t = 0;
  for (const auto& kv : d.desired) t += kv.second;
  return t;
}

// The candidate that serves `origin` now: the nearest with machines.
std::string serving(const RegionCatalog& c, const FleetObservation& f, const std::string& origin,
                    const PlacementPolicySpec& s) {
  std::string best;
  for (const auto& [r, m] : f.regions) {
    if (m.active() <= 0) continue;
    const bool allowed = s.regions.allowed.empty() ||
                         std::count(s.regions.allowed.begin(), s.regions.allowed.end(), r);
    if (!allowed || std::count(s.regions.excluded.begin(), s.regions.excluded.end(), r)) continue;
    if (best.empty() || c.rtt_ms(origin, r) < c.rtt_ms(origin, best)) best = r;
  }
  return best;
}

TEST(DecideProperties, RandomWorlds) {
  int decisions = 0, held = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    World w(seed * 7919);
    const auto& s = w.policy.spec;
    DecisionState state;
    FleetObservation fleet;
    TimePoint now = from_unix_seconds(1'700'000'000);
    std::uniform_int_distribution<int> step(5, 600);
    for (int pass = 0; pass < 60; ++pass) {
      now += std::chrono::seconds(step(w.rng));
      DecisionInput in;
      in.policy = &w.policy;
      in.catalog = &w.catalog;
      in.fleet = fleet;
      in.now = now;
      in.demand = w.demand(now);

      // Determinism and JSON round trip: copies of the state decide alike. The round trip (about
      // 100 KB of JSON each way) is checked every 4th pass to keep the test fast.
      DecisionState copy = state;
      const bool round_trip = pass % 4 == 0;
      std::optional<Result<DecisionState, std::string>> restored;
      if (round_trip) {
        restored.emplace(
            decision_state_from_json(boost::json::parse(boost::json::serialize(to_json(state)))));
        ASSERT_TRUE(restored->ok()) << restored->error();
      }
      const Decision d = decide(in, state);
      const Decision d_copy = decide(in, copy);
      ASSERT_EQ(text(d), text(d_copy)) << "seed " << seed << " pass " << pass;
      if (round_trip) {
        const Decision d_restored = decide(in, **restored);
        ASSERT_EQ(text(d), text(d_restored)) << "seed " << seed << " pass " << pass;
      }
      // Safe to repeat.
      ASSERT_EQ(text(d), text(decide(in, copy))) << "seed " << seed << " pass " << pass;
      ++decisions;

      const bool hold_all = !in.demand.known && !d.regions.empty() &&
                            d.regions.begin()->second.reason != ReasonCode::kStaticFallback;
      // Unknown never lowers anything.
      if (d.heldAll) {
        ++held;
        for (const auto& [r, m] : fleet.regions) {
          EXPECT_GE(d.desired.count(r) ? d.desired.at(r) : 0, m.active()) << r;
        }
      }
      for (const auto& [o, why] : in.demand.unknown) {
        const std::string r = serving(w.catalog, fleet, o, s);
        if (r.empty()) continue;
        EXPECT_GE(d.desired.count(r) ? d.desired.at(r) : 0, fleet.regions.at(r).active())
            << "unknown origin " << o << " served by " << r << " seed " << seed;
      }
      // Pinned never empty.
      for (const std::string& p : s.regions.pinned) {
        const bool excluded = std::count(s.regions.excluded.begin(), s.regions.excluded.end(), p);
        const bool allowed = s.regions.allowed.empty() ||
                             std::count(s.regions.allowed.begin(), s.regions.allowed.end(), p);
        if (allowed && !excluded) {
          EXPECT_GE(d.desired.count(p) ? d.desired.at(p) : 0, std::max(1, s.capacity.minPerRegion))
              << "pinned " << p << " seed " << seed;
        }
      }
      // Bounds (the fleet only ever follows decisions, so a hold cannot exceed them either).
      EXPECT_LE(total(d), s.capacity.maxTotal) << "seed " << seed << " pass " << pass;
      EXPECT_GE(total(d), s.capacity.minTotal) << "seed " << seed << " pass " << pass;
      for (const auto& [r, n] : d.desired) {
        EXPECT_GT(n, 0);
        EXPECT_LE(n, s.capacity.maxPerRegion) << r;
        EXPECT_GE(n, s.capacity.minPerRegion) << r;
        EXPECT_TRUE(w.catalog.hostable(r)) << r;
        if (!hold_all) {
          EXPECT_TRUE(s.regions.allowed.empty() ||
                      std::count(s.regions.allowed.begin(), s.regions.allowed.end(), r))
              << r;
          EXPECT_FALSE(std::count(s.regions.excluded.begin(), s.regions.excluded.end(), r)) << r;
        }
      }
      // State stays bounded.
      if (pass % 20 == 0) {
        EXPECT_LT(serialized_size(state), 256U * 1024U);
      }

      // The fleet follows (all machines serve at once).
      fleet.regions.clear();
      for (const auto& [r, n] : d.desired) fleet.regions[r].running = n;
    }
  }
  EXPECT_EQ(decisions, 40 * 60);
  EXPECT_GT(held, 0);
}

}  // namespace
}  // namespace autoplacer
