#include "backtest/backtest.h"

#include <algorithm>

#include "backtest/baselines.h"

namespace autoplacer::backtest {
namespace {

// The hot loops below work on timeline column indexes: a string-keyed lookup per region, pass and
// step was a large part of a replay's time outside the decision core.

// Writes a code-keyed map into a dense row over `columns` (sorted), leaving other entries as they
// are. Both are sorted by code, so one merge walk replaces a binary search per entry; codes that
// are not columns are skipped.
template <class Map, class Put>
void merge_into_columns(const Map& by_code, const std::vector<std::string>& columns, Put put) {
  std::size_t c = 0;
  for (const auto& [code, value] : by_code) {
    while (c < columns.size() && columns[c] < code) ++c;
    if (c == columns.size()) return;
    if (columns[c] == code) put(c, value);
  }
}

// Counts region-passes by reason code. The names are a handful of static strings, so a short list
// matched by address first is far cheaper than a string-keyed map lookup per region and pass.
class ReasonTally {
 public:
  void add(std::string_view reason) {
    for (auto& [name, count] : counts_) {
      if (name.data() == reason.data() && name.size() == reason.size()) {
        ++count;
        return;
      }
    }
    for (auto& [name, count] : counts_) {  // the same text at another address (string literals)
      if (name == reason) {
        ++count;
        return;
      }
    }
    counts_.emplace_back(reason, 1);
  }
  void add_to(std::map<std::string, long>& out) const {
    for (const auto& [name, count] : counts_) out[std::string(name)] += count;
  }

 private:
  std::vector<std::pair<std::string_view, long>> counts_;
};

// The demand reading a pass sees, kept across passes: its map holds every origin once and each
// pass only overwrites the values, through pointers into the map's nodes (which never move).
class ReadingBuffer {
 public:
  explicit ReadingBuffer(const sim::Scenario& sc) : sc_(&sc) {
    reading_.known = true;
    for (const std::string& origin : sc.regions()) slots_.push_back(&reading_.rps[origin]);
  }
  const DemandReading& at(std::size_t step, TimePoint t) {
    reading_.at = t;
    for (std::size_t o = 0; o < slots_.size(); ++o) *slots_[o] = sc_->rps(step, o);
    return reading_;
  }

 private:
  const sim::Scenario* sc_;
  DemandReading reading_;
  std::vector<double*> slots_;  // per origin index
};

// Shared bookkeeping of every run: the dense timeline, per-step scores and the scorer.
class Recorder {
 public:
  static Result<Recorder, std::string> make(const std::string& name, const BacktestSetup& setup) {
    std::string error;
    const sim::Scenario& sc = *setup.scenario;
    const std::int64_t step_s = std::chrono::duration_cast<std::chrono::seconds>(sc.step()).count();
    auto scorer = Scorer::make(*setup.catalog, sc.regions(), setup.regions, setup.allowed,
                               setup.policy->spec.capacity.targetPerMachine, step_s, &error);
    if (!scorer) return make_err(error);
    return Recorder(name, setup, std::move(*scorer));
  }

  // Records step `k`: per timeline column, `running` machines serve and `desired` were asked for.
  void record(std::size_t k, const std::vector<int>& running, const std::vector<int>& desired) {
    const std::size_t n = setup_->regions.size();
    std::copy(running.begin(), running.end(), result_.running.begin() + offset(k));
    std::copy(desired.begin(), desired.end(), result_.desired.begin() + offset(k));
    running_.clear();
    for (std::size_t r = 0; r < n; ++r) {
      if (running[r] > 0) running_.emplace_back(r, running[r]);
    }
    const sim::Scenario& sc = *setup_->scenario;
    for (std::size_t o = 0; o < demand_.size(); ++o) demand_[o] = sc.rps(k, o);
    const std::int64_t t =
        std::chrono::duration_cast<std::chrono::seconds>(sc.step_time(k).time_since_epoch())
            .count();
    result_.perStep[k] = scorer_.add_step(t, demand_, running_);
    if (setup_->onStep) setup_->onStep(k);
  }

  std::ptrdiff_t offset(std::size_t k) const {
    return static_cast<std::ptrdiff_t>(k * setup_->regions.size());
  }
  RunResult& result() { return result_; }
  RunResult finish() {
    result_.score = scorer_.finish();
    return std::move(result_);
  }

 private:
  Recorder(const std::string& name, const BacktestSetup& setup, Scorer scorer)
      : setup_(&setup), scorer_(std::move(scorer)) {
    const std::size_t steps = setup.scenario->step_count();
    const std::size_t regions = setup.regions.size();
    result_.name = name;
    result_.steps = steps;
    result_.regions = regions;
    result_.running.assign(steps * regions, 0);
    result_.desired.assign(steps * regions, 0);
    result_.perStep.assign(steps, StepScore{});
    demand_.assign(setup.scenario->regions().size(), 0.0);
  }

  const BacktestSetup* setup_;
  Scorer scorer_;
  RunResult result_;
  std::vector<double> demand_;
  std::vector<std::pair<std::size_t, int>> running_;
};

// What the last pass decided, per timeline column: kept between passes and copied into every
// step's row until the next pass.
struct PassRows {
  std::vector<int> desired;
  std::vector<float> demand;
  std::vector<float> forecast;

  explicit PassRows(std::size_t n) : desired(n, 0), demand(n, 0.0f), forecast(n, 0.0f) {}

  // `desired_changed`: false when pass.desired equals the previous pass's (its row stands).
  void set(const PlacerPass& pass, const std::vector<std::string>& columns, bool desired_changed) {
    if (desired_changed) {
      std::fill(desired.begin(), desired.end(), 0);
      merge_into_columns(pass.desired, columns,
                         [&](std::size_t c, int count) { desired[c] = count; });
    }
    std::fill(demand.begin(), demand.end(), 0.0f);
    std::fill(forecast.begin(), forecast.end(), 0.0f);
    merge_into_columns(pass.regions, columns, [&](std::size_t c, const PlacerPass::RegionView& v) {
      demand[c] = static_cast<float>(v.demandRps);
      forecast[c] = static_cast<float>(v.forecastRps);
    });
  }
};

// Machines serving per timeline column. The fleet lists the columns in the same order, unless a
// placer named a region outside them (then the column -> fleet index map is rebuilt).
class ServingRow {
 public:
  explicit ServingRow(const std::vector<std::string>& columns)
      : columns_(&columns), row_(columns.size(), 0) {}

  const std::vector<int>& read(const SimulatedFleet& fleet) {
    if (fleet_size_ != fleet.size()) {
      fleet_size_ = fleet.size();
      index_.clear();
      for (const std::string& code : *columns_) index_.push_back(fleet.region_index(code));
    }
    for (std::size_t c = 0; c < row_.size(); ++c)
      row_[c] = index_[c] < fleet_size_ ? fleet.serving(index_[c]) : 0;
    return row_;
  }

 private:
  const std::vector<std::string>* columns_;
  std::vector<std::size_t> index_;  // per column: index in the fleet, fleet size if absent
  std::size_t fleet_size_ = static_cast<std::size_t>(-1);
  std::vector<int> row_;
};

// Dense per-column counts of a code-keyed placement (codes outside the columns are dropped).
std::vector<int> to_columns(const std::map<std::string, int>& placement,
                            const std::vector<std::string>& columns) {
  std::vector<int> dense(columns.size(), 0);
  merge_into_columns(placement, columns, [&](std::size_t c, int count) { dense[c] = count; });
  return dense;
}

}  // namespace

std::vector<std::string> timeline_regions(const RegionCatalog& catalog) {
  std::vector<std::string> out = catalog.hostable_codes();
  std::sort(out.begin(), out.end());
  return out;
}

Result<RunResult, std::string> run_placer(const std::string& name, Placer& placer,
                                          const BacktestSetup& setup) {
  auto made = Recorder::make(name, setup);
  if (!made.ok()) return make_err(made.error());
  Recorder rec = std::move(made).value();
  const sim::Scenario& sc = *setup.scenario;
  const std::size_t steps = sc.step_count();
  const std::size_t n = setup.regions.size();
  RunResult& out = rec.result();
  out.demandRps.assign(steps * n, 0.0f);
  out.forecastRps.assign(steps * n, 0.0f);

  SimulatedFleet fleet(setup.timings, setup.regions);
  const Duration interval = std::max(setup.passInterval, Duration{1});
  auto first_pass = [&](std::size_t j) { return sc.step_time(j) + setup.observeDelay; };

  std::size_t pass_step = 0;  // the demand step the next pass sees
  int pass_in_step = 0;
  TimePoint next_pass = first_pass(0);
  bool passes_left = steps > 0;
  PlacerPass last;
  PassRows rows(n);
  ServingRow serving(setup.regions);
  ReadingBuffer reading(sc);
  FleetObservation observed;  // reused: observe_into() keeps its nodes
  std::uint64_t observed_version = ~std::uint64_t{0};
  ReasonTally reasons;

  for (std::size_t k = 0; k < steps; ++k) {
    const TimePoint sample = sc.step_time(k) + sc.step() / 2;
    while (passes_left && next_pass <= sample) {
      fleet.advance(next_pass);
      if (fleet.version() != observed_version) {  // else the kept observation still holds
        fleet.observe_into(observed);
        observed_version = fleet.version();
      }
      observed.at = fleet.now();
      PlacerPass decided = placer.pass(reading.at(pass_step, next_pass), observed, next_pass);
      ++out.passes;
      for (const auto& [code, view] : decided.regions) reasons.add(view.reason);
      const bool changed = decided.desired != last.desired;
      // After apply() every region holds the desired count (booting or serving) and advance()
      // keeps that count, so applying an unchanged placement again would change nothing.
      if (changed) fleet.apply(decided.desired, decided.retire);
      last = std::move(decided);
      rows.set(last, setup.regions, changed);
      const TimePoint later = next_pass + interval;
      ++pass_in_step;
      if ((changed || last.limited) && pass_in_step < setup.maxPassesPerStep &&
          (pass_step + 1 >= steps || later < first_pass(pass_step + 1))) {
        next_pass = later;
      } else if (pass_step + 1 < steps) {
        ++pass_step;
        pass_in_step = 0;
        next_pass = first_pass(pass_step);
      } else {
        passes_left = false;
      }
    }
    fleet.advance(sample);
    std::copy(rows.demand.begin(), rows.demand.end(), out.demandRps.begin() + rec.offset(k));
    std::copy(rows.forecast.begin(), rows.forecast.end(), out.forecastRps.begin() + rec.offset(k));
    rec.record(k, serving.read(fleet), rows.desired);
  }
  out.counters = fleet.counters();
  reasons.add_to(out.reasons);
  return rec.finish();
}

Result<RunResult, std::string> run_fixed(const std::string& name,
                                         const std::map<std::string, int>& placement,
                                         const BacktestSetup& setup) {
  auto made = Recorder::make(name, setup);
  if (!made.ok()) return make_err(made.error());
  Recorder rec = std::move(made).value();
  const std::vector<int> dense = to_columns(placement, setup.regions);
  for (std::size_t k = 0; k < setup.scenario->step_count(); ++k) rec.record(k, dense, dense);
  return rec.finish();
}

Result<RunResult, std::string> run_oracle(const std::string& name, const BacktestSetup& setup) {
  auto made = Recorder::make(name, setup);
  if (!made.ok()) return make_err(made.error());
  Recorder rec = std::move(made).value();
  const sim::Scenario& sc = *setup.scenario;
  OraclePlacer oracle(sc.regions(), *setup.policy, *setup.catalog);
  // The oracle places over its usable regions; map each to its timeline column once.
  std::vector<std::size_t> column;
  for (const std::string& code : oracle.usable()) {
    const auto it = std::lower_bound(setup.regions.begin(), setup.regions.end(), code);
    column.push_back(it != setup.regions.end() && *it == code
                         ? static_cast<std::size_t>(it - setup.regions.begin())
                         : setup.regions.size());
  }
  std::vector<double> demand(sc.regions().size());
  std::vector<int> by_usable;
  std::vector<int> dense(setup.regions.size(), 0);
  for (std::size_t k = 0; k < sc.step_count(); ++k) {
    for (std::size_t o = 0; o < demand.size(); ++o) demand[o] = sc.rps(k, o);
    oracle.place_dense(demand, by_usable);
    std::fill(dense.begin(), dense.end(), 0);
    for (std::size_t u = 0; u < by_usable.size(); ++u) {
      if (by_usable[u] > 0 && column[u] < dense.size()) dense[column[u]] = by_usable[u];
    }
    rec.record(k, dense, dense);
  }
  return rec.finish();
}

}  // namespace autoplacer::backtest
