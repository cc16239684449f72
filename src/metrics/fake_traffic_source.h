#pragma once
// A TrafficSource for controller tests: readings are whatever the test says, stamped with the
// time the controller asked for. Single-threaded (use it on one executor).
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "metrics/traffic_source.h"

namespace autoplacer::metrics {

class FakeTrafficSource final : public TrafficSource {
 public:
  using Handler = std::function<DemandReading(const PlacementPolicy&, TimePoint)>;

  // The steady answer: known demand (regions absent are zero) and optional latency.
  void set_demand(std::map<std::string, double> rps,
                  std::map<std::string, double> p95_latency_ms = {});
  // One region's value unknown (in the steady answer), with a reason.
  void set_region_unknown(const std::string& region, const std::string& reason);
  // Every read unknown with this reason (a failed query) until set_demand() is called again.
  void set_unknown(std::string reason);
  // Readings returned once each, in order, before the steady answer (their `at` is overwritten
  // with the time asked for).
  void push(DemandReading reading);
  // Full control: called for every read (after queued readings run out) instead of the steady
  // answer; e.g. a scenario replay. An empty function restores the steady answer.
  void set_handler(Handler handler);

  // What backfill() returns: readings (filtered to [from, to]) or an error.
  void set_history(std::vector<DemandReading> history);
  void fail_backfill(std::string error);

  boost::asio::awaitable<DemandReading> read(const PlacementPolicy& policy, TimePoint now) override;
  boost::asio::awaitable<Result<std::vector<DemandReading>, std::string>> backfill(
      const PlacementPolicy& policy, TimePoint from, TimePoint to, Duration step) override;

  // What was asked.
  int reads() const { return reads_; }
  int backfills() const { return backfills_; }
  const std::vector<std::string>& apps_read() const { return apps_read_; }
  TimePoint last_read_at() const { return last_read_at_; }

 private:
  DemandReading steady_{};
  std::deque<DemandReading> queued_;
  Handler handler_;
  std::vector<DemandReading> history_;
  std::string backfill_error_;
  int reads_ = 0;
  int backfills_ = 0;
  std::vector<std::string> apps_read_;
  TimePoint last_read_at_{};
};

}  // namespace autoplacer::metrics
