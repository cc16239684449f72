#include <gtest/gtest.h>

#include "common/clock.h"
#include "fly/rate_limiter.h"

namespace autoplacer::fly {
namespace {
using std::chrono::milliseconds;

TEST(TokenBucket, BurstThenSteadyRate) {
  ManualClock clock;
  TokenBucket b({1.0, 3.0}, clock.now());
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(0));
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(0));
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(0));
  // Burst spent: the 4th waits 1 s, the 5th 2 s (reservations queue up).
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(1000));
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(2000));
  clock.advance(milliseconds(2000));
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(1000));
}

TEST(TokenBucket, RefillsUpToBurstOnly) {
  ManualClock clock;
  TokenBucket b({5.0, 10.0}, clock.now());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.reserve(clock.now()), milliseconds(0));
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(200));
  clock.advance(milliseconds(60'000));
  EXPECT_DOUBLE_EQ(b.tokens(clock.now()), 10.0);
  EXPECT_TRUE(b.idle(clock.now()));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.reserve(clock.now()), milliseconds(0));
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(200));
}

TEST(TokenBucket, NTakesTheTimeTheRateAllows) {
  // N requests at 1/s burst 3 need N-3 seconds after the burst.
  ManualClock clock;
  TokenBucket b({1.0, 3.0}, clock.now());
  Duration last{0};
  for (int i = 0; i < 10; ++i) last = b.reserve(clock.now());
  EXPECT_EQ(last, milliseconds(7000));
}

TEST(TokenBucket, ClockGoingBackwardsDoesNotMintTokens) {
  ManualClock clock(TimePoint{milliseconds(10'000)});
  TokenBucket b({1.0, 1.0}, clock.now());
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(0));
  clock.set(TimePoint{milliseconds(5'000)});
  EXPECT_EQ(b.reserve(clock.now()), milliseconds(1000));
}

TEST(RateLimiter, BucketsPerActionAndKey) {
  ManualClock clock;
  RateLimiter limiter(clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.reserve("start", "m1"), milliseconds(0));
  EXPECT_EQ(limiter.reserve("start", "m1"), milliseconds(1000));
  // Another machine, another action: own buckets.
  EXPECT_EQ(limiter.reserve("start", "m2"), milliseconds(0));
  EXPECT_EQ(limiter.reserve("stop", "m1"), milliseconds(0));
  // get uses the Get Machine limit: burst 10 at 5/s.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.reserve("get", "m1"), milliseconds(0));
  EXPECT_EQ(limiter.reserve("get", "m1"), milliseconds(200));
  EXPECT_EQ(limiter.bucket_count(), 4u);
}

TEST(RateLimiter, CustomLimits) {
  ManualClock clock;
  RateLimits limits;
  limits.per_action = {10.0, 1.0};
  RateLimiter limiter(clock, limits);
  EXPECT_EQ(limiter.reserve("create", "app"), milliseconds(0));
  EXPECT_EQ(limiter.reserve("create", "app"), milliseconds(100));
}

}  // namespace
}  // namespace autoplacer::fly
