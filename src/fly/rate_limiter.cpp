#include "fly/rate_limiter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

namespace autoplacer::fly {

namespace {
double seconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

double TokenBucket::tokens(TimePoint now) const {
  const double elapsed = now > last_ ? seconds_between(last_, now) : 0.0;
  return std::min(limit_.burst, tokens_ + elapsed * limit_.per_second);
}

Duration TokenBucket::reserve(TimePoint now) {
  tokens_ = tokens(now);
  if (now > last_) last_ = now;
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Duration{0};
  // Round up to whole ms so the token has certainly refilled when the caller wakes.
  const double wait_ms = std::ceil(-tokens_ / limit_.per_second * 1000.0);
  return Duration{static_cast<Duration::rep>(wait_ms)};
}

bool TokenBucket::try_take(TimePoint now) {
  tokens_ = tokens(now);
  if (now > last_) last_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

TokenBucket& RateLimiter::bucket(std::string_view action, std::string_view key, TimePoint now) {
  // Forget idle buckets now and then so machine ids that went away do not accumulate.
  constexpr std::size_t kPruneAbove = 4096;
  if (buckets_.size() > kPruneAbove) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = it->second.idle(now) ? buckets_.erase(it) : std::next(it);
    }
  }
  auto id = std::make_pair(std::string(action), std::string(key));
  auto it = buckets_.find(id);
  if (it == buckets_.end()) {
    const BucketLimit limit = action == "get" ? limits_.get_machine : limits_.per_action;
    it = buckets_.emplace(std::move(id), TokenBucket(limit, now)).first;
  }
  return it->second;
}

Duration RateLimiter::reserve(std::string_view action, std::string_view key) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  return bucket(action, key, now).reserve(now);
}

bool RateLimiter::try_acquire(std::string_view action, std::string_view key) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  return bucket(action, key, now).try_take(now);
}

boost::asio::awaitable<void> RateLimiter::acquire(std::string_view action, std::string_view key) {
  const std::string op(action);  // views may dangle across the suspension below
  const Duration delay = reserve(action, key);
  if (delay.count() <= 0) co_return;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  timer.expires_after(delay);
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (observer_) observer_->on_rate_limit_wait(op, std::chrono::duration<double>(delay));
}

std::size_t RateLimiter::bucket_count() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace autoplacer::fly
