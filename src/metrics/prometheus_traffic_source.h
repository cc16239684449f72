#pragma once
// The real TrafficSource: a policy's PromQL (with $APP and other variables expanded) read through
// a PrometheusApi, interpreted with "unknown is not zero" rules. The interpretation is pure
// (interpret_* below) so every rule is table-tested without I/O. See docs/traffic.md.
#include <memory>
#include <set>
#include <string>

#include "metrics/prometheus_api.h"
#include "metrics/traffic_source.h"

namespace autoplacer::metrics {

// The label that names the origin region in a query's answer.
inline constexpr const char* kRegionLabel = "region";

// Demand from an instant query's answer. The reading is unknown (known == false, with a reason)
// when the query failed, answered an error or not a vector, answered an empty vector, a series
// lacks the `region` label, or no region has a usable sample. A region whose sample is NaN,
// infinite, negative or older than `staleness` is listed in `unknown`. Regions absent from a
// known reading are zero. Two series of the same region are added (a query that forgot to
// aggregate over `proxy_id` still gives the total).
DemandReading interpret_demand(const PromResult& answer, TimePoint now, Duration staleness);

// Observed latency (seconds in the answer, milliseconds out) per origin region: usable samples
// only (finite, >= 0, fresh). Latency is advisory, so a failure just gives an empty map. Two
// series of the same region: the larger wins (a quantile cannot be added).
std::map<std::string, double> interpret_latency_ms(const PromResult& answer, TimePoint now,
                                                   Duration staleness);

// History from a range query's answer, on the grid from, from+step, ... <= to: one reading per
// grid time, judged like an instant answer (without the staleness rule: each point is as old as
// its grid time). A grid time no series has a point at is a reading with known == false.
// An error only when the answer itself is unusable (failed, not a matrix, no region label).
Result<std::vector<DemandReading>, std::string> interpret_range(const PromResult& answer,
                                                                TimePoint from, TimePoint to,
                                                                Duration step);

struct PrometheusTrafficSourceOptions {
  // Queries are also abandoned by the source itself this long after traffic.queryTimeout, in
  // case an API implementation overruns its own deadline.
  Duration watchdogGrace{2000};
  // Prometheus refuses range queries of more than 11,000 points per series; longer backfills are
  // split into several range queries on the same grid.
  std::size_t maxPointsPerRangeQuery = 11000;
};

class PrometheusTrafficSource final : public TrafficSource {
 public:
  // `catalog` must outlive the source; the controller may refresh it in place (on the same
  // executor) and the next read sees the refreshed catalog.
  PrometheusTrafficSource(std::shared_ptr<PrometheusApi> api, const RegionCatalog& catalog,
                          PrometheusTrafficSourceOptions options = {});

  boost::asio::awaitable<DemandReading> read(const PlacementPolicy& policy, TimePoint now) override;
  boost::asio::awaitable<Result<std::vector<DemandReading>, std::string>> backfill(
      const PlacementPolicy& policy, TimePoint from, TimePoint to, Duration step) override;

  // How the origins of the last known read map onto hostable regions.
  const OriginMapping& last_mapping() const { return last_mapping_; }

 private:
  boost::asio::awaitable<PromResult> guarded(boost::asio::awaitable<PromResult> op,
                                             Duration timeout);
  void note_mapping(const DemandReading& reading);

  std::shared_ptr<PrometheusApi> api_;
  const RegionCatalog& catalog_;
  PrometheusTrafficSourceOptions options_;
  OriginMapping last_mapping_;
  std::set<std::string> warned_unmapped_;
};

}  // namespace autoplacer::metrics
