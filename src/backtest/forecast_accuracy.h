#pragma once
// How well the decision core's demand model forecasts a scenario, against the seasonal-naive
// forecast (the same time one season earlier). Each origin's model (policy/forecast.h, the code
// decide() uses) is fed the scenario step by step as the controller would see it; at every step
// it forecasts the step `horizonSteps` ahead. MASE here is the model's mean absolute error over
// the seasonal-naive forecast's, on the same points: below
// 1 means the model beats "same time yesterday". The first two seasons are left out: one warms
// the model up, and the naive forecast needs one behind it.
#include <cstddef>
#include <string>
#include <vector>

#include "common/clock.h"
#include "policy/spec.h"
#include "sim/scenario.h"

namespace autoplacer::backtest {

struct OriginAccuracy {
  std::string origin;
  double maeModel = 0;
  double maeNaive = 0;
  double mase = 0;  // maeModel / maeNaive; 0 when the naive error is 0
  std::size_t points = 0;
};

struct ForecastAccuracy {
  Duration horizon{0};           // the configured horizon (time to serve)
  std::size_t horizonSteps = 1;  // in scenario steps: the horizon rounded up, at least one step
  std::size_t seasonSteps = 1;   // one day in scenario steps
  std::vector<OriginAccuracy> origins;
  double maeModel = 0;  // over every origin's points (demand-weighted by construction)
  double maeNaive = 0;
  double mase = 0;
  std::size_t points = 0;
};

// `observeDelay`: how long after a step begins its demand is seen (the sample's timestamp).
ForecastAccuracy evaluate_forecast(const sim::Scenario& scenario, const ForecastSpec& spec,
                                   Duration horizon, Duration observeDelay);

}  // namespace autoplacer::backtest
