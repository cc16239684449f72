#pragma once
// Scores a placement timeline against a scenario's demand, exactly as the independent
// score_timeline.py does (docs/backtest.md): each step, origins (largest first) are served by the
// nearest regions with spare capacity (running x capacity per machine); what finds no capacity is
// unserved. The arithmetic mirrors the script operation for operation (same RTT formula, same
// summation order, same tie-breaking, same rounding), so the two agree to the last printed digit.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/regions.h"

namespace autoplacer::backtest {

// RTT in ms between two coordinates: 5 ms + great-circle km / 70, computed as the script does.
double scorer_rtt_ms(const Region& a, const Region& b);

// Python's round(x, digits) for the values the script prints (correctly rounded, ties to even).
double round_like_python(double x, int digits);

// What the script prints, before and after rounding.
struct Score {
  std::size_t steps = 0;
  std::int64_t step_s = 0;
  std::optional<double> mean_rtt_ms;  // traffic-weighted over served demand; none if none served
  double p95_rtt_ms = 0;
  double unserved_fraction = 0;
  double machine_hours = 0;
  int changes = 0;  // region counts that differ from the step before (first step: from nothing)
  int flaps = 0;    // a region added or removed within 30 minutes of its previous add/remove
  std::optional<double> limit_mean_rtt_ms;  // every origin at its nearest allowed region
  double limit_machine_hours = 0;           // ceil(total demand / capacity) per step
  double total_demand = 0;                  // sum over steps of total req/s (for fractions)
  double unserved_demand = 0;

  // The same figures rounded as the script rounds them.
  Score rounded() const;
};

// Per-step figures, for plots.
struct StepScore {
  double demand = 0;
  double served = 0;
  double unserved = 0;
  double mean_rtt_ms = 0;   // of the served demand; 0 if nothing was served
  double limit_rtt_ms = 0;  // every origin at its nearest allowed region; 0 without demand
  int machines = 0;
};

class Scorer {
 public:
  static constexpr std::int64_t kFlapWindowS = 1800;

  // `origins`: the scenario's origin regions (column order of the demand passed to add_step).
  // `regions`: every region a placement may name (indexes used by add_step). `allowed`: the
  // regions the physical RTT limit may use. Unknown codes are an error.
  static std::optional<Scorer> make(const RegionCatalog& catalog,
                                    const std::vector<std::string>& origins,
                                    const std::vector<std::string>& regions,
                                    const std::vector<std::string>& allowed, double capacity,
                                    std::int64_t step_s, std::string* error);

  // One step: demand per origin (in origin order) and the running machines as (region index,
  // count > 0) in timeline row order (ties in RTT are broken by this order, as in the script).
  StepScore add_step(std::int64_t t, const std::vector<double>& demand,
                     const std::vector<std::pair<std::size_t, int>>& running);

  Score finish() const;

  double rtt(std::size_t origin, std::size_t region) const {
    return rtt_[origin * regions_ + region];
  }
  double nearest_allowed_rtt(std::size_t origin) const { return limit_rtt_[origin]; }

 private:
  Scorer() = default;

  std::size_t origins_ = 0;
  std::size_t regions_ = 0;
  double capacity_ = 1;
  std::int64_t step_s_ = 60;
  std::vector<double> rtt_;        // origins x regions
  std::vector<double> limit_rtt_;  // per origin: min RTT over allowed regions
  // Per origin: every region index, nearest first, ties by index. When add_step's running list
  // is in index order (timeline rows are), serving walks this instead of sorting each step.
  std::vector<std::vector<std::size_t>> by_rtt_;

  // Accumulators, in the script's order.
  std::size_t steps_ = 0;
  double lat_sum_ = 0, served_sum_ = 0, unserved_ = 0, total_ = 0, limit_lat_ = 0;
  double mh_ = 0, limit_mh_ = 0;
  int changes_ = 0, flaps_ = 0;
  // Served amounts for the p95, per (origin, region) cell: all of a cell's amounts share its RTT,
  // so finish() sorts cells by RTT and only the amounts within one RTT, which is the script's
  // sort of (rtt, served) pairs without sorting hundreds of thousands of pairs.
  std::vector<std::vector<double>> served_by_cell_;

  std::optional<double> p95() const;
  std::vector<int> prev_;                  // per region, machines at the previous step
  std::vector<std::int64_t> last_change_;  // per region, time of last add/remove
  std::vector<bool> has_last_change_;
  // Scratch space reused across steps.
  std::vector<std::size_t> order_;
  std::vector<int> current_;
  std::vector<double> spare_;
  std::vector<std::size_t> spare_order_;
  std::vector<std::size_t> by_rtt_scratch_;

  // Serves origin `o`'s demand from spare capacity in `nearest` order; returns what is left.
  double serve(std::size_t o, double demand, const std::vector<std::size_t>& nearest,
               StepScore& out, double& step_lat);
};

}  // namespace autoplacer::backtest
