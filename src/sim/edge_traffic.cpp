#include "sim/edge_traffic.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace autoplacer::sim {

namespace {

// How one origin's requests spread around its median latency: (share, multiplier). A fixed shape
// keeps the output deterministic while giving histogram_quantile something to interpolate.
constexpr std::array<std::pair<double, double>, 6> kSpread{
    {{0.10, 0.7}, {0.20, 0.85}, {0.40, 1.0}, {0.20, 1.2}, {0.08, 1.6}, {0.02, 3.0}}};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

EdgeTraffic::EdgeTraffic(Scenario scenario, const RegionCatalog& regions, Options options)
    : scenario_(std::move(scenario)),
      regions_(regions),
      options_(std::move(options)),
      last_(options_.origin) {}

std::optional<TimePoint> EdgeTraffic::scenario_time(TimePoint now) const {
  const double elapsed_s = std::chrono::duration<double>(now - options_.origin).count();
  double offset_s = std::max(0.0, elapsed_s) * options_.speed;
  const double span_s = std::chrono::duration<double>(scenario_.end() - scenario_.start()).count();
  if (span_s <= 0) return std::nullopt;
  if (offset_s >= span_s) {
    if (!options_.loop) return std::nullopt;
    offset_s = std::fmod(offset_s, span_s);
  }
  return scenario_.start() + Duration{static_cast<std::int64_t>(offset_s * 1000.0)};
}

std::optional<double> EdgeTraffic::latency_ms(const std::string& origin,
                                              const std::vector<std::string>& serving) const {
  if (serving.empty()) return std::nullopt;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& r : serving) best = std::min(best, regions_.rtt_ms(origin, r));
  return best + options_.service_ms;
}

void EdgeTraffic::add(const std::string& region, const std::string& status, double n,
                      double latency_s) {
  Series& s = series_[{region, status}];
  for (const auto& [share, mult] : kSpread) {
    const double l = latency_s * mult;
    const double k = n * share;
    s.count += k;
    s.sum += k * l;
    std::size_t b = 0;
    while (b < kBuckets.size() && l > kBuckets[b]) ++b;
    if (b < kBuckets.size()) s.buckets[b] += k;  // beyond the last bucket: only +Inf
  }
}

void EdgeTraffic::advance(TimePoint now, const std::vector<std::string>& serving) {
  if (!last_) {
    last_ = std::max(now, options_.origin);
    if (now < options_.origin) return;
  }
  if (now <= *last_) return;
  if (scenario_.step_count() == 0 || scenario_.step().count() <= 0) {
    last_ = now;
    return;
  }
  // Walk [last_, now] in pieces that stay inside one scenario step.
  TimePoint t = *last_;
  while (t < now) {
    const auto st = scenario_time(t);
    if (!st) break;
    const std::size_t step = scenario_.step_index(*st);
    const TimePoint step_end_s = scenario_.step_time(step) + scenario_.step();
    const double to_step_end_s = std::chrono::duration<double>(step_end_s - *st).count();
    // Scenario seconds -> flysim seconds.
    const auto piece = Duration{std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::ceil(to_step_end_s / options_.speed * 1000.0)))};
    const TimePoint next = std::min(now, t + piece);
    const double dt = std::chrono::duration<double>(next - t).count();
    for (std::size_t r = 0; r < scenario_.regions().size(); ++r) {
      const double rps = scenario_.rps(step, r);
      if (rps <= 0) continue;
      const std::string& origin = scenario_.regions()[r];
      if (auto l = latency_ms(origin, serving)) {
        add(origin, "200", rps * dt, *l / 1000.0);
      } else {
        add(origin, "503", rps * dt, options_.unavailable_latency_s);
      }
    }
    t = next;
  }
  last_ = now;
}

double EdgeTraffic::responses(const std::string& region, const std::string& status) const {
  auto it = series_.find({region, status});
  return it == series_.end() ? 0 : it->second.count;
}

std::string EdgeTraffic::prometheus_text() const {
  std::string out;
  const std::string app = escape(options_.app);
  out += "# HELP fly_edge_http_responses_count HTTP responses by the Fly edge, by origin region.\n";
  out += "# TYPE fly_edge_http_responses_count counter\n";
  for (const auto& [key, s] : series_) {
    out +=
        fmt::format("fly_edge_http_responses_count{{app=\"{}\",region=\"{}\",status=\"{}\"}} {}\n",
                    app, escape(key.first), key.second, s.count);
  }
  out += "# HELP fly_edge_http_response_time_seconds Response time seen at the Fly edge.\n";
  out += "# TYPE fly_edge_http_response_time_seconds histogram\n";
  for (const auto& [key, s] : series_) {
    const std::string labels =
        fmt::format("app=\"{}\",region=\"{}\",status=\"{}\"", app, escape(key.first), key.second);
    double cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += s.buckets[b];
      out += fmt::format("fly_edge_http_response_time_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                         kBuckets[b], cumulative);
    }
    out += fmt::format("fly_edge_http_response_time_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels,
                       s.count);
    out += fmt::format("fly_edge_http_response_time_seconds_sum{{{}}} {}\n", labels, s.sum);
    out += fmt::format("fly_edge_http_response_time_seconds_count{{{}}} {}\n", labels, s.count);
  }
  return out;
}

}  // namespace autoplacer::sim
