#pragma once
// Hooks for metrics on Machines API traffic. The controller attaches Prometheus counters here
// (autoplacer_machines_api_requests_total{operation,status}, rate-limit waits); the client only
// calls them. Implementations must be thread-safe and quick (no I/O).
#include <chrono>
#include <string_view>

namespace autoplacer::fly {

class ApiObserver {
 public:
  virtual ~ApiObserver() = default;
  // One HTTP attempt finished. status: the HTTP status as text ("200", "429") or, without a
  // response, the error kind ("transport", "timeout"). Retries report each attempt.
  virtual void on_request(std::string_view operation, std::string_view status,
                          std::chrono::duration<double> elapsed) {
    (void)operation, (void)status, (void)elapsed;
  }
  // The client-side rate limiter held a request back for this long.
  virtual void on_rate_limit_wait(std::string_view operation,
                                  std::chrono::duration<double> waited) {
    (void)operation, (void)waited;
  }
  // A request will be retried (reason: "429", "503", "transport", ...) after `delay`.
  virtual void on_retry(std::string_view operation, std::string_view reason,
                        std::chrono::duration<double> delay) {
    (void)operation, (void)reason, (void)delay;
  }
};

}  // namespace autoplacer::fly
