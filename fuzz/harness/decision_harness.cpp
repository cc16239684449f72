// Harness for the decision core (policy/decision.h): a policy, then a run of passes with demand,
// unknowns, odd values (NaN, infinities, negatives, huge and tiny numbers) and time jumps, all
// chosen by the input bytes. The fleet follows each decision, as a converged controller's would.
//
// Properties, at every pass (the same ones tests/policy/decision_property_test.cpp checks on
// random worlds, here on worlds the fuzzer steers toward odd corners):
//   - deterministic: a copy of the state, and the state restored from its JSON, decide alike;
//   - bounds: 0 < machines <= maxPerRegion per region, total <= maxTotal, and total >= minTotal
//     unless no step toward it fits within maxTotal; only hostable, allowed, not excluded regions
//     (unless everything is held);
//   - pinned regions never empty; unknown demand everywhere lowers nothing;
//   - the state stays under 256 KB.
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "byte_reader.h"
#include "harness.h"
#include "policy/decision.h"
#include "policy/decision_state.h"

namespace autoplacer::fuzz {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

PlacementPolicy policy_from(ByteReader& in, const RegionCatalog& catalog) {
  PlacementPolicy p;
  p.metadata.name = "fuzz";
  auto& s = p.spec;
  s.app = "fuzz-app";
  const auto& hostable = catalog.hostable_codes();
  // allowed: empty (all) or a non-empty subset; excluded: at most one region.
  if (in.coin()) {
    for (const auto& r : hostable) {
      if (in.coin()) s.regions.allowed.push_back(r);
    }
  }
  std::vector<std::string> usable = s.regions.allowed.empty() ? hostable : s.regions.allowed;
  if (in.coin() && usable.size() > 1) {
    const auto i = static_cast<std::size_t>(in.in_range(0, static_cast<int>(usable.size()) - 1));
    s.regions.excluded.push_back(usable[i]);
    usable.erase(usable.begin() + static_cast<std::ptrdiff_t>(i));
  }
  const int pins = in.in_range(0, 2);
  for (int k = 0; k < pins && !usable.empty(); ++k) {
    const auto& r =
        usable[static_cast<std::size_t>(in.in_range(0, static_cast<int>(usable.size()) - 1))];
    if (!contains(s.regions.pinned, r)) s.regions.pinned.push_back(r);
  }

  static constexpr double kTargets[] = {0.5, 5, 20, 50, 100, 1000};
  s.capacity.targetPerMachine = kTargets[in.in_range(0, 5)];
  s.capacity.minPerRegion = in.in_range(0, 2);
  s.capacity.maxPerRegion = std::max(std::max(1, s.capacity.minPerRegion), in.in_range(1, 8));
  const int floor_total =
      static_cast<int>(s.regions.pinned.size()) * std::max(1, s.capacity.minPerRegion);
  // The loader refuses a budget below minPerRegion or below what the pinned regions need.
  s.capacity.maxTotal = std::max({floor_total, s.capacity.minPerRegion, in.in_range(1, 30)});
  s.capacity.minTotal = std::min(in.in_range(0, 4), s.capacity.maxTotal);
  const int reachable = static_cast<int>(usable.size()) * s.capacity.maxPerRegion;
  s.capacity.minTotal = std::min(s.capacity.minTotal, reachable);

  // One draw picks the strategy and placement.partialRegions (off for a quarter of the inputs),
  // so the committed corpus and regression inputs keep their byte layout.
  const int placement_draw = in.in_range(0, 3);
  s.placement.strategy = placement_draw == 0 ? Strategy::kThreshold : Strategy::kLatency;
  s.placement.partialRegions = placement_draw != 3;
  s.placement.costWeightMs = in.in_range(0, 60);
  s.placement.maxRttMs = in.coin() ? in.in_range(10, 200) : 0;
  s.forecast.model = in.coin() ? ForecastModel::kEwma : ForecastModel::kHoltWinters;
  s.forecast.seasonStep = std::chrono::minutes(in.in_range(1, 30));
  s.forecast.season = s.forecast.seasonStep * in.in_range(2, 48);
  s.behavior.tolerance = in.in_range(0, 30) / 100.0;
  s.behavior.scaleUp.stabilizationWindow = std::chrono::seconds(in.in_range(0, 3) * 60);
  s.behavior.scaleDown.stabilizationWindow = std::chrono::seconds(in.in_range(0, 6) * 60);
  if (in.coin()) s.behavior.scaleUp.select = SelectPolicy::kMin;
  s.behavior.cooldownAfterAdd = std::chrono::seconds(in.in_range(0, 900));
  s.behavior.cooldownAfterRemove = std::chrono::seconds(in.in_range(0, 900));
  s.behavior.maxCreatesPerPass = in.in_range(1, 10);
  if (in.in_range(0, 3) == 0) {
    s.onMetricsUnavailable.action = MetricsUnavailableAction::kStatic;
    s.onMetricsUnavailable.after = std::chrono::seconds(in.in_range(0, 600));
    if (!usable.empty()) {
      const auto& r =
          usable[static_cast<std::size_t>(in.in_range(0, static_cast<int>(usable.size()) - 1))];
      s.onMetricsUnavailable.staticPlacement[r] =
          std::min(s.capacity.maxPerRegion, std::min(s.capacity.maxTotal, in.in_range(1, 3)));
    }
  }
  return p;
}

double odd_or_plain(ByteReader& in) {
  switch (const int b = in.byte(); b) {
    case 0:
      return 0.0;
    case 1:
      return std::numeric_limits<double>::quiet_NaN();
    case 2:
      return std::numeric_limits<double>::infinity();
    case 3:
      return -1.0;
    case 4:
      return 1e-12;
    case 5:
      return 1e12;
    case 6:
      return std::numeric_limits<double>::max();
    case 7:
      return std::numeric_limits<double>::denorm_min();
    default:
      return (b - 7) * (b - 7) / 10.0;  // 0.1 .. 6000 req/s
  }
}

DemandReading demand_from(ByteReader& in, const std::vector<std::string>& origins, TimePoint now) {
  DemandReading d;
  d.at = now;
  d.known = in.in_range(0, 7) != 0;
  if (!d.known) {
    d.reason = "query failed";
    return d;
  }
  for (const auto& o : origins) {
    const int kind = in.in_range(0, 9);
    if (kind == 0) continue;  // absent from a known read: zero
    if (kind == 1) {
      d.unknown[o] = "stale";
    } else {
      d.rps[o] = odd_or_plain(in);
      if (kind == 2) d.p95LatencyMs[o] = odd_or_plain(in);
    }
  }
  return d;
}

int total(const Decision& d) {
  int t = 0;
  for (const auto& kv : d.desired) t += kv.second;
  return t;
}

bool same(const Decision& a, const Decision& b) {
  if (a.desired != b.desired || a.heldAll != b.heldAll || a.limited != b.limited ||
      a.regions.size() != b.regions.size()) {
    return false;
  }
  for (const auto& [r, x] : a.regions) {
    const auto it = b.regions.find(r);
    if (it == b.regions.end() || it->second.desired != x.desired || it->second.reason != x.reason ||
        it->second.message != x.message) {
      return false;
    }
  }
  return true;
}

}  // namespace

void decision(std::string_view data) {
  ByteReader in(data);
  const RegionCatalog& catalog = RegionCatalog::builtin();
  const PlacementPolicy policy = policy_from(in, catalog);
  const auto& s = policy.spec;

  // Origins: any catalog region, hostable or edge-only, plus one the catalog does not know.
  std::vector<std::string> origins;
  for (const Region& r : catalog.regions()) {
    if (in.in_range(0, 3) == 0) origins.push_back(r.code);
  }
  if (in.coin()) origins.push_back("zz9");

  DecisionState state;
  FleetObservation fleet;
  TimePoint now = from_unix_seconds(1'700'000'000);
  const int passes = in.in_range(1, 12);
  for (int pass = 0; pass < passes; ++pass) {
    now +=
        std::chrono::seconds(in.in_range(0, 3) == 0 ? in.in_range(0, 86'400) : in.in_range(1, 120));
    DecisionInput input;
    input.policy = &policy;
    input.catalog = &catalog;
    input.fleet = fleet;
    input.fleet.at = now;
    input.now = now;
    input.demand = demand_from(in, origins, now);
    if (in.in_range(0, 7) == 0)
      input.measuredTimeToServe = std::chrono::seconds(in.in_range(0, 600));

    DecisionState copy = state;
    auto restored =
        decision_state_from_json(boost::json::parse(boost::json::serialize(to_json(state))));
    AP_FUZZ_CHECK(restored.ok());
    const Decision d = decide(input, state);
    AP_FUZZ_CHECK(same(d, decide(input, copy)));
    AP_FUZZ_CHECK(same(d, decide(input, *restored)));

    if (d.heldAll) {
      for (const auto& [r, m] : fleet.regions) {
        AP_FUZZ_CHECK((d.desired.count(r) ? d.desired.at(r) : 0) >= m.active());
      }
    }
    for (const std::string& p : s.regions.pinned) {
      AP_FUZZ_CHECK((d.desired.count(p) ? d.desired.at(p) : 0) >=
                    std::max(1, s.capacity.minPerRegion));
    }
    AP_FUZZ_CHECK(total(d) <= s.capacity.maxTotal);
    if (total(d) < s.capacity.minTotal) {
      // Only when no step toward minTotal fits within maxTotal: a new region takes
      // max(1, minPerRegion) machines, a region in use grows by one up to maxPerRegion
      // (minTotal 3 = maxTotal with 2 machines a region stays at 2).
      AP_FUZZ_CHECK(total(d) + std::max(1, s.capacity.minPerRegion) > s.capacity.maxTotal);
      for (const auto& [r, n] : d.desired) {
        AP_FUZZ_CHECK(n >= s.capacity.maxPerRegion || total(d) + 1 > s.capacity.maxTotal);
      }
    }
    const bool hold_all =
        d.heldAll || (!input.demand.known && !d.regions.empty() &&
                      d.regions.begin()->second.reason != ReasonCode::kStaticFallback);
    for (const auto& [r, n] : d.desired) {
      AP_FUZZ_CHECK(n > 0);
      AP_FUZZ_CHECK(n <= s.capacity.maxPerRegion);
      AP_FUZZ_CHECK(n >= s.capacity.minPerRegion);
      AP_FUZZ_CHECK(catalog.hostable(r));
      if (!hold_all) {
        AP_FUZZ_CHECK(s.regions.allowed.empty() || contains(s.regions.allowed, r));
        AP_FUZZ_CHECK(!contains(s.regions.excluded, r));
      }
    }
    AP_FUZZ_CHECK(std::isfinite(d.expectedMeanRttMs));
    AP_FUZZ_CHECK(serialized_size(state) < 256U * 1024U);

    fleet.regions.clear();
    for (const auto& [r, n] : d.desired) {
      // Sometimes the world lags: part of the new machines are still starting.
      const int starting = in.in_range(0, 3) == 0 ? n / 2 : 0;
      fleet.regions[r].running = n - starting;
      fleet.regions[r].starting = starting;
    }
  }
}

}  // namespace autoplacer::fuzz
