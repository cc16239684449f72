#include "metrics/prometheus_response.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <system_error>

namespace autoplacer::metrics {
namespace json = boost::json;
namespace {

Err<PromError> fail(PromError::Kind kind, std::string message) {
  return make_err(PromError{kind, std::move(message)});
}

// A short, printable excerpt of a body for error messages (HTML error pages can be long).
std::string excerpt(std::string_view body) {
  constexpr std::size_t kMax = 120;
  std::string out;
  for (char c : body.substr(0, kMax)) {
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  if (body.size() > kMax) out += "...";
  return out;
}

bool parse_time(const json::value& v, TimePoint& out) {
  double seconds = 0;
  if (v.is_double()) {
    seconds = v.get_double();
  } else if (v.is_int64()) {
    seconds = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    seconds = static_cast<double>(v.get_uint64());
  } else if (v.is_string()) {  // some proxies quote timestamps
    if (!parse_prom_value(v.get_string(), seconds)) return false;
  } else {
    return false;
  }
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e11) return false;
  out = TimePoint{Duration{static_cast<std::int64_t>(std::llround(seconds * 1000.0))}};
  return true;
}

// [<unix seconds>, "<value>"]
bool parse_point(const json::value& v, PromPoint& out) {
  const auto* arr = v.if_array();
  if (arr == nullptr || arr->size() != 2) return false;
  if (!parse_time((*arr)[0], out.at)) return false;
  const auto* s = (*arr)[1].if_string();
  if (s == nullptr) return false;
  return parse_prom_value(*s, out.value);
}

bool parse_labels(const json::value* v, std::map<std::string, std::string>& out) {
  if (v == nullptr) return true;  // a series may come without "metric" (e.g. a bare number)
  const auto* obj = v->if_object();
  if (obj == nullptr) return false;
  for (const auto& kv : *obj) {
    const auto* s = kv.value().if_string();
    if (s == nullptr) return false;
    out.emplace(std::string(kv.key()), std::string(*s));
  }
  return true;
}

PromResult parse_data(const json::object& data) {
  const auto* type_v = data.if_contains("resultType");
  const auto* result = data.if_contains("result");
  if (type_v == nullptr || !type_v->is_string() || result == nullptr) {
    return fail(PromError::Kind::kParse, "answer has no data.resultType or data.result");
  }
  const std::string_view type = type_v->get_string();
  PromQueryResult out;
  if (type == "scalar" || type == "string") {
    out.type = type == "scalar" ? PromResultType::kScalar : PromResultType::kString;
    PromSeries s;
    PromPoint p;
    if (out.type == PromResultType::kScalar) {
      if (!parse_point(*result, p)) return fail(PromError::Kind::kParse, "bad scalar value");
    } else {
      // A string result carries text, not a number; keep its time only.
      const auto* arr = result->if_array();
      if (arr == nullptr || arr->size() != 2 || !parse_time((*arr)[0], p.at)) {
        return fail(PromError::Kind::kParse, "bad string value");
      }
      p.value = std::numeric_limits<double>::quiet_NaN();
    }
    s.points.push_back(p);
    out.series.push_back(std::move(s));
    return out;
  }
  const bool vector = type == "vector";
  if (!vector && type != "matrix") {
    return fail(PromError::Kind::kParse, "unknown resultType \"" + excerpt(type) + "\"");
  }
  out.type = vector ? PromResultType::kVector : PromResultType::kMatrix;
  const auto* items = result->if_array();
  if (items == nullptr) return fail(PromError::Kind::kParse, "data.result is not an array");
  out.series.reserve(items->size());
  for (const auto& item : *items) {
    const auto* obj = item.if_object();
    if (obj == nullptr) return fail(PromError::Kind::kParse, "a series is not an object");
    PromSeries s;
    if (!parse_labels(obj->if_contains("metric"), s.labels)) {
      return fail(PromError::Kind::kParse, "a series has bad labels");
    }
    if (vector) {
      const auto* value = obj->if_contains("value");
      PromPoint p;
      if (value == nullptr || !parse_point(*value, p)) {
        return fail(PromError::Kind::kParse, "a vector sample has no valid value");
      }
      s.points.push_back(p);
    } else {
      const auto* values = obj->if_contains("values");
      const auto* arr = values != nullptr ? values->if_array() : nullptr;
      if (arr == nullptr) return fail(PromError::Kind::kParse, "a matrix series has no values");
      s.points.reserve(arr->size());
      for (const auto& pv : *arr) {
        PromPoint p;
        if (!parse_point(pv, p)) return fail(PromError::Kind::kParse, "a matrix point is invalid");
        s.points.push_back(p);
      }
    }
    out.series.push_back(std::move(s));
  }
  return out;
}

}  // namespace

const char* to_string(PromResultType t) {
  switch (t) {
    case PromResultType::kVector:
      return "vector";
    case PromResultType::kMatrix:
      return "matrix";
    case PromResultType::kScalar:
      return "scalar";
    case PromResultType::kString:
      return "string";
  }
  return "unknown";
}

const char* to_string(PromError::Kind kind) {
  switch (kind) {
    case PromError::Kind::kTransport:
      return "transport";
    case PromError::Kind::kTimeout:
      return "timeout";
    case PromError::Kind::kHttpStatus:
      return "http_status";
    case PromError::Kind::kApi:
      return "api_error";
    case PromError::Kind::kParse:
      return "bad_response";
    case PromError::Kind::kResultType:
      return "wrong_result_type";
    case PromError::Kind::kTooLarge:
      return "too_large";
    case PromError::Kind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string describe(const PromError& e) {
  return std::string(to_string(e.kind)) + ": " + e.message;
}

bool parse_prom_value(std::string_view text, double& out) {
  if (text == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "+Inf" || text == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  double v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return false;
  out = v;
  return true;
}

PromResult parse_prometheus_response(std::string_view body, int http_status) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  const json::object* obj = ec ? nullptr : doc.if_object();
  const json::value* status = obj != nullptr ? obj->if_contains("status") : nullptr;
  if (status == nullptr || !status->is_string()) {
    // Not a Prometheus answer: a proxy's error page, an empty body, garbage.
    if (http_status < 200 || http_status >= 300) {
      return fail(PromError::Kind::kHttpStatus,
                  "HTTP " + std::to_string(http_status) + ": " + excerpt(body));
    }
    return fail(PromError::Kind::kParse,
                (ec ? "not JSON: " : "not a Prometheus API answer: ") + excerpt(body));
  }
  if (status->get_string() != "success") {
    std::string message;
    if (const auto* t = obj->if_contains("errorType"); t != nullptr && t->is_string()) {
      message += std::string(t->get_string()) + ": ";
    }
    if (const auto* m = obj->if_contains("error"); m != nullptr && m->is_string()) {
      message += std::string(m->get_string());
    } else {
      message += "status \"" + excerpt(status->get_string()) + "\"";
    }
    if (http_status < 200 || http_status >= 300) {
      message += " (HTTP " + std::to_string(http_status) + ")";
    }
    return fail(PromError::Kind::kApi, std::move(message));
  }
  if (http_status < 200 || http_status >= 300) {
    return fail(PromError::Kind::kHttpStatus,
                "HTTP " + std::to_string(http_status) + " with a success body");
  }
  const auto* data = obj->if_contains("data");
  if (data == nullptr || !data->is_object()) {
    return fail(PromError::Kind::kParse, "answer has no data object");
  }
  auto parsed = parse_data(data->get_object());
  if (!parsed) return parsed;
  if (const auto* w = obj->if_contains("warnings"); w != nullptr && w->is_array()) {
    for (const auto& item : w->get_array()) {
      if (item.is_string()) parsed->warnings.emplace_back(item.get_string());
    }
  }
  return parsed;
}

std::string format_prom_time(TimePoint t) {
  const auto ms = t.time_since_epoch().count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buf;
}

std::string format_prom_seconds(Duration d) {
  const auto ms = d.count();
  char buf[48];
  if (ms % 1000 == 0) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
  }
  return buf;
}

}  // namespace autoplacer::metrics
