#include "backtest/timeline.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace autoplacer::backtest {

Result<Timeline, std::string> parse_timeline_csv(std::string_view text) {
  Timeline out;
  std::size_t line_no = 0;
  bool header = true;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (header) {
      if (line.rfind("timestamp,region,running", 0) != 0)
        return make_err(std::string("timeline: header must start timestamp,region,running"));
      header = false;
      continue;
    }
    const std::size_t c1 = line.find(',');
    const std::size_t c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string::npos)
      return make_err("timeline:" + std::to_string(line_no) + ": expected 3 or 4 fields");
    const std::size_t c3 = line.find(',', c2 + 1);
    char* end = nullptr;
    const long long t = std::strtoll(line.c_str(), &end, 10);
    if (end != line.c_str() + c1)
      return make_err("timeline:" + std::to_string(line_no) + ": bad timestamp");
    const std::string running = line.substr(c2 + 1, c3 == std::string::npos ? c3 : c3 - c2 - 1);
    const double n = std::strtod(running.c_str(), &end);
    if (running.empty() || *end != '\0' || !std::isfinite(n))
      return make_err("timeline:" + std::to_string(line_no) + ": bad running count");
    const int count = static_cast<int>(n);  // int(float(x)), as the script reads it
    if (count > 0) out.running[t].emplace_back(line.substr(c1 + 1, c2 - c1 - 1), count);
  }
  if (header) return make_err(std::string("timeline: empty"));
  return out;
}

Result<Score, std::string> score_timeline(const sim::Scenario& scenario, const Timeline& timeline,
                                          const RegionCatalog& catalog, double capacity,
                                          std::vector<std::string> allowed) {
  if (allowed.empty()) allowed = catalog.hostable_codes();
  std::vector<std::string> regions;
  for (const auto& [t, rows] : timeline.running) {
    for (const auto& [r, n] : rows) {
      if (std::find(regions.begin(), regions.end(), r) == regions.end()) regions.push_back(r);
    }
  }
  std::string error;
  const std::int64_t step_s =
      std::chrono::duration_cast<std::chrono::seconds>(scenario.step()).count();
  auto scorer =
      Scorer::make(catalog, scenario.regions(), regions, allowed, capacity, step_s, &error);
  if (!scorer) return make_err(error);
  std::vector<double> demand(scenario.regions().size());
  std::vector<std::pair<std::size_t, int>> running;
  for (std::size_t k = 0; k < scenario.step_count(); ++k) {
    const std::int64_t t =
        std::chrono::duration_cast<std::chrono::seconds>(scenario.step_time(k).time_since_epoch())
            .count();
    for (std::size_t o = 0; o < demand.size(); ++o) demand[o] = scenario.rps(k, o);
    running.clear();
    if (auto it = timeline.running.find(t); it != timeline.running.end()) {
      for (const auto& [r, n] : it->second) {
        running.emplace_back(static_cast<std::size_t>(std::find(regions.begin(), regions.end(), r) -
                                                      regions.begin()),
                             n);
      }
    }
    (void)scorer->add_step(t, demand, running);
  }
  return scorer->finish();
}

}  // namespace autoplacer::backtest
