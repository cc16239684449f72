// YAML shapes and types into the spec structs. Values are only checked here for what the type
// needs (a number is a number, an enum is one of its names, a duration parses); ranges and
// relations between fields are policy_loader_check.cpp's job.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "policy/policy_loader_detail.h"

namespace autoplacer::policy_detail {
namespace {

// Every field the loader knows, per section. A section's key is the field path with list
// indices written as []. Unknown fields are reported against these lists, with the nearest name.
using FieldList = std::vector<std::string_view>;
const std::vector<std::pair<std::string_view, FieldList>>& schema() {
  static const FieldList kRules = {"stabilizationWindow", "select", "policies"};
  static const FieldList kRatePolicy = {"type", "value", "period"};
  static const std::vector<std::pair<std::string_view, FieldList>> kSchema = {
      {"", {"apiVersion", "kind", "metadata", "spec"}},
      {"metadata", {"name", "labels", "annotations"}},
      {"spec",
       {"app", "processGroup", "mode", "adoptExisting", "regions", "capacity", "traffic",
        "forecast", "placement", "behavior", "retire", "onMetricsUnavailable", "fastPath"}},
      {"spec.regions", {"allowed", "excluded", "pinned"}},
      {"spec.capacity",
       {"targetPerMachine", "minPerRegion", "maxPerRegion", "minTotal", "maxTotal"}},
      {"spec.traffic",
       {"query", "latencyQuery", "interval", "staleness", "queryTimeout", "historyWindow",
        "variables"}},
      {"spec.forecast",
       {"model", "horizon", "bootTime", "shortAlpha", "longAlpha", "bandWindow", "bandK",
        "seasonStep", "season", "weekly", "hwAlpha", "hwBeta", "hwGamma", "headroom"}},
      {"spec.placement",
       {"strategy", "costWeightMs", "maxRttMs", "partialRegions", "trafficThreshold",
        "removeThreshold", "thresholdCooldown"}},
      {"spec.behavior",
       {"tolerance", "scaleUp", "scaleDown", "cooldownAfterAdd", "cooldownAfterRemove",
        "maxCreatesPerPass"}},
      {"spec.behavior.scaleUp", kRules},
      {"spec.behavior.scaleDown", kRules},
      {"spec.behavior.scaleUp.policies[]", kRatePolicy},
      {"spec.behavior.scaleDown.policies[]", kRatePolicy},
      {"spec.retire", {"action", "cordonFirst", "stopTimeout", "keepCloneSources"}},
      {"spec.onMetricsUnavailable", {"action", "after", "staticPlacement"}},
      {"spec.fastPath", {"enabled", "interval", "spikeFactor", "minDemand"}},
  };
  return kSchema;
}

const FieldList& fields_of(std::string_view section) {
  for (const auto& [name, fields] : schema()) {
    if (name == section) return fields;
  }
  static const FieldList kNone;
  return kNone;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "did you mean" for an unknown field: a known field of this section that is close, else the same
// name one or more levels down (a field written at the wrong level), else the list of fields.
std::string unknown_field_message(std::string_view section, std::string_view key) {
  const FieldList& known = fields_of(section);
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (std::string_view name : known) {
    std::size_t d = edit_distance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  std::string message = "unknown field " + in_quotes(key);
  const std::size_t allowed = std::max<std::size_t>(2, std::min(key.size(), best.size()) / 3);
  if (!best.empty() && best_distance <= allowed) {
    return message + "; did you mean " + in_quotes(best) + "?";
  }
  std::vector<std::string> deeper;
  const std::string prefix = section.empty() ? "" : std::string(section) + ".";
  for (const auto& [name, fields] : schema()) {
    if (name.find('[') != std::string_view::npos || !name.starts_with(prefix) ||
        name.size() == prefix.size()) {
      continue;
    }
    for (std::string_view f : fields) {
      if (iequals(f, key))
        deeper.push_back(std::string(name.substr(prefix.size())) + "." + std::string(f));
    }
  }
  if (!deeper.empty()) {
    message += "; did you mean ";
    for (std::size_t i = 0; i < deeper.size(); ++i) {
      if (i > 0) message += i + 1 == deeper.size() ? " or " : ", ";
      message += in_quotes(deeper[i]);
    }
    return message + "?";
  }
  return message + "; known fields: " + join(known);
}

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string item(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return in_quotes(n.Scalar());
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!": a quoted "5" is a string.
bool is_quoted(const YAML::Node& n) {
  return n.Tag() == "!";
}

// The fields of one mapping. Construct, call field() for each known name, then finish() reports
// what is left (unknown fields) and duplicates.
class MapReader {
 public:
  // A null value (`capacity:` with nothing after it) is an empty mapping: every field default.
  MapReader(DocContext& ctx, const YAML::Node& node, std::string path, std::string section)
      : ctx_(ctx), path_(std::move(path)), section_(std::move(section)) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      ctx_.error_at(node, path_,
                    (path_.empty() ? "a policy document must be a mapping, got "
                                   : "must be a mapping, got ") +
                        describe(node));
      valid_ = false;
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        ctx_.error_at(key, path_, "field names must be strings, got " + describe(key));
        continue;
      }
      const std::string& name = key.Scalar();
      auto dup = std::find_if(entries_.begin(), entries_.end(),
                              [&](const Entry& e) { return e.name == name; });
      if (dup != entries_.end()) {
        Pos first = ctx_.pos(dup->key.Mark());
        ctx_.error_at(key, child(path_, name),
                      "field is written twice (first at line " + std::to_string(first.line) + ")");
        continue;
      }
      entries_.push_back({name, key, it->second});
    }
  }

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }

  // Calls read(value, path) when the field is present, after recording where it was written.
  template <class F>
  void field(std::string_view name, F&& read) {
    Entry* e = find(name);
    if (e == nullptr) return;
    e->used = true;
    const std::string p = child(path_, name);
    const YAML::Node& v = e->value;
    // Containers are reported at their key (the line that names them); values at the value.
    const bool at_key = v.IsMap() || v.IsSequence() || v.IsNull();
    ctx_.record(p, ctx_.pos(at_key ? e->key.Mark() : v.Mark()));
    read(v, p);
  }

  bool has(std::string_view name) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.name == name; });
  }

  void require(std::string_view name) {
    if (valid_ && !has(name)) ctx_.error(child(path_, name), "required field is missing");
  }

  void finish() {
    for (const Entry& e : entries_) {
      if (!e.used)
        ctx_.error_at(e.key, child(path_, e.name), unknown_field_message(section_, e.name));
    }
  }

 private:
  struct Entry {
    std::string name;
    YAML::Node key;
    YAML::Node value;
    bool used = false;
  };
  Entry* find(std::string_view name) {
    for (Entry& e : entries_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }

  DocContext& ctx_;
  std::string path_;
  std::string section_;
  bool valid_ = true;
  std::vector<Entry> entries_;
};

// --- scalars -------------------------------------------------------------------------------

bool read_string(DocContext& ctx, const YAML::Node& v, const std::string& path, std::string& out) {
  if (v.IsNull()) {
    out.clear();
    return true;
  }
  if (!v.IsScalar()) {
    ctx.error_at(v, path, "must be a string, got " + describe(v));
    return false;
  }
  out = v.Scalar();
  return true;
}

bool read_int(DocContext& ctx, const YAML::Node& v, const std::string& path, int& out) {
  if (!v.IsScalar() || is_quoted(v)) {
    ctx.error_at(
        v, path,
        "must be an integer, got " + (v.IsScalar() ? "the string " : std::string()) + describe(v));
    return false;
  }
  std::string_view s = v.Scalar();
  if (s.starts_with('+')) s.remove_prefix(1);
  long long n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && end == s.data() + s.size() &&
       (n > std::numeric_limits<int>::max() || n < std::numeric_limits<int>::min()))) {
    ctx.error_at(v, path, "integer out of range: " + in_quotes(v.Scalar()));
    return false;
  }
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    ctx.error_at(v, path, "must be an integer, got " + describe(v));
    return false;
  }
  out = static_cast<int>(n);
  return true;
}

bool read_number(DocContext& ctx, const YAML::Node& v, const std::string& path, double& out) {
  if (!v.IsScalar() || is_quoted(v)) {
    ctx.error_at(
        v, path,
        "must be a number, got " + (v.IsScalar() ? "the string " : std::string()) + describe(v));
    return false;
  }
  std::string_view s = v.Scalar();
  if (s.starts_with('+')) s.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(d)) {
    ctx.error_at(v, path, "must be a number, got " + describe(v));
    return false;
  }
  out = d;
  return true;
}

bool read_bool(DocContext& ctx, const YAML::Node& v, const std::string& path, bool& out) {
  if (v.IsScalar() && !is_quoted(v)) {
    const std::string& s = v.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      out = true;
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      out = false;
      return true;
    }
  }
  ctx.error_at(v, path,
               "must be true or false, got " +
                   (v.IsScalar() && is_quoted(v) ? "the string " : std::string()) + describe(v));
  return false;
}

bool read_duration(DocContext& ctx, const YAML::Node& v, const std::string& path, Duration& out) {
  if (!v.IsScalar()) {
    ctx.error_at(v, path, "must be a duration such as 30s, 5m or 1h30m, got " + describe(v));
    return false;
  }
  const std::string& s = v.Scalar();
  if (auto d = parse_duration(s)) {
    out = *d;
    return true;
  }
  std::string why;
  if (s.starts_with('-')) {
    why = "durations are not negative";
  } else if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c)) != 0;
             })) {
    why = "add a unit, e.g. " + s + "s";
  } else {
    why = "write numbers with units ms, s, m, h or d, e.g. 30s, 5m, 1h30m";
  }
  ctx.error_at(v, path, "invalid duration " + in_quotes(s) + ": " + why);
  return false;
}

template <class E>
bool read_enum(DocContext& ctx, const YAML::Node& v, const std::string& path, E& out) {
  if (v.IsScalar()) {
    if (auto e = from_string<E>(v.Scalar())) {
      out = *e;
      return true;
    }
  }
  ctx.error_at(v, path, "invalid value " + describe(v) + "; allowed: " + join(enum_names<E>()));
  return false;
}

// A list of strings; a null value is an empty list.
bool read_string_list(DocContext& ctx, const YAML::Node& v, const std::string& path,
                      std::vector<std::string>& out) {
  out.clear();
  if (v.IsNull()) return true;
  if (!v.IsSequence()) {
    ctx.error_at(v, path, "must be a list, got " + describe(v));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const YAML::Node e = v[i];
    const std::string p = item(path, i);
    ctx.record(p, ctx.pos(e.Mark()));
    if (!e.IsScalar()) {
      ctx.error_at(e, p, "must be a string, got " + describe(e));
      ok = false;
      continue;
    }
    out.push_back(e.Scalar());
  }
  return ok;
}

// A mapping of strings to strings (labels, annotations, query variables).
bool read_string_map(DocContext& ctx, const YAML::Node& v, const std::string& path,
                     std::map<std::string, std::string>& out) {
  out.clear();
  if (v.IsNull()) return true;
  if (!v.IsMap()) {
    ctx.error_at(v, path, "must be a mapping of names to strings, got " + describe(v));
    return false;
  }
  bool ok = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it->first.IsScalar()) {
      ctx.error_at(it->first, path, "names must be strings, got " + describe(it->first));
      ok = false;
      continue;
    }
    const std::string p = child(path, it->first.Scalar());
    ctx.record(p, ctx.pos(it->second.IsNull() ? it->first.Mark() : it->second.Mark()));
    if (out.count(it->first.Scalar()) > 0) {
      ctx.error_at(it->first, p, "written twice");
      ok = false;
      continue;
    }
    std::string value;
    if (!read_string(ctx, it->second, p, value)) {
      ok = false;
      continue;
    }
    out.emplace(it->first.Scalar(), std::move(value));
  }
  return ok;
}

// --- sections --------------------------------------------------------------------------------

void read_metadata(DocContext& ctx, const YAML::Node& v, const std::string& path, ObjectMeta& m) {
  MapReader r(ctx, v, path, "metadata");
  if (!r.valid()) return;
  r.field("name", [&](auto& n, auto& p) { read_string(ctx, n, p, m.name); });
  r.field("labels", [&](auto& n, auto& p) { read_string_map(ctx, n, p, m.labels); });
  r.field("annotations", [&](auto& n, auto& p) { read_string_map(ctx, n, p, m.annotations); });
  r.require("name");
  r.finish();
}

void read_regions(DocContext& ctx, const YAML::Node& v, const std::string& path, RegionsSpec& s) {
  MapReader r(ctx, v, path, "spec.regions");
  if (!r.valid()) return;
  r.field("allowed", [&](auto& n, auto& p) { read_string_list(ctx, n, p, s.allowed); });
  r.field("excluded", [&](auto& n, auto& p) { read_string_list(ctx, n, p, s.excluded); });
  r.field("pinned", [&](auto& n, auto& p) { read_string_list(ctx, n, p, s.pinned); });
  r.finish();
}

void read_capacity(DocContext& ctx, const YAML::Node& v, const std::string& path, CapacitySpec& s) {
  MapReader r(ctx, v, path, "spec.capacity");
  if (!r.valid()) return;
  r.field("targetPerMachine",
          [&](auto& n, auto& p) { read_number(ctx, n, p, s.targetPerMachine); });
  r.field("minPerRegion", [&](auto& n, auto& p) { read_int(ctx, n, p, s.minPerRegion); });
  r.field("maxPerRegion", [&](auto& n, auto& p) { read_int(ctx, n, p, s.maxPerRegion); });
  r.field("minTotal", [&](auto& n, auto& p) { read_int(ctx, n, p, s.minTotal); });
  r.field("maxTotal", [&](auto& n, auto& p) { read_int(ctx, n, p, s.maxTotal); });
  r.finish();
}

void read_traffic(DocContext& ctx, const YAML::Node& v, const std::string& path, TrafficSpec& s) {
  MapReader r(ctx, v, path, "spec.traffic");
  if (!r.valid()) return;
  r.field("query", [&](auto& n, auto& p) { read_string(ctx, n, p, s.query); });
  r.field("latencyQuery", [&](auto& n, auto& p) { read_string(ctx, n, p, s.latencyQuery); });
  r.field("interval", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.interval); });
  r.field("staleness", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.staleness); });
  r.field("queryTimeout", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.queryTimeout); });
  r.field("historyWindow", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.historyWindow); });
  r.field("variables", [&](auto& n, auto& p) { read_string_map(ctx, n, p, s.variables); });
  r.finish();
}

void read_forecast(DocContext& ctx, const YAML::Node& v, const std::string& path, ForecastSpec& s) {
  MapReader r(ctx, v, path, "spec.forecast");
  if (!r.valid()) return;
  r.field("model", [&](auto& n, auto& p) { read_enum(ctx, n, p, s.model); });
  r.field("horizon", [&](auto& n, auto& p) {
    // "auto" (the default) lets the controller use the measured time a new machine takes.
    if (n.IsScalar() && n.Scalar() == "auto") {
      s.horizon.reset();
      return;
    }
    Duration d{};
    if (read_duration(ctx, n, p, d)) s.horizon = d;
  });
  r.field("bootTime", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.bootTime); });
  r.field("shortAlpha", [&](auto& n, auto& p) { read_number(ctx, n, p, s.shortAlpha); });
  r.field("longAlpha", [&](auto& n, auto& p) { read_number(ctx, n, p, s.longAlpha); });
  r.field("bandWindow", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.bandWindow); });
  r.field("bandK", [&](auto& n, auto& p) { read_number(ctx, n, p, s.bandK); });
  r.field("seasonStep", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.seasonStep); });
  r.field("season", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.season); });
  r.field("weekly", [&](auto& n, auto& p) { read_bool(ctx, n, p, s.weekly); });
  r.field("hwAlpha", [&](auto& n, auto& p) { read_number(ctx, n, p, s.hwAlpha); });
  r.field("hwBeta", [&](auto& n, auto& p) { read_number(ctx, n, p, s.hwBeta); });
  r.field("hwGamma", [&](auto& n, auto& p) { read_number(ctx, n, p, s.hwGamma); });
  r.field("headroom", [&](auto& n, auto& p) { read_number(ctx, n, p, s.headroom); });
  r.finish();
}

void read_placement(DocContext& ctx, const YAML::Node& v, const std::string& path,
                    PlacementSpec& s) {
  MapReader r(ctx, v, path, "spec.placement");
  if (!r.valid()) return;
  r.field("strategy", [&](auto& n, auto& p) { read_enum(ctx, n, p, s.strategy); });
  r.field("costWeightMs", [&](auto& n, auto& p) { read_number(ctx, n, p, s.costWeightMs); });
  r.field("maxRttMs", [&](auto& n, auto& p) { read_number(ctx, n, p, s.maxRttMs); });
  r.field("partialRegions", [&](auto& n, auto& p) { read_bool(ctx, n, p, s.partialRegions); });
  r.field("trafficThreshold",
          [&](auto& n, auto& p) { read_number(ctx, n, p, s.trafficThreshold); });
  r.field("removeThreshold", [&](auto& n, auto& p) { read_number(ctx, n, p, s.removeThreshold); });
  r.field("thresholdCooldown",
          [&](auto& n, auto& p) { read_duration(ctx, n, p, s.thresholdCooldown); });
  r.finish();
}

void read_rate_policies(DocContext& ctx, const YAML::Node& v, const std::string& path,
                        const std::string& section, std::vector<RatePolicy>& out) {
  out.clear();
  if (v.IsNull()) return;
  if (!v.IsSequence()) {
    ctx.error_at(v, path, "must be a list of rate policies, got " + describe(v));
    return;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const YAML::Node e = v[i];
    const std::string p = item(path, i);
    ctx.record(p, ctx.pos(e.Mark()));
    RatePolicy rp;
    MapReader r(ctx, e, p, section + ".policies[]");
    if (!r.valid()) continue;
    r.field("type", [&](auto& n, auto& q) { read_enum(ctx, n, q, rp.type); });
    r.field("value", [&](auto& n, auto& q) { read_int(ctx, n, q, rp.value); });
    r.field("period", [&](auto& n, auto& q) { read_duration(ctx, n, q, rp.period); });
    // All three, as in a HorizontalPodAutoscaler: a half-written policy is a mistake.
    r.require("type");
    r.require("value");
    r.require("period");
    r.finish();
    out.push_back(rp);
  }
}

void read_rules(DocContext& ctx, const YAML::Node& v, const std::string& path, ScalingRules& s) {
  MapReader r(ctx, v, path, path);
  if (!r.valid()) return;
  r.field("stabilizationWindow",
          [&](auto& n, auto& p) { read_duration(ctx, n, p, s.stabilizationWindow); });
  r.field("select", [&](auto& n, auto& p) { read_enum(ctx, n, p, s.select); });
  r.field("policies", [&](auto& n, auto& p) { read_rate_policies(ctx, n, p, path, s.policies); });
  r.finish();
}

void read_behavior(DocContext& ctx, const YAML::Node& v, const std::string& path, BehaviorSpec& s) {
  MapReader r(ctx, v, path, "spec.behavior");
  if (!r.valid()) return;
  r.field("tolerance", [&](auto& n, auto& p) { read_number(ctx, n, p, s.tolerance); });
  r.field("scaleUp", [&](auto& n, auto& p) { read_rules(ctx, n, p, s.scaleUp); });
  r.field("scaleDown", [&](auto& n, auto& p) { read_rules(ctx, n, p, s.scaleDown); });
  r.field("cooldownAfterAdd",
          [&](auto& n, auto& p) { read_duration(ctx, n, p, s.cooldownAfterAdd); });
  r.field("cooldownAfterRemove",
          [&](auto& n, auto& p) { read_duration(ctx, n, p, s.cooldownAfterRemove); });
  r.field("maxCreatesPerPass", [&](auto& n, auto& p) { read_int(ctx, n, p, s.maxCreatesPerPass); });
  r.finish();
}

void read_retire(DocContext& ctx, const YAML::Node& v, const std::string& path, RetireSpec& s) {
  MapReader r(ctx, v, path, "spec.retire");
  if (!r.valid()) return;
  r.field("action", [&](auto& n, auto& p) { read_enum(ctx, n, p, s.action); });
  r.field("cordonFirst", [&](auto& n, auto& p) { read_bool(ctx, n, p, s.cordonFirst); });
  r.field("stopTimeout", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.stopTimeout); });
  r.field("keepCloneSources", [&](auto& n, auto& p) { read_int(ctx, n, p, s.keepCloneSources); });
  r.finish();
}

void read_static_placement(DocContext& ctx, const YAML::Node& v, const std::string& path,
                           std::map<std::string, int>& out) {
  out.clear();
  if (v.IsNull()) return;
  if (!v.IsMap()) {
    ctx.error_at(v, path, "must be a mapping of regions to machine counts, got " + describe(v));
    return;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it->first.IsScalar()) {
      ctx.error_at(it->first, path, "region codes must be strings, got " + describe(it->first));
      continue;
    }
    const std::string p = child(path, it->first.Scalar());
    ctx.record(p, ctx.pos(it->first.Mark()));
    if (out.count(it->first.Scalar()) > 0) {
      ctx.error_at(it->first, p, "region is written twice");
      continue;
    }
    int n = 0;
    if (read_int(ctx, it->second, p, n)) out.emplace(it->first.Scalar(), n);
  }
}

void read_metrics_unavailable(DocContext& ctx, const YAML::Node& v, const std::string& path,
                              MetricsUnavailableSpec& s) {
  MapReader r(ctx, v, path, "spec.onMetricsUnavailable");
  if (!r.valid()) return;
  r.field("action", [&](auto& n, auto& p) { read_enum(ctx, n, p, s.action); });
  r.field("after", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.after); });
  r.field("staticPlacement",
          [&](auto& n, auto& p) { read_static_placement(ctx, n, p, s.staticPlacement); });
  r.finish();
}

void read_fast_path(DocContext& ctx, const YAML::Node& v, const std::string& path,
                    FastPathSpec& s) {
  MapReader r(ctx, v, path, "spec.fastPath");
  if (!r.valid()) return;
  r.field("enabled", [&](auto& n, auto& p) { read_bool(ctx, n, p, s.enabled); });
  r.field("interval", [&](auto& n, auto& p) { read_duration(ctx, n, p, s.interval); });
  r.field("spikeFactor", [&](auto& n, auto& p) { read_number(ctx, n, p, s.spikeFactor); });
  r.field("minDemand", [&](auto& n, auto& p) { read_number(ctx, n, p, s.minDemand); });
  r.finish();
}

void read_spec(DocContext& ctx, const YAML::Node& v, const std::string& path,
               PlacementPolicySpec& s) {
  MapReader r(ctx, v, path, "spec");
  if (!r.valid()) return;
  r.field("app", [&](auto& n, auto& p) { read_string(ctx, n, p, s.app); });
  r.field("processGroup", [&](auto& n, auto& p) { read_string(ctx, n, p, s.processGroup); });
  r.field("mode", [&](auto& n, auto& p) { read_enum(ctx, n, p, s.mode); });
  r.field("adoptExisting", [&](auto& n, auto& p) { read_bool(ctx, n, p, s.adoptExisting); });
  r.field("regions", [&](auto& n, auto& p) { read_regions(ctx, n, p, s.regions); });
  r.field("capacity", [&](auto& n, auto& p) { read_capacity(ctx, n, p, s.capacity); });
  r.field("traffic", [&](auto& n, auto& p) { read_traffic(ctx, n, p, s.traffic); });
  r.field("forecast", [&](auto& n, auto& p) { read_forecast(ctx, n, p, s.forecast); });
  r.field("placement", [&](auto& n, auto& p) { read_placement(ctx, n, p, s.placement); });
  r.field("behavior", [&](auto& n, auto& p) { read_behavior(ctx, n, p, s.behavior); });
  r.field("retire", [&](auto& n, auto& p) { read_retire(ctx, n, p, s.retire); });
  r.field("onMetricsUnavailable",
          [&](auto& n, auto& p) { read_metrics_unavailable(ctx, n, p, s.onMetricsUnavailable); });
  r.field("fastPath", [&](auto& n, auto& p) { read_fast_path(ctx, n, p, s.fastPath); });
  r.require("app");
  r.finish();
}

}  // namespace

void read_policy(const YAML::Node& document, DocContext& ctx, PlacementPolicy& out) {
  MapReader r(ctx, document, "", "");
  if (!r.valid()) return;
  r.field("apiVersion", [&](auto& n, auto& p) {
    if (read_string(ctx, n, p, out.apiVersion) && out.apiVersion != kApiVersion) {
      ctx.error_at(
          n, p,
          "unsupported apiVersion " + in_quotes(out.apiVersion) + "; supported: " + kApiVersion);
    }
  });
  r.field("kind", [&](auto& n, auto& p) {
    if (read_string(ctx, n, p, out.kind) && out.kind != kKind) {
      ctx.error_at(n, p, "unsupported kind " + in_quotes(out.kind) + "; supported: " + kKind);
    }
  });
  r.field("metadata", [&](auto& n, auto& p) { read_metadata(ctx, n, p, out.metadata); });
  r.field("spec", [&](auto& n, auto& p) { read_spec(ctx, n, p, out.spec); });
  r.require("apiVersion");
  r.require("kind");
  r.require("metadata");
  r.require("spec");
  r.finish();
}

}  // namespace autoplacer::policy_detail

namespace autoplacer {

std::vector<std::string> known_field_paths() {
  std::vector<std::string> paths;
  for (const auto& [section, fields] : policy_detail::schema()) {
    for (std::string_view f : fields) {
      paths.push_back(section.empty() ? std::string(f)
                                      : std::string(section) + "." + std::string(f));
    }
  }
  return paths;
}

}  // namespace autoplacer
