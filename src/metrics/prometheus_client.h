#pragma once
// The real PrometheusApi: POST /api/v1/query and /api/v1/query_range over HttpClient. Works with
// Fly's endpoint (https://api.fly.io/prometheus/<org-slug>, VictoriaMetrics underneath, token as
// `FlyV1` or `Bearer`), a plain Prometheus, or VictoriaMetrics.
#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <optional>
#include <string>

#include "metrics/prometheus_api.h"

namespace autoplacer::net {
class HttpClient;
}

namespace autoplacer::metrics {

enum class PrometheusAuth {
  kAuto,    // "FlyV1 " for Fly macaroons (fm1r_, fm1a_, fm2_), else "Bearer "
  kBearer,  // Authorization: Bearer <token>
  kFlyV1,   // Authorization: FlyV1 <token>
};

struct PrometheusClientOptions {
  // Base URL; the API paths are appended: "https://api.fly.io/prometheus/my-org" (a trailing
  // slash is fine) or "http://127.0.0.1:9090".
  std::string url{};
  std::string token{};  // empty: no Authorization header. Registered as a secret (never logged).
  PrometheusAuth auth = PrometheusAuth::kAuto;
  std::size_t maxResponseBytes = 16u << 20;  // larger answers fail as kTooLarge
  Duration connectTimeout{5000};
  std::string caFile{};  // PEM trust store override (tests); empty = system store
};

// The Authorization header value for a token ("" for no token). A token already starting with
// "Bearer " or "FlyV1 " is used as it is (what `fly tokens create` prints starts with "FlyV1 ").
std::string prometheus_authorization(const std::string& token, PrometheusAuth auth);

class PrometheusClient final : public PrometheusApi {
 public:
  static std::shared_ptr<PrometheusClient> create(boost::asio::any_io_executor executor,
                                                  PrometheusClientOptions options);
  explicit PrometheusClient(std::shared_ptr<net::HttpClient> http);

  boost::asio::awaitable<PromResult> query(InstantQuery q) override;
  boost::asio::awaitable<PromResult> query_range(RangeQuery q) override;

  // Set when the URL (or CA file) is unusable; every query then fails with this message.
  std::optional<std::string> config_error() const;

 private:
  boost::asio::awaitable<PromResult> post(std::string path, std::string form, Duration timeout);

  std::shared_ptr<net::HttpClient> http_;
};

}  // namespace autoplacer::metrics
