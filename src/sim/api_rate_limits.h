#pragma once
// The Machines API's documented rate limits, enforced by flysim so the controller's client-side
// limiter and its 429 handling are exercised: per action and machine (per app for create)
// 1 req/s with bursts of 3; Get Machine 5 req/s with bursts of 10. Token buckets over the
// injected clock.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace autoplacer::sim {

struct RateLimit {
  double per_second = 1;
  double burst = 3;
};

struct RateLimitConfig {
  bool enabled = true;
  RateLimit action{1, 3};  // start, stop, create (per app), lease, metadata writes, ...
  RateLimit get{5, 10};    // get machine, metadata and lease reads
  // Listing has no documented limit; flysim treats it like Get, per app.
  RateLimit list{5, 10};
};

class ApiRateLimiter {
 public:
  explicit ApiRateLimiter(RateLimitConfig config = {}) : config_(config) {}

  // The limit class of an operation: "get", "list", "action" or "" (not limited).
  static std::string_view limit_class(std::string_view operation);

  // nullopt: allowed (a token is taken). Otherwise how long until a token is available.
  std::optional<Duration> take(std::string_view operation, std::string_view key, TimePoint now);

  const RateLimitConfig& config() const { return config_; }
  void set_config(RateLimitConfig c) { config_ = c; }

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
  };
  RateLimitConfig config_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace autoplacer::sim
