// Harness for metrics/prometheus_response.h.
#include <array>
#include <cmath>
#include <string>

#include "harness.h"
#include "metrics/prometheus_response.h"

namespace autoplacer::fuzz {

void prometheus_response(std::string_view data) {
  using metrics::PromError;
  using metrics::PromResultType;
  // Statuses Prometheus, VictoriaMetrics and proxies in front of them really send.
  static constexpr std::array<int, 8> kStatuses{200, 400, 422, 503, 502, 204, 301, 0};
  int status = 200;
  if (!data.empty()) {
    status = kStatuses[static_cast<unsigned char>(data.front()) % kStatuses.size()];
    data.remove_prefix(1);
  }

  auto r = metrics::parse_prometheus_response(data, status);
  if (!r) {
    const std::string text = metrics::describe(r.error());
    AP_FUZZ_CHECK(!text.empty());
    AP_FUZZ_CHECK(r.error().kind != PromError::Kind::kTimeout &&
                  r.error().kind != PromError::Kind::kTransport);
  } else {
    // Only a 2xx answer can be a success.
    AP_FUZZ_CHECK(status >= 200 && status < 300);
    const auto& q = *r;
    if (q.type == PromResultType::kScalar || q.type == PromResultType::kString) {
      AP_FUZZ_CHECK(q.series.size() == 1);
      AP_FUZZ_CHECK(q.series[0].labels.empty());
      AP_FUZZ_CHECK(q.series[0].points.size() == 1);
    }
    for (const auto& s : q.series) {
      if (q.type == PromResultType::kVector) AP_FUZZ_CHECK(s.points.size() == 1);
      for (const auto& p : s.points) {
        // parse_time accepts 0 .. 1e11 seconds only.
        const auto ms = p.at.time_since_epoch().count();
        AP_FUZZ_CHECK(ms >= 0 && ms <= 100'000'000'000'000LL);
        // format_prom_time must give back something parse_prom_value reads as the same time.
        double seconds = -1;
        AP_FUZZ_CHECK(metrics::parse_prom_value(metrics::format_prom_time(p.at), seconds));
        AP_FUZZ_CHECK(std::llround(seconds * 1000.0) == ms);
      }
    }
    AP_FUZZ_CHECK(std::string(metrics::to_string(q.type)) != "unknown");
  }

  // The sample value reader on the raw text (short inputs are the interesting ones).
  double v = 0;
  if (metrics::parse_prom_value(data.substr(0, 64), v) && std::isfinite(v)) {
    AP_FUZZ_CHECK(!data.empty());
  }
}

}  // namespace autoplacer::fuzz
