// The controller's own metrics: every name of the contract (tests/deploy/metric_names.txt, which
// the dashboard and the alert rules are checked against) is exported with exactly its labels.
#include "metrics/self_metrics.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace autoplacer::metrics {
namespace {

struct ContractEntry {
  std::string type;
  std::set<std::string> labels;
};

std::map<std::string, ContractEntry> read_contract() {
  std::ifstream in(std::string(AP_SOURCE_DIR) + "/tests/deploy/metric_names.txt");
  EXPECT_TRUE(in) << "cannot read tests/deploy/metric_names.txt";
  std::map<std::string, ContractEntry> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, type, labels;
    fields >> name >> type >> labels;
    if (name == "up") continue;  // Prometheus' own series, not ours
    ContractEntry e{type, {}};
    if (labels != "-") {
      std::stringstream ls(labels);
      std::string label;
      while (std::getline(ls, label, ',')) e.labels.insert(label);
    }
    out[name] = e;
  }
  return out;
}

// name -> label names of each sample line (of the family's own samples, histogram suffixes
// folded into the family name, "le" dropped).
struct Exposition {
  std::map<std::string, std::string> types;
  std::map<std::string, std::set<std::set<std::string>>> label_sets;
};

Exposition parse(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  std::regex type_re(R"(^# TYPE (\S+) (\S+)$)");
  std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)( \d+)?$)");
  std::regex label_re(R"(([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\]|\\.)*\")");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type_re)) {
      e.types[m[1]] = m[2];
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    if (!std::regex_match(line, m, sample_re)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    std::string name = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s(suffix);
      if (name.size() > s.size() && name.ends_with(s) &&
          e.types.contains(name.substr(0, name.size() - s.size())) &&
          e.types[name.substr(0, name.size() - s.size())] == "histogram") {
        name = name.substr(0, name.size() - s.size());
      }
    }
    std::set<std::string> labels;
    std::string body = m[3];
    for (std::sregex_iterator it(body.begin(), body.end(), label_re), end; it != end; ++it) {
      if ((*it)[1] != "le") labels.insert((*it)[1]);
    }
    e.label_sets[name].insert(labels);
  }
  return e;
}

// Touches every series once, as a running controller would.
void exercise(SelfMetrics& m) {
  const TimePoint t{Duration{1'714'564'800'000}};
  m.reconcile_finished("web", "success", 0.2, t);
  m.reconcile_finished("web", "error", 1.5, t);
  m.reconcile_error("web", "machines_api");
  m.action("web", "fra", "create", "ok");
  m.decision("web", "fra", "up", "demand");
  m.set_demand_rps("web", "fra", 120);
  m.set_forecast_rps("web", "fra", 150);
  m.set_desired_machines("web", "fra", 3);
  m.set_running_machines("web", "fra", 2);
  m.set_time_to_serve("web", "fra", 3.5);
  m.set_metrics_available("web", true);
  m.set_policy_valid("web", true);
  m.policy_load_error();
  m.machines_api_request("list", "200", 0.05);
  m.rate_limiter_wait("create", 0.5);
  m.set_leader(true);
  m.set_workqueue_depth("reconcile", 3);
  m.workqueue_add("reconcile");
  m.workqueue_retry("reconcile");
  m.observe_workqueue_queue_duration("reconcile", 0.001);
  m.observe_workqueue_work_duration("reconcile", 0.2);
  m.set_workqueue_unfinished_work("reconcile", 1.0);
  m.set_workqueue_longest_running_processor("reconcile", 1.0);
}

TEST(SelfMetricsTest, ExportsEveryContractNameWithItsTypeAndLabels) {
  SelfMetrics metrics("1.2.3");
  exercise(metrics);
  std::string text = metrics.serialize();
  Exposition e = parse(text);
  auto contract = read_contract();
  ASSERT_GE(contract.size(), 27u);
  for (const auto& [name, entry] : contract) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(e.types.contains(name)) << "missing # TYPE for " << name << "\n" << text;
    EXPECT_EQ(e.types[name], entry.type);
    ASSERT_TRUE(e.label_sets.contains(name)) << "no sample for " << name;
    for (const auto& labels : e.label_sets[name]) EXPECT_EQ(labels, entry.labels);
  }
  // And nothing exported that the contract does not know (the dashboards would miss it).
  for (const auto& [name, type] : e.types) {
    EXPECT_TRUE(contract.contains(name)) << name << " is exported but not in metric_names.txt";
  }
}

TEST(SelfMetricsTest, StartsWithBuildInfoAndLeaderSeries) {
  SelfMetrics metrics("1.2.3");
  std::string text = metrics.serialize();
  EXPECT_NE(text.find("autoplacer_build_info{version=\"1.2.3\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("autoplacer_leader 0"), std::string::npos) << text;
  EXPECT_NE(text.find("autoplacer_leader_transitions_total 0"), std::string::npos) << text;
  EXPECT_NE(text.find("autoplacer_policy_load_errors_total 0"), std::string::npos) << text;
}

TEST(SelfMetricsTest, ReconcileSetsLastSuccessOnlyOnSuccess) {
  SelfMetrics metrics("dev");
  const TimePoint t{Duration{1'714'564'800'000}};
  metrics.reconcile_finished("web", "error", 0.1, t);
  std::string text = metrics.serialize();
  EXPECT_EQ(text.find("autoplacer_last_successful_reconcile_timestamp_seconds{"),
            std::string::npos);
  metrics.reconcile_finished("web", "success", 0.1, t);
  text = metrics.serialize();
  EXPECT_NE(text.find("autoplacer_last_successful_reconcile_timestamp_seconds{policy=\"web\"} "
                      "1714564800"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("autoplacer_reconcile_total{policy=\"web\",result=\"error\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("autoplacer_reconcile_duration_seconds_count{policy=\"web\"} 2"),
            std::string::npos);
}

TEST(SelfMetricsTest, LeaderTransitionsCountChangesOnly) {
  SelfMetrics metrics("dev");
  metrics.set_leader(true);
  metrics.set_leader(true);
  metrics.set_leader(false);
  metrics.set_leader(false);
  metrics.set_leader(true);
  std::string text = metrics.serialize();
  EXPECT_NE(text.find("autoplacer_leader 1"), std::string::npos);
  EXPECT_NE(text.find("autoplacer_leader_transitions_total 3"), std::string::npos) << text;
}

TEST(SelfMetricsTest, ApiObserverCountsRequestsAnd429sAndWaits) {
  SelfMetrics metrics("dev");
  auto observer = metrics.api_observer();
  EXPECT_EQ(observer, metrics.api_observer());  // one adapter per registry
  observer->on_request("create", "200", std::chrono::milliseconds(40));
  observer->on_request("create", "429", std::chrono::milliseconds(5));
  observer->on_request("create", "429", std::chrono::milliseconds(5));
  observer->on_request("list", "timeout", std::chrono::seconds(10));
  observer->on_rate_limit_wait("create", std::chrono::milliseconds(250));
  observer->on_rate_limit_wait("create", std::chrono::milliseconds(750));
  observer->on_retry("create", "429", std::chrono::seconds(1));  // not a series of its own
  std::string text = metrics.serialize();
  EXPECT_NE(
      text.find("autoplacer_machines_api_requests_total{operation=\"create\",status=\"429\"} 2"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("autoplacer_machines_api_requests_total{operation=\"list\",status=\"timeout\"} 1"),
      std::string::npos);
  EXPECT_NE(
      text.find("autoplacer_machines_api_request_duration_seconds_count{operation=\"create\"} 3"),
      std::string::npos);
  EXPECT_NE(text.find("autoplacer_rate_limiter_waits_total{operation=\"create\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("autoplacer_rate_limiter_wait_seconds_total{operation=\"create\"} 1"),
            std::string::npos);
}

TEST(SelfMetricsTest, ForgetRegionAndPolicyDropTheirSeries) {
  SelfMetrics metrics("dev");
  metrics.set_desired_machines("web", "fra", 2);
  metrics.set_desired_machines("web", "syd", 1);
  metrics.set_running_machines("web", "syd", 1);
  metrics.set_desired_machines("api", "syd", 4);
  metrics.set_policy_valid("web", true);
  metrics.forget_region("web", "syd");
  std::string text = metrics.serialize();
  EXPECT_NE(text.find("autoplacer_desired_machines{policy=\"web\",region=\"fra\"} 2"),
            std::string::npos);
  EXPECT_EQ(text.find("policy=\"web\",region=\"syd\""), std::string::npos) << text;
  EXPECT_NE(text.find("autoplacer_desired_machines{policy=\"api\",region=\"syd\"} 4"),
            std::string::npos);

  metrics.forget_policy("web");
  text = metrics.serialize();
  EXPECT_EQ(text.find("policy=\"web\""), std::string::npos) << text;
  EXPECT_NE(text.find("policy=\"api\""), std::string::npos);
  // A forgotten policy can come back.
  metrics.set_policy_valid("web", false);
  EXPECT_NE(metrics.serialize().find("autoplacer_policy_valid{policy=\"web\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace autoplacer::metrics
