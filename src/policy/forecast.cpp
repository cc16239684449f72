#include "policy/forecast.h"

#include <algorithm>
#include <cmath>

namespace autoplacer {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int daily_index(const ForecastConfig& c, std::int64_t bucket) {
  std::int64_t i = bucket % c.dailyBuckets;
  return static_cast<int>(i < 0 ? i + c.dailyBuckets : i);
}

int weekly_index(const ForecastConfig& c, std::int64_t atMs) {
  std::int64_t i = floor_div(atMs, c.weeklyStepMs) % ForecastConfig::kWeeklyBuckets;
  return static_cast<int>(i < 0 ? i + ForecastConfig::kWeeklyBuckets : i);
}

double season_at(const DemandModel& m, const ForecastConfig& c, std::int64_t bucket) {
  double s = m.daily[static_cast<std::size_t>(daily_index(c, bucket))];
  if (!m.weekly.empty()) {
    s += m.weekly[static_cast<std::size_t>(weekly_index(c, bucket * c.stepMs))];
  }
  return s;
}

// Feeds one closed bucket's mean to Holt-Winters.
void close_bucket(DemandModel& m, const ForecastConfig& c, std::int64_t bucket, double y) {
  if (m.firstBucket < 0) m.firstBucket = bucket;
  const std::size_t di = static_cast<std::size_t>(daily_index(c, bucket));
  if (!m.warm) {
    // Warm-up: remember raw bucket means for one season, the level as their running mean.
    if (m.daily[di] < 0) ++m.warmupSeen;
    m.daily[di] = quantize(y);
    m.level = quantize(m.level + (y - m.level) / std::max(1, m.warmupSeen));
    m.lastClosed = bucket;
    if (bucket - m.firstBucket + 1 >= c.dailyBuckets) {
      for (double& s : m.daily) s = s < 0 ? 0.0 : quantize(s - m.level);
      m.trend = 0;
      m.warm = true;
    }
    return;
  }
  const double s = season_at(m, c, bucket);
  const double prev_level = m.level;
  const double level = c.hwAlpha * (y - s) + (1 - c.hwAlpha) * (m.level + m.trend);
  m.trend = quantize(c.hwBeta * (level - prev_level) + (1 - c.hwBeta) * m.trend);
  m.level = quantize(level);
  double& d = m.daily[di];
  if (m.weekly.empty()) {
    d = quantize(c.hwGamma * (y - m.level) + (1 - c.hwGamma) * d);
  } else {
    double& w = m.weekly[static_cast<std::size_t>(weekly_index(c, bucket * c.stepMs))];
    d = quantize(c.hwGamma * (y - m.level - w) + (1 - c.hwGamma) * d);
    w = quantize(c.hwGamma * (y - m.level - d) + (1 - c.hwGamma) * w);
  }
  m.lastClosed = bucket;
}

ForecastView ewma_forecast(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring) {
  // EWMA extrapolation: the short average plus the rise it shows over the long one, kept inside
  // the adaptive band so one burst does not size the fleet for twice the burst.
  const double rise = std::max(0.0, m.shortEwma - m.longEwma);
  double f = m.shortEwma + rise;
  const Band b = band_over(ring, c.bandWindowMs, c.bandK);
  if (b.samples >= 3) f = std::min(f, std::max(b.upper, m.shortEwma));
  return {std::max(0.0, f), false};
}

}  // namespace

double quantize(double x) {
  if (!std::isfinite(x)) return 0;
  return std::round(x / kStateQuantum) * kStateQuantum;
}

ForecastConfig ForecastConfig::from(const ForecastSpec& spec) {
  ForecastConfig c;
  c.model = spec.model;
  const std::int64_t season = std::max<std::int64_t>(spec.season.count(), 60'000);
  std::int64_t step = std::max<std::int64_t>(spec.seasonStep.count(), 1000);
  // Bounded state: a finer step than season / kMaxDailyBuckets is coarsened.
  step = std::max(step, (season + kMaxDailyBuckets - 1) / kMaxDailyBuckets);
  c.stepMs = step;
  c.dailyBuckets = static_cast<int>(std::max<std::int64_t>(1, season / step));
  c.weekly = spec.weekly;
  c.weeklyStepMs = 7LL * 24 * 3'600'000 / kWeeklyBuckets;
  c.shortAlpha = std::clamp(spec.shortAlpha, 0.0, 1.0);
  c.longAlpha = std::clamp(spec.longAlpha, 0.0, 1.0);
  c.hwAlpha = std::clamp(spec.hwAlpha, 0.0, 1.0);
  c.hwBeta = std::clamp(spec.hwBeta, 0.0, 1.0);
  c.hwGamma = std::clamp(spec.hwGamma, 0.0, 1.0);
  c.bandWindowMs = std::max<std::int64_t>(spec.bandWindow.count(), 1);
  c.bandK = std::max(0.0, spec.bandK);
  return c;
}

void SampleRing::push(DemandSample s) {
  if (count_ < kCapacity) {
    buf_[(head_ + count_) % kCapacity] = s;
    ++count_;
  } else {
    buf_[head_] = s;
    head_ = (head_ + 1) % kCapacity;
  }
}

void SampleRing::clear() {
  head_ = 0;
  count_ = 0;
}

Band band_over(const SampleRing& ring, std::int64_t windowMs, double k) {
  Band b;
  if (ring.empty()) return b;
  const std::int64_t since = ring.back().atMs - windowMs;
  double sum = 0, sum2 = 0;
  int n = 0;
  for (std::size_t i = ring.size(); i-- > 0;) {
    const DemandSample& s = ring.at(i);
    if (s.atMs <= since) break;
    sum += s.rps;
    ++n;
  }
  b.samples = n;
  b.mean = sum / n;
  for (std::size_t i = ring.size() - static_cast<std::size_t>(n); i < ring.size(); ++i) {
    const double d = ring.at(i).rps - b.mean;
    sum2 += d * d;
  }
  b.sigma = std::sqrt(sum2 / n);
  b.lower = std::max(0.0, b.mean - k * b.sigma);
  b.upper = b.mean + k * b.sigma;
  return b;
}

double ewma_last(const SampleRing& ring, std::size_t points, double alpha) {
  if (ring.empty() || points == 0) return 0;
  const std::size_t n = std::min(points, ring.size());
  const std::size_t first = ring.size() - n;
  double e = ring.at(first).rps;
  for (std::size_t i = first + 1; i < ring.size(); ++i)
    e = alpha * ring.at(i).rps + (1 - alpha) * e;
  return e;
}

bool DemandModel::shaped_for(const ForecastConfig& c) const {
  return daily.size() == static_cast<std::size_t>(c.dailyBuckets) &&
         weekly.size() ==
             (c.weekly ? static_cast<std::size_t>(ForecastConfig::kWeeklyBuckets) : 0U);
}

void reset_model(DemandModel& m, const ForecastConfig& c) {
  m = DemandModel{};
  m.daily.assign(static_cast<std::size_t>(c.dailyBuckets), -1.0);
  if (c.weekly) m.weekly.assign(ForecastConfig::kWeeklyBuckets, 0.0);
}

void model_observe(DemandModel& m, const ForecastConfig& c, std::int64_t atMs, double rps) {
  if (!m.shaped_for(c)) reset_model(m, c);
  if (!m.started) {
    m.shortEwma = quantize(rps);
    m.longEwma = quantize(rps);
    m.started = true;
  } else {
    m.shortEwma = quantize(c.shortAlpha * rps + (1 - c.shortAlpha) * m.shortEwma);
    m.longEwma = quantize(c.longAlpha * rps + (1 - c.longAlpha) * m.longEwma);
  }
  const std::int64_t bucket = floor_div(atMs, c.stepMs);
  if (m.openBucket >= 0 && bucket < m.openBucket) return;  // out of order: EWMAs only
  if (m.openBucket >= 0 && bucket > m.openBucket && m.openCount > 0) {
    close_bucket(m, c, m.openBucket, m.openSum / m.openCount);
    m.openSum = 0;
    m.openCount = 0;
  }
  m.openBucket = bucket;
  m.openSum = quantize(m.openSum + rps);
  ++m.openCount;
}

ForecastView model_forecast(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring,
                            std::int64_t nowMs, std::int64_t targetMs) {
  if (c.model == ForecastModel::kNone || !m.started) {
    return {ring.empty() ? 0.0 : ring.back().rps, false};
  }
  if (c.model == ForecastModel::kEwma || !m.warm || !m.shaped_for(c) || m.openCount == 0) {
    return ewma_forecast(m, c, ring);
  }
  // Provisional level from the open bucket, so the newest sample moves the forecast now rather
  // than when its bucket closes.
  const std::int64_t open = m.openBucket;
  const double y = m.openSum / m.openCount;
  const std::int64_t since = std::max<std::int64_t>(1, open - m.lastClosed);
  const double base = m.level + static_cast<double>(since) * m.trend;
  const double level = c.hwAlpha * (y - season_at(m, c, open)) + (1 - c.hwAlpha) * base;
  const std::int64_t target = floor_div(std::max(targetMs, nowMs), c.stepMs);
  const double f = level + static_cast<double>(target - open) * m.trend + season_at(m, c, target);
  return {std::max(0.0, f), true};
}

std::optional<double> seasonal_rise(const DemandModel& m, const ForecastConfig& c,
                                    std::int64_t nowMs, std::int64_t horizonMs) {
  // The conditions under which model_forecast() uses Holt-Winters (they do not depend on the
  // target), then its arithmetic, with the provisional level made once for every target.
  if (c.model != ForecastModel::kHoltWinters || !m.started || !m.warm || !m.shaped_for(c) ||
      m.openCount == 0) {
    return std::nullopt;
  }
  const std::int64_t open = m.openBucket;
  const double y = m.openSum / m.openCount;
  const std::int64_t since = std::max<std::int64_t>(1, open - m.lastClosed);
  const double base = m.level + static_cast<double>(since) * m.trend;
  const double level = c.hwAlpha * (y - season_at(m, c, open)) + (1 - c.hwAlpha) * base;
  auto at = [&](std::int64_t targetMs) {
    const std::int64_t target = floor_div(std::max(targetMs, nowMs), c.stepMs);
    const double f = level + static_cast<double>(target - open) * m.trend + season_at(m, c, target);
    return std::max(0.0, f);
  };
  // forecast_peak()
  double peak = at(nowMs + horizonMs);
  const std::int64_t first = floor_div(nowMs, c.stepMs) + 1;
  const std::int64_t last = floor_div(nowMs + horizonMs, c.stepMs);
  for (std::int64_t b = first; b < last && b - first < c.dailyBuckets; ++b) {
    const double v = at(b * c.stepMs);
    if (v > peak) peak = v;
  }
  return std::max(0.0, peak - at(nowMs));
}

ForecastView forecast_peak(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring,
                           std::int64_t nowMs, std::int64_t horizonMs) {
  ForecastView peak = model_forecast(m, c, ring, nowMs, nowMs + horizonMs);
  if (!peak.seasonal) return peak;
  // Every bucket boundary between now and the horizon; bounded to one season.
  const std::int64_t first = floor_div(nowMs, c.stepMs) + 1;
  const std::int64_t last = floor_div(nowMs + horizonMs, c.stepMs);
  for (std::int64_t b = first; b < last && b - first < c.dailyBuckets; ++b) {
    ForecastView v = model_forecast(m, c, ring, nowMs, b * c.stepMs);
    if (v.value > peak.value) peak = v;
  }
  return peak;
}

}  // namespace autoplacer
