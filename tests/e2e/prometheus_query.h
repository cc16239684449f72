#pragma once
// PromQL through a test Prometheus's HTTP API (support/prometheus_server.h), and the alert rules
// of deploy/prometheus/alerts.yml as data, for the end-to-end tests.
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/prometheus_server.h"

namespace autoplacer::e2e {

inline std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// One series of an instant vector: its labels and value.
struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct QueryResult {
  bool ok = false;
  std::string error;  // why the query failed (HTTP, parse, PromQL error)
  std::vector<Sample> series;
};

// An instant query at the server's now.
inline QueryResult instant_query(autoplacer::testing::PrometheusServer& prom,
                                 const std::string& promql) {
  QueryResult r;
  auto body = prom.get("/api/v1/query?query=" + url_encode(promql));
  if (!body.ok()) {
    r.error = body.error();
    return r;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(*body, ec);
  if (ec || !doc.is_object()) {
    r.error = "not JSON: " + *body;
    return r;
  }
  const auto& o = doc.get_object();
  if (!o.contains("status") || o.at("status") != "success") {
    r.error = *body;
    return r;
  }
  const auto& data = o.at("data").as_object();
  if (data.at("resultType") != "vector") {
    r.error = "not a vector: " + *body;
    return r;
  }
  for (const auto& v : data.at("result").as_array()) {
    Sample s;
    for (const auto& [k, l] : v.at("metric").as_object())
      s.labels[std::string(k)] = std::string(l.as_string());
    s.value = std::stod(std::string(v.at("value").as_array().at(1).as_string()));
    r.series.push_back(std::move(s));
  }
  r.ok = true;
  return r;
}

inline std::string describe(const QueryResult& r) {
  if (!r.ok) return "error: " + r.error;
  std::string out = std::to_string(r.series.size()) + " series";
  for (const auto& s : r.series) {
    out += "\n  {";
    for (const auto& [k, v] : s.labels) out += k + "=\"" + v + "\",";
    out += "} " + std::to_string(s.value);
  }
  return out;
}

struct AlertRule {
  std::string name;
  std::string expr;
};

// Every alerting rule of a Prometheus rule file, in file order.
inline std::vector<AlertRule> load_alert_rules(const std::string& path) {
  std::vector<AlertRule> rules;
  YAML::Node doc = YAML::LoadFile(path);
  for (const auto& group : doc["groups"])
    for (const auto& rule : group["rules"])
      if (rule["alert"])
        rules.push_back({rule["alert"].as<std::string>(), rule["expr"].as<std::string>()});
  return rules;
}

// The expression on the test's time scale: every range `[10m]` becomes `[window]`. The test
// replays minutes in seconds and scrapes every 500 ms, so a production window would still be
// dominated by the healthy start of the run when a failure is induced.
inline std::string compress_ranges(const std::string& expr, const std::string& window) {
  static const std::regex kRange(R"(\[[0-9]+[smhdw]\])");
  return std::regex_replace(expr, kRange, "[" + window + "]");
}

// The metric names an expression reads (autoplacer_*, workqueue_*, up).
inline std::set<std::string> metric_names(const std::string& expr) {
  static const std::regex kName(R"(\b(autoplacer_[a-z_]+|workqueue_[a-z_]+|up)\b)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it)
    names.insert((*it)[1].str());
  return names;
}

}  // namespace autoplacer::e2e
