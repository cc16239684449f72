#include "backtest/backtest.h"

#include <algorithm>

#include "backtest/baselines.h"

namespace autoplacer::backtest {
namespace {

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

  std::size_t region_index(const std::string& code) const {
    auto it = std::lower_bound(setup_->regions.begin(), setup_->regions.end(), code);
    if (it == setup_->regions.end() || *it != code) return setup_->regions.size();
    return static_cast<std::size_t>(it - setup_->regions.begin());
  }

  // Records step `k`: `serving(region index)` machines serve, `desired` was asked for.
  template <class Serving>
  void record(std::size_t k, Serving serving, const std::map<std::string, int>& desired) {
    const std::size_t n = setup_->regions.size();
    for (std::size_t r = 0; r < n; ++r) result_.running[k * n + r] = serving(r);
    for (const auto& [code, count] : desired) {
      const std::size_t r = region_index(code);
      if (r < n) result_.desired[k * n + r] = count;
    }
    running_.clear();
    for (std::size_t r = 0; r < n; ++r) {
      if (result_.running[k * n + r] > 0) running_.emplace_back(r, result_.running[k * n + r]);
    }
    const sim::Scenario& sc = *setup_->scenario;
    for (std::size_t o = 0; o < demand_.size(); ++o) demand_[o] = sc.rps(k, o);
    const std::int64_t t =
        std::chrono::duration_cast<std::chrono::seconds>(sc.step_time(k).time_since_epoch())
            .count();
    result_.perStep[k] = scorer_.add_step(t, demand_, running_);
    if (setup_->onStep) setup_->onStep(k);
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

DemandReading reading_for(const sim::Scenario& sc, std::size_t step, TimePoint at) {
  DemandReading d;
  d.at = at;
  d.known = true;
  for (std::size_t o = 0; o < sc.regions().size(); ++o) d.rps[sc.regions()[o]] = sc.rps(step, o);
  return d;
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

  SimulatedFleet fleet(setup.timings);
  const Duration interval = std::max(setup.passInterval, Duration{1});
  auto first_pass = [&](std::size_t j) { return sc.step_time(j) + setup.observeDelay; };

  std::size_t pass_step = 0;  // the demand step the next pass sees
  int pass_in_step = 0;
  TimePoint next_pass = first_pass(0);
  bool passes_left = steps > 0;
  std::map<std::string, int> last_desired;
  PlacerPass last;

  for (std::size_t k = 0; k < steps; ++k) {
    const TimePoint sample = sc.step_time(k) + sc.step() / 2;
    while (passes_left && next_pass <= sample) {
      fleet.advance(next_pass);
      last = placer.pass(reading_for(sc, pass_step, next_pass), fleet.observe(), next_pass);
      ++out.passes;
      for (const auto& [code, view] : last.regions) ++out.reasons[view.reason];
      fleet.apply(last.desired, last.retire);
      const bool changed = last.desired != last_desired;
      last_desired = last.desired;
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
    for (const auto& [code, view] : last.regions) {
      const std::size_t r = rec.region_index(code);
      if (r >= n) continue;
      out.demandRps[k * n + r] = static_cast<float>(view.demandRps);
      out.forecastRps[k * n + r] = static_cast<float>(view.forecastRps);
    }
    rec.record(
        k, [&](std::size_t r) { return fleet.serving(setup.regions[r]); }, last_desired);
  }
  out.counters = fleet.counters();
  return rec.finish();
}

Result<RunResult, std::string> run_fixed(const std::string& name,
                                         const std::map<std::string, int>& placement,
                                         const BacktestSetup& setup) {
  auto made = Recorder::make(name, setup);
  if (!made.ok()) return make_err(made.error());
  Recorder rec = std::move(made).value();
  std::vector<int> dense(setup.regions.size(), 0);
  for (const auto& [code, count] : placement) {
    const std::size_t r = rec.region_index(code);
    if (r < dense.size()) dense[r] = count;
  }
  for (std::size_t k = 0; k < setup.scenario->step_count(); ++k) {
    rec.record(
        k, [&](std::size_t r) { return dense[r]; }, placement);
  }
  return rec.finish();
}

Result<RunResult, std::string> run_oracle(const std::string& name, const BacktestSetup& setup) {
  auto made = Recorder::make(name, setup);
  if (!made.ok()) return make_err(made.error());
  Recorder rec = std::move(made).value();
  const sim::Scenario& sc = *setup.scenario;
  OraclePlacer oracle(sc.regions(), *setup.policy, *setup.catalog);
  std::vector<double> demand(sc.regions().size());
  std::vector<int> dense(setup.regions.size(), 0);
  for (std::size_t k = 0; k < sc.step_count(); ++k) {
    for (std::size_t o = 0; o < demand.size(); ++o) demand[o] = sc.rps(k, o);
    const std::map<std::string, int> placement = oracle.place(demand);
    std::fill(dense.begin(), dense.end(), 0);
    for (const auto& [code, count] : placement) {
      const std::size_t r = rec.region_index(code);
      if (r < dense.size()) dense[r] = count;
    }
    rec.record(
        k, [&](std::size_t r) { return dense[r]; }, placement);
  }
  return rec.finish();
}

}  // namespace autoplacer::backtest
