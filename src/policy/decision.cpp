#include "policy/decision.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <set>

#include "policy/damping.h"
#include "policy/decision_state.h"
#include "policy/forecast.h"
#include "policy/forecast_rise.h"
#include "policy/format_fixed.h"
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

// A number with `precision` (0..2) decimals, for MessageText; only for values fixed_fits().
struct Fixed {
  double x;
  int precision;
};

// The hot messages, built piece by piece on the stack and then made one string of the exact size:
// the text sfmt() gives for the matching format, without parsing it at every pass.
class MessageText {
 public:
  MessageText& operator<<(std::string_view s) {
    put(s.data(), s.size());
    return *this;
  }
  MessageText& operator<<(const char* s) { return *this << std::string_view(s); }
  MessageText& operator<<(int v) {
    char buf[16];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    put(buf, static_cast<std::size_t>(r.ptr - buf));
    return *this;
  }
  MessageText& operator<<(Fixed f) {
    char buf[32];
    put(buf, format_fixed(buf, f.x, f.precision));
    return *this;
  }
  std::string str() { return spill_.empty() ? std::string(text_, used_) : std::move(spill_); }

 private:
  void put(const char* from, std::size_t n) {
    if (spill_.empty() && used_ + n <= sizeof text_) {
      std::memcpy(text_ + used_, from, n);
      used_ += n;
      return;
    }
    if (spill_.empty()) spill_.assign(text_, used_);
    spill_.append(from, n);
  }

  char text_[256];
  std::size_t used_ = 0;
  std::string spill_;  // used only when the text outgrows `text_`
};

// printf-style messages for reasons. A pass formats one per region, and glibc's float formatting
// was a tenth of a pass, so the few conversions used here (%d, %s, %.Nf, %%) are done with
// std::to_chars, which rounds exactly as printf does; anything else falls back to vsnprintf.
std::string sfmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string sfmt(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list fallback;
  va_copy(fallback, args);
  // Written into a buffer on the stack, then one string of the exact size (one allocation).
  MessageText text;
  auto put = [&](const char* from, std::size_t n) { text << std::string_view(from, n); };
  bool ok = true;
  for (const char* f = format; *f != '\0' && ok; ++f) {
    if (*f != '%') {
      // The literal text up to the next conversion, in one append.
      const char* end = strchrnul(f + 1, '%');
      put(f, static_cast<std::size_t>(end - f));
      f = end - 1;
      continue;
    }
    char buf[64];
    const char c = *++f;
    if (c == '%') {
      put("%", 1);
    } else if (c == 'd') {
      const auto r = std::to_chars(buf, buf + sizeof buf, va_arg(args, int));
      put(buf, static_cast<std::size_t>(r.ptr - buf));
    } else if (c == 's') {
      const char* str = va_arg(args, const char*);
      put(str, std::strlen(str));
    } else if (c == '.' && f[1] >= '0' && f[1] <= '9' && f[2] == 'f') {
      const double x = va_arg(args, double);
      const auto n = format_fixed(buf, x, f[1] - '0');
      if (n > 0) {
        put(buf, n);
      } else {
        const auto r =
            std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed, f[1] - '0');
        ok = r.ec == std::errc{};
        if (ok) put(buf, static_cast<std::size_t>(r.ptr - buf));
      }
      f += 2;
    } else {
      ok = false;
    }
  }
  va_end(args);
  std::string out;
  if (!ok) {
    char fb[256];
    std::vsnprintf(fb, sizeof fb, format, fallback);
    out = fb;
  } else {
    out = text.str();
  }
  va_end(fallback);
  return out;
}

// std::string's order (bytes as unsigned char, then length), inline: region codes are three
// bytes, and a call to memcmp for each comparison of the per-pass merges was a tenth of a pass.
inline int compare_codes(const std::string& a, const std::string& b) {
  const std::size_t n = std::min(a.size(), b.size());
  const auto* x = reinterpret_cast<const unsigned char*>(a.data());
  const auto* y = reinterpret_cast<const unsigned char*>(b.data());
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}
inline bool code_less(const std::string& a, const std::string& b) {
  return compare_codes(a, b) < 0;
}

// Lookups of keys in increasing order in a sorted map: the iterator only moves forward.
template <class Map>
class Cursor {
 public:
  explicit Cursor(const Map& m) : m_(m), it_(m.begin()) {}
  typename Map::const_iterator find(const std::string& key) {
    int c = 1;
    while (it_ != m_.end() && (c = compare_codes(it_->first, key)) < 0) ++it_;
    return it_ != m_.end() && c == 0 ? it_ : m_.end();
  }

 private:
  const Map& m_;
  typename Map::const_iterator it_;
};

// The RTT cache's row of codes looked up in increasing order (-1: not in the catalog): a forward
// walk over the rows sorted by code, a flat array rather than the index map.
class RowCursor {
 public:
  explicit RowCursor(const RttCache& cache) : cache_(cache) {}
  int find(const std::string& code) {
    const std::vector<int>& rows = cache_.rowsByCode;
    int c = 1;
    while (i_ < rows.size() &&
           (c = compare_codes(cache_.codes[static_cast<std::size_t>(rows[i_])], code)) < 0) {
      ++i_;
    }
    return i_ < rows.size() && c == 0 ? rows[i_] : -1;
  }

 private:
  const RttCache& cache_;
  std::size_t i_ = 0;
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
  const bool some_unknown = !demand.unknown.empty();
  auto is_unknown = [&](const std::string& code) {
    return some_unknown && demand.unknown.count(code) != 0;
  };
  auto absent_is_zero = [&](const std::string& code, OriginState& o) {
    if (!is_unknown(code)) feed(o, fc, atMs, 0.0);
  };
  for (const auto& [code, rps] : demand.rps) {
    int c = 1;
    for (; it != state.origins.end() && (c = compare_codes(it->first, code)) < 0; ++it)
      absent_is_zero(it->first, it->second);
    const bool have = it != state.origins.end() && c == 0;
    if (is_unknown(code) || !valid_rps(rps)) {
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
  cache.rowsByCode.reserve(cache.index.size());
  for (const auto& entry : cache.index) cache.rowsByCode.push_back(entry.second);
  const std::vector<std::string>& hostable = catalog.hostable_codes();
  cache.hostableRows.reserve(hostable.size());
  for (const std::string& code : hostable) {
    const auto it = cache.index.find(code);
    cache.hostableRows.push_back(it == cache.index.end() ? -1 : it->second);
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

// The candidates nearest first for one origin (PlacementProblem::order) from the cache's sorted
// rows: a filter, then an insertion sort that only fixes ties broken by candidate index (and rows
// whose RTTs an observed latency replaced). `r`: the origin's RTT to each candidate.
void order_row(int* out, std::size_t H, const RttCache& cache, int row, const double* r) {
  const std::size_t n = cache.codes.size();
  std::size_t k = 0;
  const int* from = &cache.nearest[static_cast<std::size_t>(row) * n];
  for (std::size_t i = 0; i < n && k < H; ++i) {
    const int c = cache.candOfRow[static_cast<std::size_t>(from[i])];
    if (c >= 0) out[k++] = c;
  }
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

// Rebuilds the cache's candidate tables when the candidate set changed (policy or catalog).
void refresh_candidates(RttCache& cache, const std::vector<int>& cand_rows) {
  if (cache.candRows == cand_rows && cache.candOfRow.size() == cache.codes.size()) return;
  const std::size_t n = cache.codes.size();
  const std::size_t H = cand_rows.size();
  cache.candRows = cand_rows;
  ++cache.candGeneration;
  cache.candOfRow.assign(n, -1);
  for (std::size_t h = 0; h < H; ++h)
    cache.candOfRow[static_cast<std::size_t>(cand_rows[h])] = static_cast<int>(h);
  cache.candRtt.resize(H * H);
  for (std::size_t a = 0; a < H; ++a) {
    const double* from = &cache.matrix[static_cast<std::size_t>(cand_rows[a]) * n];
    for (std::size_t b = 0; b < H; ++b) cache.candRtt[a * H + b] = from[cand_rows[b]];
  }
  // Every row's order over the model RTTs, the same values PlacementProblem::rtt holds for an
  // origin without an observed latency.
  cache.candOrder.resize(n * H);
  cache.candRowRtt.resize(n * H);
  cache.candRowRttOrdered = true;
  for (std::size_t row = 0; row < n; ++row) {
    double* r = cache.candRowRtt.data() + row * H;
    for (std::size_t h = 0; h < H; ++h) {
      r[h] = cache.matrix[row * n + static_cast<std::size_t>(cand_rows[h])];
      if (std::isnan(r[h])) cache.candRowRttOrdered = false;
    }
    if (H > 0) order_row(&cache.candOrder[row * H], H, cache, static_cast<int>(row), r);
  }
  cache.candOrderedRtt.resize(n * H);
  for (std::size_t i = 0; i < n * H; ++i) {
    cache.candOrderedRtt[i] =
        cache.candRowRtt[i / H * H + static_cast<std::size_t>(cache.candOrder[i])];
  }
}

// PlacementProblem::order: the cached row of each origin, or, where an observed latency changed
// the origin's RTTs, that row ordered again.
void candidate_order(PlacementProblem& p, const RttCache& cache, const std::vector<int>& rows,
                     const std::vector<char>& changed) {
  const auto H = static_cast<std::size_t>(p.regions);
  // Appended row by row (the buffers are kept from pass to pass): no zero fill first.
  p.order.clear();
  p.orderedRtt.clear();
  if (H == 0) return;
  p.order.reserve(rows.size() * H);
  p.orderedRtt.reserve(rows.size() * H);
  for (std::size_t o = 0; o < rows.size(); ++o) {
    if (changed[o] != 0) {
      p.order.resize(p.order.size() + H);
      int* out = &p.order[o * H];
      order_row(out, H, cache, rows[o], &p.rtt[o * H]);
      for (std::size_t i = 0; i < H; ++i) {
        p.orderedRtt.push_back(p.rtt[o * H + static_cast<std::size_t>(out[i])]);
      }
    } else {
      const auto at = static_cast<std::size_t>(rows[o]) * H;
      const auto from = static_cast<std::ptrdiff_t>(at);
      const auto to = static_cast<std::ptrdiff_t>(at + H);
      p.order.insert(p.order.end(), cache.candOrder.begin() + from, cache.candOrder.begin() + to);
      p.orderedRtt.insert(p.orderedRtt.end(), cache.candOrderedRtt.begin() + from,
                          cache.candOrderedRtt.begin() + to);
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
    // The median: an insertion sort of at most 8 values (what nth_element would put there).
    for (std::size_t i = 1; i < count; ++i) {
      const std::int64_t x = gaps[i];
      std::size_t j = i;
      for (; j > 0 && x < gaps[j - 1]; --j) gaps[j] = gaps[j - 1];
      gaps[j] = x;
    }
    gap = std::clamp<std::int64_t>(gaps[count / 2], 0, 86'400'000);
  }
  return std::max<std::int64_t>(0, serve) + gap;
}

struct OriginView {
  const std::string* code = nullptr;  // a key of the demand read or of the state
  int row = -1;                       // in the RTT cache
  double observed = 0;
  double sizing = 0;
  double usual = 0;       // deseasonalised demand (the Holt-Winters level) once warm, else sizing
  bool seasoned = false;  // `usual` is a warm model's level
  bool unknown = false;
  std::string_view why;
  double p95 = 0;
  std::int64_t horizonMs = 0;
};

struct RegionWork {
  const std::string* code = nullptr;  // the catalog's or the fleet observation's key
  int row = -1;                       // RTT cache row, -1 if not in the catalog
  int cand = -1;                      // index among candidates, -1 if not allowed
  bool pinned = false;
  int current = 0;
  int reserve = 0;  // stopped + suspended machines: started, not created
  // The region's entry in DecisionState::regions (nullptr: none yet), and where it would go.
  RegionState* state = nullptr;
  std::map<std::string, RegionState>::iterator hint;
  int floor = 0;      // pinned/minPerRegion, held, cooldown
  bool held = false;  // serves an origin whose demand is unknown
  std::string heldWhy;
  bool cooldownAdd = false;     // not removed before cooldownAfterAdd
  bool cooldownRemove = false;  // not added back before cooldownAfterRemove
  bool nearestForDemand = false;
  const char* notAllowedWhy = nullptr;
  RegionDecision out;
};

int pinned_floor(const CapacitySpec& c) {
  return std::max(1, c.minPerRegion);
}

void set_reason(RegionDecision& r, ReasonCode code, std::string message) {
  r.reason = code;
  r.message = std::move(message);
}

// Finds each region's RegionState with one forward walk per run of increasing codes (the work list
// is the sorted hostable codes, then the sorted extra fleet regions), instead of a lookup each.
void resolve_states(std::vector<RegionWork>& work, DecisionState& state) {
  auto it = state.regions.begin();
  const std::string* previous = nullptr;
  for (RegionWork& w : work) {
    if (previous != nullptr && code_less(*w.code, *previous)) it = state.regions.begin();
    previous = w.code;
    int c = 1;
    while (it != state.regions.end() && (c = compare_codes(it->first, *w.code)) < 0) ++it;
    w.hint = it;
    w.state = it != state.regions.end() && c == 0 ? &it->second : nullptr;
  }
}

// The region's state, created where resolve_states found its place (map iterators stay valid
// while entries are added).
RegionState& state_of(RegionWork& w, DecisionState& state) {
  if (w.state == nullptr)
    w.state = &state.regions.emplace_hint(w.hint, *w.code, RegionState{})->second;
  return *w.state;
}

// Appends (key, value) to `seq`, the sequence of a flat map being built with keys mostly in
// increasing order: no search, no shifting. A key equal to the last assigns (a catalog listing a
// code twice), as insert_or_assign would; a smaller one clears `ordered`.
template <class Seq, class Value>
void append_entry(Seq& seq, bool& ordered, const std::string& key, Value&& value) {
  if (!seq.empty()) {
    const int c = compare_codes(seq.back().first, key);
    if (c == 0) {
      seq.back().second = std::forward<Value>(value);
      return;
    }
    if (c > 0) ordered = false;
  }
  seq.emplace_back(key, std::forward<Value>(value));
}

// Hands a sequence built by append_entry to its map. decide() merges sorted sources, so the keys
// come in order; if they ever did not, the map sorts them itself (and keeps one of equal keys).
template <class Map>
void adopt_entries(Map& map, typename Map::sequence_type&& seq, bool ordered) {
  if (ordered) {
    map.adopt_sequence(boost::container::ordered_unique_range, std::move(seq));
  } else {
    map.adopt_sequence(std::move(seq));
  }
}

// Writes `desired` and the bookkeeping every path shares.
void finish(Decision& d, std::vector<RegionWork>& work, DecisionState& state,
            const PlacementPolicySpec& spec, std::int64_t now, bool record) {
  const std::int64_t keep = longest_period_ms(spec.behavior);
  // Regions mostly come in code order: appended to the maps' sequences, which are handed back
  // sorted. The work list is not used after finish(): its decisions (and messages) move into the
  // result.
  auto desired_seq = d.desired.extract_sequence();
  auto regions_seq = d.regions.extract_sequence();
  bool desired_ordered = true, regions_ordered = true;
  desired_seq.reserve(desired_seq.size() + work.size());
  regions_seq.reserve(regions_seq.size() + work.size());
  for (RegionWork& w : work) {
    RegionDecision& r = w.out;
    r.current = w.current;
    r.direction = r.desired > w.current   ? Direction::kUp
                  : r.desired < w.current ? Direction::kDown
                                          : Direction::kNone;
    const int desired = r.desired;
    if (desired > 0) append_entry(desired_seq, desired_ordered, *w.code, desired);
    if (desired > 0 || w.current > 0 || r.demandRps > 0 || r.proposed > 0 || w.nearestForDemand) {
      append_entry(regions_seq, regions_ordered, *w.code, std::move(r));
    }
    if (!record) continue;
    if (desired == w.current && w.state == nullptr) continue;
    RegionState& rs = state_of(w, state);
    record_event(rs, now, desired - w.current, keep);
    if (w.current == 0 && desired > 0) rs.addedAtMs = now;
    // Removed once per add/remove cycle: a machine that stays while desired is 0 (one the policy
    // may not retire, or one still stopping) does not renew the cooldown at every pass.
    const bool removal_recorded =
        rs.removedAtMs && (!rs.addedAtMs || *rs.addedAtMs <= *rs.removedAtMs);
    if (w.current > 0 && desired == 0 && !removal_recorded) rs.removedAtMs = now;
  }
  adopt_entries(d.desired, std::move(desired_seq), desired_ordered);
  adopt_entries(d.regions, std::move(regions_seq), regions_ordered);
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
      return std::max(0, w.out.desired - w.current - w.reserve);
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
  // minTotal: add where demand is largest; at equal demand (none at all, say, at night) where
  // machines run, then where stopped ones wait, then in catalog order. Keeping the machine that
  // runs matters: moving it elsewhere empties the region its users come back to, and the
  // cooldown after a removal then keeps them served from a neighbour until it ends. Never beyond
  // maxTotal: when minPerRegion makes minTotal unreachable within it (minTotal = maxTotal = 3
  // with 2 machines a region), the budget wins.
  if (total < cap.minTotal) {
    std::vector<RegionWork*> order;
    for (RegionWork& w : work) {
      if (w.cand >= 0) order.push_back(&w);
    }
    std::stable_sort(order.begin(), order.end(), [](const RegionWork* a, const RegionWork* b) {
      if (a->out.forecastRps != b->out.forecastRps) return a->out.forecastRps > b->out.forecastRps;
      if (a->current != b->current) return a->current > b->current;
      return a->reserve > b->reserve;
    });
    bool progress = true;
    while (total < cap.minTotal && progress) {
      progress = false;
      for (RegionWork* w : order) {
        if (total >= cap.minTotal) break;
        const int add = w->out.desired == 0 ? std::max(1, cap.minPerRegion) : 1;
        if (w->out.desired + add > cap.maxPerRegion || total + add > cap.maxTotal) continue;
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

// A problem for this pass in the buffers of the last one: every field at its default, the vectors
// empty but with their capacity; regionRtt and regionOrder kept as they were (decide() knows
// whether they are current).
void recycle(PlacementProblem& p) {
  PlacementProblem fresh;
  auto take = [](auto& to, auto& from) {
    to = std::move(from);
    to.clear();
  };
  take(fresh.demand, p.demand);
  take(fresh.rtt, p.rtt);
  take(fresh.floor, p.floor);
  take(fresh.closed, p.closed);
  take(fresh.running, p.running);
  take(fresh.order, p.order);
  take(fresh.orderedRtt, p.orderedRtt);
  fresh.regionRtt = std::move(p.regionRtt);
  fresh.regionOrder = std::move(p.regionOrder);
  p = std::move(fresh);
}

}  // namespace

// decide()'s per-pass buffers (see ScratchSlot): only their capacity carries over.
struct DecideScratch {
  std::vector<RegionWork> work;
  std::vector<int> candRows;
  std::vector<std::size_t> candWork;
  std::vector<OriginView> origins;
  PlacementProblem problem;
  // problem.regionRtt is the cache's candRtt of this generation (0: not filled).
  std::uint64_t regionRttGeneration = 0;
  std::vector<char> rttChanged;
  std::vector<int> rows;
  std::vector<double> observed;
  std::vector<double> obsLoad;
  std::vector<int> machines;
  std::vector<double> shorts, longs, obs;
  std::vector<int> nearestOfRow;
  PlacementWorkspace placement;
};

ScratchSlot::ScratchSlot() = default;
ScratchSlot::ScratchSlot(const ScratchSlot&) {}
ScratchSlot::ScratchSlot(ScratchSlot&&) noexcept = default;
ScratchSlot& ScratchSlot::operator=(const ScratchSlot&) {
  p_.reset();  // what the buffers were filled from is not what this copy now holds
  return *this;
}
ScratchSlot& ScratchSlot::operator=(ScratchSlot&&) noexcept = default;
ScratchSlot::~ScratchSlot() = default;
DecideScratch& ScratchSlot::get() {
  if (!p_) p_ = std::make_unique<DecideScratch>();
  return *p_;
}

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
  if (in.policy == nullptr || in.catalog == nullptr) {
    std::vector<RegionWork> work;
    work.reserve(in.fleet.regions.size());
    for (const auto& [code, m] : in.fleet.regions) {
      RegionWork w;
      w.code = &code;
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
  DecideScratch& scratch = state.cache.scratch.get();
  const auto n_all = cache.codes.size();
  std::vector<RegionWork>& work_list = scratch.work;
  work_list.clear();
  std::vector<int>& cand_rows = scratch.candRows;  // candidate index -> cache row
  cand_rows.clear();
  std::vector<std::size_t>& cand_work = scratch.candWork;
  cand_work.clear();
  const std::vector<std::string>& hostable = catalog.hostable_codes();  // sorted
  work_list.reserve(hostable.size() + in.fleet.regions.size());
  {
    // Hostable codes and the fleet are both sorted by code: a forward cursor.
    Cursor fleet_at(in.fleet.regions);
    for (std::size_t i = 0; i < hostable.size(); ++i) {
      const std::string& code = hostable[i];
      RegionWork& w = work_list.emplace_back();
      w.code = &code;
      w.row = cache.hostableRows[i];
      const bool allowed = spec.regions.allowed.empty() || contains(spec.regions.allowed, code);
      const bool excluded = contains(spec.regions.excluded, code);
      if (allowed && !excluded && w.row >= 0) {
        w.cand = static_cast<int>(cand_rows.size());
        cand_rows.push_back(w.row);
        cand_work.push_back(work_list.size() - 1);
        w.pinned = contains(spec.regions.pinned, code);
      } else {
        w.notAllowedWhy = excluded ? "excluded by the policy" : "not in regions.allowed";
      }
      const auto it = fleet_at.find(code);
      if (it != in.fleet.regions.end()) {
        w.current = std::max(0, it->second.active());
        w.reserve = it->second.stopped + it->second.suspended;
      }
    }
  }
  {
    auto host = hostable.begin();
    for (const auto& [code, m] : in.fleet.regions) {
      int c = 1;
      while (host != hostable.end() && (c = compare_codes(*host, code)) < 0) ++host;
      if (host != hostable.end() && c == 0) continue;  // hostable: listed above
      RegionWork& w = work_list.emplace_back();
      w.code = &code;
      w.current = std::max(0, m.active());
      w.reserve = m.stopped + m.suspended;
      w.notAllowedWhy = "not a hostable region in the catalog";
    }
  }
  std::vector<RegionWork>& work = work_list;
  for (RegionWork& w : work) {
    if (w.cand < 0) {
      w.out.desired = 0;
      set_reason(w.out, ReasonCode::kNotAllowed, w.notAllowedWhy);
    }
  }
  resolve_states(work, state);

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
        auto it = mu.staticPlacement.find(*w.code);
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
  std::vector<OriginView>& origins = scratch.origins;
  origins.clear();
  {
    // Every origin code of the read and of the state, in order, each once: one merge of the
    // three sorted maps, and forward walks over the cache's rows and the p95 map.
    constexpr std::string_view kInvalid = "invalid value";
    auto rps = in.demand.rps.begin();
    const auto rps_end = in.demand.rps.end();
    auto unk = in.demand.unknown.begin();
    const auto unk_end = in.demand.unknown.end();
    auto st = state.origins.begin();
    const auto st_end = state.origins.end();
    Cursor p95_at(in.demand.p95LatencyMs);
    RowCursor rows_at(cache);
    while (true) {
      const std::string* code_ptr = nullptr;
      if (rps != rps_end) code_ptr = &rps->first;
      if (unk != unk_end && (code_ptr == nullptr || code_less(unk->first, *code_ptr)))
        code_ptr = &unk->first;
      if (st != st_end && (code_ptr == nullptr || code_less(st->first, *code_ptr)))
        code_ptr = &st->first;
      if (code_ptr == nullptr) break;
      const std::string& code = *code_ptr;
      const bool has_rps = rps != rps_end && compare_codes(rps->first, code) == 0;
      const bool has_unk = unk != unk_end && compare_codes(unk->first, code) == 0;
      const bool has_st = st != st_end && compare_codes(st->first, code) == 0;
      const OriginState* os = has_st ? &st->second : nullptr;
      OriginView o;
      o.code = code_ptr;
      o.row = rows_at.find(code);
      if (has_unk) {
        o.unknown = true;
        o.why = unk->second;
      } else if (has_rps && !valid_rps(rps->second)) {
        o.unknown = true;
        o.why = kInvalid;
      }
      if (o.unknown) {
        o.observed = os != nullptr && !os->history.empty() ? os->history.back().rps : 0.0;
      } else {
        o.observed = has_rps ? std::min(rps->second, kMaxRps) : 0.0;
      }
      if (has_rps) ++rps;
      if (has_unk) ++unk;
      if (has_st) ++st;
      o.sizing = o.observed;
      if (os != nullptr && fc.model != ForecastModel::kNone && !os->history.empty()) {
        o.horizonMs = horizon_ms(in, os);
        // Forecasts only raise, and only by the rise they expect (forecast_rise.h).
        o.sizing += forecast_rise(os->model, fc, os->history, os->lastAtMs, o.horizonMs);
      }
      o.seasoned = os != nullptr && fc.model == ForecastModel::kHoltWinters && os->model.warm;
      o.usual = o.seasoned ? std::max(0.0, os->model.level) : o.sizing;
      if (auto p = p95_at.find(code); p != in.demand.p95LatencyMs.end() &&
                                      std::isfinite(p->second) && p->second > 0 &&
                                      p->second <= kMaxPlausibleLatencyMs) {
        o.p95 = p->second;
      }
      if (o.row < 0) {
        if (o.observed > 0 || o.unknown) d.ignoredOrigins.push_back(code);
        continue;
      }
      if (o.sizing <= 0 && !o.unknown) continue;
      origins.push_back(o);
    }
  }

  // --- The placement problem over candidates. ---
  const int H = static_cast<int>(cand_rows.size());
  const auto Hs = static_cast<std::size_t>(H);
  PlacementProblem& p = scratch.problem;
  recycle(p);
  p.regions = H;
  p.targetPerMachine = cap.targetPerMachine > 0 ? cap.targetPerMachine : 1.0;
  p.headroom = std::max(0.0, spec.forecast.headroom);
  p.minPerRegion = std::max(0, cap.minPerRegion);
  p.maxPerRegion = std::max(0, cap.maxPerRegion);
  p.maxTotal = cap.maxTotal;
  p.costWeightMs = std::max(0.0, spec.placement.costWeightMs);
  p.maxRttMs = std::max(0.0, spec.placement.maxRttMs);
  p.partialRegions = spec.placement.partialRegions;
  p.floor.assign(Hs, 0);
  p.closed.assign(Hs, 0);
  // Hysteresis: prefer the regions running now. Changing a region's use costs half a machine's
  // worth, so a region is added when it gains 1.5 machines' worth and dropped when it saves half.
  p.running.assign(Hs, 0);
  for (std::size_t h = 0; h < Hs; ++h) p.running[h] = work[cand_work[h]].current > 0 ? 1 : 0;
  p.switchPenaltyMs = kSwitchPenaltyMachines * std::max(0.0, spec.placement.costWeightMs);
  refresh_candidates(state.cache, cand_rows);
  if (scratch.regionRttGeneration != cache.candGeneration) {
    p.regionRtt = cache.candRtt;
    p.regionOrder = nearest_regions(p.regionRtt, p.regions);
    scratch.regionRttGeneration = cache.candGeneration;
  }
  std::vector<char>& rtt_changed = scratch.rttChanged;  // an observed latency replaced the model
  rtt_changed.assign(origins.size(), 0);
  p.demand.reserve(origins.size());
  p.rtt.reserve(origins.size() * Hs);  // filled row by row below
  // RTT counts in proportion to traffic, as in the long-run mean: the latency term is over the
  // origins' usual demand once some model has seen a day (PlacementProblem::latencyReferenceRps),
  // over this pass's demand before.
  if (std::any_of(origins.begin(), origins.end(), [](const OriginView& o) { return o.seasoned; })) {
    for (const OriginView& o : origins) p.latencyReferenceRps += o.usual;
  }
  for (std::size_t o = 0; o < origins.size(); ++o) {
    p.demand.push_back(origins[o].sizing);
    const double* from = &cache.candRowRtt[static_cast<std::size_t>(origins[o].row) * Hs];
    p.rtt.insert(p.rtt.end(), from, from + Hs);
  }
  // Which candidate serves each origin today (nearest with machines), else the nearest one. With
  // every model RTT a number, the cached order (by RTT, ties by index) gives both: the nearest is
  // its first entry, the serving one the first that runs.
  auto serving_now = [&](std::size_t o) {
    if (cache.candRowRttOrdered) {
      const int* order = &cache.candOrder[static_cast<std::size_t>(origins[o].row) * Hs];
      int best = -1;
      for (std::size_t i = 0; i < Hs; ++i) {
        if (p.running[static_cast<std::size_t>(order[i])] != 0) {
          best = order[i];
          break;
        }
      }
      return std::make_pair(best, Hs > 0 ? order[0] : -1);
    }
    int best = -1, nearest = -1;
    double best_r = 0, nearest_r = 0;
    const double* row = &p.rtt[o * Hs];
    for (std::size_t h = 0; h < Hs; ++h) {
      const double r = row[h];
      if (nearest < 0 || r < nearest_r) {
        nearest = static_cast<int>(h);
        nearest_r = r;
      }
      if (p.running[h] != 0 && (best < 0 || r < best_r)) {
        best = static_cast<int>(h);
        best_r = r;
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
      rtt_changed[o] = 1;
    }
    if (nearest >= 0 && origins[o].observed > 0)
      work[cand_work[static_cast<std::size_t>(nearest)]].nearestForDemand = true;
    if (origins[o].unknown && serving >= 0) {
      RegionWork& w = work[cand_work[static_cast<std::size_t>(serving)]];
      w.held = true;
      if (!w.heldWhy.empty()) w.heldWhy += ", ";
      w.heldWhy.append(*origins[o].code).append(": ").append(origins[o].why);
    }
  }
  for (std::size_t h = 0; h < Hs; ++h) {
    RegionWork& w = work[cand_work[h]];
    const RegionState* rs = w.state;
    int f = w.pinned ? pinned_floor(cap) : 0;
    if (w.held) f = std::max(f, w.current);
    if (rs != nullptr && spec.placement.strategy == Strategy::kLatency) {
      if (w.current > 0 && remove_blocked(*rs, now, spec.behavior) && *rs->addedAtMs != now) {
        w.cooldownAdd = true;
        f = std::max({f, 1, cap.minPerRegion});
      }
      if (w.current == 0 && f == 0 && add_blocked(*rs, now, spec.behavior) &&
          *rs->removedAtMs != now) {
        w.cooldownRemove = true;
        p.closed[h] = 1;
      }
    }
    w.floor = f;
    p.floor[h] = f;
  }

  {
    std::vector<int>& rows = scratch.rows;
    rows.resize(origins.size());
    for (std::size_t o = 0; o < origins.size(); ++o) rows[o] = origins[o].row;
    candidate_order(p, cache, rows, rtt_changed);
  }
  std::vector<double>& observed = scratch.observed;
  observed.resize(origins.size());
  for (std::size_t o = 0; o < origins.size(); ++o) observed[o] = origins[o].observed;
  const double per_machine = p.targetPerMachine;

  if (spec.placement.strategy == Strategy::kThreshold) {
    // Each origin counts toward its nearest candidate; EWMAs over the last 5 and 20 points.
    std::vector<double>& shorts = scratch.shorts;
    std::vector<double>& longs = scratch.longs;
    std::vector<double>& obs = scratch.obs;
    shorts.assign(Hs, 0);
    longs.assign(Hs, 0);
    obs.assign(Hs, 0);
    // Every origin with history counts, including those whose demand is now 0 (a falling region
    // must see its short average fall below the long one).
    std::vector<int>& nearest_of_row = scratch.nearestOfRow;
    nearest_of_row.assign(n_all, -2);  // memo: -2 = not computed yet
    auto nearest_cand_of = [&](int row) {
      // With every model RTT a number, the first of the row's cached order (by RTT, ties by
      // index) is the first candidate at the least RTT, which the scan below finds.
      if (cache.candRowRttOrdered) {
        return Hs > 0 ? cache.candOrder[static_cast<std::size_t>(row) * Hs] : -1;
      }
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
    auto nearest_cand = [&](int row) {
      int& memo = nearest_of_row[static_cast<std::size_t>(row)];
      if (memo == -2) memo = nearest_cand_of(row);
      return memo;
    };
    for (const OriginView& o : origins) {
      const int nearest = nearest_cand(o.row);
      if (nearest >= 0) obs[static_cast<std::size_t>(nearest)] += o.observed;
    }
    RowCursor rows_at(cache);
    for (const auto& [code, os] : state.origins) {
      const int row = rows_at.find(code);
      const int nearest = row < 0 ? -1 : nearest_cand(row);
      if (nearest < 0) continue;
      const auto nh = static_cast<std::size_t>(nearest);
      shorts[nh] += ewma_last(os.history, kThresholdShortPoints, spec.forecast.shortAlpha);
      longs[nh] += ewma_last(os.history, kThresholdLongPoints, spec.forecast.longAlpha);
    }
    for (std::size_t h = 0; h < Hs; ++h) {
      RegionWork& w = work[cand_work[h]];
      // The region's state is made only when it acts: most passes leave most regions alone.
      const RegionState* rs = w.state;
      const bool cooling =
          rs != nullptr && rs->thresholdActionAtMs && *rs->thresholdActionAtMs != now &&
          now - *rs->thresholdActionAtMs < spec.placement.thresholdCooldown.count();
      const ThresholdVerdict v =
          threshold_verdict(spec.placement, per_machine, w.current, shorts[h], longs[h], cooling);
      RegionDecision& r = w.out;
      r.proposed = r.desired = v.proposed;
      r.demandRps = obs[h];
      r.forecastRps = shorts[h];
      set_reason(r, v.reason, v.message);
      if (v.acted) state_of(w, state).thresholdActionAtMs = now;
      if (w.held && r.desired < w.current) {
        r.desired = w.current;
        set_reason(
            r, ReasonCode::kUnknownDemand,
            sfmt("demand unknown (%s): holding %d machine(s)", w.heldWhy.c_str(), w.current));
      }
    }
  } else {
    const PlacementResult& placed = place_latency(p, scratch.placement);
    if (placed.unservedRps > 1e-9) {
      // Demand the bounds leave unserved: say which bound.
      d.limited = true;
      const char* by = placed.total >= cap.maxTotal ? "maxTotal" : "maxPerRegion";
      if (!contains(d.limitedBy, by)) d.limitedBy.push_back(by);
    }
    // Texts the same for every region of the pass, made once when first needed.
    std::string not_worth_it;
    std::string up_text, down_text;  // "" = not made yet (dur() never returns "")
    auto window_text = [&](bool down, std::int64_t window) -> const std::string& {
      std::string& text = down ? down_text : up_text;
      if (text.empty()) text = dur(window);
      return text;
    };
    // Observed demand each region serves: its share of each origin's sizing demand, scaled to the
    // observed one (summed over origins in order).
    std::vector<double>& obs_load = scratch.obsLoad;
    obs_load.assign(Hs, 0.0);
    for (const PlacementResult::Served& s : placed.assignment) {
      const OriginView& og = origins[static_cast<std::size_t>(s.origin)];
      const double ratio = og.sizing > 0 ? og.observed / og.sizing : 0;
      obs_load[static_cast<std::size_t>(s.region)] += s.rps * ratio;
    }
    for (std::size_t h = 0; h < Hs; ++h) {
      RegionWork& w = work[cand_work[h]];
      RegionDecision& r = w.out;
      r.proposed = placed.machines.empty() ? 0 : placed.machines[h];
      r.forecastRps = placed.load.empty() ? 0 : placed.load[h];
      r.demandRps = obs_load[h];
      const double need = r.forecastRps * (1 + p.headroom);
      // Reason before damping. Only the last reason set is kept, and most passes replace this one
      // (tolerance, stabilisation), so it is chosen here and formatted only if it is the last.
      enum class Pre {
        kHeld,
        kPinned,
        kCooldownAdd,
        kCooldownRemove,
        kNotWorthIt,
        kNoDemand,
        kForecast,
        kDemand
      };
      Pre pre = Pre::kDemand;
      if (w.held && r.proposed <= w.current && w.current > 0) {
        pre = Pre::kHeld;
      } else if (w.pinned && r.proposed == w.floor &&
                 std::ceil(need / per_machine - 1e-9) < r.proposed) {
        pre = Pre::kPinned;
      } else if (w.cooldownAdd && r.proposed == w.floor && need <= (w.floor - 1) * per_machine) {
        pre = Pre::kCooldownAdd;
      } else if (w.cooldownRemove) {
        pre = Pre::kCooldownRemove;
      } else if (r.proposed == 0) {
        pre = w.nearestForDemand ? Pre::kNotWorthIt : Pre::kNoDemand;
      } else if (static_cast<int>(std::ceil(r.demandRps * (1 + p.headroom) / per_machine - 1e-9)) <
                 r.proposed) {
        pre = Pre::kForecast;
      }
      // --- Damping: tolerance, stabilisation windows, rate policies. ---
      enum class Damped { kNone, kTolerance, kStabilizing, kRateUp, kRateDown };
      Damped damped = Damped::kNone;
      const BehaviorSpec& b = spec.behavior;
      int rec = r.proposed;
      if (w.current > 0 && rec > 0 && rec != w.current && !w.held &&
          within_tolerance(b.tolerance, w.current, need, per_machine) && rec >= w.floor) {
        damped = Damped::kTolerance;
        rec = w.current;
      }
      const std::int64_t up_window = b.scaleUp.stabilizationWindow.count();
      const std::int64_t down_window = b.scaleDown.stabilizationWindow.count();
      RegionState& rs = state_of(w, state);
      record_recommendation(rs, now, rec, std::max(up_window, down_window));
      int desired = stabilize(rs, now, w.current, up_window, down_window);
      desired = std::max(desired, w.floor);
      const int stabilized = desired;
      if (desired != rec) damped = Damped::kStabilizing;
      int limit = 0;
      if (desired > w.current) {
        limit = scale_up_limit(rs, now, w.current, b.scaleUp);
        if (desired > limit) {
          damped = Damped::kRateUp;
          desired = limit;
          d.limited = true;
          if (!contains(d.limitedBy, "scaleUp rate policy"))
            d.limitedBy.push_back("scaleUp rate policy");
        }
      } else if (desired < w.current) {
        limit = std::max(scale_down_limit(rs, now, w.current, b.scaleDown), w.floor);
        if (desired < limit) {
          damped = Damped::kRateDown;
          desired = limit;
          d.limited = true;
          if (!contains(d.limitedBy, "scaleDown rate policy")) {
            d.limitedBy.push_back("scaleDown rate policy");
          }
        }
      }
      switch (damped) {
        case Damped::kRateUp:
          set_reason(r, ReasonCode::kRateLimited,
                     (MessageText() << "scale-up rate policy allows " << limit << " now (asked "
                                    << stabilized << ")")
                         .str());
          break;
        case Damped::kRateDown:
          set_reason(r, ReasonCode::kRateLimited,
                     (MessageText() << "scale-down rate policy allows " << limit << " now (asked "
                                    << stabilized << ")")
                         .str());
          break;
        case Damped::kStabilizing: {
          const bool down = stabilized > rec;
          set_reason(r, ReasonCode::kStabilizing,
                     (MessageText() << "held at " << stabilized << " by the scale-"
                                    << (down ? "down" : "up") << " stabilisation window ("
                                    << window_text(down, down ? down_window : up_window)
                                    << "): " << (down ? "highest" : "lowest")
                                    << " recent recommendation (now " << rec << ")")
                         .str());
          break;
        }
        case Damped::kTolerance:
          set_reason(r, ReasonCode::kWithinTolerance,
                     sfmt("demand %.1f req/s is within tolerance of capacity %.0f (%d machines)",
                          need, w.current * per_machine, w.current));
          break;
        case Damped::kNone:
          switch (pre) {
            case Pre::kHeld:
              set_reason(
                  r, ReasonCode::kUnknownDemand,
                  sfmt("demand unknown (%s): holding %d machine(s)", w.heldWhy.c_str(), w.current));
              break;
            case Pre::kPinned:
              set_reason(r, ReasonCode::kPinned,
                         sfmt("pinned region: at least %d machine(s)", pinned_floor(cap)));
              break;
            case Pre::kCooldownAdd:
              set_reason(r, ReasonCode::kCooldown,
                         sfmt("added %s ago: not removed before cooldownAfterAdd %s",
                              dur(now - *rs.addedAtMs).c_str(),
                              dur(spec.behavior.cooldownAfterAdd.count()).c_str()));
              break;
            case Pre::kCooldownRemove:
              set_reason(r, ReasonCode::kCooldown,
                         sfmt("removed %s ago: not added back before cooldownAfterRemove %s",
                              dur(now - *rs.removedAtMs).c_str(),
                              dur(spec.behavior.cooldownAfterRemove.count()).c_str()));
              break;
            case Pre::kNotWorthIt:
              if (not_worth_it.empty()) {
                not_worth_it =
                    "demand near this region is served from nearby regions; a machine here "
                    "is not worth its cost (costWeightMs " +
                    sfmt("%.1f", p.costWeightMs) + ")";
              }
              set_reason(r, ReasonCode::kLatencyNotWorthIt, not_worth_it);
              break;
            case Pre::kNoDemand:
              set_reason(r, ReasonCode::kNoDemand, "no demand near this region");
              break;
            case Pre::kForecast:
              set_reason(r, ReasonCode::kForecast,
                         sfmt("raised ahead of a forecast rise: sized for %.1f req/s (now %.1f "
                              "req/s), %d machine(s)",
                              r.forecastRps, r.demandRps, r.proposed));
              break;
            case Pre::kDemand:
              if (fixed_fits(r.forecastRps) && fixed_fits(per_machine) &&
                  fixed_fits(p.headroom * 100)) {
                set_reason(r, ReasonCode::kDemand,
                           (MessageText()
                            << "sized for " << Fixed{r.forecastRps, 1} << " req/s: " << r.proposed
                            << " machine(s) at " << Fixed{per_machine, 0} << " req/s each, +"
                            << Fixed{p.headroom * 100, 0} << "% headroom")
                               .str());
              } else {
                set_reason(r, ReasonCode::kDemand,
                           sfmt("sized for %.1f req/s: %d machine(s) at %.0f req/s each, +%.0f%% "
                                "headroom",
                                r.forecastRps, r.proposed, per_machine, p.headroom * 100));
              }
              break;
          }
          break;
      }
      r.desired = desired;
    }
  }

  apply_bounds(d, work, in);

  // Expected latency of the result under the simulator's serving model, observed demand.
  if (H > 0 && !origins.empty()) {
    std::vector<int>& machines = scratch.machines;
    machines.assign(Hs, 0);
    for (std::size_t h = 0; h < Hs; ++h) machines[h] = work[cand_work[h]].out.desired;
    d.expectedMeanRttMs = serve_demand(p, observed, machines, per_machine).meanRttMs;
  }
  finish(d, work, state, spec, now, true);
  return d;
}

}  // namespace autoplacer
