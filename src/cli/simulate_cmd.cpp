// `autoplacer simulate`: replays a traffic scenario through the decision core and a simulated
// fleet with boot delays, next to baselines, and writes timeline.csv, report.json and report.html
// (docs/backtest.md). One process, simulated time, as fast as the CPU allows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backtest/backtest.h"
#include "backtest/baselines.h"
#include "backtest/decision_placer.h"
#include "backtest/forecast_accuracy.h"
#include "backtest/progress.h"
#include "backtest/report.h"
#include "cli/command.h"
#include "common/duration.h"
#include "policy/policy_loader.h"
#include "sim/scenario.h"

namespace autoplacer::cli {
namespace {

using namespace autoplacer::backtest;

constexpr std::string_view kUsage =
    R"(Usage: autoplacer simulate --policy FILE --traffic SCENARIO.csv --out DIR [options]

Replays a traffic scenario (CSV `timestamp,region,rps`) through the decision core and a simulated
fleet with boot delays, next to baselines, and scores each run as the independent scorer
(score_timeline.py) does. Writes DIR/timeline.csv (the policy), DIR/timeline-BASELINE.csv,
DIR/report.json and DIR/report.html, and prints a summary table.

Options:
  --policy FILE               PlacementPolicy YAML (the first policy, or --policy-name)
  --policy-name NAME          which policy of FILE to use
  --traffic FILE              the scenario
  --out DIR                   where to write (created if missing)
  --baseline LIST             static, threshold, oracle, none or all (default all); a comma
                              list or the option repeated
  --target-peak-machines N    size targetPerMachine so the busiest region needs N machines at
                              its peak (each origin counted at its nearest usable region)
  --target-per-machine RPS    set targetPerMachine directly
  --create-delay D            create to serving (default 20s)
  --start-delay D             stopped to serving (default 300ms)
  --resume-delay D            suspended to serving (default 200ms)
  --observe-delay D           how long after a step begins its demand is seen (default 1m, at
                              most half a step)
  --check                     exit 3 when the policy run misses a target of issue 5
  --no-progress               no progress bar (there is none unless stderr is a terminal)
  -q, --quiet                 print no table
  -h, --help                  this text

Exit codes: 0 done, 1 bad input (policy, scenario), 2 usage error, 3 a target missed (--check).)";

struct Options {
  std::string policy_path, policy_name, traffic_path, out_dir;
  bool run_static = true, run_threshold = true, run_oracle = true;
  std::optional<int> target_peak_machines;
  std::optional<double> target_per_machine;
  FleetTimings timings;
  std::optional<Duration> observe_delay;
  bool check = false, progress = true, quiet = false;
};

int usage_error(const std::string& what) {
  std::fprintf(stderr, "autoplacer simulate: %s (see autoplacer simulate --help)\n", what.c_str());
  return 2;
}

bool parse_baselines(std::string_view list, Options& o, bool& first) {
  if (first) {
    o.run_static = o.run_threshold = o.run_oracle = false;
    first = false;
  }
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (item == "static") {
      o.run_static = true;
    } else if (item == "threshold") {
      o.run_threshold = true;
    } else if (item == "oracle") {
      o.run_oracle = true;
    } else if (item == "all") {
      o.run_static = o.run_threshold = o.run_oracle = true;
    } else if (item != "none") {
      return false;
    }
  }
  return true;
}

// Parses argv into `o`; returns an exit code on a usage error.
std::optional<int> parse_args(int argc, char** argv, Options& o) {
  bool first_baseline = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)name;
      return std::string(argv[++i]);
    };
    auto duration = [&](std::string_view name, Duration& out) -> bool {
      auto v = value(name);
      if (!v) return false;
      auto d = parse_duration(*v);
      if (!d) return false;
      out = *d;
      return true;
    };
    if (a == "--policy" || a == "--policy-name" || a == "--traffic" || a == "--out") {
      auto v = value(a);
      if (!v) return usage_error(std::string(a) + " needs a value");
      (a == "--policy"        ? o.policy_path
       : a == "--policy-name" ? o.policy_name
       : a == "--traffic"     ? o.traffic_path
                              : o.out_dir) = *v;
    } else if (a == "--baseline") {
      auto v = value(a);
      if (!v || !parse_baselines(*v, o, first_baseline))
        return usage_error("--baseline takes static, threshold, oracle, none or all");
    } else if (a == "--target-peak-machines") {
      auto v = value(a);
      int n = v ? std::atoi(v->c_str()) : 0;
      if (n <= 0) return usage_error("--target-peak-machines takes a positive integer");
      o.target_peak_machines = n;
    } else if (a == "--target-per-machine") {
      auto v = value(a);
      double x = v ? std::strtod(v->c_str(), nullptr) : 0;
      if (!(x > 0)) return usage_error("--target-per-machine takes a positive number");
      o.target_per_machine = x;
    } else if (a == "--create-delay") {
      if (!duration(a, o.timings.create)) return usage_error("--create-delay takes a duration");
    } else if (a == "--start-delay") {
      if (!duration(a, o.timings.start)) return usage_error("--start-delay takes a duration");
    } else if (a == "--resume-delay") {
      if (!duration(a, o.timings.resume)) return usage_error("--resume-delay takes a duration");
    } else if (a == "--observe-delay") {
      Duration d{0};
      if (!duration(a, d)) return usage_error("--observe-delay takes a duration");
      o.observe_delay = d;
    } else if (a == "--check") {
      o.check = true;
    } else if (a == "--no-progress") {
      o.progress = false;
    } else if (a == "-q" || a == "--quiet") {
      o.quiet = true;
    } else {
      return usage_error("unknown argument '" + std::string(a) + "'");
    }
  }
  if (o.policy_path.empty()) return usage_error("--policy is required");
  if (o.traffic_path.empty()) return usage_error("--traffic is required");
  if (o.out_dir.empty()) return usage_error("--out is required");
  if (o.target_peak_machines && o.target_per_machine)
    return usage_error("--target-peak-machines and --target-per-machine exclude each other");
  return std::nullopt;
}

// The busiest usable region's peak demand, each origin counted at its nearest usable region.
double peak_region_demand(const sim::Scenario& sc, const std::vector<std::string>& usable,
                          const RegionCatalog& catalog) {
  // Origins' home regions as indexes into `usable`, so each step sums into a small array.
  std::vector<std::size_t> home;
  for (const std::string& o : sc.regions()) {
    const std::string near = nearest_usable(o, usable, catalog);
    home.push_back(
        static_cast<std::size_t>(std::find(usable.begin(), usable.end(), near) - usable.begin()));
  }
  double peak = 0;
  std::vector<double> by_region(usable.size() + 1);  // the last slot: origins with no home
  for (std::size_t k = 0; k < sc.step_count(); ++k) {
    std::fill(by_region.begin(), by_region.end(), 0.0);
    for (std::size_t o = 0; o < home.size(); ++o) by_region[home[o]] += sc.rps(k, o);
    for (double v : by_region) peak = std::max(peak, v);
  }
  return peak;
}

bool write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "autoplacer simulate: cannot write %s\n", path.string().c_str());
    return false;
  }
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_simulate(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  Options o;
  if (auto code = parse_args(argc, argv, o)) return *code;

  const RegionCatalog& catalog = RegionCatalog::builtin();
  LoadResult loaded = load_policies(o.policy_path);
  for (const std::string& m : loaded.messages()) std::fprintf(stderr, "%s\n", m.c_str());
  if (loaded.has_errors() || loaded.policies.empty()) {
    std::fprintf(stderr, "autoplacer simulate: no valid policy in %s\n", o.policy_path.c_str());
    return 1;
  }
  PlacementPolicy policy = loaded.policies.front();
  if (!o.policy_name.empty()) {
    auto it =
        std::find_if(loaded.policies.begin(), loaded.policies.end(),
                     [&](const PlacementPolicy& p) { return p.metadata.name == o.policy_name; });
    if (it == loaded.policies.end()) {
      std::fprintf(stderr, "autoplacer simulate: no policy named %s in %s\n", o.policy_name.c_str(),
                   o.policy_path.c_str());
      return 1;
    }
    policy = *it;
  }

  auto scenario = sim::Scenario::load_csv(o.traffic_path);
  if (!scenario.ok()) {
    std::fprintf(stderr, "autoplacer simulate: %s\n", scenario.error().c_str());
    return 1;
  }
  const sim::Scenario& sc = *scenario;
  for (const std::string& origin : sc.regions()) {
    if (!catalog.known(origin)) {
      std::fprintf(stderr, "autoplacer simulate: %s: unknown origin region '%s'\n",
                   o.traffic_path.c_str(), origin.c_str());
      return 1;
    }
  }
  const std::vector<std::string> usable = usable_regions(policy, catalog);
  if (usable.empty()) {
    std::fprintf(stderr, "autoplacer simulate: the policy allows no hostable region\n");
    return 1;
  }
  if (o.target_per_machine) policy.spec.capacity.targetPerMachine = *o.target_per_machine;
  if (o.target_peak_machines) {
    const double peak = peak_region_demand(sc, usable, catalog);
    if (peak > 0) policy.spec.capacity.targetPerMachine = peak / *o.target_peak_machines;
  }

  BacktestSetup setup;
  setup.scenario = &sc;
  setup.policy = &policy;
  setup.catalog = &catalog;
  setup.regions = timeline_regions(catalog);
  setup.allowed = usable;
  setup.timings = o.timings;
  setup.observeDelay = std::min(o.observe_delay.value_or(Duration{60'000}), sc.step() / 2);
  setup.passInterval = policy.spec.traffic.interval;

  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "autoplacer simulate: cannot create %s: %s\n", o.out_dir.c_str(),
                 ec.message().c_str());
    return 1;
  }

  const int run_count = 1 + o.run_threshold + o.run_static + o.run_oracle;
  ProgressBar bar(stderr, sc.step_count() * static_cast<std::size_t>(run_count), o.progress);
  setup.onStep = [&](std::size_t) { bar.tick(); };

  std::vector<std::unique_ptr<RunResult>> runs;
  std::vector<double> run_seconds;
  auto keep = [&](Result<RunResult, std::string> r, std::chrono::steady_clock::time_point t0) {
    if (!r.ok()) {
      bar.finish();
      std::fprintf(stderr, "autoplacer simulate: %s\n", r.error().c_str());
      return false;
    }
    run_seconds.push_back(seconds_since(t0));
    runs.push_back(std::make_unique<RunResult>(std::move(r).value()));
    return true;
  };

  {
    bar.label(policy.metadata.name.empty() ? "policy" : policy.metadata.name);
    const auto t0 = std::chrono::steady_clock::now();
    DecisionPlacer placer(policy, catalog, o.timings.create);
    if (!keep(run_placer("policy", placer, setup), t0)) return 1;
  }
  PlacementPolicy threshold_policy = policy;
  if (o.run_threshold) {
    bar.label("threshold");
    threshold_policy.spec.placement.strategy = Strategy::kThreshold;
    BacktestSetup s = setup;
    s.policy = &threshold_policy;
    const auto t0 = std::chrono::steady_clock::now();
    DecisionPlacer placer(threshold_policy, catalog, o.timings.create);
    if (!keep(run_placer("threshold", placer, s), t0)) return 1;
  }
  if (o.run_static) {
    bar.label("static");
    const auto t0 = std::chrono::steady_clock::now();
    if (!keep(run_fixed("static", static_placement(sc, policy, catalog), setup), t0)) return 1;
  }
  if (o.run_oracle) {
    bar.label("oracle");
    const auto t0 = std::chrono::steady_clock::now();
    if (!keep(run_oracle("oracle", setup), t0)) return 1;
  }
  bar.finish();

  ReportContext ctx;
  ctx.scenarioPath = o.traffic_path;
  ctx.policyPath = o.policy_path;
  ctx.policyName = policy.metadata.name;
  ctx.strategy = to_string(policy.spec.placement.strategy);
  ctx.scenario = &sc;
  ctx.regions = setup.regions;
  ctx.allowed = usable;
  ctx.targetPerMachine = policy.spec.capacity.targetPerMachine;
  ctx.targetPeakMachines = o.target_peak_machines;
  ctx.timings = o.timings;
  ctx.observeDelay = setup.observeDelay;
  ctx.passInterval = setup.passInterval;
  ctx.runSeconds = run_seconds;
  if (policy.spec.forecast.model != ForecastModel::kNone) {
    ctx.forecast = evaluate_forecast(sc, policy.spec.forecast,
                                     policy.spec.forecast.horizon.value_or(o.timings.create),
                                     setup.observeDelay);
  }
  const std::filesystem::path dir(o.out_dir);
  for (const auto& r : runs) {
    ctx.runs.push_back(r.get());
    const std::string file = r->name == "policy" ? "timeline.csv" : "timeline-" + r->name + ".csv";
    ctx.timelineFiles.push_back(file);
    if (!write_file(dir / file, render_timeline_csv(*r, ctx))) return 1;
  }
  ctx.totalSeconds = seconds_since(started);
  if (!write_file(dir / "report.html", render_html(ctx))) return 1;
  ctx.totalSeconds = seconds_since(started);
  if (!write_file(dir / "report.json", render_json(ctx))) return 1;
  if (!o.quiet) std::printf("%s", render_table(ctx).c_str());

  if (o.check) {
    for (const TargetCheck& c : check_targets(ctx)) {
      if (!c.met) return 3;
    }
  }
  return 0;
}

const CommandRegistration kRegistration{
    Command{"simulate", "replay a traffic scenario through the decision core and score it", kUsage,
            run_simulate}};

}  // namespace
}  // namespace autoplacer::cli
