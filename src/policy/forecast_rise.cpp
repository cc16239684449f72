#include "policy/forecast_rise.h"

#include <algorithm>

namespace autoplacer {

double forecast_rise(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring,
                     std::int64_t nowMs, std::int64_t horizonMs) {
  if (const std::optional<double> rise = seasonal_rise(m, c, nowMs, horizonMs)) return *rise;
  const ForecastView peak = forecast_peak(m, c, ring, nowMs, horizonMs);
  double now = 0;
  if (peak.seasonal) {
    now = model_forecast(m, c, ring, nowMs, nowMs).value;
  } else if (m.started && c.model != ForecastModel::kNone) {
    now = m.shortEwma;
  } else {
    return 0;  // no model: nothing is forecast
  }
  return std::max(0.0, peak.value - now);
}

}  // namespace autoplacer
