#pragma once
// The controller's work queue, with client-go's semantics (k8s.io/client-go/util/workqueue):
//
//  - fair: keys are handed out in the order they became ready (FIFO);
//  - de-duplicating: a key waiting in the queue is there once, however often it is added;
//  - stingy: a key is never handed to two workers at once. An add while the key is being
//    processed is remembered ("dirty") and the key is queued again, once, when done() is called;
//  - delayed adds: add_after(key, d) keeps the key in a timer heap until the Clock reaches its
//    ready time; the earliest ready time of a key wins;
//  - rate-limited re-adds: add_rate_limited(key) = add_after(key, limiter.when(key)), where the
//    default limiter is the max of a per-key exponential backoff (5 ms doubling, capped at
//    1000 s) and a global token bucket (10/s, burst 100); forget(key) resets the key's backoff.
//
// Keys are "policy" or "policy/region" (queue_key() builds them).
//
// Thread-safe. Workers take keys with get() (blocking, for threads), try_get() (never blocks) or
// co_await async_get() (coroutines on any Asio executor). Every taken key must be given back
// with done(key). After shut_down(), adds are ignored and every get returns nullopt at once
// (waiters are woken): the controller stops taking work; keys still queued are dropped, which is
// safe because reconciling is level-triggered.
//
// Time comes only from the injected Clock. Delayed keys become ready when a get/len/add notices
// their time has passed, or when promote_due() is called; get() and async_get() also sleep (real
// time) until the next ready time. With a ManualClock, advance the clock and call promote_due().
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "controller/work_queue_metrics.h"
#include "fly/rate_limiter.h"

namespace autoplacer::controller {

// "policy" when region is empty, else "policy/region".
std::string queue_key(std::string_view policy, std::string_view region = {});
struct QueueKeyParts {
  std::string policy;
  std::string region;  // empty for a policy-level key
};
// Splits at the last '/': the inverse of queue_key().
QueueKeyParts split_queue_key(std::string_view key);

// ---- Rate limiters (client-go's RateLimiter interface) --------------------------------------

class WorkQueueRateLimiter {
 public:
  virtual ~WorkQueueRateLimiter() = default;
  // How long the key must wait before its next try. Counts one more failure of the key.
  virtual Duration when(std::string_view key) = 0;
  // The key succeeded: forget its failures.
  virtual void forget(std::string_view key) = 0;
  // Failures counted for the key since the last forget().
  virtual int num_requeues(std::string_view key) const = 0;
};

// base * 2^failures, capped at max_delay.
class ItemExponentialRateLimiter final : public WorkQueueRateLimiter {
 public:
  ItemExponentialRateLimiter(Duration base_delay, Duration max_delay);
  Duration when(std::string_view key) override;
  void forget(std::string_view key) override;
  int num_requeues(std::string_view key) const override;

 private:
  Duration base_;
  Duration max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;
};

// One bucket for all keys: bounds the overall retry rate. Never forgets (there is nothing per
// key to forget) and counts no requeues.
class TokenBucketRateLimiter final : public WorkQueueRateLimiter {
 public:
  TokenBucketRateLimiter(const Clock& clock, double per_second, double burst);
  Duration when(std::string_view key) override;
  void forget(std::string_view key) override { (void)key; }
  int num_requeues(std::string_view key) const override {
    (void)key;
    return 0;
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  fly::TokenBucket bucket_;
};

// The longest delay of its parts; forget/num_requeues go to (and come from) every part.
class MaxOfRateLimiter final : public WorkQueueRateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<WorkQueueRateLimiter>> parts);
  Duration when(std::string_view key) override;
  void forget(std::string_view key) override;
  int num_requeues(std::string_view key) const override;

 private:
  std::vector<std::unique_ptr<WorkQueueRateLimiter>> parts_;
};

struct RateLimiterConfig {
  Duration base_delay = std::chrono::milliseconds(5);
  Duration max_delay = std::chrono::seconds(1000);
  double per_second = 10.0;  // the global token bucket
  double burst = 100.0;
};
// client-go's DefaultControllerRateLimiter: max(per-key exponential, global token bucket).
std::unique_ptr<WorkQueueRateLimiter> make_default_rate_limiter(const Clock& clock,
                                                                RateLimiterConfig config = {});

// ---- The queue ------------------------------------------------------------------------------

struct WorkQueueOptions {
  std::string name = "reconcile";   // the metrics' label name=...
  RateLimiterConfig rate_limits{};  // used when no limiter is passed to the constructor
};

class WorkQueue {
 public:
  // metrics may be null (no metrics); limiter null = make_default_rate_limiter(clock, options).
  explicit WorkQueue(const Clock& clock, WorkQueueOptions options = {},
                     std::shared_ptr<WorkQueueMetrics> metrics = nullptr,
                     std::unique_ptr<WorkQueueRateLimiter> limiter = nullptr);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues the key now (see the coalescing rules above). Ignored after shut_down().
  void add(std::string_view key);
  // Queues the key once the clock reaches now + delay (delay <= 0: add() now). A key already
  // waiting keeps the earlier of its two ready times.
  void add_after(std::string_view key, Duration delay);
  // add_after(key, limiter.when(key)); counts a retry. Returns the delay chosen.
  Duration add_rate_limited(std::string_view key);
  // Resets the key's backoff (call after a successful pass, and on RequeueAfter).
  void forget(std::string_view key);
  int num_requeues(std::string_view key) const;

  // The next ready key, now, or nullopt (empty or shutting down). Never blocks.
  std::optional<std::string> try_get();
  // Blocks the calling thread until a key is ready (nullopt once shut down).
  std::optional<std::string> get();
  // The same for coroutines: suspends (without blocking a thread) until a key is ready or the
  // queue shuts down. Cancellable; a cancelled wait takes no key.
  boost::asio::awaitable<std::optional<std::string>> async_get();
  // The worker is finished with the key. A key added meanwhile is queued again now.
  void done(std::string_view key);

  // Stops the queue: adds are ignored, every waiter wakes with nullopt. Keys in processing may
  // still be done().
  void shut_down();
  bool shutting_down() const;

  // Moves delayed keys whose ready time has passed into the queue, waking waiters. Returns the
  // time until the next delayed key is ready (nullopt: none waits).
  std::optional<Duration> promote_due();
  // Publishes workqueue_unfinished_work_seconds and workqueue_longest_running_processor_seconds
  // (client-go does it every 500 ms; the owner calls this on its own timer, it is also done on
  // every get and done).
  void report_unfinished_work();

  std::size_t len() const;             // ready keys (workqueue_depth)
  std::size_t delayed_len() const;     // keys in the timer heap
  std::size_t processing_len() const;  // keys handed out and not done yet
  bool is_processing(std::string_view key) const;
  const std::string& name() const { return options_.name; }

 private:
  struct AsyncWaiter;

  void add_locked(const std::string& key, TimePoint now);
  std::optional<Duration> promote_due_locked(TimePoint now);
  std::optional<std::string> take_locked(TimePoint now);
  void publish_depth_locked();
  void report_unfinished_locked(TimePoint now);
  void wake_one_locked();
  void wake_all_locked();

  const Clock& clock_;
  WorkQueueOptions options_;
  std::shared_ptr<WorkQueueMetrics> metrics_;
  std::unique_ptr<WorkQueueRateLimiter> limiter_;

  mutable std::mutex mu_;
  std::condition_variable ready_cv_;
  bool shutting_down_ = false;
  std::deque<std::string> queue_;                          // ready, in order
  std::unordered_set<std::string> dirty_;                  // needs processing (queued or re-added)
  std::unordered_map<std::string, TimePoint> processing_;  // key -> when it was handed out
  std::unordered_map<std::string, TimePoint> added_at_;    // queued key -> when it became ready
  // The timer heap: (ready time, sequence, key) ordered, and each waiting key's entry.
  using DelayedEntry = std::tuple<TimePoint, std::uint64_t, std::string>;
  std::set<DelayedEntry> delayed_;
  std::unordered_map<std::string, std::pair<TimePoint, std::uint64_t>> delayed_index_;
  std::uint64_t next_sequence_ = 0;
  std::list<std::shared_ptr<AsyncWaiter>> async_waiters_;
};

}  // namespace autoplacer::controller
