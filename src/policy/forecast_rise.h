#pragma once
// How much demand the model expects to rise within the horizon, over what it estimates now: the
// part of a forecast that sizes capacity ahead of time. The sizing demand of an origin is
//     observed + forecast_rise(...)
// so capacity is raised ahead of a rise the model expects (a morning ramp), and a fall is acted on
// only once it is observed (AWS predictive scaling's rule). Adding the rise to the observation,
// rather than taking max(observed, forecast), keeps the model's own error out of the sizing: a
// forecast a little above a flat observation is noise, not a rise, and max() would size every
// region for the upper edge of that noise all day.
#include <cstdint>

#include "policy/forecast.h"

namespace autoplacer {

// Holt-Winters: the peak of forecast_peak() over (now, now + horizon] minus the model's estimate
// of now (its forecast at now, with the open bucket as provisional level). EWMA (or a model not
// warm yet): its extrapolation minus the short EWMA, i.e. the recent trend, capped by the band as
// the extrapolation is. Never negative.
double forecast_rise(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring,
                     std::int64_t nowMs, std::int64_t horizonMs);

}  // namespace autoplacer
