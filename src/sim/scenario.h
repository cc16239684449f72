#pragma once
// A traffic scenario: demand (req/s) by origin region over uniform time steps, read from the CSV
// format `timestamp,region,rps` (unix seconds at the start of the step). flysim replays it as
// Fly-style edge counters; the backtest replays it through the decision core.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace autoplacer::sim {

class Scenario {
 public:
  // Errors name the line: "name:12: rps is not a number".
  static Result<Scenario, std::string> load_csv(const std::string& path);
  static Result<Scenario, std::string> parse_csv(std::string_view text, std::string_view name);

  const std::string& name() const { return name_; }
  // Origin regions in order of first appearance.
  const std::vector<std::string>& regions() const { return regions_; }
  std::size_t step_count() const { return step_count_; }
  Duration step() const { return step_; }
  TimePoint start() const { return start_; }
  // The end of the last step.
  TimePoint end() const { return start_ + step_ * static_cast<std::int64_t>(step_count_); }
  TimePoint step_time(std::size_t i) const { return start_ + step_ * static_cast<std::int64_t>(i); }

  double rps(std::size_t step, std::size_t region) const {
    return rps_[step * regions_.size() + region];
  }
  double total_rps(std::size_t step) const;
  // The largest single-region demand over the whole scenario.
  double peak_region_rps() const;

  // The step containing t, clamped to the first and last step.
  std::size_t step_index(TimePoint t) const;
  // Demand by region at t (the step containing t).
  std::map<std::string, double> demand_at(TimePoint t) const;

 private:
  std::string name_;
  std::vector<std::string> regions_;
  std::size_t step_count_ = 0;
  Duration step_{0};
  TimePoint start_{};
  std::vector<double> rps_;  // step-major: rps_[step * regions + region]
};

}  // namespace autoplacer::sim
