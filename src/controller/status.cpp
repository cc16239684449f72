#include "controller/status.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace autoplacer::controller {

namespace json = boost::json;

const char* to_string(ConditionType type) {
  switch (type) {
    case ConditionType::kReady:
      return "Ready";
    case ConditionType::kScalingActive:
      return "ScalingActive";
    case ConditionType::kScalingLimited:
      return "ScalingLimited";
    case ConditionType::kAbleToScale:
      return "AbleToScale";
    case ConditionType::kMetricsAvailable:
      return "MetricsAvailable";
    case ConditionType::kDegraded:
      return "Degraded";
  }
  return "Unknown";
}

std::optional<ConditionType> condition_type_from_string(std::string_view text) {
  for (ConditionType type : kAllConditionTypes) {
    if (text == to_string(type)) return type;
  }
  return std::nullopt;
}

const char* to_string(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

std::optional<ConditionStatus> condition_status_from_string(std::string_view text) {
  for (ConditionStatus s :
       {ConditionStatus::kTrue, ConditionStatus::kFalse, ConditionStatus::kUnknown}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

// ---- Time -----------------------------------------------------------------------------------

std::string format_rfc3339(TimePoint t) {
  auto ms = t.time_since_epoch().count();
  auto secs = ms / 1000;
  auto frac = ms % 1000;
  if (frac < 0) {  // before 1970: floor, not truncate
    frac += 1000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];  // room for any int fields, so -Wformat-truncation is satisfied
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

namespace {
// Reads exactly `n` digits at `pos`.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}
bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || (text[pos] != c && !(c == 'T' && text[pos] == 't'))) return false;
  ++pos;
  return true;
}
}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !expect(text, pos, '-') ||
      !read_digits(text, pos, 2, day) || !expect(text, pos, 'T') ||
      !read_digits(text, pos, 2, hour) || !expect(text, pos, ':') ||
      !read_digits(text, pos, 2, minute) || !expect(text, pos, ':') ||
      !read_digits(text, pos, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 3; ++d) millis *= 10;
  }
  std::string_view zone = text.substr(pos);
  if (zone != "Z" && zone != "z" && zone != "+00:00") return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t secs = timegm(&tm);
  return TimePoint{Duration{static_cast<std::int64_t>(secs) * 1000 + millis}};
}

// ---- PolicyStatus ---------------------------------------------------------------------------

PolicyStatus::PolicyStatus(std::string policy, std::size_t decision_capacity)
    : policy_(std::move(policy)), decision_capacity_(std::max<std::size_t>(1, decision_capacity)) {}

bool PolicyStatus::set_condition(ConditionType type, ConditionStatus status, std::string reason,
                                 std::string message, TimePoint now) {
  auto it = std::find_if(conditions_.begin(), conditions_.end(),
                         [&](const Condition& c) { return c.type == type; });
  if (it == conditions_.end()) {
    Condition c{type, status, std::move(reason), std::move(message), now};
    // Keep kAllConditionTypes order so /status reads the same every time.
    auto rank = [](ConditionType t) {
      return std::find(std::begin(kAllConditionTypes), std::end(kAllConditionTypes), t) -
             std::begin(kAllConditionTypes);
    };
    auto at = std::find_if(conditions_.begin(), conditions_.end(),
                           [&](const Condition& other) { return rank(other.type) > rank(type); });
    conditions_.insert(at, std::move(c));
    return true;
  }
  bool transition = it->status != status;
  it->status = status;
  it->reason = std::move(reason);
  it->message = std::move(message);
  if (transition) it->last_transition_time = now;
  return transition;
}

const Condition* PolicyStatus::condition(ConditionType type) const {
  auto it = std::find_if(conditions_.begin(), conditions_.end(),
                         [&](const Condition& c) { return c.type == type; });
  return it == conditions_.end() ? nullptr : &*it;
}

bool PolicyStatus::is_true(ConditionType type) const {
  const Condition* c = condition(type);
  return c && c->status == ConditionStatus::kTrue;
}

void PolicyStatus::record_decision(DecisionRecord record) {
  decisions_.push_back(std::move(record));
  while (decisions_.size() > decision_capacity_) decisions_.pop_front();
}

namespace {

json::value time_or_null(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return json::string(format_rfc3339(*t));
}

json::object placement_json(const std::map<std::string, int>& placement) {
  json::object o;
  for (const auto& [region, n] : placement) o[region] = n;
  return o;
}

// Small readers that turn a bad document into an error message.
struct Reader {
  std::string error;

  const json::object* object(const json::value& v, std::string_view what) {
    if (const auto* o = v.if_object()) return o;
    fail(std::string(what) + " is not an object");
    return nullptr;
  }
  std::string string(const json::object& o, std::string_view key, bool required = true) {
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) {
      if (required) fail("missing \"" + std::string(key) + "\"");
      return {};
    }
    if (const auto* s = v->if_string()) return std::string(*s);
    fail("\"" + std::string(key) + "\" is not a string");
    return {};
  }
  std::int64_t integer(const json::object& o, std::string_view key, bool required = true) {
    const json::value* v = o.if_contains(key);
    if (!v) {
      if (required) fail("missing \"" + std::string(key) + "\"");
      return 0;
    }
    if (const auto* i = v->if_int64()) return *i;
    if (const auto* u = v->if_uint64()) return static_cast<std::int64_t>(*u);
    fail("\"" + std::string(key) + "\" is not an integer");
    return 0;
  }
  std::optional<TimePoint> time(const json::object& o, std::string_view key, bool required) {
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) {
      if (required) fail("missing \"" + std::string(key) + "\"");
      return std::nullopt;
    }
    const auto* s = v->if_string();
    auto t = s ? parse_rfc3339(*s) : std::nullopt;
    if (!t) fail("\"" + std::string(key) + "\" is not an RFC 3339 time");
    return t;
  }
  std::map<std::string, int> placement(const json::object& o, std::string_view key) {
    std::map<std::string, int> out;
    const json::value* v = o.if_contains(key);
    if (!v) return out;
    const auto* obj = object(*v, key);
    if (!obj) return out;
    for (const auto& [region, n] : *obj) {
      if (const auto* i = n.if_int64(); i && *i >= 0 && *i <= 1'000'000) {
        out[std::string(region)] = static_cast<int>(*i);
      } else {
        fail("placement count for \"" + std::string(region) + "\" is not a small integer");
      }
    }
    return out;
  }
  void fail(std::string message) {
    if (error.empty()) error = std::move(message);
  }
};

}  // namespace

json::value PolicyStatus::to_json() const {
  json::object o;
  o["policy"] = policy_;
  o["observedGeneration"] = observed_generation_;
  o["mode"] = mode_;
  json::array conditions;
  for (const auto& c : conditions_) {
    conditions.push_back(json::object{
        {"type", to_string(c.type)},
        {"status", to_string(c.status)},
        {"reason", c.reason},
        {"message", c.message},
        {"lastTransitionTime", format_rfc3339(c.last_transition_time)},
    });
  }
  o["conditions"] = std::move(conditions);
  o["placement"] =
      json::object{{"current", placement_json(current_)}, {"desired", placement_json(desired_)}};
  json::array decisions;
  for (const auto& d : decisions_) {
    decisions.push_back(json::object{
        {"at", format_rfc3339(d.at)},
        {"region", d.region},
        {"from", d.from},
        {"to", d.to},
        {"direction", d.direction},
        {"reason", d.reason},
        {"message", d.message},
    });
  }
  o["recentDecisions"] = std::move(decisions);
  if (last_error_) {
    o["lastError"] = json::object{{"at", format_rfc3339(last_error_->at)},
                                  {"reason", last_error_->reason},
                                  {"message", last_error_->message}};
  } else {
    o["lastError"] = nullptr;
  }
  o["lastReconcileTime"] = time_or_null(last_reconcile_);
  o["lastSuccessfulReconcileTime"] = time_or_null(last_successful_reconcile_);
  return o;
}

Result<PolicyStatus, std::string> PolicyStatus::from_json(const json::value& value,
                                                          std::size_t decision_capacity) {
  Reader r;
  const json::object* o = r.object(value, "status");
  if (!o) return make_err(r.error);
  PolicyStatus s(r.string(*o, "policy"), decision_capacity);
  s.observed_generation_ = r.integer(*o, "observedGeneration", false);
  s.mode_ = r.string(*o, "mode", false);

  if (const json::value* cs = o->if_contains("conditions")) {
    const auto* arr = cs->if_array();
    if (!arr) return make_err(std::string("\"conditions\" is not an array"));
    for (const auto& cv : *arr) {
      const json::object* c = r.object(cv, "condition");
      if (!c) break;
      auto type = condition_type_from_string(r.string(*c, "type"));
      auto status = condition_status_from_string(r.string(*c, "status"));
      auto at = r.time(*c, "lastTransitionTime", true);
      if (!type || !status || !at) {
        r.fail("condition with an unknown type or status, or a bad time");
        break;
      }
      if (s.condition(*type)) continue;  // a duplicate: keep the first
      s.set_condition(*type, *status, r.string(*c, "reason", false), r.string(*c, "message", false),
                      *at);
    }
  }
  if (const json::value* p = o->if_contains("placement")) {
    if (const json::object* po = r.object(*p, "placement")) {
      s.current_ = r.placement(*po, "current");
      s.desired_ = r.placement(*po, "desired");
    }
  }
  if (const json::value* ds = o->if_contains("recentDecisions")) {
    const auto* arr = ds->if_array();
    if (!arr) return make_err(std::string("\"recentDecisions\" is not an array"));
    for (const auto& dv : *arr) {
      const json::object* d = r.object(dv, "decision");
      if (!d) break;
      DecisionRecord rec;
      rec.at = r.time(*d, "at", true).value_or(TimePoint{});
      rec.region = r.string(*d, "region");
      rec.from = static_cast<int>(r.integer(*d, "from"));
      rec.to = static_cast<int>(r.integer(*d, "to"));
      rec.direction = r.string(*d, "direction", false);
      rec.reason = r.string(*d, "reason", false);
      rec.message = r.string(*d, "message", false);
      s.record_decision(std::move(rec));
    }
  }
  if (const json::value* e = o->if_contains("lastError"); e && !e->is_null()) {
    if (const json::object* eo = r.object(*e, "lastError")) {
      ErrorRecord err;
      err.at = r.time(*eo, "at", true).value_or(TimePoint{});
      err.reason = r.string(*eo, "reason", false);
      err.message = r.string(*eo, "message", false);
      s.last_error_ = std::move(err);
    }
  }
  s.last_reconcile_ = r.time(*o, "lastReconcileTime", false);
  s.last_successful_reconcile_ = r.time(*o, "lastSuccessfulReconcileTime", false);
  if (!r.error.empty()) return make_err(std::move(r.error));
  return s;
}

}  // namespace autoplacer::controller
