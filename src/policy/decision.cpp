#include "policy/decision.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <numeric>
#include <set>

#include "policy/damping.h"
#include "policy/decision_state.h"
#include "policy/forecast.h"
#include "policy/placement.h"
#include "policy/threshold.h"

namespace autoplacer {
namespace {

constexpr double kMaxRps = 1e9;  // anything above is bad data, clamped
// The placement's switch penalty, in machines' worth of costWeightMs (see PlacementProblem).
constexpr double kSwitchPenaltyMachines = 0.5;

std::int64_t ms(TimePoint t) {
  return t.time_since_epoch().count();
}

// printf-style messages for reasons. A pass formats one per region, and glibc's float formatting
// was a tenth of a pass, so the few conversions used here (%d, %s, %.Nf, %%) are done with
// std::to_chars, which rounds exactly as printf does; anything else falls back to vsnprintf.
std::string sfmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string sfmt(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list fallback;
  va_copy(fallback, args);
  std::string out;
  out.reserve(96);
  bool ok = true;
  for (const char* f = format; *f != '\0' && ok; ++f) {
    if (*f != '%') {
      out.push_back(*f);
      continue;
    }
    char buf[64];
    const char c = *++f;
    if (c == '%') {
      out.push_back('%');
    } else if (c == 'd') {
      const auto r = std::to_chars(buf, buf + sizeof buf, va_arg(args, int));
      out.append(buf, r.ptr);
    } else if (c == 's') {
      out.append(va_arg(args, const char*));
    } else if (c == '.' && f[1] >= '0' && f[1] <= '9' && f[2] == 'f') {
      const double x = va_arg(args, double);
      const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, f[1] - '0');
      ok = r.ec == std::errc{};
      if (ok) out.append(buf, r.ptr);
      f += 2;
    } else {
      ok = false;
    }
  }
  va_end(args);
  if (!ok) {
    char buf[256];
    std::vsnprintf(buf, sizeof buf, format, fallback);
    out = buf;
  }
  va_end(fallback);
  return out;
}

// Lookups of keys in increasing order in a sorted map: the iterator only moves forward.
template <class Map>
class Cursor {
 public:
  explicit Cursor(const Map& m) : m_(m), it_(m.begin()) {}
  typename Map::const_iterator find(const std::string& key) {
    while (it_ != m_.end() && it_->first < key) ++it_;
    return it_ != m_.end() && it_->first == key ? it_ : m_.end();
  }

 private:
  const Map& m_;
  typename Map::const_iterator it_;
};

std::string dur(std::int64_t milliseconds) {
  return format_duration(Duration{std::max<std::int64_t>(0, milliseconds)});
}

// Demand above a billion requests per second for one origin is not traffic but a broken series
// (found by the decision fuzzer: values near DBL_MAX overflowed the traffic-weighted RTT to NaN).
// Such a value is unknown, like NaN or a negative one: it holds the placement.
constexpr double kMaxPlausibleRps = 1e9;

// An observed p95 above a minute is a broken series too; the distance model is used instead.
constexpr double kMaxPlausibleLatencyMs = 60'000;

bool valid_rps(double v) {
  return std::isfinite(v) && v >= 0 && v <= kMaxPlausibleRps;
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

void feed(OriginState& o, const ForecastConfig& fc, std::int64_t atMs, double rps) {
  if (atMs <= o.lastAtMs) return;  // already fed: a repeated pass must not count twice
  rps = quantize(std::min(rps, kMaxRps));
  o.history.push({atMs, rps});
  model_observe(o.model, fc, atMs, rps);
  o.lastAtMs = atMs;
}

void observe_at(const PlacementPolicySpec& spec, const DemandReading& demand, std::int64_t atMs,
                DecisionState& state) {
  if (!demand.known) return;
  const ForecastConfig fc = ForecastConfig::from(spec.forecast);
  // One merge over two sorted maps rather than a lookup per origin. A region absent from a known
  // read is 0; each origin is fed independently, so the order of feeding does not matter.
  auto it = state.origins.begin();
  auto absent_is_zero = [&](const std::string& code, OriginState& o) {
    if (demand.unknown.count(code) == 0) feed(o, fc, atMs, 0.0);
  };
  for (const auto& [code, rps] : demand.rps) {
    for (; it != state.origins.end() && it->first < code; ++it)
      absent_is_zero(it->first, it->second);
    const bool have = it != state.origins.end() && it->first == code;
    if (demand.unknown.count(code) != 0 || !valid_rps(rps)) {
      if (have) ++it;
      continue;
    }
    if (have) {
      feed(it->second, fc, atMs, rps);
      ++it;
    } else if (state.origins.size() < DecisionState::kMaxOrigins) {  // bounded
      feed(state.origins.emplace_hint(it, code, OriginState{})->second, fc, atMs, rps);
    }
  }
  for (; it != state.origins.end(); ++it) absent_is_zero(it->first, it->second);
}

void refresh_cache(RttCache& cache, const RegionCatalog& catalog) {
  if (cache.catalog == &catalog && cache.revision == catalog.revision() && !cache.codes.empty()) {
    return;
  }
  cache = RttCache{};
  cache.catalog = &catalog;
  cache.revision = catalog.revision();
  for (const Region& r : catalog.regions()) cache.codes.push_back(r.code);
  const std::size_t n = cache.codes.size();
  cache.matrix.assign(n * n, 1000.0);
  for (std::size_t i = 0; i < n; ++i) {
    cache.index.emplace(cache.codes[i], static_cast<int>(i));
    for (std::size_t j = 0; j < n; ++j) {
      cache.matrix[i * n + j] = catalog.rtt_ms(cache.codes[i], cache.codes[j]);
    }
  }
  cache.nearest.resize(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    auto row = cache.nearest.begin() + static_cast<std::ptrdiff_t>(i * n);
    std::iota(row, row + static_cast<std::ptrdiff_t>(n), 0);
    const double* r = &cache.matrix[i * n];
    std::stable_sort(row, row + static_cast<std::ptrdiff_t>(n), [&](int a, int b) {
      return r[static_cast<std::size_t>(a)] < r[static_cast<std::size_t>(b)];
    });
  }
}

// Per origin, the candidates nearest first (PlacementProblem::order) from the cache's sorted rows:
// a filter, then an insertion sort that only fixes ties broken by candidate index (and rows whose
// RTTs an observed latency replaced).
void candidate_order(PlacementProblem& p, const RttCache& cache, const std::vector<int>& rows,
                     const std::vector<int>& cand_of_row) {
  const auto H = static_cast<std::size_t>(p.regions);
  const std::size_t n = cache.codes.size();
  p.order.resize(rows.size() * H);
  for (std::size_t o = 0; o < rows.size(); ++o) {
    int* out = &p.order[o * H];
    std::size_t k = 0;
    const int* from = &cache.nearest[static_cast<std::size_t>(rows[o]) * n];
    for (std::size_t i = 0; i < n && k < H; ++i) {
      const int c = cand_of_row[static_cast<std::size_t>(from[i])];
      if (c >= 0) out[k++] = c;
    }
    const double* r = &p.rtt[o * H];
    auto before = [&](int a, int b) {
      const double ra = r[static_cast<std::size_t>(a)], rb = r[static_cast<std::size_t>(b)];
      return ra < rb || (ra == rb && a < b);
    };
    for (std::size_t i = 1; i < H; ++i) {
      const int x = out[i];
      std::size_t j = i;
      for (; j > 0 && before(x, out[j - 1]); --j) out[j] = out[j - 1];
      out[j] = x;
    }
  }
}

// Time-to-serve plus the usual spacing of passes: capacity asked for now must cover demand until
// machines asked for at the next pass can serve.
std::int64_t horizon_ms(const DecisionInput& in, const OriginState* o) {
  const ForecastSpec& f = in.policy->spec.forecast;
  if (f.horizon) return f.horizon->count();
  std::int64_t serve =
      in.measuredTimeToServe ? in.measuredTimeToServe->count() : f.bootTime.count();
  std::int64_t gap = 0;
  if (o != nullptr && o->history.size() >= 2) {
    std::array<std::int64_t, 8> gaps{};  // the last 8 gaps at most (no allocation per origin)
    std::size_t count = 0;
    const std::size_t n = o->history.size();
    for (std::size_t i = n - std::min<std::size_t>(n - 1, gaps.size()); i < n; ++i) {
      gaps[count++] = o->history.at(i).atMs - o->history.at(i - 1).atMs;
    }
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(count / 2),
                     gaps.begin() + static_cast<std::ptrdiff_t>(count));
    gap = std::clamp<std::int64_t>(gaps[count / 2], 0, 86'400'000);
  }
  return std::max<std::int64_t>(0, serve) + gap;
}

struct OriginView {
  std::string code;
  int row = -1;  // in the RTT cache
  double observed = 0;
  double sizing = 0;
  bool unknown = false;
  std::string why;
  double p95 = 0;
  std::int64_t horizonMs = 0;
};

struct RegionWork {
  std::string code;
  int row = -1;   // RTT cache row, -1 if not in the catalog
  int cand = -1;  // index among candidates, -1 if not allowed
  bool pinned = false;
  int current = 0;
  int floor = 0;      // pinned/minPerRegion, held, cooldown
  bool held = false;  // serves an origin whose demand is unknown
  std::string heldWhy;
  bool cooldownAdd = false;     // not removed before cooldownAfterAdd
  bool cooldownRemove = false;  // not added back before cooldownAfterRemove
  bool nearestForDemand = false;
  std::string notAllowedWhy;
  RegionDecision out;
};

int pinned_floor(const CapacitySpec& c) {
  return std::max(1, c.minPerRegion);
}

void set_reason(RegionDecision& r, ReasonCode code, std::string message) {
  r.reason = code;
  r.message = std::move(message);
}

// Writes `desired` and the bookkeeping every path shares.
void finish(Decision& d, std::vector<RegionWork>& work, DecisionState& state,
            const PlacementPolicySpec& spec, std::int64_t now, bool record) {
  const std::int64_t keep = longest_period_ms(spec.behavior);
  for (RegionWork& w : work) {
    RegionDecision& r = w.out;
    r.current = w.current;
    r.direction = r.desired > w.current   ? Direction::kUp
                  : r.desired < w.current ? Direction::kDown
                                          : Direction::kNone;
    // Regions mostly come in code order: hinted inserts then cost one comparison each.
    if (r.desired > 0) d.desired.insert_or_assign(d.desired.end(), w.code, r.desired);
    if (r.desired > 0 || w.current > 0 || r.demandRps > 0 || r.proposed > 0 || w.nearestForDemand) {
      d.regions.insert_or_assign(d.regions.end(), w.code, r);
    }
    if (!record) continue;
    auto found = state.regions.find(w.code);
    if (r.desired == w.current && found == state.regions.end()) continue;
    if (found == state.regions.end()) found = state.regions.emplace(w.code, RegionState{}).first;
    RegionState& rs = found->second;
    record_event(rs, now, r.desired - w.current, keep);
    if (w.current == 0 && r.desired > 0) rs.addedAtMs = now;
    if (w.current > 0 && r.desired == 0) rs.removedAtMs = now;
  }
  // Forget regions with nothing left to remember (bounded state).
  for (auto it = state.regions.begin(); it != state.regions.end();) {
    const RegionState& s = it->second;
    const bool stale_add =
        !s.addedAtMs || now - *s.addedAtMs >= spec.behavior.cooldownAfterAdd.count();
    const bool stale_remove =
        !s.removedAtMs || now - *s.removedAtMs >= spec.behavior.cooldownAfterRemove.count();
    const bool stale_thr = !s.thresholdActionAtMs ||
                           now - *s.thresholdActionAtMs >= spec.placement.thresholdCooldown.count();
    if (s.recommendations.empty() && s.events.empty() && stale_add && stale_remove && stale_thr) {
      it = state.regions.erase(it);
    } else {
      ++it;
    }
  }
}

// Bounds that always hold: pinned floor, minPerRegion, maxPerRegion, maxCreatesPerPass, maxTotal,
// minTotal. Held regions (unknown demand) are never lowered below their current count.
void apply_bounds(Decision& d, std::vector<RegionWork>& work, const DecisionInput& in) {
  const PlacementPolicySpec& spec = in.policy->spec;
  const CapacitySpec& cap = spec.capacity;
  auto limited = [&](const std::string& by) {
    d.limited = true;
    if (!contains(d.limitedBy, by)) d.limitedBy.push_back(by);
  };
  auto hard_floor = [&](const RegionWork& w) {
    int f = w.held ? w.current : 0;
    if (w.pinned) f = std::max(f, pinned_floor(cap));
    return f;
  };
  // One machine less, but a region in use never goes below minPerRegion (it goes to 0 instead) nor
  // below its hard floor.
  auto lower_one = [&](RegionWork& w) {
    int n = w.out.desired - 1;
    if (n > 0 && n < cap.minPerRegion) n = 0;
    w.out.desired = std::max(n, hard_floor(w));
  };
  for (RegionWork& w : work) {
    RegionDecision& r = w.out;
    if (w.cand < 0) continue;
    if (w.pinned && r.desired < pinned_floor(cap)) {
      r.desired = pinned_floor(cap);
      set_reason(r, ReasonCode::kPinned, sfmt("pinned region: at least %d machine(s)", r.desired));
    }
    if (r.desired > 0 && r.desired < cap.minPerRegion) {
      r.desired = cap.minPerRegion;
      set_reason(r, ReasonCode::kMinimum, sfmt("raised to minPerRegion %d", cap.minPerRegion));
    }
    const int max_here = std::max(cap.maxPerRegion, hard_floor(w));
    if (r.desired > max_here) {
      set_reason(r, ReasonCode::kBudget,
                 sfmt("capped by maxPerRegion %d (asked %d)", cap.maxPerRegion, r.desired));
      r.desired = max_here;
      limited("maxPerRegion");
    }
  }
  // Creation per pass: stopped and suspended machines are started, not created.
  if (spec.behavior.maxCreatesPerPass >= 0) {
    auto creates = [&](const RegionWork& w) {
      const auto it = in.fleet.regions.find(w.code);
      const int reserve =
          it == in.fleet.regions.end() ? 0 : it->second.stopped + it->second.suspended;
      return std::max(0, w.out.desired - w.current - reserve);
    };
    int total = 0;
    for (const RegionWork& w : work) total += creates(w);
    while (total > spec.behavior.maxCreatesPerPass) {
      RegionWork* most = nullptr;
      for (RegionWork& w : work) {
        if (creates(w) > 0 && w.out.desired > hard_floor(w) &&
            (most == nullptr || creates(w) > creates(*most))) {
          most = &w;
        }
      }
      if (most == nullptr) break;
      lower_one(*most);
      total = 0;
      for (const RegionWork& x : work) total += creates(x);
      set_reason(most->out, ReasonCode::kRateLimited,
                 sfmt("at most %d machine(s) created per pass", spec.behavior.maxCreatesPerPass));
      limited("maxCreatesPerPass");
    }
  }
  int total = 0;
  for (const RegionWork& w : work) total += w.out.desired;
  // maxTotal: take machines from the region with the most above its floor, least demand first.
  while (total > cap.maxTotal) {
    RegionWork* pick = nullptr;
    for (RegionWork& w : work) {
      const int spare = w.out.desired - hard_floor(w);
      if (spare <= 0) continue;
      const int pick_spare = pick == nullptr ? 0 : pick->out.desired - hard_floor(*pick);
      if (pick == nullptr || spare > pick_spare ||
          (spare == pick_spare && w.out.forecastRps < pick->out.forecastRps)) {
        pick = &w;
      }
    }
    if (pick == nullptr) break;
    const int before = pick->out.desired;
    lower_one(*pick);
    total -= before - pick->out.desired;
    set_reason(pick->out, ReasonCode::kBudget, sfmt("capped by maxTotal %d", cap.maxTotal));
    limited("maxTotal");
  }
  // minTotal: add where demand is largest; with no demand at all, near the largest origin (or the
  // first allowed region).
  if (total < cap.minTotal) {
    std::vector<RegionWork*> order;
    for (RegionWork& w : work) {
      if (w.cand >= 0) order.push_back(&w);
    }
    std::stable_sort(order.begin(), order.end(), [](const RegionWork* a, const RegionWork* b) {
      return a->out.forecastRps > b->out.forecastRps;
    });
    bool progress = true;
    while (total < cap.minTotal && progress) {
      progress = false;
      for (RegionWork* w : order) {
        if (total >= cap.minTotal) break;
        const int add = w->out.desired == 0 ? std::max(1, cap.minPerRegion) : 1;
        if (w->out.desired + add > cap.maxPerRegion) continue;
        w->out.desired += add;
        total += add;
        set_reason(w->out, ReasonCode::kMinimum, sfmt("raised to meet minTotal %d", cap.minTotal));
        progress = true;
        break;
      }
    }
  }
}

void hold_everything(Decision& d, std::vector<RegionWork>& work, const CapacitySpec& cap,
                     const std::string& why) {
  d.heldAll = true;
  d.heldReason = why;
  for (RegionWork& w : work) {
    RegionDecision& r = w.out;
    r.desired = r.proposed = w.current;
    w.held = true;  // never lowered; apply_bounds may still raise (pinned, minTotal)
    set_reason(r, ReasonCode::kUnknownDemand,
               sfmt("%s: holding %d machine(s)", why.c_str(), w.current));
    if (w.pinned && w.cand >= 0 && r.desired < pinned_floor(cap)) {
      r.desired = pinned_floor(cap);
      set_reason(r, ReasonCode::kPinned, sfmt("pinned region: at least %d machine(s)", r.desired));
    }
  }
}

}  // namespace

const char* to_string(Direction d) {
  switch (d) {
    case Direction::kNone:
      return "none";
    case Direction::kUp:
      return "up";
    case Direction::kDown:
      return "down";
  }
  return "?";
}

const char* to_string(ReasonCode r) {
  switch (r) {
    case ReasonCode::kDemand:
      return "Demand";
    case ReasonCode::kForecast:
      return "Forecast";
    case ReasonCode::kWithinTolerance:
      return "WithinTolerance";
    case ReasonCode::kStabilizing:
      return "Stabilizing";
    case ReasonCode::kRateLimited:
      return "RateLimited";
    case ReasonCode::kCooldown:
      return "Cooldown";
    case ReasonCode::kPinned:
      return "Pinned";
    case ReasonCode::kMinimum:
      return "Minimum";
    case ReasonCode::kBudget:
      return "Budget";
    case ReasonCode::kLatencyNotWorthIt:
      return "LatencyNotWorthIt";
    case ReasonCode::kUnknownDemand:
      return "UnknownDemand";
    case ReasonCode::kStaticFallback:
      return "StaticFallback";
    case ReasonCode::kThresholdBelow:
      return "ThresholdBelow";
    case ReasonCode::kThresholdDeploy:
      return "ThresholdDeploy";
    case ReasonCode::kThresholdRemove:
      return "ThresholdRemove";
    case ReasonCode::kNotAllowed:
      return "NotAllowed";
    case ReasonCode::kNoDemand:
      return "NoDemand";
  }
  return "?";
}

void observe(const PlacementPolicy& policy, const DemandReading& demand, DecisionState& state) {
  observe_at(policy.spec, demand, ms(demand.at), state);
}

Decision decide(const DecisionInput& in, DecisionState& state) {
  Decision d;
  d.at = in.now;
  const std::int64_t now = ms(in.now);

  // Regions to account for: every candidate and every region with machines.
  std::vector<RegionWork> work;
  if (in.policy == nullptr || in.catalog == nullptr) {
    for (const auto& [code, m] : in.fleet.regions) {
      RegionWork w;
      w.code = code;
      w.current = m.active();
      work.push_back(std::move(w));
    }
    hold_everything(d, work, CapacitySpec{}, "no policy or region catalog");
    finish(d, work, state, PlacementPolicySpec{}, now, false);
    return d;
  }
  const PlacementPolicySpec& spec = in.policy->spec;
  const CapacitySpec& cap = spec.capacity;
  const RegionCatalog& catalog = *in.catalog;
  d.retire = spec.retire.action;
  state.lastDecisionMs = now;
  const std::int64_t read_at = in.demand.at == TimePoint{} ? now : ms(in.demand.at);
  observe_at(spec, in.demand, read_at, state);
  refresh_cache(state.cache, catalog);
  const RttCache& cache = state.cache;
  const auto n_all = cache.codes.size();
  auto row_of = [&](const std::string& code) {
    auto it = cache.index.find(code);
    return it == cache.index.end() ? -1 : it->second;
  };

  std::vector<int> cand_rows;  // candidate index -> cache row
  std::vector<std::size_t> cand_work;
  for (const std::string& code : catalog.hostable_codes()) {
    RegionWork w;
    w.code = code;
    w.row = row_of(code);
    const bool allowed = spec.regions.allowed.empty() || contains(spec.regions.allowed, code);
    const bool excluded = contains(spec.regions.excluded, code);
    if (allowed && !excluded && w.row >= 0) {
      w.cand = static_cast<int>(cand_rows.size());
      cand_rows.push_back(w.row);
      cand_work.push_back(work.size());
      w.pinned = contains(spec.regions.pinned, code);
    } else {
      w.notAllowedWhy = excluded ? "excluded by the policy" : "not in regions.allowed";
    }
    auto it = in.fleet.regions.find(code);
    if (it != in.fleet.regions.end()) w.current = std::max(0, it->second.active());
    work.push_back(std::move(w));
  }
  for (const auto& [code, m] : in.fleet.regions) {
    if (catalog.hostable(code)) continue;
    RegionWork w;
    w.code = code;
    w.current = std::max(0, m.active());
    w.notAllowedWhy = "not a hostable region in the catalog";
    work.push_back(std::move(w));
  }
  for (RegionWork& w : work) {
    if (w.cand < 0) {
      w.out.desired = 0;
      set_reason(w.out, ReasonCode::kNotAllowed, w.notAllowedWhy);
    }
  }

  // --- Demand unknown everywhere: hold, or the static placement after a while. ---
  if (!in.demand.known) {
    if (!state.unknownSinceMs) state.unknownSinceMs = now;
    const MetricsUnavailableSpec& mu = spec.onMetricsUnavailable;
    const std::int64_t unknown_for = now - *state.unknownSinceMs;
    const std::string why =
        "demand unknown" +
        (in.demand.reason.empty() ? std::string() : " (" + in.demand.reason + ")");
    if (mu.action == MetricsUnavailableAction::kStatic && unknown_for >= mu.after.count()) {
      d.heldReason = why + " for " + dur(unknown_for) + ": onMetricsUnavailable static placement";
      for (RegionWork& w : work) {
        if (w.cand < 0) continue;
        auto it = mu.staticPlacement.find(w.code);
        const int n = it == mu.staticPlacement.end() ? 0 : std::max(0, it->second);
        w.out.proposed = w.out.desired = n;
        set_reason(w.out, ReasonCode::kStaticFallback,
                   sfmt("metrics unavailable for %s: staticPlacement %d machine(s)",
                        dur(unknown_for).c_str(), n));
      }
      apply_bounds(d, work, in);
      finish(d, work, state, spec, now, true);
    } else {
      hold_everything(d, work, cap, why);
      apply_bounds(d, work, in);
      finish(d, work, state, spec, now, false);
    }
    return d;
  }
  state.unknownSinceMs.reset();

  // --- Origins: observed demand, and the sizing estimate (observed, raised by the forecast). ---
  const ForecastConfig fc = ForecastConfig::from(spec.forecast);
  std::vector<OriginView> origins;
  {
    // Every origin code of the read and of the state, in order, each once: a merge of sorted
    // maps, then sorted cursors instead of a lookup per map per origin.
    std::vector<const std::string*> codes;
    codes.reserve(in.demand.rps.size() + in.demand.unknown.size() + state.origins.size());
    for (const auto& kv : in.demand.rps) codes.push_back(&kv.first);
    const auto run2 = static_cast<std::ptrdiff_t>(codes.size());
    for (const auto& kv : in.demand.unknown) codes.push_back(&kv.first);
    const auto run3 = static_cast<std::ptrdiff_t>(codes.size());
    for (const auto& kv : state.origins) codes.push_back(&kv.first);
    auto by_code = [](const std::string* a, const std::string* b) { return *a < *b; };
    std::inplace_merge(codes.begin(), codes.begin() + run2, codes.begin() + run3, by_code);
    std::inplace_merge(codes.begin(), codes.begin() + run3, codes.end(), by_code);
    codes.erase(std::unique(codes.begin(), codes.end(),
                            [](const std::string* a, const std::string* b) { return *a == *b; }),
                codes.end());
    Cursor origins_at(state.origins);
    Cursor rps_at(in.demand.rps);
    Cursor unknown_at(in.demand.unknown);
    Cursor p95_at(in.demand.p95LatencyMs);
    Cursor rows_at(cache.index);
    for (const std::string* code_ptr : codes) {
      const std::string& code = *code_ptr;
      OriginView o;
      o.code = code;
      const auto row_it = rows_at.find(code);
      o.row = row_it == cache.index.end() ? -1 : row_it->second;
      const auto st = origins_at.find(code);
      const OriginState* os = st == state.origins.end() ? nullptr : &st->second;
      const auto rps = rps_at.find(code);
      const auto unk = unknown_at.find(code);
      if (unk != in.demand.unknown.end()) {
        o.unknown = true;
        o.why = unk->second;
      } else if (rps != in.demand.rps.end() && !valid_rps(rps->second)) {
        o.unknown = true;
        o.why = "invalid value";
      }
      if (o.unknown) {
        o.observed = os != nullptr && !os->history.empty() ? os->history.back().rps : 0.0;
      } else {
        o.observed = rps == in.demand.rps.end() ? 0.0 : std::min(rps->second, kMaxRps);
      }
      o.sizing = o.observed;
      if (os != nullptr && fc.model != ForecastModel::kNone && !os->history.empty()) {
        o.horizonMs = horizon_ms(in, os);
        const ForecastView f = forecast_peak(os->model, fc, os->history, os->lastAtMs, o.horizonMs);
        o.sizing = std::max(o.sizing, f.value);  // forecasts only raise
      }
      if (auto p = p95_at.find(code);
          p != in.demand.p95LatencyMs.end() && std::isfinite(p->second) && p->second > 0 &&
          p->second <= kMaxPlausibleLatencyMs) {
        o.p95 = p->second;
      }
      if (o.row < 0) {
        if (o.observed > 0 || o.unknown) d.ignoredOrigins.push_back(code);
        continue;
      }
      if (o.sizing <= 0 && !o.unknown) continue;
      origins.push_back(std::move(o));
    }
  }

  // --- The placement problem over candidates. ---
  const int H = static_cast<int>(cand_rows.size());
  const auto Hs = static_cast<std::size_t>(H);
  PlacementProblem p;
  p.regions = H;
  p.targetPerMachine = cap.targetPerMachine > 0 ? cap.targetPerMachine : 1.0;
  p.headroom = std::max(0.0, spec.forecast.headroom);
  p.minPerRegion = std::max(0, cap.minPerRegion);
  p.maxPerRegion = std::max(0, cap.maxPerRegion);
  p.maxTotal = cap.maxTotal;
  p.costWeightMs = std::max(0.0, spec.placement.costWeightMs);
  p.maxRttMs = std::max(0.0, spec.placement.maxRttMs);
  p.floor.assign(Hs, 0);
  p.closed.assign(Hs, 0);
  // Hysteresis: prefer the regions running now. Changing a region's use costs half a machine's
  // worth, so a region is added when it gains 1.5 machines' worth and dropped when it saves half.
  p.running.assign(Hs, 0);
  for (std::size_t h = 0; h < Hs; ++h) p.running[h] = work[cand_work[h]].current > 0 ? 1 : 0;
  p.switchPenaltyMs = kSwitchPenaltyMachines * std::max(0.0, spec.placement.costWeightMs);
  p.regionRtt.resize(Hs * Hs);
  for (std::size_t a = 0; a < Hs; ++a) {
    const double* from = &cache.matrix[static_cast<std::size_t>(cand_rows[a]) * n_all];
    for (std::size_t b = 0; b < Hs; ++b) p.regionRtt[a * Hs + b] = from[cand_rows[b]];
  }
  p.demand.reserve(origins.size());
  p.rtt.resize(origins.size() * Hs);
  for (std::size_t o = 0; o < origins.size(); ++o) {
    p.demand.push_back(origins[o].sizing);
    const double* from = &cache.matrix[static_cast<std::size_t>(origins[o].row) * n_all];
    for (std::size_t h = 0; h < Hs; ++h) p.rtt[o * Hs + h] = from[cand_rows[h]];
  }
  // Which candidate serves each origin today (nearest with machines), else the nearest one.
  auto serving_now = [&](std::size_t o) {
    int best = -1, nearest = -1;
    for (std::size_t h = 0; h < Hs; ++h) {
      const double r = p.rtt[o * Hs + h];
      if (nearest < 0 || r < p.rtt[o * Hs + static_cast<std::size_t>(nearest)])
        nearest = static_cast<int>(h);
      if (work[cand_work[h]].current > 0 &&
          (best < 0 || r < p.rtt[o * Hs + static_cast<std::size_t>(best)])) {
        best = static_cast<int>(h);
      }
    }
    return std::make_pair(best, nearest);
  };
  for (std::size_t o = 0; o < origins.size() && H > 0; ++o) {
    const auto [serving, nearest] = serving_now(o);
    // Observed edge latency replaces the model for the region serving this origin now, and no
    // region at least as far (by the model) is assumed any better: otherwise a neighbour of the
    // serving region would look like an escape from a path measured to be slow.
    if (origins[o].p95 > 0 && serving >= 0) {
      const std::size_t s = static_cast<std::size_t>(serving);
      const double modelled = p.rtt[o * Hs + s];
      for (std::size_t h = 0; h < Hs; ++h) {
        double& r = p.rtt[o * Hs + h];
        if (h != s && r >= modelled) r = std::max(r, origins[o].p95);
      }
      p.rtt[o * Hs + s] = origins[o].p95;
    }
    if (nearest >= 0 && origins[o].observed > 0)
      work[cand_work[static_cast<std::size_t>(nearest)]].nearestForDemand = true;
    if (origins[o].unknown && serving >= 0) {
      RegionWork& w = work[cand_work[static_cast<std::size_t>(serving)]];
      w.held = true;
      if (!w.heldWhy.empty()) w.heldWhy += ", ";
      w.heldWhy += origins[o].code + ": " + origins[o].why;
    }
  }
  for (std::size_t h = 0; h < Hs; ++h) {
    RegionWork& w = work[cand_work[h]];
    const auto rs = state.regions.find(w.code);
    int f = w.pinned ? pinned_floor(cap) : 0;
    if (w.held) f = std::max(f, w.current);
    if (rs != state.regions.end() && spec.placement.strategy == Strategy::kLatency) {
      if (w.current > 0 && remove_blocked(rs->second, now, spec.behavior) &&
          *rs->second.addedAtMs != now) {
        w.cooldownAdd = true;
        f = std::max({f, 1, cap.minPerRegion});
      }
      if (w.current == 0 && f == 0 && add_blocked(rs->second, now, spec.behavior) &&
          *rs->second.removedAtMs != now) {
        w.cooldownRemove = true;
        p.closed[h] = 1;
      }
    }
    w.floor = f;
    p.floor[h] = f;
  }

  {
    std::vector<int> rows(origins.size());
    for (std::size_t o = 0; o < origins.size(); ++o) rows[o] = origins[o].row;
    std::vector<int> cand_of_row(n_all, -1);
    for (std::size_t h = 0; h < Hs; ++h)
      cand_of_row[static_cast<std::size_t>(cand_rows[h])] = static_cast<int>(h);
    candidate_order(p, cache, rows, cand_of_row);
  }
  std::vector<double> observed(origins.size());
  for (std::size_t o = 0; o < origins.size(); ++o) observed[o] = origins[o].observed;
  const double per_machine = p.targetPerMachine;

  if (spec.placement.strategy == Strategy::kThreshold) {
    // Each origin counts toward its nearest candidate; EWMAs over the last 5 and 20 points.
    std::vector<double> shorts(Hs, 0), longs(Hs, 0), obs(Hs, 0);
    // Every origin with history counts, including those whose demand is now 0 (a falling region
    // must see its short average fall below the long one).
    auto nearest_cand = [&](int row) {
      int nearest = -1;
      const double* from = &cache.matrix[static_cast<std::size_t>(row) * n_all];
      for (std::size_t h = 0; h < Hs; ++h) {
        if (nearest < 0 ||
            from[cand_rows[h]] < from[cand_rows[static_cast<std::size_t>(nearest)]]) {
          nearest = static_cast<int>(h);
        }
      }
      return nearest;
    };
    for (const OriginView& o : origins) {
      const int nearest = nearest_cand(o.row);
      if (nearest >= 0) obs[static_cast<std::size_t>(nearest)] += o.observed;
    }
    for (const auto& [code, os] : state.origins) {
      const int row = row_of(code);
      const int nearest = row < 0 ? -1 : nearest_cand(row);
      if (nearest < 0) continue;
      const auto nh = static_cast<std::size_t>(nearest);
      shorts[nh] += ewma_last(os.history, kThresholdShortPoints, spec.forecast.shortAlpha);
      longs[nh] += ewma_last(os.history, kThresholdLongPoints, spec.forecast.longAlpha);
    }
    for (std::size_t h = 0; h < Hs; ++h) {
      RegionWork& w = work[cand_work[h]];
      RegionState& rs = state.regions[w.code];
      const bool cooling = rs.thresholdActionAtMs && *rs.thresholdActionAtMs != now &&
                           now - *rs.thresholdActionAtMs < spec.placement.thresholdCooldown.count();
      const ThresholdVerdict v =
          threshold_verdict(spec.placement, per_machine, w.current, shorts[h], longs[h], cooling);
      RegionDecision& r = w.out;
      r.proposed = r.desired = v.proposed;
      r.demandRps = obs[h];
      r.forecastRps = shorts[h];
      set_reason(r, v.reason, v.message);
      if (v.acted) rs.thresholdActionAtMs = now;
      if (w.held && r.desired < w.current) {
        r.desired = w.current;
        set_reason(
            r, ReasonCode::kUnknownDemand,
            sfmt("demand unknown (%s): holding %d machine(s)", w.heldWhy.c_str(), w.current));
      }
    }
  } else {
    const PlacementResult placed = place_latency(p);
    if (placed.unservedRps > 1e-9) {
      // Demand the bounds leave unserved: say which bound.
      d.limited = true;
      const char* by = placed.total >= cap.maxTotal ? "maxTotal" : "maxPerRegion";
      if (!contains(d.limitedBy, by)) d.limitedBy.push_back(by);
    }
    for (std::size_t h = 0; h < Hs; ++h) {
      RegionWork& w = work[cand_work[h]];
      RegionDecision& r = w.out;
      r.proposed = placed.machines.empty() ? 0 : placed.machines[h];
      r.forecastRps = placed.load.empty() ? 0 : placed.load[h];
      double obs_load = 0;
      for (std::size_t o = 0; o < origins.size(); ++o) {
        const double a = placed.assignment.empty() ? 0 : placed.assignment[o * Hs + h];
        if (a > 0)
          obs_load += a * (origins[o].sizing > 0 ? origins[o].observed / origins[o].sizing : 0);
      }
      r.demandRps = obs_load;
      const double need = r.forecastRps * (1 + p.headroom);
      // Reason before damping.
      if (w.held && r.proposed <= w.current && w.current > 0) {
        set_reason(
            r, ReasonCode::kUnknownDemand,
            sfmt("demand unknown (%s): holding %d machine(s)", w.heldWhy.c_str(), w.current));
      } else if (w.pinned && r.proposed == w.floor &&
                 std::ceil(need / per_machine - 1e-9) < r.proposed) {
        set_reason(r, ReasonCode::kPinned,
                   sfmt("pinned region: at least %d machine(s)", pinned_floor(cap)));
      } else if (w.cooldownAdd && r.proposed == w.floor && need <= (w.floor - 1) * per_machine) {
        const auto& rs = state.regions[w.code];
        set_reason(r, ReasonCode::kCooldown,
                   sfmt("added %s ago: not removed before cooldownAfterAdd %s",
                        dur(now - *rs.addedAtMs).c_str(),
                        dur(spec.behavior.cooldownAfterAdd.count()).c_str()));
      } else if (w.cooldownRemove) {
        const auto& rs = state.regions[w.code];
        set_reason(r, ReasonCode::kCooldown,
                   sfmt("removed %s ago: not added back before cooldownAfterRemove %s",
                        dur(now - *rs.removedAtMs).c_str(),
                        dur(spec.behavior.cooldownAfterRemove.count()).c_str()));
      } else if (r.proposed == 0) {
        if (w.nearestForDemand) {
          set_reason(r, ReasonCode::kLatencyNotWorthIt,
                     "demand near this region is served from nearby regions; a machine here "
                     "is not worth its cost (costWeightMs " +
                         sfmt("%.1f", p.costWeightMs) + ")");
        } else {
          set_reason(r, ReasonCode::kNoDemand, "no demand near this region");
        }
      } else if (static_cast<int>(std::ceil(r.demandRps * (1 + p.headroom) / per_machine - 1e-9)) <
                 r.proposed) {
        set_reason(r, ReasonCode::kForecast,
                   sfmt("raised ahead of a forecast rise: sized for %.1f req/s (now %.1f req/s), "
                        "%d machine(s)",
                        r.forecastRps, r.demandRps, r.proposed));
      } else {
        set_reason(r, ReasonCode::kDemand,
                   sfmt("sized for %.1f req/s: %d machine(s) at %.0f req/s each, +%.0f%% headroom",
                        r.forecastRps, r.proposed, per_machine, p.headroom * 100));
      }
      // --- Damping: tolerance, stabilisation windows, rate policies. ---
      const BehaviorSpec& b = spec.behavior;
      int rec = r.proposed;
      if (w.current > 0 && rec > 0 && rec != w.current && !w.held &&
          within_tolerance(b.tolerance, w.current, need, per_machine) && rec >= w.floor) {
        set_reason(r, ReasonCode::kWithinTolerance,
                   sfmt("demand %.1f req/s is within tolerance of capacity %.0f (%d machines)",
                        need, w.current * per_machine, w.current));
        rec = w.current;
      }
      const std::int64_t up_window = b.scaleUp.stabilizationWindow.count();
      const std::int64_t down_window = b.scaleDown.stabilizationWindow.count();
      RegionState& rs = state.regions[w.code];
      record_recommendation(rs, now, rec, std::max(up_window, down_window));
      int desired = stabilize(rs, now, w.current, up_window, down_window);
      desired = std::max(desired, w.floor);
      if (desired != rec) {
        const bool down = desired > rec;
        set_reason(r, ReasonCode::kStabilizing,
                   sfmt("held at %d by the scale-%s stabilisation window (%s): %s recent "
                        "recommendation (now %d)",
                        desired, down ? "down" : "up", dur(down ? down_window : up_window).c_str(),
                        down ? "highest" : "lowest", rec));
      }
      if (desired > w.current) {
        const int limit = scale_up_limit(rs, now, w.current, b.scaleUp);
        if (desired > limit) {
          set_reason(r, ReasonCode::kRateLimited,
                     sfmt("scale-up rate policy allows %d now (asked %d)", limit, desired));
          desired = limit;
          d.limited = true;
          if (!contains(d.limitedBy, "scaleUp rate policy"))
            d.limitedBy.push_back("scaleUp rate policy");
        }
      } else if (desired < w.current) {
        const int limit = std::max(scale_down_limit(rs, now, w.current, b.scaleDown), w.floor);
        if (desired < limit) {
          set_reason(r, ReasonCode::kRateLimited,
                     sfmt("scale-down rate policy allows %d now (asked %d)", limit, desired));
          desired = limit;
          d.limited = true;
          if (!contains(d.limitedBy, "scaleDown rate policy")) {
            d.limitedBy.push_back("scaleDown rate policy");
          }
        }
      }
      r.desired = desired;
    }
  }

  apply_bounds(d, work, in);

  // Expected latency of the result under the simulator's serving model, observed demand.
  if (H > 0 && !origins.empty()) {
    std::vector<int> machines(Hs, 0);
    for (std::size_t h = 0; h < Hs; ++h) machines[h] = work[cand_work[h]].out.desired;
    d.expectedMeanRttMs = serve_demand(p, observed, machines, per_machine).meanRttMs;
  }
  finish(d, work, state, spec, now, true);
  return d;
}

}  // namespace autoplacer
