#pragma once
// Shared by the controller benchmarks (docs/performance.md, "Controller"): a traffic source whose
// demand the benchmark sets per app, standing in for the policy's Prometheus query. It answers at
// once, so what is measured is the controller, not a scrape interval or a rate() window.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/traffic_source.h"

namespace autoplacer::bench {

class SettableTrafficSource final : public metrics::TrafficSource {
 public:
  void set(const std::string& app, std::map<std::string, double> rps) {
    std::lock_guard lock(mu_);
    demand_[app] = std::move(rps);
  }
  boost::asio::awaitable<DemandReading> read(const PlacementPolicy& policy,
                                             TimePoint now) override {
    DemandReading r;
    r.at = now;
    r.known = true;
    std::lock_guard lock(mu_);
    if (auto it = demand_.find(policy.spec.app); it != demand_.end()) r.rps = it->second;
    co_return r;
  }
  boost::asio::awaitable<Result<std::vector<DemandReading>, std::string>> backfill(
      const PlacementPolicy&, TimePoint, TimePoint, Duration) override {
    co_return std::vector<DemandReading>{};  // a cold start
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, double>> demand_;
};

}  // namespace autoplacer::bench
