#include "backtest/scorer.h"

#include <math.h>  // ::pow, called through a pointer so the compiler keeps libm's rounding

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>

namespace autoplacer::backtest {
namespace {

// The script computes x ** 2 with libm's pow; g++ would fold std::pow(x, 2.0) into x * x, which
// can differ in the last bit. A volatile pointer keeps the same call.
double (*volatile libm_pow)(double, double) = ::pow;

}  // namespace

double scorer_rtt_ms(const Region& a, const Region& b) {
  // math.radians(x) is x * (pi / 180); the longitude difference is taken in degrees first.
  constexpr double kDegToRad = std::numbers::pi / 180.0;
  const double p1 = a.latitude * kDegToRad;
  const double p2 = b.latitude * kDegToRad;
  const double dl = (b.longitude - a.longitude) * kDegToRad;
  const double dp = p2 - p1;
  const double h = libm_pow(std::sin(dp / 2), 2.0) +
                   std::cos(p1) * std::cos(p2) * libm_pow(std::sin(dl / 2), 2.0);
  const double km = 2 * 6371 * std::asin(std::sqrt(h));
  return 5.0 + km / 70.0;
}

double round_like_python(double x, int digits) {
  // glibc's printf rounds the exact binary value to nearest, ties to even: the same correctly
  // rounded result as CPython's round(), which goes through dtoa.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return std::strtod(buf, nullptr);
}

Score Score::rounded() const {
  Score r = *this;
  if (mean_rtt_ms) r.mean_rtt_ms = round_like_python(*mean_rtt_ms, 2);
  r.p95_rtt_ms = round_like_python(p95_rtt_ms, 2);
  r.unserved_fraction = round_like_python(unserved_fraction, 5);
  r.machine_hours = round_like_python(machine_hours, 1);
  if (limit_mean_rtt_ms) r.limit_mean_rtt_ms = round_like_python(*limit_mean_rtt_ms, 2);
  r.limit_machine_hours = round_like_python(limit_machine_hours, 1);
  return r;
}

std::optional<Scorer> Scorer::make(const RegionCatalog& catalog,
                                   const std::vector<std::string>& origins,
                                   const std::vector<std::string>& regions,
                                   const std::vector<std::string>& allowed, double capacity,
                                   std::int64_t step_s, std::string* error) {
  auto fail = [&](const std::string& what) -> std::optional<Scorer> {
    if (error != nullptr) *error = what;
    return std::nullopt;
  };
  if (!(capacity > 0)) return fail("capacity per machine must be positive");
  if (allowed.empty()) return fail("no allowed region for the RTT limit");
  Scorer s;
  s.origins_ = origins.size();
  s.regions_ = regions.size();
  s.capacity_ = capacity;
  s.step_s_ = step_s;
  s.rtt_.resize(s.origins_ * s.regions_);
  s.limit_rtt_.resize(s.origins_);
  for (std::size_t o = 0; o < origins.size(); ++o) {
    const Region* from = catalog.find(origins[o]);
    if (from == nullptr) return fail("unknown origin region '" + origins[o] + "'");
    for (std::size_t r = 0; r < regions.size(); ++r) {
      const Region* to = catalog.find(regions[r]);
      if (to == nullptr) return fail("unknown region '" + regions[r] + "'");
      s.rtt_[o * s.regions_ + r] = scorer_rtt_ms(*from, *to);
    }
    bool first = true;
    for (const std::string& a : allowed) {
      const Region* to = catalog.find(a);
      if (to == nullptr) return fail("unknown allowed region '" + a + "'");
      const double v = scorer_rtt_ms(*from, *to);
      if (first || v < s.limit_rtt_[o]) s.limit_rtt_[o] = v;
      first = false;
    }
  }
  s.by_rtt_.resize(s.origins_);
  for (std::size_t o = 0; o < s.origins_; ++o) {
    std::vector<std::size_t>& idx = s.by_rtt_[o];
    idx.resize(s.regions_);
    for (std::size_t r = 0; r < s.regions_; ++r) idx[r] = r;
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return s.rtt(o, a) < s.rtt(o, b); });
  }
  s.served_by_cell_.resize(s.origins_ * s.regions_);
  s.prev_.assign(s.regions_, 0);
  s.current_.assign(s.regions_, 0);
  s.last_change_.assign(s.regions_, 0);
  s.has_last_change_.assign(s.regions_, false);
  s.spare_.assign(s.regions_, 0);
  return s;
}

StepScore Scorer::add_step(std::int64_t t, const std::vector<double>& demand,
                           const std::vector<std::pair<std::size_t, int>>& running) {
  StepScore out;
  ++steps_;
  std::fill(current_.begin(), current_.end(), 0);
  int machines = 0;
  for (const auto& [r, n] : running) {
    if (n <= 0 || r >= regions_) continue;
    current_[r] = n;
    machines += n;
  }
  out.machines = machines;
  mh_ += static_cast<double>(static_cast<std::int64_t>(machines) * step_s_) / 3600;

  double tot = 0;
  for (std::size_t o = 0; o < origins_; ++o) tot += demand[o];
  total_ += tot;
  out.demand = tot;
  if (tot > 0) {
    limit_mh_ +=
        static_cast<double>(static_cast<std::int64_t>(std::ceil(tot / capacity_)) * step_s_) / 3600;
  }
  double step_limit = 0;
  for (std::size_t o = 0; o < origins_; ++o) {
    if (demand[o] > 0) {
      limit_lat_ += demand[o] * limit_rtt_[o];
      step_limit += demand[o] * limit_rtt_[o];
    }
  }
  out.limit_rtt_ms = tot > 0 ? step_limit / tot : 0;

  // Spare capacity in timeline row order; origins largest first, ties in scenario order.
  // Regions not running have no spare capacity this step.
  std::fill(spare_.begin(), spare_.end(), 0.0);
  spare_order_.clear();
  bool in_index_order = true;
  for (const auto& [r, n] : running) {
    if (n <= 0 || r >= regions_) continue;
    in_index_order = in_index_order && (spare_order_.empty() || r > spare_order_.back());
    spare_[r] = n * capacity_;
    spare_order_.push_back(r);
  }
  order_.resize(origins_);
  for (std::size_t o = 0; o < origins_; ++o) order_[o] = o;
  std::stable_sort(order_.begin(), order_.end(),
                   [&](std::size_t a, std::size_t b) { return -demand[a] < -demand[b]; });
  double step_lat = 0;
  for (std::size_t o : order_) {
    double left;
    if (in_index_order) {
      // Regions by (RTT, index) are regions by (RTT, row) here: the precomputed order serves;
      // regions without spare capacity take nothing, as if they were left out.
      left = serve(o, demand[o], by_rtt_[o], out, step_lat);
    } else {
      // Rows in another order (a timeline read back from a file): ties in RTT go by row.
      by_rtt_scratch_ = spare_order_;
      std::stable_sort(by_rtt_scratch_.begin(), by_rtt_scratch_.end(),
                       [&](std::size_t a, std::size_t b) { return rtt(o, a) < rtt(o, b); });
      left = serve(o, demand[o], by_rtt_scratch_, out, step_lat);
    }
    const double lost = std::max(left, 0.0);
    unserved_ += lost;
    out.unserved += lost;
  }
  out.mean_rtt_ms = out.served > 0 ? step_lat / out.served : 0;

  for (std::size_t r = 0; r < regions_; ++r) {
    const int a = prev_[r], b = current_[r];
    if (a == b) continue;
    ++changes_;
    if ((a == 0) != (b == 0)) {  // region added or removed
      if (has_last_change_[r] && t - last_change_[r] <= kFlapWindowS) ++flaps_;
      last_change_[r] = t;
      has_last_change_[r] = true;
    }
  }
  prev_ = current_;
  return out;
}

double Scorer::serve(std::size_t o, double demand, const std::vector<std::size_t>& nearest,
                     StepScore& out, double& step_lat) {
  double left = demand;
  for (std::size_t r : nearest) {
    if (left <= 0) break;
    const double take = std::min(left, spare_[r]);
    if (take > 0) {
      spare_[r] -= take;
      left -= take;
      lat_sum_ += take * rtt(o, r);
      served_sum_ += take;
      served_by_cell_[o * regions_ + r].push_back(take);
      out.served += take;
      step_lat += take * rtt(o, r);
    }
  }
  return left;
}

std::optional<double> Scorer::p95() const {
  // The script sorts (rtt, served) pairs and sums served until 95% of all served demand. Pairs
  // are visited here in that order: cells by RTT, and the amounts of every cell with the same RTT
  // merged and sorted (equal pairs are interchangeable), so the running sum is the same to the bit.
  std::vector<std::size_t> cells;
  for (std::size_t c = 0; c < served_by_cell_.size(); ++c) {
    if (!served_by_cell_[c].empty()) cells.push_back(c);
  }
  std::sort(cells.begin(), cells.end(),
            [&](std::size_t a, std::size_t b) { return rtt_[a] < rtt_[b]; });
  double acc = 0;
  std::vector<double> amounts;
  for (std::size_t i = 0; i < cells.size();) {
    const double v = rtt_[cells[i]];
    amounts.clear();
    for (; i < cells.size() && rtt_[cells[i]] == v; ++i) {
      const std::vector<double>& a = served_by_cell_[cells[i]];
      amounts.insert(amounts.end(), a.begin(), a.end());
    }
    std::sort(amounts.begin(), amounts.end());
    for (double w : amounts) {
      acc += w;
      if (acc >= 0.95 * served_sum_) return v;
    }
  }
  return std::nullopt;
}

Score Scorer::finish() const {
  Score s;
  s.steps = steps_;
  s.step_s = step_s_;
  if (served_sum_ != 0) s.mean_rtt_ms = lat_sum_ / served_sum_;
  if (auto v = p95()) s.p95_rtt_ms = *v;
  s.unserved_fraction = total_ != 0 ? unserved_ / total_ : 0.0;
  s.machine_hours = mh_;
  s.changes = changes_;
  s.flaps = flaps_;
  if (total_ != 0) s.limit_mean_rtt_ms = limit_lat_ / total_;
  s.limit_machine_hours = limit_mh_;
  s.total_demand = total_;
  s.unserved_demand = unserved_;
  return s;
}

}  // namespace autoplacer::backtest
