#include "backtest/forecast_accuracy.h"

#include <algorithm>
#include <cmath>

#include "policy/forecast.h"

namespace autoplacer::backtest {

ForecastAccuracy evaluate_forecast(const sim::Scenario& scenario, const ForecastSpec& spec,
                                   Duration horizon, Duration observeDelay) {
  ForecastAccuracy out;
  out.horizon = horizon;
  const std::int64_t step_ms = std::max<std::int64_t>(scenario.step().count(), 1);
  out.horizonSteps = static_cast<std::size_t>(
      std::max<std::int64_t>(1, (horizon.count() + step_ms - 1) / step_ms));
  out.seasonSteps = static_cast<std::size_t>(std::max<std::int64_t>(1, 86'400'000 / step_ms));
  const ForecastConfig config = ForecastConfig::from(spec);
  const std::size_t steps = scenario.step_count();
  const std::size_t h = out.horizonSteps;
  double sum_model = 0, sum_naive = 0;

  for (std::size_t o = 0; o < scenario.regions().size(); ++o) {
    OriginAccuracy acc;
    acc.origin = scenario.regions()[o];
    DemandModel model;
    reset_model(model, config);
    SampleRing ring;
    double err_model = 0, err_naive = 0;
    for (std::size_t k = 0; k + h < steps; ++k) {
      const std::int64_t now_ms = (scenario.step_time(k) + observeDelay).time_since_epoch().count();
      const double y = scenario.rps(k, o);
      ring.push(DemandSample{now_ms, y});
      model_observe(model, config, now_ms, y);
      const std::size_t target = k + h;
      if (target < out.seasonSteps * 2) continue;  // the naive forecast and the model warm up
      const std::int64_t target_ms =
          (scenario.step_time(target) + observeDelay).time_since_epoch().count();
      const double forecast = model_forecast(model, config, ring, now_ms, target_ms).value;
      const double actual = scenario.rps(target, o);
      const double naive = scenario.rps(target - out.seasonSteps, o);
      err_model += std::abs(actual - forecast);
      err_naive += std::abs(actual - naive);
      ++acc.points;
    }
    if (acc.points > 0) {
      acc.maeModel = err_model / static_cast<double>(acc.points);
      acc.maeNaive = err_naive / static_cast<double>(acc.points);
      acc.mase = err_naive > 0 ? err_model / err_naive : 0;
    }
    sum_model += err_model;
    sum_naive += err_naive;
    out.points += acc.points;
    out.origins.push_back(std::move(acc));
  }
  if (out.points > 0) {
    out.maeModel = sum_model / static_cast<double>(out.points);
    out.maeNaive = sum_naive / static_cast<double>(out.points);
    out.mase = sum_naive > 0 ? sum_model / sum_naive : 0;
  }
  return out;
}

}  // namespace autoplacer::backtest
