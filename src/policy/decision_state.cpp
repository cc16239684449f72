#include "policy/decision_state.h"

#include <boost/json.hpp>
#include <cmath>

namespace autoplacer {
namespace json = boost::json;
namespace {

constexpr int kStateVersion = 1;

std::int64_t q_int(double x) {
  return std::llround(x / kStateQuantum);
}
double q_double(std::int64_t k) {
  return static_cast<double>(k) * kStateQuantum;
}

json::value opt_int(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::array q_array(const std::vector<double>& xs) {
  json::array a;
  a.reserve(xs.size());
  for (double x : xs) a.emplace_back(q_int(x));
  return a;
}

json::array timed_array(const std::vector<TimedCount>& xs) {
  json::array a;
  a.reserve(xs.size());
  for (const TimedCount& t : xs) a.emplace_back(json::array{t.atMs, t.value});
  return a;
}

json::value model_json(const DemandModel& m) {
  json::object o;
  o["started"] = m.started;
  o["short"] = q_int(m.shortEwma);
  o["long"] = q_int(m.longEwma);
  o["open"] = m.openBucket;
  o["openSum"] = q_int(m.openSum);
  o["openCount"] = m.openCount;
  o["first"] = m.firstBucket;
  o["lastClosed"] = m.lastClosed;
  o["seen"] = m.warmupSeen;
  o["warm"] = m.warm;
  o["level"] = q_int(m.level);
  o["trend"] = q_int(m.trend);
  o["daily"] = q_array(m.daily);
  o["weekly"] = q_array(m.weekly);
  return o;
}

// --- reading, without exceptions -------------------------------------------------------------

struct Reader {
  std::string error;
  bool ok() const { return error.empty(); }
  void fail(const std::string& what) {
    if (error.empty()) error = what;
  }

  std::optional<std::int64_t> as_int(const json::value* v, const std::string& what) {
    if (v == nullptr) {
      fail(what + ": missing");
      return std::nullopt;
    }
    if (const auto* i = v->if_int64()) return *i;
    if (const auto* u = v->if_uint64(); u && *u <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(*u);
    }
    if (const auto* d = v->if_double(); d && std::isfinite(*d) && std::fabs(*d) < 9e18) {
      return std::llround(*d);
    }
    fail(what + ": not an integer");
    return std::nullopt;
  }
  std::int64_t int_or(const json::object& o, const char* key, std::int64_t dflt,
                      const std::string& where) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return dflt;
    return as_int(v, where + "." + key).value_or(dflt);
  }
  std::optional<std::int64_t> opt_int_at(const json::object& o, const char* key,
                                         const std::string& where) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return as_int(v, where + "." + key);
  }
  bool bool_or(const json::object& o, const char* key, bool dflt, const std::string& where) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return dflt;
    if (const auto* b = v->if_bool()) return *b;
    fail(where + "." + key + ": not a boolean");
    return dflt;
  }
  std::vector<double> q_vector(const json::object& o, const char* key, const std::string& where,
                               std::size_t max) {
    std::vector<double> out;
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return out;
    const json::array* a = v->if_array();
    if (a == nullptr || a->size() > max) {
      fail(where + "." + key + ": not an array of at most " + std::to_string(max));
      return out;
    }
    out.reserve(a->size());
    for (const json::value& x : *a)
      out.push_back(q_double(as_int(&x, where + "." + key).value_or(0)));
    return out;
  }
  std::vector<TimedCount> timed(const json::object& o, const char* key, const std::string& where) {
    std::vector<TimedCount> out;
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return out;
    const json::array* a = v->if_array();
    if (a == nullptr || a->size() > RegionState::kMaxEntries) {
      fail(where + "." + key + ": not a bounded array");
      return out;
    }
    for (const json::value& x : *a) {
      const json::array* pair = x.if_array();
      if (pair == nullptr || pair->size() != 2) {
        fail(where + "." + key + ": entries are [atMs, value]");
        return out;
      }
      TimedCount t;
      t.atMs = as_int(&(*pair)[0], where + "." + key).value_or(0);
      t.value = static_cast<int>(as_int(&(*pair)[1], where + "." + key).value_or(0));
      out.push_back(t);
    }
    return out;
  }
};

void read_model(Reader& r, const json::object& o, DemandModel& m, const std::string& where) {
  m.started = r.bool_or(o, "started", false, where);
  m.shortEwma = q_double(r.int_or(o, "short", 0, where));
  m.longEwma = q_double(r.int_or(o, "long", 0, where));
  m.openBucket = r.int_or(o, "open", -1, where);
  m.openSum = q_double(r.int_or(o, "openSum", 0, where));
  m.openCount = static_cast<int>(r.int_or(o, "openCount", 0, where));
  m.firstBucket = r.int_or(o, "first", -1, where);
  m.lastClosed = r.int_or(o, "lastClosed", -1, where);
  m.warmupSeen = static_cast<int>(r.int_or(o, "seen", 0, where));
  m.warm = r.bool_or(o, "warm", false, where);
  m.level = q_double(r.int_or(o, "level", 0, where));
  m.trend = q_double(r.int_or(o, "trend", 0, where));
  m.daily = r.q_vector(o, "daily", where, ForecastConfig::kMaxDailyBuckets);
  m.weekly = r.q_vector(o, "weekly", where, ForecastConfig::kWeeklyBuckets);
  if (m.openCount < 0) r.fail(where + ".openCount: negative");
}

}  // namespace

json::value to_json(const DecisionState& state) {
  json::object root;
  root["version"] = kStateVersion;
  root["unknownSinceMs"] = opt_int(state.unknownSinceMs);
  root["lastDecisionMs"] = state.lastDecisionMs;
  json::object origins;
  for (const auto& [code, o] : state.origins) {
    json::object jo;
    jo["lastAtMs"] = o.lastAtMs;
    // Sample times as ms before lastAtMs: short numbers.
    json::array t, v;
    for (std::size_t i = 0; i < o.history.size(); ++i) {
      t.emplace_back(o.lastAtMs - o.history.at(i).atMs);
      v.emplace_back(q_int(o.history.at(i).rps));
    }
    jo["ago"] = std::move(t);
    jo["rps"] = std::move(v);
    jo["model"] = model_json(o.model);
    origins[code] = std::move(jo);
  }
  root["origins"] = std::move(origins);
  json::object regions;
  for (const auto& [code, r] : state.regions) {
    if (r.empty()) continue;
    json::object jr;
    if (!r.recommendations.empty()) jr["rec"] = timed_array(r.recommendations);
    if (!r.events.empty()) jr["events"] = timed_array(r.events);
    if (r.addedAtMs) jr["addedAtMs"] = *r.addedAtMs;
    if (r.removedAtMs) jr["removedAtMs"] = *r.removedAtMs;
    if (r.thresholdActionAtMs) jr["thresholdActionAtMs"] = *r.thresholdActionAtMs;
    regions[code] = std::move(jr);
  }
  root["regions"] = std::move(regions);
  return root;
}

Result<DecisionState, std::string> decision_state_from_json(const json::value& value) {
  Reader r;
  DecisionState state;
  const json::object* root = value.if_object();
  if (root == nullptr) return make_err(std::string("decision state: not an object"));
  const std::int64_t version = r.int_or(*root, "version", 0, "decision state");
  if (version != kStateVersion) {
    return make_err("decision state: unsupported version " + std::to_string(version));
  }
  state.unknownSinceMs = r.opt_int_at(*root, "unknownSinceMs", "decision state");
  state.lastDecisionMs = r.int_or(*root, "lastDecisionMs", -1, "decision state");
  if (const json::value* ov = root->if_contains("origins")) {
    const json::object* origins = ov->if_object();
    if (origins == nullptr || origins->size() > DecisionState::kMaxOrigins) {
      return make_err(std::string("decision state: origins is not a bounded object"));
    }
    for (const auto& kv : *origins) {
      const std::string where = "origins." + std::string(kv.key());
      const json::object* jo = kv.value().if_object();
      if (jo == nullptr) return make_err(where + ": not an object");
      OriginState o;
      o.lastAtMs = r.int_or(*jo, "lastAtMs", -1, where);
      const json::array* ago = jo->contains("ago") ? jo->at("ago").if_array() : nullptr;
      const json::array* rps = jo->contains("rps") ? jo->at("rps").if_array() : nullptr;
      if (ago != nullptr && rps != nullptr && ago->size() == rps->size() &&
          ago->size() <= SampleRing::kCapacity) {
        for (std::size_t i = 0; i < ago->size(); ++i) {
          DemandSample s;
          s.atMs = o.lastAtMs - r.as_int(&(*ago)[i], where + ".ago").value_or(0);
          s.rps = q_double(r.as_int(&(*rps)[i], where + ".rps").value_or(0));
          o.history.push(s);
        }
      } else if (ago != nullptr || rps != nullptr) {
        return make_err(where + ": ago/rps are not matching bounded arrays");
      }
      if (const json::value* mv = jo->if_contains("model")) {
        if (const json::object* mo = mv->if_object()) {
          read_model(r, *mo, o.model, where + ".model");
        } else {
          return make_err(where + ".model: not an object");
        }
      }
      state.origins.emplace(std::string(kv.key()), std::move(o));
    }
  }
  if (const json::value* rv = root->if_contains("regions")) {
    const json::object* regions = rv->if_object();
    if (regions == nullptr || regions->size() > DecisionState::kMaxOrigins) {
      return make_err(std::string("decision state: regions is not a bounded object"));
    }
    for (const auto& kv : *regions) {
      const std::string where = "regions." + std::string(kv.key());
      const json::object* jr = kv.value().if_object();
      if (jr == nullptr) return make_err(where + ": not an object");
      RegionState s;
      s.recommendations = r.timed(*jr, "rec", where);
      s.events = r.timed(*jr, "events", where);
      s.addedAtMs = r.opt_int_at(*jr, "addedAtMs", where);
      s.removedAtMs = r.opt_int_at(*jr, "removedAtMs", where);
      s.thresholdActionAtMs = r.opt_int_at(*jr, "thresholdActionAtMs", where);
      state.regions.emplace(std::string(kv.key()), std::move(s));
    }
  }
  if (!r.ok()) return make_err("decision state: " + r.error);
  return state;
}

std::size_t serialized_size(const DecisionState& state) {
  return json::serialize(to_json(state)).size();
}

}  // namespace autoplacer
