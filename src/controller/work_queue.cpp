#include "controller/work_queue.h"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

namespace autoplacer::controller {

namespace asio = boost::asio;

std::string queue_key(std::string_view policy, std::string_view region) {
  std::string key(policy);
  if (!region.empty()) {
    key += '/';
    key += region;
  }
  return key;
}

QueueKeyParts split_queue_key(std::string_view key) {
  auto slash = key.rfind('/');
  if (slash == std::string_view::npos) return {std::string(key), {}};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

// ---- Rate limiters --------------------------------------------------------------------------

ItemExponentialRateLimiter::ItemExponentialRateLimiter(Duration base_delay, Duration max_delay)
    : base_(std::max(base_delay, Duration{0})), max_(std::max(max_delay, Duration{0})) {}

Duration ItemExponentialRateLimiter::when(std::string_view key) {
  int failures = 0;
  {
    std::lock_guard lock(mu_);
    failures = failures_[std::string(key)]++;
  }
  // Computed in double so a long streak of failures cannot overflow before the cap applies.
  double delay = static_cast<double>(base_.count()) * std::pow(2.0, failures);
  if (delay >= static_cast<double>(max_.count())) return max_;
  return Duration{static_cast<Duration::rep>(delay)};
}

void ItemExponentialRateLimiter::forget(std::string_view key) {
  std::lock_guard lock(mu_);
  failures_.erase(std::string(key));
}

int ItemExponentialRateLimiter::num_requeues(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(std::string(key));
  return it == failures_.end() ? 0 : it->second;
}

TokenBucketRateLimiter::TokenBucketRateLimiter(const Clock& clock, double per_second, double burst)
    : clock_(clock), bucket_(fly::BucketLimit{per_second, burst}, clock.now()) {}

Duration TokenBucketRateLimiter::when(std::string_view key) {
  (void)key;
  std::lock_guard lock(mu_);
  return bucket_.reserve(clock_.now());
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::unique_ptr<WorkQueueRateLimiter>> parts)
    : parts_(std::move(parts)) {}

Duration MaxOfRateLimiter::when(std::string_view key) {
  Duration longest{0};
  for (auto& part : parts_) longest = std::max(longest, part->when(key));
  return longest;
}

void MaxOfRateLimiter::forget(std::string_view key) {
  for (auto& part : parts_) part->forget(key);
}

int MaxOfRateLimiter::num_requeues(std::string_view key) const {
  int most = 0;
  for (const auto& part : parts_) most = std::max(most, part->num_requeues(key));
  return most;
}

std::unique_ptr<WorkQueueRateLimiter> make_default_rate_limiter(const Clock& clock,
                                                                RateLimiterConfig config) {
  std::vector<std::unique_ptr<WorkQueueRateLimiter>> parts;
  parts.push_back(
      std::make_unique<ItemExponentialRateLimiter>(config.base_delay, config.max_delay));
  parts.push_back(std::make_unique<TokenBucketRateLimiter>(clock, config.per_second, config.burst));
  return std::make_unique<MaxOfRateLimiter>(std::move(parts));
}

// ---- The queue ------------------------------------------------------------------------------

namespace {
double seconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}
// A waiter sleeps at least this long when a delayed key is due "now" but the clock (a
// ManualClock) has not moved: avoids spinning.
constexpr Duration kMinSleep{1};
}  // namespace

// A coroutine waiting in async_get(). The channel carries only "look again" signals; the key is
// always taken under the queue's lock by the waiter itself, so a cancelled waiter loses no key.
// `signalled` (guarded by the queue's mutex) keeps wake_one from signalling the same waiter twice.
struct WorkQueue::AsyncWaiter {
  explicit AsyncWaiter(const asio::any_io_executor& executor) : channel(executor, 1) {}
  asio::experimental::concurrent_channel<void(boost::system::error_code)> channel;
  bool signalled = false;
};

WorkQueue::WorkQueue(const Clock& clock, WorkQueueOptions options,
                     std::shared_ptr<WorkQueueMetrics> metrics,
                     std::unique_ptr<WorkQueueRateLimiter> limiter)
    : clock_(clock),
      options_(std::move(options)),
      metrics_(metrics ? std::move(metrics) : std::make_shared<WorkQueueMetrics>()),
      limiter_(limiter ? std::move(limiter)
                       : make_default_rate_limiter(clock, options_.rate_limits)) {
  metrics_->set_depth(options_.name, 0);
}

WorkQueue::~WorkQueue() {
  shut_down();
}

void WorkQueue::add(std::string_view key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  add_locked(std::string(key), clock_.now());
}

void WorkQueue::add_locked(const std::string& key, TimePoint now) {
  metrics_->on_add(options_.name);
  // A key queued now no longer needs its delayed entry (client-go keeps both; dropping it saves
  // a pointless second pass).
  if (auto it = delayed_index_.find(key); it != delayed_index_.end()) {
    delayed_.erase(DelayedEntry{it->second.first, it->second.second, key});
    delayed_index_.erase(it);
  }
  if (!dirty_.insert(key).second) return;  // already waiting: coalesced
  if (processing_.contains(key)) return;   // queued again by done()
  queue_.push_back(key);
  added_at_[key] = now;
  publish_depth_locked();
  ready_cv_.notify_one();
  wake_one_locked();
}

void WorkQueue::add_after(std::string_view key, Duration delay) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  TimePoint now = clock_.now();
  std::string k(key);
  if (delay <= Duration{0}) {
    add_locked(k, now);
    return;
  }
  // Already waiting to be handed out: the earlier time (now) wins.
  if (dirty_.contains(k) && !processing_.contains(k)) return;
  TimePoint ready_at = now + delay;
  if (auto it = delayed_index_.find(k); it != delayed_index_.end()) {
    if (it->second.first <= ready_at) return;  // the earlier ready time wins
    delayed_.erase(DelayedEntry{it->second.first, it->second.second, k});
    delayed_index_.erase(it);
  }
  std::uint64_t seq = next_sequence_++;
  delayed_.insert(DelayedEntry{ready_at, seq, k});
  delayed_index_[k] = {ready_at, seq};
  // Waiters sleeping until a later ready time must recompute their sleep.
  ready_cv_.notify_all();
  wake_all_locked();
}

Duration WorkQueue::add_rate_limited(std::string_view key) {
  Duration delay = limiter_->when(key);
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return delay;
    metrics_->on_retry(options_.name);
  }
  add_after(key, delay);
  return delay;
}

void WorkQueue::forget(std::string_view key) {
  limiter_->forget(key);
}

int WorkQueue::num_requeues(std::string_view key) const {
  return limiter_->num_requeues(key);
}

std::optional<Duration> WorkQueue::promote_due() {
  std::lock_guard lock(mu_);
  return promote_due_locked(clock_.now());
}

std::optional<Duration> WorkQueue::promote_due_locked(TimePoint now) {
  while (!delayed_.empty()) {
    const auto& [ready_at, seq, key] = *delayed_.begin();
    if (ready_at > now) return ready_at - now;
    std::string k = key;
    delayed_index_.erase(k);
    delayed_.erase(delayed_.begin());
    if (!shutting_down_) add_locked(k, now);
  }
  return std::nullopt;
}

std::optional<std::string> WorkQueue::take_locked(TimePoint now) {
  promote_due_locked(now);
  if (shutting_down_ || queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  if (auto it = added_at_.find(key); it != added_at_.end()) {
    metrics_->observe_queue_duration(options_.name, seconds_between(it->second, now));
    added_at_.erase(it);
  }
  processing_[key] = now;
  dirty_.erase(key);
  publish_depth_locked();
  report_unfinished_locked(now);
  return key;
}

std::optional<std::string> WorkQueue::try_get() {
  std::lock_guard lock(mu_);
  return take_locked(clock_.now());
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (shutting_down_) return std::nullopt;
    TimePoint now = clock_.now();
    if (auto key = take_locked(now)) return key;
    auto next = promote_due_locked(now);
    if (next) {
      ready_cv_.wait_for(lock, std::max(*next, kMinSleep));
    } else {
      ready_cv_.wait(lock);
    }
  }
}

asio::awaitable<std::optional<std::string>> WorkQueue::async_get() {
  using namespace asio::experimental::awaitable_operators;
  auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<AsyncWaiter>(executor);
  // Leaves the waiter list however the coroutine ends (woken, shut down, cancelled, destroyed).
  // A waiter that was signalled but takes no key passes the signal on, so no key is stranded.
  struct Unregister {
    WorkQueue& queue;
    std::shared_ptr<AsyncWaiter>& waiter;
    bool took_key = false;
    ~Unregister() {
      std::lock_guard lock(queue.mu_);
      queue.async_waiters_.remove(waiter);
      if (waiter->signalled && !took_key && !queue.queue_.empty()) queue.wake_one_locked();
    }
  } unregister{*this, waiter};

  asio::steady_timer timer(executor);
  for (;;) {
    std::optional<Duration> next;
    {
      std::lock_guard lock(mu_);
      if (shutting_down_) co_return std::nullopt;
      TimePoint now = clock_.now();
      if (auto key = take_locked(now)) {
        unregister.took_key = true;
        if (waiter->signalled) waiter->signalled = false;
        // More ready keys than signals so far: pass one on.
        if (!queue_.empty()) wake_one_locked();
        co_return key;
      }
      next = promote_due_locked(now);
      waiter->signalled = false;
      // Drain a stale signal so the next wait really waits.
      while (waiter->channel.try_receive([](boost::system::error_code) {})) {
      }
      if (std::find(async_waiters_.begin(), async_waiters_.end(), waiter) == async_waiters_.end()) {
        async_waiters_.push_back(waiter);
      }
    }
    boost::system::error_code ec;
    if (next) {
      timer.expires_after(std::max(*next, kMinSleep));
      co_await (waiter->channel.async_receive(asio::redirect_error(asio::use_awaitable, ec)) ||
                timer.async_wait(asio::redirect_error(asio::use_awaitable, ec)));
    } else {
      co_await waiter->channel.async_receive(asio::redirect_error(asio::use_awaitable, ec));
    }
    // Cancellation of this coroutine (not of the inner operations by ||) ends the wait.
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
  }
}

void WorkQueue::done(std::string_view key) {
  std::lock_guard lock(mu_);
  TimePoint now = clock_.now();
  std::string k(key);
  auto it = processing_.find(k);
  if (it == processing_.end()) return;  // not handed out: nothing to finish
  metrics_->observe_work_duration(options_.name, seconds_between(it->second, now));
  processing_.erase(it);
  if (dirty_.contains(k) && !shutting_down_) {
    queue_.push_back(k);
    added_at_[k] = now;
    publish_depth_locked();
    ready_cv_.notify_one();
    wake_one_locked();
  }
  report_unfinished_locked(now);
}

void WorkQueue::shut_down() {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  ready_cv_.notify_all();
  wake_all_locked();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

void WorkQueue::report_unfinished_work() {
  std::lock_guard lock(mu_);
  report_unfinished_locked(clock_.now());
}

void WorkQueue::report_unfinished_locked(TimePoint now) {
  double total = 0;
  double longest = 0;
  for (const auto& [key, since] : processing_) {
    double age = std::max(0.0, seconds_between(since, now));
    total += age;
    longest = std::max(longest, age);
  }
  metrics_->set_unfinished_work(options_.name, total);
  metrics_->set_longest_running_processor(options_.name, longest);
}

void WorkQueue::publish_depth_locked() {
  metrics_->set_depth(options_.name, static_cast<std::int64_t>(queue_.size()));
}

void WorkQueue::wake_one_locked() {
  for (auto& waiter : async_waiters_) {
    if (waiter->signalled) continue;
    waiter->signalled = true;
    waiter->channel.try_send(boost::system::error_code{});
    return;
  }
}

void WorkQueue::wake_all_locked() {
  for (auto& waiter : async_waiters_) {
    waiter->signalled = true;
    waiter->channel.try_send(boost::system::error_code{});
  }
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::size_t WorkQueue::delayed_len() const {
  std::lock_guard lock(mu_);
  return delayed_.size();
}

std::size_t WorkQueue::processing_len() const {
  std::lock_guard lock(mu_);
  return processing_.size();
}

bool WorkQueue::is_processing(std::string_view key) const {
  std::lock_guard lock(mu_);
  return processing_.contains(std::string(key));
}

}  // namespace autoplacer::controller
