#pragma once
// Replays a Scenario as Fly-style edge metrics: for every origin region, responses accumulate at
// the scenario's rps, and each response's latency follows from the distance between the origin
// and the nearest region where the app has a machine serving (RegionCatalog::rtt_ms plus a
// service time). With no serving machine the proxy answers 503 after a long wait.
//
// Time: the scenario plays `speed` times faster than the flysim clock, starting at `origin`.
// Counters grow by rps * (flysim-clock seconds), so `rate(fly_edge_http_responses_count[1m])`
// measured on the flysim clock reads the rps of the scenario step being replayed: a faster replay
// compresses the day, not the request rate.
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "policy/regions.h"
#include "sim/scenario.h"

namespace autoplacer::sim {

class EdgeTraffic {
 public:
  struct Options {
    std::string app = "demo-app";
    double speed = 1;
    TimePoint origin{};  // flysim-clock time at which the scenario's first step plays
    bool loop = false;   // replay again from the start after the end; else demand drops to 0
    double service_ms = 15;
    double unavailable_latency_s = 2.0;  // 503s when nothing serves
  };
  static constexpr std::array<double, 12> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1,    2.5,   5,    10,  30};

  EdgeTraffic(Scenario scenario, const RegionCatalog& regions, Options options);

  // The scenario time being replayed at flysim-clock time `now`; nullopt past the end (no loop).
  std::optional<TimePoint> scenario_time(TimePoint now) const;

  // Integrates demand from the previous call up to `now` with this set of serving regions.
  void advance(TimePoint now, const std::vector<std::string>& serving_regions);

  // Median latency for requests from `origin` when machines serve in `serving` (ms); nullopt if
  // nothing serves.
  std::optional<double> latency_ms(const std::string& origin,
                                   const std::vector<std::string>& serving) const;

  double responses(const std::string& region, const std::string& status) const;
  // Prometheus text exposition of the edge series.
  std::string prometheus_text() const;
  const Scenario& scenario() const { return scenario_; }
  const Options& options() const { return options_; }

 private:
  struct Series {
    double count = 0;
    double sum = 0;
    std::array<double, kBuckets.size()> buckets{};  // non-cumulative
  };
  void add(const std::string& region, const std::string& status, double n, double latency_s);

  Scenario scenario_;
  const RegionCatalog& regions_;
  Options options_;
  std::optional<TimePoint> last_;
  std::map<std::pair<std::string, std::string>, Series> series_;  // (region, status)
};

}  // namespace autoplacer::sim
