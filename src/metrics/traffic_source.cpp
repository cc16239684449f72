#include "metrics/traffic_source.h"

#include <algorithm>

namespace autoplacer::metrics {

Duration default_backfill_step(const PlacementPolicy& policy, std::size_t max_points) {
  const auto& t = policy.spec.traffic;
  Duration step = std::max(t.interval, Duration{1000});
  if (max_points < 2) max_points = 2;
  const auto points = static_cast<std::size_t>(t.historyWindow / step) + 1;
  if (points > max_points) {
    // Round up to whole seconds so the grid stays readable.
    const auto min_ms = (t.historyWindow.count() + static_cast<std::int64_t>(max_points) - 2) /
                        static_cast<std::int64_t>(max_points - 1);
    step = Duration{((min_ms + 999) / 1000) * 1000};
  }
  return step;
}

OriginMapping map_origins(const DemandReading& reading, const RegionCatalog& catalog) {
  OriginMapping m;
  auto add = [&](const std::string& origin) {
    if (m.toHostable.count(origin) != 0) return;
    if (std::find(m.unmapped.begin(), m.unmapped.end(), origin) != m.unmapped.end()) return;
    auto target = catalog.nearest_hostable(origin);
    if (!target) {
      m.unmapped.push_back(origin);
      return;
    }
    if (*target != origin) m.edgeOnly.push_back(origin);
    m.toHostable.emplace(origin, std::move(*target));
  };
  for (const auto& [origin, rps] : reading.rps) add(origin);
  for (const auto& [origin, why] : reading.unknown) add(origin);
  for (const auto& [origin, ms] : reading.p95LatencyMs) add(origin);
  std::sort(m.edgeOnly.begin(), m.edgeOnly.end());
  std::sort(m.unmapped.begin(), m.unmapped.end());
  return m;
}

std::map<std::string, double> demand_by_nearest_hostable(const DemandReading& reading,
                                                         const RegionCatalog& catalog) {
  std::map<std::string, double> out;
  for (const auto& [origin, rps] : reading.rps) {
    if (auto target = catalog.nearest_hostable(origin)) out[*target] += rps;
  }
  return out;
}

}  // namespace autoplacer::metrics
