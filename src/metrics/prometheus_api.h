#pragma once
// The two Prometheus HTTP API calls the traffic source needs, behind an interface so the source
// can be tested against a fake and run against Prometheus, VictoriaMetrics or Fly's endpoint.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "common/clock.h"
#include "metrics/prometheus_response.h"

namespace autoplacer::metrics {

// POST /api/v1/query with form `query`, `time`, `timeout`.
struct InstantQuery {
  std::string query;
  TimePoint time{};
  Duration timeout{10000};
};

// POST /api/v1/query_range with form `query`, `start`, `end`, `step`, `timeout`.
struct RangeQuery {
  std::string query;
  TimePoint start{};
  TimePoint end{};
  Duration step{30000};
  Duration timeout{10000};
};

class PrometheusApi {
 public:
  virtual ~PrometheusApi() = default;
  // Implementations finish within about `timeout` (answering PromError::Kind::kTimeout) and
  // bound the size of the answer they read (kTooLarge). They never throw for I/O or bad data.
  virtual boost::asio::awaitable<PromResult> query(InstantQuery q) = 0;
  virtual boost::asio::awaitable<PromResult> query_range(RangeQuery q) = 0;
};

}  // namespace autoplacer::metrics
