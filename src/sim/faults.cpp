#include "sim/faults.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <charconv>

namespace autoplacer::sim {
namespace json = boost::json;

const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::kError:
      return "error";
    case FaultKind::kTimeout:
      return "timeout";
    case FaultKind::kDrop:
      return "drop";
    case FaultKind::kSlow:
      return "slow";
    case FaultKind::kInsufficientCapacity:
      return "insufficient_capacity";
    case FaultKind::kForeignLease:
      return "foreign_lease";
  }
  return "error";
}

std::optional<FaultKind> fault_kind_from_string(std::string_view s) {
  for (auto k : {FaultKind::kError, FaultKind::kTimeout, FaultKind::kDrop, FaultKind::kSlow,
                 FaultKind::kInsufficientCapacity, FaultKind::kForeignLease}) {
    if (s == to_string(k)) return k;
  }
  if (s == "5xx") return FaultKind::kError;
  return std::nullopt;
}

void FaultInjector::set_rules(std::vector<FaultRule> rules, std::uint64_t seed) {
  rules_ = std::move(rules);
  fires_.assign(rules_.size(), 0);
  rng_.seed(seed);
  calls_.clear();
  fired_.clear();
}

std::optional<FaultRule> FaultInjector::decide(std::string_view operation, TimePoint now) {
  auto [it, fresh] = calls_.try_emplace(std::string(operation), 0);
  (void)fresh;
  const std::uint64_t n = ++it->second;
  std::optional<std::size_t> hit;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const FaultRule& r = rules_[i];
    if (r.operation != "*" && r.operation != operation) continue;
    // Draw for every matching rule, fired or not, so one rule's outcome does not shift the
    // random sequence of the others.
    const double draw = r.probability > 0 ? std::uniform_real_distribution<double>(0, 1)(rng_) : 1;
    if (hit) continue;
    if (r.from && now < *r.from) continue;
    if (r.until && now >= *r.until) continue;
    if (r.max_fires >= 0 && fires_[i] >= r.max_fires) continue;
    const bool by_call = std::find(r.calls.begin(), r.calls.end(), n) != r.calls.end();
    if (by_call || draw < r.probability) hit = i;
  }
  if (!hit) return std::nullopt;
  ++fires_[*hit];
  ++fired_[rules_[*hit].kind];
  return rules_[*hit];
}

std::uint64_t FaultInjector::fired(FaultKind kind) const {
  auto it = fired_.find(kind);
  return it == fired_.end() ? 0 : it->second;
}

std::uint64_t FaultInjector::calls(std::string_view operation) const {
  auto it = calls_.find(operation);
  return it == calls_.end() ? 0 : it->second;
}

namespace {

std::optional<Duration> parse_delay(std::string_view s) {
  if (auto d = parse_duration(s)) return d;
  std::int64_t ms = 0;  // a bare number is milliseconds
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
  if (ec == std::errc{} && p == s.data() + s.size() && ms >= 0) return Duration{ms};
  return std::nullopt;
}

}  // namespace

Result<FaultRule, std::string> FaultInjector::parse_flag(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (true) {
    auto end = text.find(':', pos);
    parts.emplace_back(text.substr(pos, end == std::string_view::npos ? end : end - pos));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  if (parts.size() < 2 || parts.size() > 4)
    return make_err("fault '" + std::string(text) + "': want op:kind[:probability[:param]]");
  FaultRule r;
  r.operation = parts[0];
  auto kind = fault_kind_from_string(parts[1]);
  if (!kind) return make_err("fault '" + std::string(text) + "': unknown kind '" + parts[1] + "'");
  r.kind = *kind;
  r.probability = 1;
  if (parts.size() >= 3) {
    try {
      std::size_t used = 0;
      r.probability = std::stod(parts[2], &used);
      if (used != parts[2].size() || r.probability < 0 || r.probability > 1) throw 0;
    } catch (...) {
      return make_err("fault '" + std::string(text) + "': probability must be in [0,1]");
    }
  }
  if (parts.size() == 4) {
    if (r.kind == FaultKind::kError) {
      int status = 0;
      auto [p, ec] = std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), status);
      if (ec != std::errc{} || status < 400 || status > 599)
        return make_err("fault '" + std::string(text) + "': status must be 400..599");
      r.status = status;
    } else {
      auto d = parse_delay(parts[3]);
      if (!d) return make_err("fault '" + std::string(text) + "': bad duration '" + parts[3] + "'");
      r.delay = *d;
    }
  }
  if (r.kind == FaultKind::kTimeout && r.delay.count() == 0) r.delay = std::chrono::seconds(65);
  if (r.kind == FaultKind::kForeignLease && r.delay.count() == 0)
    r.delay = std::chrono::seconds(60);
  return r;
}

Result<FaultRule, std::string> FaultInjector::rule_from_json(const json::value& v) {
  if (!v.is_object()) return make_err(std::string("a fault rule must be an object"));
  const auto& o = v.get_object();
  FaultRule r;
  auto str = [&](const char* k) -> std::string {
    const auto* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->get_string()) : std::string();
  };
  auto num = [&](const char* k, double dflt) -> double {
    const auto* x = o.if_contains(k);
    if (!x) return dflt;
    if (x->is_double()) return x->get_double();
    if (x->is_int64()) return static_cast<double>(x->get_int64());
    if (x->is_uint64()) return static_cast<double>(x->get_uint64());
    return dflt;
  };
  if (auto op = str("operation"); !op.empty()) r.operation = op;
  auto kind = fault_kind_from_string(str("kind"));
  if (!kind) return make_err("unknown fault kind '" + str("kind") + "'");
  r.kind = *kind;
  r.probability = num("probability", 0);
  if (r.probability < 0 || r.probability > 1)
    return make_err(std::string("probability must be in [0,1]"));
  if (const auto* c = o.if_contains("calls"); c && c->is_array()) {
    for (const auto& n : c->get_array()) {
      if (!n.is_int64() || n.get_int64() < 1) return make_err(std::string("calls: positive ints"));
      r.calls.push_back(static_cast<std::uint64_t>(n.get_int64()));
    }
  }
  r.max_fires = static_cast<std::int64_t>(num("max_fires", -1));
  r.status = static_cast<int>(num("status", 503));
  r.delay = Duration{static_cast<std::int64_t>(num("delay_ms", 0))};
  if (const auto* a = o.if_contains("after_apply"); a && a->is_bool())
    r.after_apply = a->get_bool();
  if (const auto f = num("from_ms", 0); f > 0)
    r.from = TimePoint{Duration{static_cast<std::int64_t>(f)}};
  if (const auto u = num("until_ms", 0); u > 0)
    r.until = TimePoint{Duration{static_cast<std::int64_t>(u)}};
  if (r.kind == FaultKind::kTimeout && r.delay.count() == 0) r.delay = std::chrono::seconds(65);
  if (r.kind == FaultKind::kForeignLease && r.delay.count() == 0)
    r.delay = std::chrono::seconds(60);
  return r;
}

json::value FaultInjector::rule_to_json(const FaultRule& r) {
  json::array calls;
  for (auto c : r.calls) calls.push_back(c);
  json::object o{{"operation", r.operation},     {"kind", to_string(r.kind)},
                 {"probability", r.probability}, {"calls", std::move(calls)},
                 {"max_fires", r.max_fires},     {"status", r.status},
                 {"delay_ms", r.delay.count()},  {"after_apply", r.after_apply}};
  if (r.from) o["from_ms"] = r.from->time_since_epoch().count();
  if (r.until) o["until_ms"] = r.until->time_since_epoch().count();
  return o;
}

}  // namespace autoplacer::sim
