#pragma once
// The outputs of `autoplacer simulate`: timeline.csv, report.json, the printed table and
// report.html (docs/backtest.md explains each figure). Pure rendering: strings in, strings out;
// the command writes the files.
#include <optional>
#include <string>
#include <vector>

#include "backtest/backtest.h"
#include "backtest/forecast_accuracy.h"

namespace autoplacer::backtest {

struct ReportContext {
  std::string scenarioPath;
  std::string policyPath;
  std::string policyName;
  std::string strategy;  // of the policy run
  const sim::Scenario* scenario = nullptr;
  std::vector<std::string> regions;  // timeline columns
  std::vector<std::string> allowed;  // usable regions (the RTT limit's)
  double targetPerMachine = 0;
  std::optional<int> targetPeakMachines;
  FleetTimings timings;
  Duration observeDelay{0};
  Duration passInterval{0};
  // The policy run first, then the baselines, each with the file its timeline went to.
  std::vector<const RunResult*> runs;
  std::vector<std::string> timelineFiles;
  std::vector<double> runSeconds;  // wall time of each run
  std::optional<ForecastAccuracy> forecast;
  double totalSeconds = 0;
};

// One target of issue 5, judged on the policy run.
struct TargetCheck {
  std::string name;  // "unserved_fraction"
  std::string rule;  // "<= 0.005"
  double value = 0;
  double bound = 0;
  bool met = false;
};
std::vector<TargetCheck> check_targets(const ReportContext& ctx);

// `timestamp,region,running,desired` for every step and every region with running or desired > 0,
// regions in column order (the scorer breaks RTT ties by this order).
std::string render_timeline_csv(const RunResult& run, const ReportContext& ctx);
std::string render_json(const ReportContext& ctx);
std::string render_table(const ReportContext& ctx);
std::string render_html(const ReportContext& ctx);

// A number as JSON writes it: the shortest text that reads back the same; null if not finite.
std::string json_number(double x);

}  // namespace autoplacer::backtest
