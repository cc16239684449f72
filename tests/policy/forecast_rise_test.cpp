// The rise a forecast adds to the observed demand: ahead of a rise the model expects, nothing on a
// fall or on a flat, noisy series.
#include "policy/forecast_rise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>

namespace autoplacer {
namespace {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kDay = 24 * 60 * kMin;

double daily_shape(std::int64_t atMs) {
  const double day = static_cast<double>(atMs % kDay) / static_cast<double>(kDay);
  return 100 + 60 * std::sin(2 * std::numbers::pi * day);
}

struct Series {
  ForecastConfig c = ForecastConfig::from(ForecastSpec{});
  DemandModel m;
  SampleRing ring;
  void feed(std::int64_t t, double v) {
    model_observe(m, c, t, v);
    ring.push({t, v});
  }
};

TEST(ForecastRise, AheadOfASeasonalRiseAndNothingOnTheFall) {
  Series s;
  std::int64_t t = 0;
  for (; t < 3 * kDay; t += kMin) s.feed(t, daily_shape(t));
  ASSERT_TRUE(s.m.warm);
  // Midnight: the shape rises 60 x 2 pi / 288 = 1.3 req/s per 5-minute bucket.
  const std::int64_t rising = 3 * kDay;
  s.feed(rising, daily_shape(rising));
  const double up = forecast_rise(s.m, s.c, s.ring, rising, 10 * kMin);
  EXPECT_GT(up, 1.0);
  EXPECT_LT(up, 4.0);
  // Evening (18:00 is the trough; 12:00-18:00 falls): no rise, whatever the model's error.
  for (t = rising + kMin; t <= rising + kDay / 2 + kDay / 8; t += kMin) s.feed(t, daily_shape(t));
  t -= kMin;
  EXPECT_DOUBLE_EQ(forecast_rise(s.m, s.c, s.ring, t, 10 * kMin), 0.0);
}

TEST(ForecastRise, FlatNoisySeriesGivesLittleRise) {
  // max(observed, forecast) would add the noise's upper half on every pass; the rise does not.
  Series s;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 5);
  double mean_rise = 0, mean_excess = 0;
  int n = 0;
  for (std::int64_t t = 0; t < 3 * kDay; t += kMin) {
    const double v = 100 + noise(rng);
    s.feed(t, v);
    if (t < 2 * kDay) continue;
    const double rise = forecast_rise(s.m, s.c, s.ring, t, 5 * kMin);
    const double peak = forecast_peak(s.m, s.c, s.ring, t, 5 * kMin).value;
    mean_rise += rise;
    mean_excess += std::max(0.0, peak - v);
    ++n;
  }
  mean_excess /= n;
  mean_rise /= n;
  std::printf(
      "[ forecast ] flat series, noise sigma 5: max(observed, forecast) adds %.2f req/s on "
      "average, the rise %.2f\n",
      mean_excess, mean_rise);
  EXPECT_GT(mean_excess, 2.0);              // what max(observed, forecast) adds on average
  EXPECT_LT(mean_rise, 0.7 * mean_excess);  // only the seasonal noise the model learnt
}

TEST(ForecastRise, EwmaModelRisesWithTheRecentTrendOnly) {
  ForecastSpec spec;
  spec.model = ForecastModel::kEwma;
  Series s;
  s.c = ForecastConfig::from(spec);
  std::int64_t t = 0;
  for (int i = 0; i < 20; ++i, t += kMin) s.feed(t, 100);
  EXPECT_DOUBLE_EQ(forecast_rise(s.m, s.c, s.ring, t - kMin, 5 * kMin), 0.0);
  for (int i = 0; i < 5; ++i, t += kMin) s.feed(t, 100 + 10 * (i + 1));
  const double up = forecast_rise(s.m, s.c, s.ring, t - kMin, 5 * kMin);
  EXPECT_GT(up, 0.0);
  EXPECT_LE(up, s.m.shortEwma - s.m.longEwma + 1e-9);  // at most the trend (capped by the band)
  for (int i = 0; i < 10; ++i, t += kMin) s.feed(t, 50);
  EXPECT_DOUBLE_EQ(forecast_rise(s.m, s.c, s.ring, t - kMin, 5 * kMin), 0.0);
}

TEST(ForecastRise, NoModelNoRise) {
  ForecastSpec spec;
  spec.model = ForecastModel::kNone;
  Series s;
  s.c = ForecastConfig::from(spec);
  for (std::int64_t t = 0; t < 10 * kMin; t += kMin)
    s.feed(t, 10.0 * static_cast<double>(t / kMin));
  EXPECT_DOUBLE_EQ(forecast_rise(s.m, s.c, s.ring, 9 * kMin, 5 * kMin), 0.0);
}

}  // namespace
}  // namespace autoplacer
