#include "controller/scenario_traffic_source.h"

#include <cmath>

namespace autoplacer::controller {
namespace asio = boost::asio;

ScenarioTrafficSource::ScenarioTrafficSource(sim::Scenario scenario, std::string app,
                                             TimePoint origin, double speed, bool loop)
    : scenario_(std::move(scenario)),
      app_(std::move(app)),
      origin_(origin),
      speed_(speed > 0 ? speed : 1),
      loop_(loop) {}

DemandReading ScenarioTrafficSource::demand_at(TimePoint now) const {
  DemandReading r;
  r.at = now;
  const double elapsed_ms = static_cast<double>((now - origin_).count()) * speed_;
  const auto length = scenario_.end() - scenario_.start();
  Duration offset{static_cast<std::int64_t>(std::max(0.0, elapsed_ms))};
  if (offset >= length) {
    if (!loop_ || length.count() <= 0) {
      r.known = true;  // the replay ended: the users are gone, which is known to be zero
      for (const auto& region : scenario_.regions()) r.rps[region] = 0;
      return r;
    }
    offset = Duration{offset.count() % length.count()};
  }
  r.known = true;
  r.rps = scenario_.demand_at(scenario_.start() + offset);
  return r;
}

asio::awaitable<DemandReading> ScenarioTrafficSource::read(const PlacementPolicy& policy,
                                                           TimePoint now) {
  if (policy.spec.app != app_) {
    DemandReading r;
    r.at = now;
    r.known = false;
    r.reason = "no traffic is replayed for app " + policy.spec.app;
    co_return r;
  }
  co_return demand_at(now);
}

asio::awaitable<Result<std::vector<DemandReading>, std::string>> ScenarioTrafficSource::backfill(
    const PlacementPolicy& policy, TimePoint from, TimePoint to, Duration step) {
  (void)policy, (void)from, (void)to, (void)step;
  // The replay starts when the controller starts: there is no history before it.
  co_return std::vector<DemandReading>{};
}

}  // namespace autoplacer::controller
