// The work queue's client-go semantics, one test per rule, with a ManualClock.
#include "controller/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace autoplacer::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class WorkQueueTest : public ::testing::Test {
 protected:
  ManualClock clock{TimePoint{seconds(1'000'000)}};
  std::shared_ptr<RecordingWorkQueueMetrics> metrics =
      std::make_shared<RecordingWorkQueueMetrics>();
  WorkQueue queue{clock, WorkQueueOptions{"test", {}}, metrics};
};

TEST(QueueKeyTest, BuildsAndSplits) {
  EXPECT_EQ(queue_key("web"), "web");
  EXPECT_EQ(queue_key("web", "fra"), "web/fra");
  auto parts = split_queue_key("web/fra");
  EXPECT_EQ(parts.policy, "web");
  EXPECT_EQ(parts.region, "fra");
  parts = split_queue_key("web");
  EXPECT_EQ(parts.policy, "web");
  EXPECT_EQ(parts.region, "");
}

TEST_F(WorkQueueTest, IsFifo) {
  queue.add("a");
  queue.add("b");
  queue.add("c");
  EXPECT_EQ(queue.try_get(), "a");
  EXPECT_EQ(queue.try_get(), "b");
  EXPECT_EQ(queue.try_get(), "c");
  EXPECT_EQ(queue.try_get(), std::nullopt);
}

TEST_F(WorkQueueTest, DeduplicatesWaitingKeys) {
  queue.add("a");
  queue.add("b");
  queue.add("a");
  queue.add("a");
  EXPECT_EQ(queue.len(), 2u);
  EXPECT_EQ(queue.try_get(), "a");
  EXPECT_EQ(queue.try_get(), "b");
  EXPECT_EQ(queue.try_get(), std::nullopt);
  // Every add counts (client-go counts coalesced adds too).
  EXPECT_EQ(metrics->get("test").adds, 4);
}

TEST_F(WorkQueueTest, NeverHandsOneKeyToTwoWorkers) {
  queue.add("a");
  auto first = queue.try_get();
  ASSERT_EQ(first, "a");
  EXPECT_TRUE(queue.is_processing("a"));
  queue.add("a");
  // Still being processed: a second worker gets nothing.
  EXPECT_EQ(queue.try_get(), std::nullopt);
  EXPECT_EQ(queue.len(), 0u);
}

TEST_F(WorkQueueTest, AddsWhileProcessingCoalesceIntoOneRerunAfterDone) {
  queue.add("a");
  ASSERT_EQ(queue.try_get(), "a");
  queue.add("a");
  queue.add("a");
  queue.add("a");
  EXPECT_EQ(queue.try_get(), std::nullopt);
  queue.done("a");
  EXPECT_EQ(queue.len(), 1u);
  EXPECT_EQ(queue.try_get(), "a");
  queue.done("a");
  EXPECT_EQ(queue.try_get(), std::nullopt);  // exactly one re-run
}

TEST_F(WorkQueueTest, DoneWithoutReaddDoesNotRequeue) {
  queue.add("a");
  ASSERT_EQ(queue.try_get(), "a");
  queue.done("a");
  EXPECT_EQ(queue.try_get(), std::nullopt);
  EXPECT_EQ(queue.processing_len(), 0u);
  queue.done("never-taken");  // harmless
}

TEST_F(WorkQueueTest, ReaddedKeyGoesToTheBackOfTheLine) {
  queue.add("a");
  queue.add("b");
  ASSERT_EQ(queue.try_get(), "a");
  queue.add("a");
  queue.add("c");
  queue.done("a");
  EXPECT_EQ(queue.try_get(), "b");
  EXPECT_EQ(queue.try_get(), "c");
  EXPECT_EQ(queue.try_get(), "a");
}

TEST_F(WorkQueueTest, AddAfterWaitsForTheClock) {
  queue.add_after("a", milliseconds(100));
  EXPECT_EQ(queue.try_get(), std::nullopt);
  EXPECT_EQ(queue.delayed_len(), 1u);
  clock.advance(milliseconds(99));
  EXPECT_EQ(queue.try_get(), std::nullopt);
  EXPECT_EQ(queue.promote_due(), std::optional<Duration>(milliseconds(1)));
  clock.advance(milliseconds(1));
  EXPECT_EQ(queue.try_get(), "a");
  EXPECT_EQ(queue.delayed_len(), 0u);
}

TEST_F(WorkQueueTest, AddAfterOrdersByReadyTime) {
  queue.add_after("late", milliseconds(300));
  queue.add_after("early", milliseconds(100));
  queue.add_after("middle", milliseconds(200));
  queue.add_after("middle2", milliseconds(200));
  clock.advance(seconds(1));
  EXPECT_EQ(queue.promote_due(), std::nullopt);
  EXPECT_EQ(queue.try_get(), "early");
  EXPECT_EQ(queue.try_get(), "middle");
  EXPECT_EQ(queue.try_get(), "middle2");  // equal times: in the order added
  EXPECT_EQ(queue.try_get(), "late");
}

TEST_F(WorkQueueTest, AddAfterKeepsTheEarlierReadyTime) {
  queue.add_after("a", milliseconds(500));
  queue.add_after("a", milliseconds(100));  // earlier: replaces
  queue.add_after("a", milliseconds(900));  // later: ignored
  EXPECT_EQ(queue.delayed_len(), 1u);
  clock.advance(milliseconds(100));
  EXPECT_EQ(queue.try_get(), "a");
  queue.done("a");
  clock.advance(seconds(2));
  EXPECT_EQ(queue.try_get(), std::nullopt);  // no second copy
}

TEST_F(WorkQueueTest, AddAfterZeroIsAnAdd) {
  queue.add_after("a", milliseconds(0));
  EXPECT_EQ(queue.try_get(), "a");
}

TEST_F(WorkQueueTest, AddNowSupersedesADelayedEntry) {
  queue.add_after("a", seconds(30));
  queue.add("a");
  EXPECT_EQ(queue.delayed_len(), 0u);
  EXPECT_EQ(queue.try_get(), "a");
  queue.done("a");
  clock.advance(seconds(31));
  EXPECT_EQ(queue.try_get(), std::nullopt);
}

TEST_F(WorkQueueTest, DelayedKeyWhileProcessingRunsAfterDone) {
  queue.add("a");
  ASSERT_EQ(queue.try_get(), "a");
  queue.add_after("a", milliseconds(10));
  clock.advance(milliseconds(10));
  EXPECT_EQ(queue.try_get(), std::nullopt);  // still in processing
  queue.done("a");
  EXPECT_EQ(queue.try_get(), "a");
}

TEST_F(WorkQueueTest, BackoffGrowsPerKeyAndForgetResetsIt) {
  // A queue with only the exponential part, to see its growth undisturbed.
  WorkQueue q(clock, WorkQueueOptions{"backoff", {}}, metrics,
              std::make_unique<ItemExponentialRateLimiter>(milliseconds(5), seconds(1000)));
  EXPECT_EQ(q.add_rate_limited("a"), milliseconds(5));
  EXPECT_EQ(q.add_rate_limited("a"), milliseconds(10));
  EXPECT_EQ(q.add_rate_limited("a"), milliseconds(20));
  EXPECT_EQ(q.add_rate_limited("a"), milliseconds(40));
  EXPECT_EQ(q.num_requeues("a"), 4);
  // Another key has its own backoff.
  EXPECT_EQ(q.add_rate_limited("b"), milliseconds(5));
  q.forget("a");
  EXPECT_EQ(q.num_requeues("a"), 0);
  EXPECT_EQ(q.add_rate_limited("a"), milliseconds(5));
  EXPECT_EQ(metrics->get("backoff").retries, 6);
}

TEST(ItemExponentialRateLimiterTest, CapsAtTheMaximum) {
  ItemExponentialRateLimiter limiter(milliseconds(5), seconds(1000));
  Duration last{};
  for (int i = 0; i < 100; ++i) last = limiter.when("a");
  EXPECT_EQ(last, seconds(1000));
  EXPECT_EQ(limiter.num_requeues("a"), 100);
}

TEST(ItemExponentialRateLimiterTest, Configurable) {
  ItemExponentialRateLimiter limiter(milliseconds(100), seconds(1));
  EXPECT_EQ(limiter.when("a"), milliseconds(100));
  EXPECT_EQ(limiter.when("a"), milliseconds(200));
  EXPECT_EQ(limiter.when("a"), milliseconds(400));
  EXPECT_EQ(limiter.when("a"), milliseconds(800));
  EXPECT_EQ(limiter.when("a"), seconds(1));
}

TEST(TokenBucketRateLimiterTest, BurstThenRate) {
  ManualClock clock{TimePoint{seconds(100)}};
  TokenBucketRateLimiter limiter(clock, 10.0, 100.0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.when("k" + std::to_string(i)), Duration{0});
  // The bucket is empty: each further retry waits 100 ms more than the one before.
  EXPECT_EQ(limiter.when("x"), milliseconds(100));
  EXPECT_EQ(limiter.when("y"), milliseconds(200));
  clock.advance(seconds(1));  // refills 10 tokens, 2 of which were already promised
  for (int i = 0; i < 8; ++i) EXPECT_EQ(limiter.when("z"), Duration{0});
  EXPECT_EQ(limiter.when("z"), milliseconds(100));
}

TEST(DefaultRateLimiterTest, IsTheMaxOfBackoffAndBucket) {
  ManualClock clock{TimePoint{seconds(100)}};
  auto limiter = make_default_rate_limiter(clock, RateLimiterConfig{
                                                      .base_delay = milliseconds(5),
                                                      .max_delay = seconds(1000),
                                                      .per_second = 10.0,
                                                      .burst = 2.0,
                                                  });
  EXPECT_EQ(limiter->when("a"), milliseconds(5));    // backoff 5, bucket 0
  EXPECT_EQ(limiter->when("a"), milliseconds(10));   // backoff 10, bucket 0
  EXPECT_EQ(limiter->when("b"), milliseconds(100));  // backoff 5, bucket 100: bucket wins
  EXPECT_EQ(limiter->num_requeues("a"), 2);
  limiter->forget("a");
  EXPECT_EQ(limiter->num_requeues("a"), 0);
}

TEST_F(WorkQueueTest, ShutdownStopsAddsAndGets) {
  queue.add("a");
  queue.shut_down();
  EXPECT_TRUE(queue.shutting_down());
  EXPECT_EQ(queue.try_get(), std::nullopt);
  queue.add("b");
  queue.add_after("c", milliseconds(1));
  EXPECT_EQ(queue.get(), std::nullopt);  // returns at once
}

TEST_F(WorkQueueTest, ShutdownWakesBlockedWorkers) {
  std::atomic<int> woke{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      if (!queue.get()) ++woke;
    });
  }
  // The workers may or may not be waiting yet; either way they must all return.
  queue.shut_down();
  for (auto& w : workers) w.join();
  EXPECT_EQ(woke.load(), 3);
}

TEST_F(WorkQueueTest, BlockedWorkerGetsAKeyAddedLater) {
  std::optional<std::string> got;
  std::thread worker([&] { got = queue.get(); });
  queue.add("a");
  worker.join();
  EXPECT_EQ(got, "a");
}

TEST_F(WorkQueueTest, BlockedWorkerGetsADelayedKeyOncePromoted) {
  queue.add_after("a", seconds(10));
  std::optional<std::string> got;
  std::thread worker([&] { got = queue.get(); });
  clock.advance(seconds(10));
  queue.promote_due();
  worker.join();
  EXPECT_EQ(got, "a");
}

TEST_F(WorkQueueTest, ConcurrentWorkersNeverShareAKey) {
  // Many workers, few keys added over and over: a key must never be in two hands at once.
  constexpr int kWorkers = 4;
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::mutex in_hand_mu;
  std::set<std::string> in_hand;
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        {
          std::lock_guard lock(in_hand_mu);
          if (!in_hand.insert(*key).second) overlap = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(in_hand_mu);
          in_hand.erase(*key);
        }
        ++processed;
        queue.done(*key);
      }
    });
  }
  for (int round = 0; round < 2000; ++round) queue.add("k" + std::to_string(round % 5));
  // Let the queue drain, then stop.
  while (queue.len() > 0 || queue.processing_len() > 0) std::this_thread::yield();
  queue.shut_down();
  for (auto& w : workers) w.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GT(processed.load(), 0);
}

TEST_F(WorkQueueTest, ReportsQueueAndWorkDurationsAndDepth) {
  queue.add("a");
  queue.add("b");
  EXPECT_EQ(metrics->get("test").depth, 2);
  clock.advance(milliseconds(250));
  ASSERT_EQ(queue.try_get(), "a");
  EXPECT_EQ(metrics->get("test").depth, 1);
  clock.advance(seconds(2));
  queue.report_unfinished_work();
  EXPECT_DOUBLE_EQ(metrics->get("test").unfinished_work, 2.0);
  EXPECT_DOUBLE_EQ(metrics->get("test").longest_running, 2.0);
  ASSERT_EQ(queue.try_get(), "b");
  clock.advance(seconds(1));
  queue.report_unfinished_work();
  EXPECT_DOUBLE_EQ(metrics->get("test").unfinished_work, 3.0 + 1.0);
  EXPECT_DOUBLE_EQ(metrics->get("test").longest_running, 3.0);
  queue.done("a");
  queue.done("b");
  auto s = metrics->get("test");
  ASSERT_EQ(s.queue_durations.size(), 2u);
  EXPECT_DOUBLE_EQ(s.queue_durations[0], 0.25);
  EXPECT_DOUBLE_EQ(s.queue_durations[1], 2.25);
  ASSERT_EQ(s.work_durations.size(), 2u);
  EXPECT_DOUBLE_EQ(s.work_durations[0], 3.0);
  EXPECT_DOUBLE_EQ(s.work_durations[1], 1.0);
  EXPECT_DOUBLE_EQ(s.unfinished_work, 0.0);
  EXPECT_EQ(s.depth, 0);
}

TEST_F(WorkQueueTest, QueueDurationOfADelayedKeyStartsWhenItIsReady) {
  queue.add_after("a", seconds(5));
  clock.advance(seconds(5));
  queue.promote_due();
  clock.advance(milliseconds(500));
  ASSERT_EQ(queue.try_get(), "a");
  auto s = metrics->get("test");
  ASSERT_EQ(s.queue_durations.size(), 1u);
  EXPECT_DOUBLE_EQ(s.queue_durations[0], 0.5);
}

}  // namespace
}  // namespace autoplacer::controller
