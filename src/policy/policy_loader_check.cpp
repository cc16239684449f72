// The values of a policy that read correctly: ranges, relations between fields (min <= max and
// the like), and regions against the catalog. Each rule reports at the field it names.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>

#include "policy/policy_loader_detail.h"

namespace autoplacer::policy_detail {
namespace {

// The seasonal profile keeps one value per step and region; this bounds the model's memory
// (a day at one-minute steps).
constexpr long long kMaxSeasonSteps = 1440;

std::string num(double v) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "?";
  return std::string(buf.data(), end);
}
std::string num(int v) {
  return std::to_string(v);
}
std::string dur(Duration d) {
  return format_duration(d);
}

// --- one field at a time ---------------------------------------------------------------------

void at_least(DocContext& ctx, const std::string& path, int v, int min) {
  if (v >= min) return;
  if (min == 0) {
    ctx.error(path, "must not be negative, got " + num(v));
  } else {
    ctx.error(path, "must be at least " + num(min) + ", got " + num(v));
  }
}

void not_negative(DocContext& ctx, const std::string& path, double v) {
  if (v < 0) ctx.error(path, "must not be negative, got " + num(v));
}

void positive(DocContext& ctx, const std::string& path, double v) {
  if (v <= 0) ctx.error(path, "must be greater than 0, got " + num(v));
}

void positive(DocContext& ctx, const std::string& path, Duration d) {
  if (d.count() <= 0) ctx.error(path, "must be longer than 0s, got " + dur(d));
}

// (0, 1]: smoothing factors where 0 would never move.
void fraction_open(DocContext& ctx, const std::string& path, double v) {
  if (!(v > 0 && v <= 1)) ctx.error(path, "must be greater than 0 and at most 1, got " + num(v));
}

// [0, 1].
void fraction_closed(DocContext& ctx, const std::string& path, double v) {
  if (!(v >= 0 && v <= 1)) ctx.error(path, "must be between 0 and 1, got " + num(v));
}

// Kubernetes object names (RFC 1123 labels); Fly app names follow the same rule.
bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

constexpr const char* kDnsLabelRule =
    "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or "
    "digit";

// --- regions ---------------------------------------------------------------------------------

// Why `code` cannot hold machines, or "" when it can.
std::string region_problem(std::string_view code, const RegionCatalog& regions) {
  const Region* r = regions.find(code);
  if (r == nullptr) {
    std::string message = "unknown region " + in_quotes(code);
    std::vector<std::string_view> close;
    for (const std::string& h : regions.hostable_codes()) {
      if (edit_distance(code, h) <= (code.size() > 3 ? 2u : 1u)) close.push_back(h);
    }
    if (close.size() == 1) return message + "; did you mean " + in_quotes(close.front()) + "?";
    std::vector<std::string_view> all(regions.hostable_codes().begin(),
                                      regions.hostable_codes().end());
    return message + "; hostable regions: " + join(all);
  }
  if (!r->hostable) {
    std::string message = "region " + in_quotes(code) + " is edge-only: machines cannot run there";
    if (auto nearest = regions.nearest_hostable(code)) {
      message +=
          " (its traffic is served from the nearest hostable region, " + in_quotes(*nearest) + ")";
    }
    return message;
  }
  return "";
}

// Checks each code of one list; returns the hostable ones (first occurrence only).
std::vector<std::string> check_region_list(DocContext& ctx, const std::string& path,
                                           const std::vector<std::string>& codes,
                                           const RegionCatalog& regions) {
  std::vector<std::string> good;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const std::string& code = codes[i];
    if (!seen.insert(code).second) {
      ctx.error(p, "region " + in_quotes(code) + " is listed twice");
      continue;
    }
    if (std::string why = region_problem(code, regions); !why.empty()) {
      ctx.error(p, why);
      continue;
    }
    if (const Region* r = regions.find(code); r != nullptr && r->deprecated) {
      ctx.warning(p, "region " + in_quotes(code) + " is deprecated by the platform");
    }
    good.push_back(code);
  }
  return good;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::size_t index_of(const std::vector<std::string>& v, std::string_view s) {
  return static_cast<std::size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

// The regions machines may run in: allowed (or every hostable one), less excluded.
std::vector<std::string> usable_regions(const std::vector<std::string>& allowed,
                                        const std::vector<std::string>& excluded,
                                        const RegionCatalog& regions) {
  std::vector<std::string> usable;
  const std::vector<std::string>& from = allowed.empty() ? regions.hostable_codes() : allowed;
  for (const std::string& code : from) {
    if (!contains(excluded, code)) usable.push_back(code);
  }
  return usable;
}

void check_regions(const PlacementPolicySpec& s, DocContext& ctx, const RegionCatalog& regions) {
  const std::string base = "spec.regions";
  const auto allowed = check_region_list(ctx, base + ".allowed", s.regions.allowed, regions);
  const auto excluded = check_region_list(ctx, base + ".excluded", s.regions.excluded, regions);
  const auto pinned = check_region_list(ctx, base + ".pinned", s.regions.pinned, regions);
  for (const std::string& code : pinned) {
    const std::string p =
        base + ".pinned[" + std::to_string(index_of(s.regions.pinned, code)) + "]";
    if (contains(excluded, code)) {
      ctx.error(p, "region " + in_quotes(code) + " is both pinned and excluded");
    } else if (!s.regions.allowed.empty() && !contains(s.regions.allowed, code)) {
      ctx.error(p, "pinned region " + in_quotes(code) + " is not in spec.regions.allowed");
    }
  }
  // The rules about how many regions are left need every listed region valid: a typo already
  // reported would only make them noise.
  const bool lists_valid =
      allowed.size() == s.regions.allowed.size() && excluded.size() == s.regions.excluded.size();
  const auto usable = usable_regions(allowed, excluded, regions);
  if (lists_valid && usable.empty()) {
    ctx.error(base, s.regions.allowed.empty()
                        ? "no region left to run machines in: every hostable region is excluded"
                        : "no region left to run machines in: every allowed region is excluded");
  }

  const CapacitySpec& c = s.capacity;
  const int per_pinned = std::max(1, c.minPerRegion);
  const long long pinned_need = static_cast<long long>(s.regions.pinned.size()) * per_pinned;
  if (c.maxTotal >= 1 && pinned_need > c.maxTotal) {
    ctx.error(base + ".pinned", num(static_cast<int>(s.regions.pinned.size())) +
                                    " pinned regions need at least " + std::to_string(pinned_need) +
                                    " machines (max(1, minPerRegion) each), more than maxTotal (" +
                                    num(c.maxTotal) + ")");
  }
  const long long most = static_cast<long long>(usable.size()) * c.maxPerRegion;
  if (lists_valid && !usable.empty() && c.maxPerRegion >= 1 && c.minTotal > most) {
    ctx.error("spec.capacity.minTotal",
              "minTotal (" + num(c.minTotal) + ") cannot be met: " + std::to_string(usable.size()) +
                  " usable regions x maxPerRegion (" + num(c.maxPerRegion) +
                  ") = " + std::to_string(most) + " machines at most");
  } else if (lists_valid && !usable.empty() && c.minTotal >= 1 && c.minTotal <= c.maxTotal &&
             per_pinned <= c.maxPerRegion && per_pinned <= c.maxTotal) {
    // (The other cases are errors of their own: minTotal above maxTotal, minPerRegion above
    // maxPerRegion or maxTotal.)
    // k regions in use hold between k x max(1, minPerRegion) and k x maxPerRegion machines; some
    // such total must lie between minTotal and maxTotal (2 machines a region make no total of 3).
    bool reachable = false;
    for (long long k = 1; k <= static_cast<long long>(usable.size()) && !reachable; ++k) {
      reachable = std::max<long long>(c.minTotal, k * per_pinned) <=
                  std::min<long long>(c.maxTotal, k * c.maxPerRegion);
    }
    if (!reachable) {
      ctx.error("spec.capacity.minTotal",
                "minTotal (" + num(c.minTotal) + ") cannot be met within maxTotal (" +
                    num(c.maxTotal) + "): a region in use holds " + std::to_string(per_pinned) +
                    " to " + num(c.maxPerRegion) +
                    " machines (max(1, minPerRegion) to maxPerRegion), and no number of regions "
                    "makes a total from " +
                    num(c.minTotal) + " to " + num(c.maxTotal));
    }
  }
}

// --- sections --------------------------------------------------------------------------------

void check_capacity(const CapacitySpec& c, DocContext& ctx) {
  const std::string base = "spec.capacity.";
  positive(ctx, base + "targetPerMachine", c.targetPerMachine);
  at_least(ctx, base + "minPerRegion", c.minPerRegion, 0);
  at_least(ctx, base + "maxPerRegion", c.maxPerRegion, 1);
  at_least(ctx, base + "minTotal", c.minTotal, 0);
  at_least(ctx, base + "maxTotal", c.maxTotal, 1);
  if (c.minPerRegion >= 0 && c.maxPerRegion >= 1 && c.minPerRegion > c.maxPerRegion) {
    ctx.error(base + "minPerRegion", "minPerRegion (" + num(c.minPerRegion) +
                                         ") is greater than maxPerRegion (" + num(c.maxPerRegion) +
                                         ")");
  }
  // Every region in use holds at least minPerRegion machines, so a budget below that could never
  // place one (found by the decision fuzzer: the core then had to break one bound or the other).
  if (c.minPerRegion >= 0 && c.maxTotal >= 1 && c.minPerRegion > c.maxTotal) {
    ctx.error(base + "minPerRegion", "minPerRegion (" + num(c.minPerRegion) +
                                         ") is greater than maxTotal (" + num(c.maxTotal) +
                                         "): no region could ever hold machines");
  }
  if (c.minTotal >= 0 && c.maxTotal >= 1 && c.minTotal > c.maxTotal) {
    ctx.error(base + "minTotal", "minTotal (" + num(c.minTotal) + ") is greater than maxTotal (" +
                                     num(c.maxTotal) + ")");
  }
}

bool is_variable_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

// The $NAME / ${NAME} references of a query template ("$$" is a literal "$"); "" for an unclosed
// "${".
std::vector<std::string> query_references(std::string_view q, bool& unclosed) {
  std::vector<std::string> names;
  unclosed = false;
  auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i] != '$' || i + 1 >= q.size()) continue;
    if (q[i + 1] == '$') {
      ++i;
    } else if (q[i + 1] == '{') {
      std::size_t close = q.find('}', i + 2);
      if (close == std::string_view::npos) {
        unclosed = true;
        return names;
      }
      names.emplace_back(q.substr(i + 2, close - i - 2));
      i = close;
    } else {
      std::size_t j = i + 1;
      while (j < q.size() && name_char(q[j])) ++j;
      if (j > i + 1) names.emplace_back(q.substr(i + 1, j - i - 1));
      i = j - 1;
    }
  }
  return names;
}

void check_query(DocContext& ctx, const std::string& path, const std::string& query,
                 const std::map<std::string, std::string>& vars) {
  bool unclosed = false;
  for (const std::string& name : query_references(query, unclosed)) {
    if (name != "APP" && vars.count(name) == 0) {
      ctx.error(path, "uses $" + name + ", which spec.traffic.variables does not define");
    }
  }
  if (unclosed) ctx.error(path, "has an unclosed \"${\"");
}

void check_traffic(const TrafficSpec& t, DocContext& ctx) {
  const std::string base = "spec.traffic.";
  if (t.query.empty()) ctx.error(base + "query", "must not be empty");
  check_query(ctx, base + "query", t.query, t.variables);
  check_query(ctx, base + "latencyQuery", t.latencyQuery, t.variables);
  positive(ctx, base + "interval", t.interval);
  positive(ctx, base + "staleness", t.staleness);
  positive(ctx, base + "queryTimeout", t.queryTimeout);
  if (t.interval.count() > 0 && t.queryTimeout > t.interval) {
    ctx.error(base + "queryTimeout", "queryTimeout (" + dur(t.queryTimeout) +
                                         ") is longer than interval (" + dur(t.interval) + ")");
  }
  for (const auto& [name, value] : t.variables) {
    const std::string p = base + "variables." + name;
    if (!is_variable_name(name)) {
      ctx.error(p, "invalid variable name " + in_quotes(name) +
                       ": use letters, digits and '_', not starting with a digit");
    }
    // Values end up inside PromQL string literals; these could break out of them.
    if (std::any_of(value.begin(), value.end(), [](char c) {
          return c == '"' || c == '\'' || c == '\\' || c == '`' ||
                 std::iscntrl(static_cast<unsigned char>(c));
        })) {
      ctx.error(p, "must not contain quotes, backslashes, backticks or control characters");
    }
  }
}

void check_forecast(const ForecastSpec& f, DocContext& ctx) {
  const std::string base = "spec.forecast.";
  fraction_open(ctx, base + "shortAlpha", f.shortAlpha);
  fraction_open(ctx, base + "longAlpha", f.longAlpha);
  if (f.shortAlpha > 0 && f.longAlpha > 0 && f.shortAlpha <= 1 && f.longAlpha <= 1 &&
      f.shortAlpha < f.longAlpha) {
    ctx.error(base + "shortAlpha", "shortAlpha (" + num(f.shortAlpha) +
                                       ") is smaller than longAlpha (" + num(f.longAlpha) +
                                       "): the short-term average must react faster");
  }
  positive(ctx, base + "bandWindow", f.bandWindow);
  not_negative(ctx, base + "bandK", f.bandK);
  positive(ctx, base + "seasonStep", f.seasonStep);
  positive(ctx, base + "season", f.season);
  if (f.seasonStep.count() > 0 && f.season.count() > 0) {
    if (f.season.count() % f.seasonStep.count() != 0) {
      ctx.error(base + "season", "season (" + dur(f.season) +
                                     ") is not a multiple of seasonStep (" + dur(f.seasonStep) +
                                     ")");
    } else if (f.season / f.seasonStep > kMaxSeasonSteps) {
      // The seasonal profile keeps one value per step and region: bound the model's memory.
      ctx.error(base + "seasonStep",
                "season (" + dur(f.season) + ") / seasonStep (" + dur(f.seasonStep) +
                    ") = " + std::to_string(f.season / f.seasonStep) + " steps, more than " +
                    std::to_string(kMaxSeasonSteps) + "; use a longer seasonStep");
    }
  }
  fraction_closed(ctx, base + "hwAlpha", f.hwAlpha);
  fraction_closed(ctx, base + "hwBeta", f.hwBeta);
  fraction_closed(ctx, base + "hwGamma", f.hwGamma);
  not_negative(ctx, base + "headroom", f.headroom);
}

void check_placement(const PlacementSpec& p, DocContext& ctx) {
  const std::string base = "spec.placement.";
  not_negative(ctx, base + "costWeightMs", p.costWeightMs);
  not_negative(ctx, base + "maxRttMs", p.maxRttMs);
  not_negative(ctx, base + "trafficThreshold", p.trafficThreshold);
  not_negative(ctx, base + "removeThreshold", p.removeThreshold);
  if (p.removeThreshold >= 0 && p.trafficThreshold >= 0 && p.removeThreshold > p.trafficThreshold) {
    ctx.error(base + "removeThreshold", "removeThreshold (" + num(p.removeThreshold) +
                                            ") is greater than trafficThreshold (" +
                                            num(p.trafficThreshold) + ")");
  }
}

void check_rules(const ScalingRules& r, DocContext& ctx, const std::string& base) {
  if (r.policies.empty() && r.select != SelectPolicy::kDisabled) {
    ctx.error(base + ".policies", "needs at least one rate policy unless select is disabled");
  }
  for (std::size_t i = 0; i < r.policies.size(); ++i) {
    const std::string p = base + ".policies[" + std::to_string(i) + "]";
    at_least(ctx, p + ".value", r.policies[i].value, 1);
    positive(ctx, p + ".period", r.policies[i].period);
  }
}

void check_behavior(const BehaviorSpec& b, DocContext& ctx) {
  const std::string base = "spec.behavior.";
  if (!(b.tolerance >= 0 && b.tolerance < 1)) {
    ctx.error(base + "tolerance", "must be at least 0 and less than 1, got " + num(b.tolerance));
  }
  check_rules(b.scaleUp, ctx, base + "scaleUp");
  check_rules(b.scaleDown, ctx, base + "scaleDown");
  at_least(ctx, base + "maxCreatesPerPass", b.maxCreatesPerPass, 1);
}

void check_retire(const RetireSpec& r, DocContext& ctx) {
  const std::string base = "spec.retire.";
  positive(ctx, base + "stopTimeout", r.stopTimeout);
  at_least(ctx, base + "keepCloneSources", r.keepCloneSources, 0);
  if (r.action == RetireAction::kDestroy && r.keepCloneSources == 0) {
    ctx.warning(base + "keepCloneSources",
                "0 with action destroy can leave no machine to clone new ones from");
  }
}

void check_metrics_unavailable(const PlacementPolicySpec& s, DocContext& ctx,
                               const RegionCatalog& regions) {
  const MetricsUnavailableSpec& m = s.onMetricsUnavailable;
  const std::string base = "spec.onMetricsUnavailable.";
  if (m.action == MetricsUnavailableAction::kStatic && m.staticPlacement.empty()) {
    ctx.error(base + (ctx.written(base + "staticPlacement") ? "staticPlacement" : "action"),
              "action static needs a staticPlacement (region: machines)");
  }
  if (m.action == MetricsUnavailableAction::kHold && !m.staticPlacement.empty()) {
    ctx.warning(base + "staticPlacement", "is only used when action is static");
  }
  long long total = 0;
  for (const auto& [code, n] : m.staticPlacement) {
    const std::string p = base + "staticPlacement." + code;
    if (std::string why = region_problem(code, regions); !why.empty()) {
      ctx.error(p, why);
    } else if (contains(s.regions.excluded, code)) {
      ctx.error(p, "region " + in_quotes(code) + " is excluded");
    } else if (!s.regions.allowed.empty() && !contains(s.regions.allowed, code)) {
      ctx.error(p, "region " + in_quotes(code) + " is not in spec.regions.allowed");
    }
    at_least(ctx, p, n, 0);
    if (s.capacity.maxPerRegion >= 1 && n > s.capacity.maxPerRegion) {
      ctx.error(
          p, num(n) + " machines, more than maxPerRegion (" + num(s.capacity.maxPerRegion) + ")");
    }
    total += std::max(0, n);
  }
  if (s.capacity.maxTotal >= 1 && total > s.capacity.maxTotal) {
    ctx.error(base + "staticPlacement", "totals " + std::to_string(total) +
                                            " machines, more than maxTotal (" +
                                            num(s.capacity.maxTotal) + ")");
  }
}

void check_fast_path(const PlacementPolicySpec& s, DocContext& ctx) {
  const FastPathSpec& f = s.fastPath;
  const std::string base = "spec.fastPath.";
  positive(ctx, base + "interval", f.interval);
  if (f.enabled && f.interval > s.traffic.interval && s.traffic.interval.count() > 0) {
    ctx.error(base + "interval", "fastPath.interval (" + dur(f.interval) +
                                     ") is longer than traffic.interval (" +
                                     dur(s.traffic.interval) + ")");
  }
  if (!(f.spikeFactor > 1)) {
    ctx.error(base + "spikeFactor", "must be greater than 1, got " + num(f.spikeFactor));
  }
  not_negative(ctx, base + "minDemand", f.minDemand);
}

}  // namespace

void check_policy(const PlacementPolicy& policy, DocContext& ctx, const RegionCatalog& regions) {
  if (ctx.written("metadata.name")) {
    if (policy.metadata.name.empty()) {
      ctx.error("metadata.name", "must not be empty");
    } else if (!is_dns_label(policy.metadata.name)) {
      ctx.error("metadata.name",
                "invalid name " + in_quotes(policy.metadata.name) + ": " + kDnsLabelRule);
    }
  }
  if (!ctx.written("spec")) return;
  const PlacementPolicySpec& s = policy.spec;
  if (ctx.written("spec.app")) {
    if (s.app.empty()) {
      ctx.error("spec.app", "must not be empty");
    } else if (!is_dns_label(s.app)) {
      ctx.error("spec.app", "invalid app name " + in_quotes(s.app) + ": " + kDnsLabelRule);
    }
  }
  if (s.processGroup.empty()) ctx.error("spec.processGroup", "must not be empty");
  check_capacity(s.capacity, ctx);
  check_regions(s, ctx, regions);
  check_traffic(s.traffic, ctx);
  check_forecast(s.forecast, ctx);
  check_placement(s.placement, ctx);
  check_behavior(s.behavior, ctx);
  check_retire(s.retire, ctx);
  check_metrics_unavailable(s, ctx, regions);
  check_fast_path(s, ctx);
}

}  // namespace autoplacer::policy_detail
