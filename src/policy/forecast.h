#pragma once
// Demand estimation for one origin region: a bounded ring of recent samples (adaptive bands and the
// threshold strategy's EWMAs over the last N points), short- and long-term EWMAs, and an additive
// Holt-Winters model with a daily season and an optional weekly one. Pure functions over plain
// state; the state is quantised to 1e-4 so that it survives a JSON round trip bit for bit (the
// controller persists it, and a restored state must decide exactly like the original).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "policy/spec.h"

namespace autoplacer {

// State values are kept on a 1e-4 grid; JSON stores them as integers of that unit.
inline constexpr double kStateQuantum = 1e-4;
double quantize(double x);

// The model dimensions derived from a ForecastSpec. Bounded whatever the spec says: at most
// kMaxDailyBuckets daily buckets and kWeeklyBuckets weekly ones (one per hour).
struct ForecastConfig {
  static constexpr int kMaxDailyBuckets = 288;
  static constexpr int kWeeklyBuckets = 168;

  ForecastModel model = ForecastModel::kHoltWinters;
  std::int64_t stepMs = 300'000;  // one daily bucket
  int dailyBuckets = 288;
  bool weekly = false;
  std::int64_t weeklyStepMs = 3'600'000;
  double shortAlpha = 0.3, longAlpha = 0.1;
  double hwAlpha = 0.2, hwBeta = 0.01, hwGamma = 0.1;
  std::int64_t bandWindowMs = 3'600'000;
  double bandK = 2.0;

  static ForecastConfig from(const ForecastSpec& spec);
};

struct DemandSample {
  std::int64_t atMs = 0;  // unix ms
  double rps = 0;
};

// The most recent samples of one origin, oldest first. Fixed capacity: the oldest falls out.
class SampleRing {
 public:
  static constexpr std::size_t kCapacity = 64;

  void push(DemandSample s);
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // i = 0 is the oldest kept sample.
  const DemandSample& at(std::size_t i) const { return buf_[(head_ + i) % kCapacity]; }
  const DemandSample& back() const { return at(count_ - 1); }
  void clear();

 private:
  DemandSample buf_[kCapacity] = {};
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

// Mean +/- k sigma of the samples within a window ending at the newest one.
struct Band {
  double mean = 0;
  double sigma = 0;
  double lower = 0;
  double upper = 0;
  int samples = 0;
};
Band band_over(const SampleRing& ring, std::int64_t windowMs, double k);

// The prototype's EWMA: seeded with the oldest of the last `points` samples, then
// e = alpha * x + (1 - alpha) * e over the rest.
double ewma_last(const SampleRing& ring, std::size_t points, double alpha);

// Compact model state of one origin. Every double is on the kStateQuantum grid.
struct DemandModel {
  // EWMAs updated with each sample.
  bool started = false;
  double shortEwma = 0;
  double longEwma = 0;
  // Holt-Winters over seasonStep buckets. Samples are averaged into the open bucket; the bucket is
  // fed to the model when a sample of a later bucket arrives.
  std::int64_t openBucket = -1;  // absolute bucket index (unix ms / stepMs)
  double openSum = 0;
  int openCount = 0;
  std::int64_t firstBucket = -1;  // first bucket ever closed: warm-up runs one season from here
  std::int64_t lastClosed = -1;
  int warmupSeen = 0;
  bool warm = false;  // a full season seen: level/trend/season initialised
  double level = 0;
  double trend = 0;
  std::vector<double> daily;   // dailyBuckets; during warm-up raw bucket means, -1 = unseen
  std::vector<double> weekly;  // kWeeklyBuckets or empty

  bool shaped_for(const ForecastConfig& c) const;
};

void reset_model(DemandModel& m, const ForecastConfig& c);

// Feeds one sample (time must not go backwards; older samples are ignored by the caller).
void model_observe(DemandModel& m, const ForecastConfig& c, std::int64_t atMs, double rps);

// The model's forecast of demand at `targetMs`, made at `nowMs` (the newest sample's time). Uses
// the open bucket's partial mean as a provisional level so the freshest sample counts. For a model
// that is not warm yet, or ForecastModel::kEwma, an EWMA extrapolation capped by the adaptive band.
// Never negative.
struct ForecastView {
  double value = 0;
  bool seasonal = false;  // Holt-Winters was used
};
ForecastView model_forecast(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring,
                            std::int64_t nowMs, std::int64_t targetMs);

// The highest forecast over (now, now + horizon], checked at every bucket boundary in between and
// at the horizon itself: capacity must cover the peak before the next machine could serve.
ForecastView forecast_peak(const DemandModel& m, const ForecastConfig& c, const SampleRing& ring,
                           std::int64_t nowMs, std::int64_t horizonMs);

// forecast_rise()'s Holt-Winters case in one pass: the peak of forecast_peak() minus
// model_forecast() at now, the same arithmetic with the provisional level made once. nullopt when
// model_forecast() would not use Holt-Winters (EWMA, no model, or not warm yet).
std::optional<double> seasonal_rise(const DemandModel& m, const ForecastConfig& c,
                                    std::int64_t nowMs, std::int64_t horizonMs);

}  // namespace autoplacer
