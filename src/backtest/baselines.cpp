#include "backtest/baselines.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace autoplacer::backtest {
namespace {

// Machines for `rps` of demand; a tiny tolerance keeps 20.000000001 / 10 from asking for 3.
int machines_for(double rps, double target) {
  if (rps <= 0) return 0;
  return static_cast<int>(std::ceil(rps / target - 1e-9));
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::vector<std::string> usable_regions(const PlacementPolicy& policy,
                                        const RegionCatalog& catalog) {
  const RegionsSpec& spec = policy.spec.regions;
  std::vector<std::string> out;
  const std::vector<std::string>& from =
      spec.allowed.empty() ? catalog.hostable_codes() : spec.allowed;
  for (const std::string& code : from) {
    if (!catalog.hostable(code) || contains(spec.excluded, code) || contains(out, code)) continue;
    out.push_back(code);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string nearest_usable(const std::string& origin, const std::vector<std::string>& usable,
                           const RegionCatalog& catalog) {
  std::string best;
  double best_rtt = 0;
  for (const std::string& r : usable) {
    const double rtt = catalog.rtt_ms(origin, r);
    if (best.empty() || rtt < best_rtt) {
      best = r;
      best_rtt = rtt;
    }
  }
  return best;
}

std::map<std::string, int> static_placement(const sim::Scenario& scenario,
                                            const PlacementPolicy& policy,
                                            const RegionCatalog& catalog) {
  const std::vector<std::string> usable = usable_regions(policy, catalog);
  std::map<std::string, double> peak_by_region;
  for (std::size_t o = 0; o < scenario.regions().size(); ++o) {
    double peak = 0;
    for (std::size_t s = 0; s < scenario.step_count(); ++s)
      peak = std::max(peak, scenario.rps(s, o));
    const std::string region = nearest_usable(scenario.regions()[o], usable, catalog);
    if (region.empty()) continue;
    peak_by_region[region] += peak;
  }
  const CapacitySpec& cap = policy.spec.capacity;
  std::map<std::string, int> out;
  for (const auto& [region, peak] : peak_by_region) {
    const int n = std::max(machines_for(peak, cap.targetPerMachine), 1);
    out[region] = std::max(n, cap.minPerRegion);
  }
  for (const std::string& p : policy.spec.regions.pinned) {
    if (!contains(usable, p)) continue;
    out[p] = std::max(out[p], std::max(1, cap.minPerRegion));
  }
  return out;
}

OraclePlacer::OraclePlacer(const std::vector<std::string>& origins, const PlacementPolicy& policy,
                           const RegionCatalog& catalog)
    : usable_(usable_regions(policy, catalog)),
      target_(policy.spec.capacity.targetPerMachine),
      min_per_region_(policy.spec.capacity.minPerRegion),
      max_per_region_(policy.spec.capacity.maxPerRegion) {
  for (const std::string& u : usable_) pinned_.push_back(contains(policy.spec.regions.pinned, u));
  for (const std::string& o : origins) {
    std::vector<std::size_t> idx(usable_.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return catalog.rtt_ms(o, usable_[a]) < catalog.rtt_ms(o, usable_[b]);
    });
    by_distance_.push_back(std::move(idx));
  }
}

std::map<std::string, int> OraclePlacer::place(const std::vector<double>& demand) const {
  std::vector<int> machines;
  place_dense(demand, machines);
  std::map<std::string, int> out;
  for (std::size_t r = 0; r < usable_.size(); ++r) {
    if (machines[r] > 0) out[usable_[r]] = machines[r];
  }
  return out;
}

void OraclePlacer::place_dense(const std::vector<double>& demand,
                               std::vector<int>& machines) const {
  std::vector<double> assigned(usable_.size(), 0.0);
  const double room_per_region = max_per_region_ * target_;
  std::vector<std::size_t> order(demand.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return demand[a] > demand[b]; });
  for (std::size_t o : order) {
    double left = demand[o];
    for (std::size_t r : by_distance_[o]) {
      if (left <= 0) break;
      const double take = std::min(left, room_per_region - assigned[r]);
      if (take <= 0) continue;
      assigned[r] += take;
      left -= take;
    }
  }
  machines.assign(usable_.size(), 0);
  for (std::size_t r = 0; r < usable_.size(); ++r) {
    int n = std::min(machines_for(assigned[r], target_), max_per_region_);
    if (n > 0) n = std::max(n, min_per_region_);
    if (pinned_[r]) n = std::max(n, std::max(1, min_per_region_));
    machines[r] = std::max(n, 0);
  }
}

}  // namespace autoplacer::backtest
