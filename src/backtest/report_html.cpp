// report.html: one self-contained page (inline SVG, no scripts, no external assets) with the
// summary table, the targets and the plots. Long scenarios are drawn at most kMaxPoints points per
// line: each point is the maximum (machines, demand, unserved) or mean (latency) of its steps.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "backtest/report.h"

namespace autoplacer::backtest {
namespace {

constexpr std::size_t kMaxPoints = 800;

enum class Agg { kMax, kMean };

struct Series {
  std::string name;
  std::string color;
  std::vector<double> y;
  bool dashed = false;
};

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v, const char* f = "%.1f") {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Appends `v` as printf's "%.1f" writes it (std::to_chars rounds the exact value the same way):
// the plots' coordinates are most of the page, and snprintf was most of the time of drawing it.
void append_fixed1(std::string& out, double v) {
  char buf[48];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 1).ptr);
}

std::string color_of(const std::string& run) {
  if (run == "threshold") return "#e07b00";
  if (run == "static") return "#2a9d3a";
  if (run == "oracle") return "#8a4fbf";
  return "#1f6fc0";
}

std::string date_label(double unix_s, double span_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, span_s > 3 * 86400.0 ? "%m-%d" : "%m-%d %H:%M", &tm);
  return buf;
}

std::vector<double> downsample(const std::vector<double>& y, std::size_t bucket, Agg agg) {
  std::vector<double> out;
  for (std::size_t i = 0; i < y.size(); i += bucket) {
    const std::size_t end = std::min(y.size(), i + bucket);
    double v = agg == Agg::kMax ? y[i] : 0;
    for (std::size_t j = i; j < end; ++j) v = agg == Agg::kMax ? std::max(v, y[j]) : v + y[j];
    if (agg == Agg::kMean) v /= static_cast<double>(end - i);
    out.push_back(v);
  }
  return out;
}

// A line chart over the scenario's steps.
std::string chart(const std::string& title, const std::string& unit, const ReportContext& ctx,
                  const std::vector<Series>& series, Agg agg, int width = 920, int height = 200) {
  const sim::Scenario& sc = *ctx.scenario;
  const std::size_t n = sc.step_count();
  if (n == 0 || series.empty()) return "";
  const std::size_t bucket = std::max<std::size_t>(1, (n + kMaxPoints - 1) / kMaxPoints);
  const int left = 56, right = 12, top = 24, bottom = 26;
  const double pw = width - left - right, ph = height - top - bottom;
  std::vector<std::vector<double>> ys;
  double ymax = 0;
  for (const Series& s : series) {
    ys.push_back(downsample(s.y, bucket, agg));
    for (double v : ys.back()) ymax = std::max(ymax, v);
  }
  if (ymax <= 0) ymax = 1;
  ymax *= 1.05;
  const std::size_t points = ys.front().size();
  auto px = [&](std::size_t i) {
    return left + (points > 1 ? pw * static_cast<double>(i) / static_cast<double>(points - 1) : 0);
  };
  auto py = [&](double v) { return top + ph * (1 - v / ymax); };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << ' ' << height << "\" role=\"img\">\n";
  svg << "<text x=\"" << left << "\" y=\"15\" class=\"t\">" << esc(title) << " (" << esc(unit)
      << ")</text>\n";
  // Legend, right-aligned on the title line.
  double lx = width - right;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    lx -= 12 + 7.0 * static_cast<double>(it->name.size());
    svg << "<line x1=\"" << num(lx - 16) << "\" y1=\"11\" x2=\"" << num(lx - 4)
        << "\" y2=\"11\" stroke=\"" << it->color << "\" stroke-width=\"2\""
        << (it->dashed ? " stroke-dasharray=\"4 3\"" : "") << "/><text x=\"" << num(lx)
        << "\" y=\"15\" class=\"l\">" << esc(it->name) << "</text>\n";
    lx -= 20;
  }
  for (int i = 0; i <= 4; ++i) {
    const double v = ymax * i / 4;
    const double y = py(v);
    svg << "<line x1=\"" << left << "\" y1=\"" << num(y) << "\" x2=\"" << width - right
        << "\" y2=\"" << num(y) << "\" class=\"g\"/><text x=\"" << left - 4 << "\" y=\""
        << num(y + 4) << "\" class=\"a\" text-anchor=\"end\">"
        << num(v, ymax >= 20 ? "%.0f" : "%.1f") << "</text>\n";
  }
  const double t0 = to_unix_seconds(sc.start());
  const double span = static_cast<double>(sc.step().count()) / 1000.0 * static_cast<double>(n);
  for (int i = 0; i <= 6; ++i) {
    const double x = left + pw * i / 6;
    svg << "<text x=\"" << num(x) << "\" y=\"" << height - 8
        << "\" class=\"a\" text-anchor=\"middle\">" << date_label(t0 + span * i / 6, span)
        << "</text>\n";
  }
  for (std::size_t s = 0; s < series.size(); ++s) {
    svg << "<polyline fill=\"none\" stroke=\"" << series[s].color << "\" stroke-width=\"1.3\""
        << (series[s].dashed ? " stroke-dasharray=\"4 3\"" : "") << " points=\"";
    std::string coords;
    coords.reserve(ys[s].size() * 14);
    for (std::size_t i = 0; i < ys[s].size(); ++i) {
      append_fixed1(coords, px(i));
      coords += ',';
      append_fixed1(coords, py(ys[s][i]));
      coords += ' ';
    }
    svg << coords << "\"/>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

std::vector<double> per_step(const RunResult& r, double (*get)(const StepScore&)) {
  std::vector<double> out;
  out.reserve(r.perStep.size());
  for (const StepScore& s : r.perStep) out.push_back(get(s));
  return out;
}

}  // namespace

std::string render_html(const ReportContext& ctx) {
  const sim::Scenario& sc = *ctx.scenario;
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>autoplacer "
       "backtest: "
    << esc(ctx.scenarioPath)
    << "</title>\n<style>\nbody{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}\n"
       "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px "
       "8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n"
       ".t{font-weight:600;font-size:13px}.l,.a{font-size:11px;fill:#444}.g{stroke:#e6e6e6}\n"
       ".met{color:#1a7f37}.missed{color:#c62828;font-weight:600}svg{display:block;margin:6px 0}\n"
       "</style></head><body>\n";
  h << "<h1>Backtest of " << esc(ctx.policyName) << " (" << esc(ctx.strategy) << ")</h1>\n<p>"
    << "Scenario <code>" << esc(ctx.scenarioPath) << "</code>: " << sc.step_count() << " steps of "
    << sc.step().count() / 1000 << " s, origins";
  for (const std::string& o : sc.regions()) h << ' ' << esc(o);
  h << ". Capacity " << num(ctx.targetPerMachine, "%.4g") << " req/s per machine. Create delay "
    << num(ctx.timings.create.count() / 1000.0, "%.3g") << " s, start delay "
    << num(ctx.timings.start.count() / 1000.0, "%.3g") << " s, demand seen "
    << num(ctx.observeDelay.count() / 1000.0, "%.3g") << " s after a step begins.</p>\n";

  h << "<h2>Summary</h2>\n<table><tr><th>run</th><th>mean RTT ms</th><th>p95 RTT ms</th>"
       "<th>unserved</th><th>machine-hours</th><th>changes</th><th>flaps</th></tr>\n";
  for (const RunResult* r : ctx.runs) {
    const Score s = r->score.rounded();
    h << "<tr><td>" << esc(r->name) << "</td><td>"
      << (s.mean_rtt_ms ? num(*s.mean_rtt_ms, "%.2f") : "-") << "</td><td>"
      << num(s.p95_rtt_ms, "%.2f") << "</td><td>" << num(s.unserved_fraction * 100, "%.3f")
      << "%</td><td>" << num(s.machine_hours) << "</td><td>" << s.changes << "</td><td>" << s.flaps
      << "</td></tr>\n";
  }
  if (!ctx.runs.empty()) {
    const Score s = ctx.runs.front()->score.rounded();
    h << "<tr><td>physical limit</td><td>"
      << (s.limit_mean_rtt_ms ? num(*s.limit_mean_rtt_ms, "%.2f") : "-")
      << "</td><td></td><td>0%</td><td>" << num(s.limit_machine_hours)
      << "</td><td></td><td></td></tr>\n";
  }
  h << "</table>\n";
  const std::vector<TargetCheck> checks = check_targets(ctx);
  if (!checks.empty()) {
    h << "<h2>Targets</h2>\n<table><tr><th>target</th><th>rule</th><th>value</th><th></th></tr>\n";
    for (const TargetCheck& c : checks) {
      h << "<tr><td>" << esc(c.name) << "</td><td>" << esc(c.rule) << "</td><td>"
        << num(c.value, "%.5g") << "</td><td class=\"" << (c.met ? "met\">met" : "missed\">missed")
        << "</td></tr>\n";
    }
    h << "</table>\n";
  }
  if (ctx.forecast && ctx.forecast->points > 0) {
    h << "<p>Forecast " << ctx.forecast->horizonSteps << " step(s) ahead: MASE "
      << num(ctx.forecast->mase, "%.3f") << " against the seasonal-naive forecast.</p>\n";
  }

  if (ctx.runs.empty()) return h.str() + "</body></html>\n";
  h << "<h2>Latency</h2>\n";
  {
    std::vector<Series> s;
    for (const RunResult* r : ctx.runs)
      s.push_back({r->name, color_of(r->name),
                   per_step(*r, [](const StepScore& x) { return x.mean_rtt_ms; })});
    s.push_back({"limit", "#777",
                 per_step(*ctx.runs.front(), [](const StepScore& x) { return x.limit_rtt_ms; }),
                 true});
    h << chart("Traffic-weighted mean RTT of served demand", "ms", ctx, s, Agg::kMean);
  }
  h << "<h2>Machines and unserved demand</h2>\n";
  {
    std::vector<Series> s;
    for (const RunResult* r : ctx.runs)
      s.push_back({r->name, color_of(r->name), per_step(*r, [](const StepScore& x) {
                     return static_cast<double>(x.machines);
                   })});
    std::vector<double> limit;
    for (const StepScore& x : ctx.runs.front()->perStep)
      limit.push_back(x.demand > 0 ? std::ceil(x.demand / ctx.targetPerMachine) : 0);
    s.push_back({"limit", "#777", limit, true});
    h << chart("Running machines, all regions", "machines", ctx, s, Agg::kMax);
    std::vector<Series> u;
    for (const RunResult* r : ctx.runs)
      u.push_back({r->name, color_of(r->name),
                   per_step(*r, [](const StepScore& x) { return x.unserved; })});
    h << chart("Unserved demand", "req/s", ctx, u, Agg::kMax);
  }

  const RunResult& policy = *ctx.runs.front();
  const std::size_t n = policy.regions;
  h << "<h2>Per region: " << esc(policy.name)
    << "</h2>\n<p>Demand is what the decision "
       "attributed to the region (the origins it serves); forecast is what it sized the region "
       "for; capacity is running machines times the capacity per machine.</p>\n";
  for (std::size_t r = 0; r < n; ++r) {
    bool used = false;
    for (std::size_t k = 0; k < policy.steps && !used; ++k)
      used = policy.running_at(k, r) > 0 || policy.desired_at(k, r) > 0 ||
             (!policy.demandRps.empty() && policy.demandRps[k * n + r] > 0);
    if (!used) continue;
    std::vector<double> running, desired, demand, forecast, capacity;
    for (std::size_t k = 0; k < policy.steps; ++k) {
      running.push_back(policy.running_at(k, r));
      desired.push_back(policy.desired_at(k, r));
      capacity.push_back(policy.running_at(k, r) * ctx.targetPerMachine);
      if (!policy.demandRps.empty()) {
        demand.push_back(policy.demandRps[k * n + r]);
        forecast.push_back(policy.forecastRps[k * n + r]);
      }
    }
    h << "<h3>" << esc(ctx.regions[r]) << "</h3>\n";
    if (!demand.empty()) {
      h << chart(ctx.regions[r] + ": demand and forecast", "req/s", ctx,
                 {{"demand", "#1f6fc0", demand},
                  {"forecast", "#e07b00", forecast, true},
                  {"capacity", "#999", capacity}},
                 Agg::kMax, 920, 170);
    }
    h << chart(ctx.regions[r] + ": machines", "machines", ctx,
               {{"running", "#1f6fc0", running}, {"desired", "#e07b00", desired, true}}, Agg::kMax,
               920, 150);
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace autoplacer::backtest
