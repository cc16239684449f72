#include "sim/scenario.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace autoplacer::sim {
namespace {

struct Row {
  std::int64_t timestamp;
  std::size_t region;  // index into the scenario's regions, interned while reading
  double rps;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Reads a whole field as a number, as strtod would: std::from_chars (no locale, no copy) when it
// takes the field, else strtod itself, so unusual spellings (a leading '+', hex) keep their
// meaning. Both round correctly, so they agree wherever from_chars succeeds.
bool parse_number(std::string_view text, double& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc{} && end == text.data() + text.size()) return true;
  const std::string copy(text);
  char* stop = nullptr;
  out = std::strtod(copy.c_str(), &stop);
  return stop == copy.c_str() + copy.size();
}

// Index of `code` in `regions`, appending it if new. Scenarios have a few origins, so a linear
// search beats hashing every row's code.
std::size_t intern(std::vector<std::string>& regions, std::string_view code) {
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (regions[i] == code) return i;
  }
  regions.emplace_back(code);
  return regions.size() - 1;
}

}  // namespace

Result<Scenario, std::string> Scenario::load_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_err(path + ": cannot be read");
  // Read in large blocks straight into one string (a stringstream copied the text twice).
  std::string text;
  char block[1 << 16];
  while (in.read(block, sizeof block) || in.gcount() > 0)
    text.append(block, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return make_err(path + ": cannot be read");
  return parse_csv(text, path);
}

Result<Scenario, std::string> Scenario::parse_csv(std::string_view text, std::string_view name) {
  auto fail = [&](std::size_t line, const std::string& what) {
    return make_err(std::string(name) + ":" + std::to_string(line) + ": " + what);
  };
  std::vector<Row> rows;
  std::vector<std::string> regions;  // in order of first appearance
  std::size_t line_no = 0;
  bool header_seen = false;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (!header_seen) {
      if (line != "timestamp,region,rps")
        return fail(line_no, "header must be timestamp,region,rps");
      header_seen = true;
      continue;
    }
    std::size_t c1 = line.find(',');
    std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string_view::npos) return fail(line_no, "expected 3 fields");
    Row row{};
    std::string_view ts = line.substr(0, c1);
    auto [p1, e1] = std::from_chars(ts.data(), ts.data() + ts.size(), row.timestamp);
    if (e1 != std::errc{} || p1 != ts.data() + ts.size())
      return fail(line_no, "timestamp is not an integer");
    if (row.timestamp < 0 || row.timestamp > 100'000'000'000)  // keeps ms arithmetic in range
      return fail(line_no, "timestamp out of range");
    const std::string_view region = trim(line.substr(c1 + 1, c2 - c1 - 1));
    if (region.empty()) return fail(line_no, "region is empty");
    if (!parse_number(trim(line.substr(c2 + 1)), row.rps) || !std::isfinite(row.rps))
      return fail(line_no, "rps is not a number");
    if (row.rps < 0) return fail(line_no, "rps is negative");
    row.region = intern(regions, region);
    rows.push_back(row);
  }
  if (!header_seen) return make_err(std::string(name) + ": empty file");
  if (rows.empty()) return make_err(std::string(name) + ": no data rows");

  Scenario s;
  s.name_ = std::string(name);
  s.regions_ = std::move(regions);
  std::vector<std::int64_t> times;
  for (const Row& r : rows) {
    if (times.empty() || times.back() != r.timestamp) {
      if (!times.empty() && r.timestamp < times.back())
        return make_err(std::string(name) + ": timestamps go backwards at " +
                        std::to_string(r.timestamp));
      times.push_back(r.timestamp);
    }
  }
  std::int64_t step_s = times.size() > 1 ? times[1] - times[0] : 60;
  for (std::size_t i = 1; i < times.size(); ++i) {
    if (times[i] - times[i - 1] != step_s)
      return make_err(std::string(name) + ": steps are not uniform at " + std::to_string(times[i]));
  }
  s.step_ = Duration{step_s * 1000};
  s.start_ = TimePoint{Duration{times.front() * 1000}};
  s.step_count_ = times.size();
  s.rps_.assign(s.step_count_ * s.regions_.size(), 0.0);  // a region absent from a step is 0
  for (const Row& r : rows) {
    std::size_t step = static_cast<std::size_t>((r.timestamp - times.front()) / step_s);
    s.rps_[step * s.regions_.size() + r.region] = r.rps;
  }
  return s;
}

double Scenario::total_rps(std::size_t step) const {
  double sum = 0;
  for (std::size_t r = 0; r < regions_.size(); ++r) sum += rps(step, r);
  return sum;
}

double Scenario::peak_region_rps() const {
  return rps_.empty() ? 0.0 : *std::max_element(rps_.begin(), rps_.end());
}

std::size_t Scenario::step_index(TimePoint t) const {
  if (t <= start_ || step_count_ == 0) return 0;
  auto i = static_cast<std::size_t>((t - start_) / step_);
  return std::min(i, step_count_ - 1);
}

std::map<std::string, double> Scenario::demand_at(TimePoint t) const {
  std::map<std::string, double> out;
  if (step_count_ == 0) return out;
  std::size_t i = step_index(t);
  for (std::size_t r = 0; r < regions_.size(); ++r) out[regions_[r]] = rps(i, r);
  return out;
}

}  // namespace autoplacer::sim
