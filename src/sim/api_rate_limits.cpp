#include "sim/api_rate_limits.h"

#include <algorithm>
#include <cmath>

namespace autoplacer::sim {

std::string_view ApiRateLimiter::limit_class(std::string_view op) {
  if (op == "get" || op == "metadata_get" || op == "metadata_get_key" || op == "lease_get")
    return "get";
  if (op == "list") return "list";
  if (op == "regions" || op == "wait") return "";  // waits are long polls, bounded by timeout
  return "action";
}

std::optional<Duration> ApiRateLimiter::take(std::string_view operation, std::string_view key,
                                             TimePoint now) {
  if (!config_.enabled) return std::nullopt;
  const std::string_view cls = limit_class(operation);
  if (cls.empty()) return std::nullopt;
  const RateLimit& limit = cls == "get"    ? config_.get
                           : cls == "list" ? config_.list
                                           : config_.action;
  if (limit.per_second <= 0) return std::nullopt;
  std::string k = std::string(operation) + "|" + std::string(key);
  auto [it, fresh] = buckets_.try_emplace(std::move(k));
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = limit.burst;
    b.last = now;
  }
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.last).count());
  b.tokens = std::min(limit.burst, b.tokens + elapsed * limit.per_second);
  b.last = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_s = (1.0 - b.tokens) / limit.per_second;
  return Duration{static_cast<std::int64_t>(std::ceil(wait_s * 1000.0))};
}

}  // namespace autoplacer::sim
