#include "policy/spec.h"

#include <algorithm>
#include <cstdio>

namespace autoplacer {

const char* to_string(Mode m) {
  switch (m) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kDryRun:
      return "dryRun";
    case Mode::kForecastOnly:
      return "forecastOnly";
  }
  return "?";
}
const char* to_string(Strategy s) {
  switch (s) {
    case Strategy::kLatency:
      return "latency";
    case Strategy::kThreshold:
      return "threshold";
  }
  return "?";
}
const char* to_string(RetireAction a) {
  switch (a) {
    case RetireAction::kStop:
      return "stop";
    case RetireAction::kSuspend:
      return "suspend";
    case RetireAction::kDestroy:
      return "destroy";
  }
  return "?";
}
const char* to_string(ForecastModel m) {
  switch (m) {
    case ForecastModel::kNone:
      return "none";
    case ForecastModel::kEwma:
      return "ewma";
    case ForecastModel::kHoltWinters:
      return "holtWinters";
  }
  return "?";
}

const char* to_string(MetricsUnavailableAction a) {
  switch (a) {
    case MetricsUnavailableAction::kHold:
      return "hold";
    case MetricsUnavailableAction::kStatic:
      return "static";
  }
  return "?";
}
const char* to_string(RatePolicyType t) {
  switch (t) {
    case RatePolicyType::kMachines:
      return "machines";
    case RatePolicyType::kPercent:
      return "percent";
  }
  return "?";
}
const char* to_string(SelectPolicy s) {
  switch (s) {
    case SelectPolicy::kMax:
      return "max";
    case SelectPolicy::kMin:
      return "min";
    case SelectPolicy::kDisabled:
      return "disabled";
  }
  return "?";
}

namespace {

// How many values each enum has; the enums are dense from 0, so the names come from to_string.
template <class E>
constexpr int kEnumCount = 0;
template <>
constexpr int kEnumCount<Mode> = 3;
template <>
constexpr int kEnumCount<Strategy> = 2;
template <>
constexpr int kEnumCount<RetireAction> = 3;
template <>
constexpr int kEnumCount<ForecastModel> = 3;
template <>
constexpr int kEnumCount<MetricsUnavailableAction> = 2;
template <>
constexpr int kEnumCount<RatePolicyType> = 2;
template <>
constexpr int kEnumCount<SelectPolicy> = 3;

}  // namespace

template <class E>
std::vector<std::string_view> enum_names() {
  std::vector<std::string_view> names;
  for (int i = 0; i < kEnumCount<E>; ++i) names.emplace_back(to_string(static_cast<E>(i)));
  return names;
}

template <class E>
std::optional<E> from_string(std::string_view name) {
  for (int i = 0; i < kEnumCount<E>; ++i) {
    if (name == to_string(static_cast<E>(i))) return static_cast<E>(i);
  }
  return std::nullopt;
}

#define AP_SPEC_ENUM(E)                                   \
  template std::vector<std::string_view> enum_names<E>(); \
  template std::optional<E> from_string<E>(std::string_view);
AP_SPEC_ENUM(Mode)
AP_SPEC_ENUM(Strategy)
AP_SPEC_ENUM(RetireAction)
AP_SPEC_ENUM(ForecastModel)
AP_SPEC_ENUM(MetricsUnavailableAction)
AP_SPEC_ENUM(RatePolicyType)
AP_SPEC_ENUM(SelectPolicy)
#undef AP_SPEC_ENUM

namespace {

class CanonicalWriter {
 public:
  void put(std::string_view path, std::string_view value) {
    out_.append(path).append("=");
    // Values are length-prefixed so no value can fake a line break or another field.
    out_.append(std::to_string(value.size())).append(":").append(value).append("\n");
  }
  void put(std::string_view path, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    put(path, std::string_view(buf));
  }
  void put(std::string_view path, int v) { put(path, std::string_view(std::to_string(v))); }
  void put(std::string_view path, bool v) { put(path, std::string_view(v ? "true" : "false")); }
  void put(std::string_view path, Duration d) {
    put(path, std::string_view(std::to_string(d.count()) + "ms"));
  }
  void put(std::string_view path, const char* v) { put(path, std::string_view(v)); }
  void put_sorted(std::string_view path, std::vector<std::string> values) {
    std::sort(values.begin(), values.end());
    std::string joined;
    for (const auto& v : values) joined.append(std::to_string(v.size())).append(":").append(v);
    put(path, std::string_view(joined));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void put_rules(CanonicalWriter& w, const std::string& path, const ScalingRules& r) {
  w.put(path + ".stabilizationWindow", r.stabilizationWindow);
  w.put(path + ".select", to_string(r.select));
  w.put(path + ".policies", static_cast<int>(r.policies.size()));
  for (std::size_t i = 0; i < r.policies.size(); ++i) {
    const std::string p = path + ".policies[" + std::to_string(i) + "]";
    w.put(p + ".type", to_string(r.policies[i].type));
    w.put(p + ".value", r.policies[i].value);
    w.put(p + ".period", r.policies[i].period);
  }
}

}  // namespace

std::string canonical_text(const PlacementPolicySpec& s) {
  CanonicalWriter w;
  w.put("app", std::string_view(s.app));
  w.put("processGroup", std::string_view(s.processGroup));
  w.put("mode", to_string(s.mode));
  w.put("adoptExisting", s.adoptExisting);
  w.put_sorted("regions.allowed", s.regions.allowed);
  w.put_sorted("regions.excluded", s.regions.excluded);
  w.put_sorted("regions.pinned", s.regions.pinned);
  w.put("capacity.targetPerMachine", s.capacity.targetPerMachine);
  w.put("capacity.minPerRegion", s.capacity.minPerRegion);
  w.put("capacity.maxPerRegion", s.capacity.maxPerRegion);
  w.put("capacity.minTotal", s.capacity.minTotal);
  w.put("capacity.maxTotal", s.capacity.maxTotal);
  w.put("traffic.query", std::string_view(s.traffic.query));
  w.put("traffic.latencyQuery", std::string_view(s.traffic.latencyQuery));
  w.put("traffic.interval", s.traffic.interval);
  w.put("traffic.staleness", s.traffic.staleness);
  w.put("traffic.queryTimeout", s.traffic.queryTimeout);
  w.put("traffic.historyWindow", s.traffic.historyWindow);
  for (const auto& [k, v] : s.traffic.variables) {
    w.put("traffic.variables." + k, std::string_view(v));
  }
  const ForecastSpec& f = s.forecast;
  w.put("forecast.model", to_string(f.model));
  w.put("forecast.horizon", f.horizon ? format_duration(*f.horizon) : std::string("auto"));
  w.put("forecast.bootTime", f.bootTime);
  w.put("forecast.shortAlpha", f.shortAlpha);
  w.put("forecast.longAlpha", f.longAlpha);
  w.put("forecast.bandWindow", f.bandWindow);
  w.put("forecast.bandK", f.bandK);
  w.put("forecast.seasonStep", f.seasonStep);
  w.put("forecast.season", f.season);
  w.put("forecast.weekly", f.weekly);
  w.put("forecast.hwAlpha", f.hwAlpha);
  w.put("forecast.hwBeta", f.hwBeta);
  w.put("forecast.hwGamma", f.hwGamma);
  w.put("forecast.headroom", f.headroom);
  const PlacementSpec& p = s.placement;
  w.put("placement.strategy", to_string(p.strategy));
  w.put("placement.costWeightMs", p.costWeightMs);
  w.put("placement.maxRttMs", p.maxRttMs);
  w.put("placement.partialRegions", p.partialRegions);
  w.put("placement.trafficThreshold", p.trafficThreshold);
  w.put("placement.removeThreshold", p.removeThreshold);
  w.put("placement.thresholdCooldown", p.thresholdCooldown);
  const BehaviorSpec& b = s.behavior;
  w.put("behavior.tolerance", b.tolerance);
  put_rules(w, "behavior.scaleUp", b.scaleUp);
  put_rules(w, "behavior.scaleDown", b.scaleDown);
  w.put("behavior.cooldownAfterAdd", b.cooldownAfterAdd);
  w.put("behavior.cooldownAfterRemove", b.cooldownAfterRemove);
  w.put("behavior.maxCreatesPerPass", b.maxCreatesPerPass);
  w.put("retire.action", to_string(s.retire.action));
  w.put("retire.cordonFirst", s.retire.cordonFirst);
  w.put("retire.stopTimeout", s.retire.stopTimeout);
  w.put("retire.keepCloneSources", s.retire.keepCloneSources);
  const MetricsUnavailableSpec& m = s.onMetricsUnavailable;
  w.put("onMetricsUnavailable.action", to_string(m.action));
  w.put("onMetricsUnavailable.after", m.after);
  for (const auto& [region, n] : m.staticPlacement) {
    w.put("onMetricsUnavailable.staticPlacement." + region, n);
  }
  w.put("fastPath.enabled", s.fastPath.enabled);
  w.put("fastPath.interval", s.fastPath.interval);
  w.put("fastPath.spikeFactor", s.fastPath.spikeFactor);
  w.put("fastPath.minDemand", s.fastPath.minDemand);
  return w.take();
}

std::uint64_t spec_hash(const PlacementPolicySpec& spec) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64: stable across runs and machines
  for (unsigned char c : canonical_text(spec)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace autoplacer
