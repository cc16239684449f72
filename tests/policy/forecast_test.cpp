// Forecasting: EWMAs, adaptive bands, Holt-Winters warm-up and seasonal forecasts, bounds.
#include "policy/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace autoplacer {
namespace {

constexpr std::int64_t kMin = 60'000;

TEST(Ewma, PrototypeEwmaOverLastPoints) {
  SampleRing ring;
  for (double v : {100.0, 0.0, 0.0, 10.0, 20.0, 30.0}) ring.push({0, v});
  // Last 5 points: 0, 0, 10, 20, 30 seeded with 0.
  double e = 0;
  for (double v : {0.0, 10.0, 20.0, 30.0}) e = 0.3 * v + 0.7 * e;
  EXPECT_DOUBLE_EQ(ewma_last(ring, 5, 0.3), e);
  EXPECT_DOUBLE_EQ(ewma_last(ring, 1, 0.3), 30.0);
  EXPECT_DOUBLE_EQ(ewma_last(SampleRing{}, 5, 0.3), 0.0);
}

TEST(Ring, KeepsTheNewestWithinCapacity) {
  SampleRing ring;
  for (int i = 0; i < 100; ++i) ring.push({i, static_cast<double>(i)});
  ASSERT_EQ(ring.size(), SampleRing::kCapacity);
  EXPECT_EQ(ring.at(0).atMs, 100 - static_cast<std::int64_t>(SampleRing::kCapacity));
  EXPECT_EQ(ring.back().atMs, 99);
}

TEST(Band, MeanPlusMinusKSigmaOverWindow) {
  SampleRing ring;
  ring.push({0, 1000});  // outside the window
  for (int i = 1; i <= 4; ++i) ring.push({i * kMin, i % 2 ? 10.0 : 20.0});
  const Band b = band_over(ring, 4 * kMin, 2.0);
  EXPECT_EQ(b.samples, 4);
  EXPECT_DOUBLE_EQ(b.mean, 15);
  EXPECT_DOUBLE_EQ(b.sigma, 5);
  EXPECT_DOUBLE_EQ(b.upper, 25);
  EXPECT_DOUBLE_EQ(b.lower, 5);
}

double daily_shape(std::int64_t atMs) {
  const double day = static_cast<double>(atMs % (24 * 60 * kMin)) / (24.0 * 60 * kMin);
  return 100 + 60 * std::sin(2 * std::numbers::pi * day);
}

TEST(HoltWinters, WarmsUpAfterOneSeasonAndFollowsTheDailyShape) {
  ForecastSpec spec;  // 5 min buckets, daily season
  const ForecastConfig c = ForecastConfig::from(spec);
  ASSERT_EQ(c.dailyBuckets, 288);
  DemandModel m;
  SampleRing ring;
  std::int64_t t = 0;
  for (; t < 3 * 24 * 60 * kMin; t += kMin) {
    model_observe(m, c, t, daily_shape(t));
    ring.push({t, daily_shape(t)});
    if (t == 12 * 60 * kMin) {
      EXPECT_FALSE(m.warm);
    }
  }
  EXPECT_TRUE(m.warm);
  const std::int64_t now = t - kMin;
  // Forecast an hour ahead: within a few req/s of the true curve, and better than "no change".
  const std::int64_t target = now + 60 * kMin;
  const ForecastView f = model_forecast(m, c, ring, now, target);
  EXPECT_TRUE(f.seasonal);
  EXPECT_NEAR(f.value, daily_shape(target), 6.0);
  EXPECT_LT(std::fabs(f.value - daily_shape(target)),
            std::fabs(daily_shape(now) - daily_shape(target)));
}

TEST(HoltWinters, ForecastPeakCoversTheHighestBucketWithinTheHorizon) {
  const ForecastConfig c = ForecastConfig::from(ForecastSpec{});
  DemandModel m;
  SampleRing ring;
  std::int64_t t = 0;
  for (; t < 2 * 24 * 60 * kMin; t += 5 * kMin) {
    model_observe(m, c, t, daily_shape(t));
    ring.push({t, daily_shape(t)});
  }
  const std::int64_t now = t - 5 * kMin;
  const ForecastView one = model_forecast(m, c, ring, now, now + 6 * 60 * kMin);
  const ForecastView peak = forecast_peak(m, c, ring, now, 6 * 60 * kMin);
  EXPECT_GE(peak.value, one.value);
}

TEST(HoltWinters, WeeklySeasonIsBoundedAndUsed) {
  ForecastSpec spec;
  spec.weekly = true;
  const ForecastConfig c = ForecastConfig::from(spec);
  DemandModel m;
  model_observe(m, c, 0, 5);
  EXPECT_EQ(m.weekly.size(), static_cast<std::size_t>(ForecastConfig::kWeeklyBuckets));
  EXPECT_EQ(m.daily.size(), 288U);
}

TEST(ForecastConfig, FineStepsAreCoarsenedToABoundedModel) {
  ForecastSpec spec;
  spec.seasonStep = 1s;
  const ForecastConfig c = ForecastConfig::from(spec);
  EXPECT_LE(c.dailyBuckets, ForecastConfig::kMaxDailyBuckets);
  EXPECT_EQ(c.stepMs * c.dailyBuckets, 24 * 60 * kMin);
}

TEST(EwmaForecast, RiseIsExtrapolatedButCappedByTheBand) {
  ForecastSpec spec;
  spec.model = ForecastModel::kEwma;
  const ForecastConfig c = ForecastConfig::from(spec);
  DemandModel m;
  SampleRing ring;
  for (int i = 0; i < 20; ++i) {
    const double v = i < 15 ? 10.0 : 40.0;
    model_observe(m, c, i * kMin, v);
    ring.push({i * kMin, v});
  }
  const ForecastView f = model_forecast(m, c, ring, 19 * kMin, 20 * kMin);
  EXPECT_GT(f.value, m.shortEwma);
  EXPECT_LE(f.value, band_over(ring, c.bandWindowMs, c.bandK).upper + 1e-9);
}

TEST(Quantize, StateValuesAreOnTheGrid) {
  EXPECT_DOUBLE_EQ(quantize(1.23456789), 1.2346);
  EXPECT_EQ(quantize(std::nan("")), 0.0);
}

}  // namespace
}  // namespace autoplacer
