#pragma once
// Replays a scenario through a placer (the decision core, or a baseline) and a simulated fleet,
// step by step in simulated time, and scores what served. docs/backtest.md describes the model:
//
//  - A scenario step k covers [t_k, t_k + step) at a constant demand. The controller sees that
//    demand `observeDelay` after the step begins (the 1-minute rate, read at the next pass) and
//    runs a pass then; further passes follow at the policy's interval while the previous pass
//    changed the placement or was capped by a bound or rate policy (under constant demand a pass
//    that changed nothing would change nothing until the next step, bar expiring windows).
//  - Each pass observes the simulated fleet, decides, and applies: new machines serve after the
//    create delay, stopped ones after the start delay.
//  - The timeline's `running` for step k is the machines serving at the step's midpoint, when
//    most of the step's requests arrive; `desired` is the last pass's desired count by then.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "backtest/scorer.h"
#include "backtest/sim_fleet.h"
#include "common/result.h"
#include "policy/observation.h"
#include "policy/regions.h"
#include "policy/spec.h"
#include "sim/scenario.h"

namespace autoplacer::backtest {

// What one pass of a placer decided, with the per-region detail the report plots.
struct PlacerPass {
  std::map<std::string, int> desired;  // region -> machines (absent = 0)
  RetireAction retire = RetireAction::kStop;
  bool limited = false;  // a bound or rate policy capped the result
  struct RegionView {
    double demandRps = 0;
    double forecastRps = 0;
    // A reason code's name; must outlive the run (to_string(ReasonCode) and string literals do).
    // A view, not a string: the replay tallies hundreds of thousands of these.
    std::string_view reason;
  };
  std::map<std::string, RegionView> regions;
};

class Placer {
 public:
  virtual ~Placer() = default;
  virtual PlacerPass pass(const DemandReading& demand, const FleetObservation& fleet,
                          TimePoint now) = 0;
};

struct BacktestSetup {
  const sim::Scenario* scenario = nullptr;
  const PlacementPolicy* policy = nullptr;  // targetPerMachine is the capacity per machine
  const RegionCatalog* catalog = nullptr;
  std::vector<std::string> regions;  // timeline columns (every hostable region), sorted
  std::vector<std::string> allowed;  // usable regions, for the RTT limit
  FleetTimings timings;
  Duration observeDelay{60'000};
  Duration passInterval{30'000};  // the policy's traffic.interval
  int maxPassesPerStep = 1000;    // a bound on passes in one step, whatever the interval
  std::function<void(std::size_t step)> onStep;  // progress, called after each step
};

struct RunResult {
  std::string name;
  std::size_t steps = 0;
  std::size_t regions = 0;
  std::vector<int> running;  // steps x regions: serving at the step's midpoint
  std::vector<int> desired;  // steps x regions
  std::vector<StepScore> perStep;
  // Policy runs only (else empty): steps x regions, from the last pass of each step.
  std::vector<float> demandRps;
  std::vector<float> forecastRps;
  Score score;  // unrounded; score.rounded() is what the scorer script prints
  FleetCounters counters;
  long passes = 0;
  std::map<std::string, long> reasons;  // reason code -> region-passes with that reason

  int running_at(std::size_t step, std::size_t region) const {
    return running[step * regions + region];
  }
  int desired_at(std::size_t step, std::size_t region) const {
    return desired[step * regions + region];
  }
};

// Replays with a placer deciding passes against a simulated fleet that starts empty.
Result<RunResult, std::string> run_placer(const std::string& name, Placer& placer,
                                          const BacktestSetup& setup);
// A fixed placement, serving from the first step.
Result<RunResult, std::string> run_fixed(const std::string& name,
                                         const std::map<std::string, int>& placement,
                                         const BacktestSetup& setup);
// The oracle: each step placed for that step's demand, serving at once.
Result<RunResult, std::string> run_oracle(const std::string& name, const BacktestSetup& setup);

// Timeline columns for a catalog: every hostable region, sorted.
std::vector<std::string> timeline_regions(const RegionCatalog& catalog);

}  // namespace autoplacer::backtest
