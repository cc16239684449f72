#pragma once
// A TrafficSource that reads the demand a scenario replay is producing right now: what flysim's
// edge counters grow by (sim/edge_traffic.h), without a Prometheus in between. `autoplacer run`
// uses it when it embeds flysim (no Fly token, no Prometheus URL), so the demo needs nothing but
// the binary. The mapping of time is flysim's: scenario time = start + (now - origin) * speed,
// and past the end demand drops to zero unless the replay loops.
#include "common/clock.h"
#include "metrics/traffic_source.h"
#include "sim/scenario.h"

namespace autoplacer::controller {

class ScenarioTrafficSource final : public metrics::TrafficSource {
 public:
  // app: the app whose traffic this is (other apps read as unknown: nothing is known of them).
  ScenarioTrafficSource(sim::Scenario scenario, std::string app, TimePoint origin, double speed,
                        bool loop);

  boost::asio::awaitable<DemandReading> read(const PlacementPolicy& policy, TimePoint now) override;
  boost::asio::awaitable<Result<std::vector<DemandReading>, std::string>> backfill(
      const PlacementPolicy& policy, TimePoint from, TimePoint to, Duration step) override;

  // Demand at `now` (for the live log and tests).
  DemandReading demand_at(TimePoint now) const;

 private:
  sim::Scenario scenario_;
  std::string app_;
  TimePoint origin_;
  double speed_;
  bool loop_;
};

}  // namespace autoplacer::controller
