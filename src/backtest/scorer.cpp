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
  spare_order_.clear();
  for (const auto& [r, n] : running) {
    if (n <= 0 || r >= regions_) continue;
    spare_[r] = n * capacity_;
    spare_order_.push_back(r);
  }
  order_.resize(origins_);
  for (std::size_t o = 0; o < origins_; ++o) order_[o] = o;
  std::stable_sort(order_.begin(), order_.end(),
                   [&](std::size_t a, std::size_t b) { return -demand[a] < -demand[b]; });
  double step_lat = 0;
  std::vector<std::size_t> by_rtt;
  for (std::size_t o : order_) {
    double left = demand[o];
    by_rtt = spare_order_;
    std::stable_sort(by_rtt.begin(), by_rtt.end(),
                     [&](std::size_t a, std::size_t b) { return rtt(o, a) < rtt(o, b); });
    for (std::size_t r : by_rtt) {
      if (left <= 0) break;
      const double take = std::min(left, spare_[r]);
      if (take > 0) {
        spare_[r] -= take;
        left -= take;
        lat_sum_ += take * rtt(o, r);
        served_sum_ += take;
        hist_.emplace_back(rtt(o, r), take);
        out.served += take;
        step_lat += take * rtt(o, r);
      }
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

Score Scorer::finish() const {
  Score s;
  s.steps = steps_;
  s.step_s = step_s_;
  if (served_sum_ != 0) s.mean_rtt_ms = lat_sum_ / served_sum_;
  std::vector<std::pair<double, double>> hist = hist_;
  std::sort(hist.begin(), hist.end());
  double acc = 0;
  for (const auto& [v, w] : hist) {
    acc += w;
    if (acc >= 0.95 * served_sum_) {
      s.p95_rtt_ms = v;
      break;
    }
  }
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
