#pragma once
// Client-side rate limiting to Fly's documented Machines API limits, so a correct controller
// never gets a 429: per action and per machine (per app for app-level actions like create and
// list) 1 request/s with bursts of 3; Get Machine 5/s with bursts of 10.
//
// The math (TokenBucket, RateLimiter::reserve) reads only the injected Clock and is unit-tested
// with ManualClock. The async wait (acquire) sleeps on a steady timer for the reserved delay.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "fly/observer.h"

namespace autoplacer::fly {

struct BucketLimit {
  double per_second = 1.0;
  double burst = 3.0;
};

// A token bucket with reservations: reserve() always takes a token, possibly going into debt,
// and returns how long the caller must wait before its token is really available. Concurrent
// callers thus queue up at the bucket's rate, in call order.
class TokenBucket {
 public:
  TokenBucket(BucketLimit limit, TimePoint now) : limit_(limit), tokens_(limit.burst), last_(now) {}
  Duration reserve(TimePoint now);
  // Takes a token only if one is available now (a server refusing with 429 works this way).
  bool try_take(TimePoint now);
  // Tokens available now (negative while reservations are outstanding).
  double tokens(TimePoint now) const;
  // Full and untouched for a while: safe to forget.
  bool idle(TimePoint now) const { return tokens(now) >= limit_.burst; }

 private:
  BucketLimit limit_;
  double tokens_;
  TimePoint last_;
};

struct RateLimits {
  BucketLimit per_action{1.0, 3.0};  // per action and machine, or per app for app-level ones
  BucketLimit get_machine{5.0, 10.0};
};

class RateLimiter {
 public:
  using Limits = RateLimits;

  explicit RateLimiter(const Clock& clock, Limits limits = Limits{},
                       std::shared_ptr<ApiObserver> observer = nullptr)
      : clock_(clock), limits_(limits), observer_(std::move(observer)) {}

  // action: the operation name ("get", "start", "create", ...). key: the machine id, or the app
  // name for app-level actions. Returns the delay before the request may go.
  Duration reserve(std::string_view action, std::string_view key);
  // reserve() and sleep for the delay (reported to the observer).
  boost::asio::awaitable<void> acquire(std::string_view action, std::string_view key);
  // Server side (flysim, test servers): true and a token taken, or false (answer 429).
  bool try_acquire(std::string_view action, std::string_view key);

  std::size_t bucket_count() const;

 private:
  TokenBucket& bucket(std::string_view action, std::string_view key, TimePoint now);  // mu_ held

  const Clock& clock_;
  Limits limits_;
  std::shared_ptr<ApiObserver> observer_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, TokenBucket, std::less<>> buckets_;
};

}  // namespace autoplacer::fly
