#include "backtest/report.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace autoplacer::backtest {
namespace {

constexpr double kUnservedTarget = 0.005;
constexpr double kRttTarget = 1.25;
constexpr double kMachineHoursTarget = 1.5;
constexpr double kFlapsPerDayTarget = 1.0;

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string opt_number(const std::optional<double>& x) {
  return x ? json_number(*x) : "null";
}

double seconds(Duration d) {
  return static_cast<double>(d.count()) / 1000.0;
}

double days_of(const ReportContext& ctx) {
  return seconds(ctx.scenario->step()) * static_cast<double>(ctx.scenario->step_count()) / 86400.0;
}

const RunResult* find_run(const ReportContext& ctx, const std::string& name) {
  for (const RunResult* r : ctx.runs) {
    if (r->name == name) return r;
  }
  return nullptr;
}

// Small JSON object writer: keys in insertion order, values already rendered.
class Obj {
 public:
  Obj& add(const std::string& key, const std::string& rendered) {
    items_.emplace_back(key, rendered);
    return *this;
  }
  Obj& num(const std::string& key, double v) { return add(key, json_number(v)); }
  Obj& str(const std::string& key, const std::string& v) { return add(key, quoted(v)); }
  std::string render(int indent = 0) const {
    if (items_.empty()) return "{}";
    const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
    std::string out = "{\n";
    for (std::size_t i = 0; i < items_.size(); ++i) {
      out += pad + quoted(items_[i].first) + ": " + items_[i].second;
      out += i + 1 < items_.size() ? ",\n" : "\n";
    }
    return out + std::string(static_cast<std::size_t>(indent), ' ') + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

std::string score_json(const Score& s, int indent) {
  // The scorer script's fields and rounding, in its order.
  Obj o;
  o.add("steps", std::to_string(s.steps))
      .add("step_s", std::to_string(s.step_s))
      .add("mean_rtt_ms", opt_number(s.mean_rtt_ms))
      .num("p95_rtt_ms", s.p95_rtt_ms)
      .num("unserved_fraction", s.unserved_fraction)
      .num("machine_hours", s.machine_hours)
      .add("changes", std::to_string(s.changes))
      .add("flaps", std::to_string(s.flaps))
      .add("limit_mean_rtt_ms", opt_number(s.limit_mean_rtt_ms))
      .num("limit_machine_hours", s.limit_machine_hours);
  return o.render(indent);
}

// Appends `v` in decimal: the text printf's %d / %lld writes.
template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  if (ec != std::errc{}) return "null";
  return std::string(buf, end);
}

std::vector<TargetCheck> check_targets(const ReportContext& ctx) {
  std::vector<TargetCheck> out;
  if (ctx.runs.empty()) return out;
  const Score s = ctx.runs.front()->score.rounded();
  auto add = [&](std::string name, std::string rule, double value, double bound, bool met) {
    out.push_back(TargetCheck{std::move(name), std::move(rule), value, bound, met});
  };
  add("unserved_fraction", "<= 0.005", s.unserved_fraction, kUnservedTarget,
      s.unserved_fraction <= kUnservedTarget);
  if (s.mean_rtt_ms && s.limit_mean_rtt_ms && *s.limit_mean_rtt_ms > 0) {
    const double ratio = *s.mean_rtt_ms / *s.limit_mean_rtt_ms;
    add("mean_rtt_over_limit", "<= 1.25", ratio, kRttTarget, ratio <= kRttTarget);
  }
  if (s.limit_machine_hours > 0) {
    const double ratio = s.machine_hours / s.limit_machine_hours;
    add("machine_hours_over_limit", "<= 1.5", ratio, kMachineHoursTarget,
        ratio <= kMachineHoursTarget);
  }
  const double days = days_of(ctx);
  if (days > 0) {
    const double per_day = s.flaps / days;
    add("flaps_per_day", "< 1", per_day, kFlapsPerDayTarget, per_day < kFlapsPerDayTarget);
  }
  if (const RunResult* th = find_run(ctx, "threshold")) {
    const Score t = th->score.rounded();
    add("unserved_vs_threshold", "< threshold's", s.unserved_fraction, t.unserved_fraction,
        s.unserved_fraction < t.unserved_fraction ||
            (s.unserved_fraction == 0 && t.unserved_fraction == 0));
    if (s.mean_rtt_ms && t.mean_rtt_ms) {
      // At the physical limit nothing can do better: equal to threshold there counts as met.
      add("mean_rtt_vs_threshold", "< threshold's", *s.mean_rtt_ms, *t.mean_rtt_ms,
          *s.mean_rtt_ms < *t.mean_rtt_ms ||
              (s.limit_mean_rtt_ms && *s.mean_rtt_ms <= *s.limit_mean_rtt_ms));
    }
  }
  if (const RunResult* st = find_run(ctx, "static")) {
    const Score t = st->score.rounded();
    add("machine_hours_vs_static", "<= static's", s.machine_hours, t.machine_hours,
        s.machine_hours <= t.machine_hours);
  }
  if (ctx.forecast && ctx.forecast->points > 0) {
    add("forecast_mase", "< 1", ctx.forecast->mase, 1.0, ctx.forecast->mase < 1.0);
  }
  return out;
}

std::string render_timeline_csv(const RunResult& run, const ReportContext& ctx) {
  // std::to_chars writes the text "%lld,%s,%d,%d\n" would, without printf's format parsing, which
  // was most of the time of writing a long timeline.
  std::string out = "timestamp,region,running,desired\n";
  out.reserve(run.steps * 24);
  std::string stamp;  // "timestamp," of the step
  for (std::size_t k = 0; k < run.steps; ++k) {
    const long long t = std::chrono::duration_cast<std::chrono::seconds>(
                            ctx.scenario->step_time(k).time_since_epoch())
                            .count();
    stamp.clear();
    append_int(stamp, t);
    stamp += ',';
    for (std::size_t r = 0; r < run.regions; ++r) {
      const int running = run.running_at(k, r), desired = run.desired_at(k, r);
      if (running <= 0 && desired <= 0) continue;
      out += stamp;
      out += ctx.regions[r];
      out += ',';
      append_int(out, running);
      out += ',';
      append_int(out, desired);
      out += '\n';
    }
  }
  return out;
}

std::string render_json(const ReportContext& ctx) {
  const sim::Scenario& sc = *ctx.scenario;
  const double days = days_of(ctx);
  Obj root;
  Obj scenario;
  scenario.str("file", ctx.scenarioPath)
      .add("steps", std::to_string(sc.step_count()))
      .num("step_s", seconds(sc.step()))
      .num("days", days)
      .num("start_unix", to_unix_seconds(sc.start()));
  std::string origins = "[";
  for (std::size_t i = 0; i < sc.regions().size(); ++i)
    origins += (i ? ", " : "") + quoted(sc.regions()[i]);
  scenario.add("origins", origins + "]");
  root.add("scenario", scenario.render(2));

  Obj settings;
  settings.str("policy_file", ctx.policyPath)
      .str("policy", ctx.policyName)
      .str("strategy", ctx.strategy)
      .num("target_per_machine", ctx.targetPerMachine)
      .add("target_peak_machines",
           ctx.targetPeakMachines ? std::to_string(*ctx.targetPeakMachines) : "null")
      .num("create_delay_s", seconds(ctx.timings.create))
      .num("start_delay_s", seconds(ctx.timings.start))
      .num("resume_delay_s", seconds(ctx.timings.resume))
      .num("observe_delay_s", seconds(ctx.observeDelay))
      .num("pass_interval_s", seconds(ctx.passInterval));
  std::string allowed = "[";
  for (std::size_t i = 0; i < ctx.allowed.size(); ++i)
    allowed += (i ? ", " : "") + quoted(ctx.allowed[i]);
  settings.add("allowed", allowed + "]");
  // The exact arguments for the independent scorer.
  std::string allowed_csv;
  for (std::size_t i = 0; i < ctx.allowed.size(); ++i)
    allowed_csv += (i ? "," : "") + ctx.allowed[i];
  settings.str("scorer_arguments",
               "SCENARIO TIMELINE " + json_number(ctx.targetPerMachine) + " " + allowed_csv);
  root.add("settings", settings.render(2));

  std::string runs = "[\n";
  for (std::size_t i = 0; i < ctx.runs.size(); ++i) {
    const RunResult& r = *ctx.runs[i];
    const Score rounded = r.score.rounded();
    Obj run;
    run.str("name", r.name);
    if (i < ctx.timelineFiles.size()) run.str("timeline", ctx.timelineFiles[i]);
    run.add("score", score_json(rounded, 6));
    Obj derived;
    derived
        .add("mean_rtt_over_limit",
             rounded.mean_rtt_ms && rounded.limit_mean_rtt_ms && *rounded.limit_mean_rtt_ms > 0
                 ? json_number(*rounded.mean_rtt_ms / *rounded.limit_mean_rtt_ms)
                 : "null")
        .add("machine_hours_over_limit",
             rounded.limit_machine_hours > 0
                 ? json_number(rounded.machine_hours / rounded.limit_machine_hours)
                 : "null")
        .num("flaps_per_day", days > 0 ? rounded.flaps / days : 0)
        .num("unserved_rps_steps", r.score.unserved_demand)
        .num("demand_rps_steps", r.score.total_demand);
    run.add("derived", derived.render(6));
    Obj raw;
    raw.add("mean_rtt_ms", opt_number(r.score.mean_rtt_ms))
        .num("p95_rtt_ms", r.score.p95_rtt_ms)
        .num("unserved_fraction", r.score.unserved_fraction)
        .num("machine_hours", r.score.machine_hours)
        .add("limit_mean_rtt_ms", opt_number(r.score.limit_mean_rtt_ms))
        .num("limit_machine_hours", r.score.limit_machine_hours);
    run.add("unrounded", raw.render(6));
    if (r.passes > 0) {
      Obj fleet;
      fleet.add("passes", std::to_string(r.passes))
          .add("creates", std::to_string(r.counters.creates))
          .add("starts", std::to_string(r.counters.starts))
          .add("resumes", std::to_string(r.counters.resumes))
          .add("stops", std::to_string(r.counters.stops))
          .add("suspends", std::to_string(r.counters.suspends))
          .add("destroys", std::to_string(r.counters.destroys));
      run.add("fleet", fleet.render(6));
      Obj reasons;
      for (const auto& [code, count] : r.reasons) reasons.add(code, std::to_string(count));
      run.add("reasons", reasons.render(6));
    }
    if (i < ctx.runSeconds.size()) run.num("wall_s", ctx.runSeconds[i]);
    runs += "    " + run.render(4) + (i + 1 < ctx.runs.size() ? ",\n" : "\n");
  }
  root.add("runs", runs + "  ]");

  if (ctx.forecast) {
    const ForecastAccuracy& f = *ctx.forecast;
    Obj fo;
    fo.num("horizon_s", seconds(f.horizon))
        .add("horizon_steps", std::to_string(f.horizonSteps))
        .add("season_steps", std::to_string(f.seasonSteps))
        .add("points", std::to_string(f.points))
        .num("mae_model", f.maeModel)
        .num("mae_seasonal_naive", f.maeNaive)
        .num("mase", f.mase);
    std::string per = "[\n";
    for (std::size_t i = 0; i < f.origins.size(); ++i) {
      const OriginAccuracy& a = f.origins[i];
      Obj oa;
      oa.str("origin", a.origin)
          .num("mae_model", a.maeModel)
          .num("mae_seasonal_naive", a.maeNaive)
          .num("mase", a.mase)
          .add("points", std::to_string(a.points));
      per += "      " + oa.render(6) + (i + 1 < f.origins.size() ? ",\n" : "\n");
    }
    fo.add("origins", per + "    ]");
    root.add("forecast", fo.render(2));
  }

  std::string targets = "[\n";
  const std::vector<TargetCheck> checks = check_targets(ctx);
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Obj t;
    t.str("name", checks[i].name)
        .str("rule", checks[i].rule)
        .num("value", checks[i].value)
        .num("bound", checks[i].bound)
        .add("met", checks[i].met ? "true" : "false");
    targets += "    " + t.render(4) + (i + 1 < checks.size() ? ",\n" : "\n");
  }
  root.add("targets", targets + "  ]");
  root.num("wall_s", ctx.totalSeconds);
  return root.render(0) + "\n";
}

std::string render_table(const ReportContext& ctx) {
  std::ostringstream out;
  const double days = days_of(ctx);
  out << "scenario " << ctx.scenarioPath << ": " << ctx.scenario->step_count() << " steps of "
      << seconds(ctx.scenario->step()) << " s (" << fmt("%.1f", days) << " days), "
      << ctx.scenario->regions().size() << " origins; targetPerMachine "
      << fmt("%.4g", ctx.targetPerMachine) << " req/s\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %9s %9s %10s %10s %8s %7s %7s %8s\n", "run", "mean ms",
                "p95 ms", "unserved", "mach-h", "changes", "flaps", "flap/d", "wall s");
  out << line;
  for (std::size_t i = 0; i < ctx.runs.size(); ++i) {
    const Score s = ctx.runs[i]->score.rounded();
    std::snprintf(
        line, sizeof line, "%-10s %9s %9.2f %9.3f%% %10.1f %8d %7d %7.2f %8.3f\n",
        ctx.runs[i]->name.c_str(), s.mean_rtt_ms ? fmt("%.2f", *s.mean_rtt_ms).c_str() : "-",
        s.p95_rtt_ms, s.unserved_fraction * 100, s.machine_hours, s.changes, s.flaps,
        days > 0 ? s.flaps / days : 0.0, i < ctx.runSeconds.size() ? ctx.runSeconds[i] : 0.0);
    out << line;
  }
  if (!ctx.runs.empty()) {
    const Score s = ctx.runs.front()->score.rounded();
    std::snprintf(line, sizeof line, "%-10s %9s %9s %10s %10.1f\n", "limit",
                  s.limit_mean_rtt_ms ? fmt("%.2f", *s.limit_mean_rtt_ms).c_str() : "-", "-",
                  "0.000%", s.limit_machine_hours);
    out << line;
  }
  if (ctx.forecast && ctx.forecast->points > 0) {
    out << "\nforecast at " << ctx.forecast->horizonSteps << " step(s) ahead: MASE "
        << fmt("%.3f", ctx.forecast->mase) << " vs seasonal naive (model MAE "
        << fmt("%.3f", ctx.forecast->maeModel) << ", naive MAE "
        << fmt("%.3f", ctx.forecast->maeNaive) << " req/s)\n";
  }
  const std::vector<TargetCheck> checks = check_targets(ctx);
  if (!checks.empty()) {
    out << "\ntargets (" << ctx.runs.front()->name << "):\n";
    for (const TargetCheck& c : checks) {
      std::snprintf(line, sizeof line, "  %-26s %-14s %12.5g  %s\n", c.name.c_str(), c.rule.c_str(),
                    c.value, c.met ? "met" : "MISSED");
      out << line;
    }
  }
  return out.str();
}

}  // namespace autoplacer::backtest
