#pragma once
// Where demand comes from: per policy, requests per second by ORIGIN region (where users enter
// Fly's network), with what is unknown and why. Implementations: PrometheusTrafficSource (the
// real one), FakeTrafficSource (tests). See docs/traffic.md.
#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "policy/observation.h"
#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer::metrics {

class TrafficSource {
 public:
  virtual ~TrafficSource() = default;

  // `policy` is read across suspension points: it must outlive the call.
  // Demand by origin region at `now`. Never fails as a call: a failure is a reading with
  // known == false and a reason (unknown is not zero). Bounded by traffic.queryTimeout.
  virtual boost::asio::awaitable<DemandReading> read(const PlacementPolicy& policy,
                                                     TimePoint now) = 0;

  // Demand history for a warm start: one reading per `step` from `from` to `to` (inclusive),
  // oldest first. Times with no data are readings with known == false (a gap, not zero). An error
  // means the history could not be read at all; the caller starts cold.
  virtual boost::asio::awaitable<Result<std::vector<DemandReading>, std::string>> backfill(
      const PlacementPolicy& policy, TimePoint from, TimePoint to, Duration step) = 0;
};

// The backfill step a controller should use by default: the policy's pass interval, made coarser
// when the history window would otherwise need more than `max_points` readings.
Duration default_backfill_step(const PlacementPolicy& policy, std::size_t max_points = 11000);

// Demand stays keyed by origin region (the decision core computes RTT from where users really
// are). Machines can only run in hostable regions; this is how origins map onto them.
struct OriginMapping {
  std::map<std::string, std::string> toHostable;  // origin -> itself or nearest hostable region
  std::vector<std::string> edgeOnly;              // origins that are edge-only (mapped elsewhere)
  std::vector<std::string> unmapped;              // origin codes the catalog does not know
};
OriginMapping map_origins(const DemandReading& reading, const RegionCatalog& catalog);

// The reading's known demand folded onto nearest hostable regions (for display and simple
// strategies; the latency strategy works on origins). Unknown origin codes are left out.
std::map<std::string, double> demand_by_nearest_hostable(const DemandReading& reading,
                                                         const RegionCatalog& catalog);

}  // namespace autoplacer::metrics
