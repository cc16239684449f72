#include "metrics/prometheus_client.h"

#include "common/log.h"
#include "net/http_client.h"
#include "net/url.h"

namespace autoplacer::metrics {
namespace http = net::http;

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

PromError from_http(const net::HttpError& e) {
  PromError::Kind kind = PromError::Kind::kTransport;
  switch (e.kind) {
    case net::HttpError::Kind::kTimeout:
      kind = PromError::Kind::kTimeout;
      break;
    case net::HttpError::Kind::kBodyTooLarge:
      kind = PromError::Kind::kTooLarge;
      break;
    case net::HttpError::Kind::kCancelled:
      kind = PromError::Kind::kCancelled;
      break;
    default:
      break;
  }
  return PromError{kind, std::string(net::to_string(e.kind)) + ": " + log::redact(e.message)};
}

}  // namespace

std::string prometheus_authorization(const std::string& token, PrometheusAuth auth) {
  if (token.empty()) return "";
  if (starts_with(token, "Bearer ") || starts_with(token, "FlyV1 ")) return token;
  switch (auth) {
    case PrometheusAuth::kBearer:
      return "Bearer " + token;
    case PrometheusAuth::kFlyV1:
      return "FlyV1 " + token;
    case PrometheusAuth::kAuto:
      break;
  }
  const bool macaroon =
      starts_with(token, "fm1r_") || starts_with(token, "fm1a_") || starts_with(token, "fm2_");
  return (macaroon ? "FlyV1 " : "Bearer ") + token;
}

std::shared_ptr<PrometheusClient> PrometheusClient::create(boost::asio::any_io_executor executor,
                                                           PrometheusClientOptions options) {
  std::string url = options.url;
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  net::HttpClient::Options http_options;
  http_options.connect_timeout = options.connectTimeout;
  http_options.max_body_bytes = options.maxResponseBytes;
  http_options.ca_file = options.caFile;
  http_options.default_headers.emplace_back("Accept", "application/json");
  const auto authz = prometheus_authorization(options.token, options.auth);
  if (!authz.empty()) {
    log::register_secret(options.token);
    log::register_secret(authz);
    http_options.default_headers.emplace_back("Authorization", authz);
  }
  return std::make_shared<PrometheusClient>(
      net::HttpClient::create(std::move(executor), std::move(url), std::move(http_options)));
}

PrometheusClient::PrometheusClient(std::shared_ptr<net::HttpClient> http)
    : http_(std::move(http)) {}

std::optional<std::string> PrometheusClient::config_error() const {
  if (const auto& e = http_->config_error()) return e->message;
  return std::nullopt;
}

boost::asio::awaitable<PromResult> PrometheusClient::query(InstantQuery q) {
  const std::string form = net::encode_query({{"query", q.query},
                                              {"time", format_prom_time(q.time)},
                                              {"timeout", format_prom_seconds(q.timeout) + "s"}});
  co_return co_await post("/api/v1/query", form, q.timeout);
}

boost::asio::awaitable<PromResult> PrometheusClient::query_range(RangeQuery q) {
  const std::string form = net::encode_query({{"query", q.query},
                                              {"start", format_prom_time(q.start)},
                                              {"end", format_prom_time(q.end)},
                                              {"step", format_prom_seconds(q.step)},
                                              {"timeout", format_prom_seconds(q.timeout) + "s"}});
  co_return co_await post("/api/v1/query_range", form, q.timeout);
}

boost::asio::awaitable<PromResult> PrometheusClient::post(std::string path, std::string form,
                                                          Duration timeout) {
  net::Request req{http::verb::post, path, 11};
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.body() = std::move(form);
  req.prepare_payload();
  net::HttpClient::RequestOptions ro;
  ro.timeout = timeout;
  auto res = co_await http_->request(std::move(req), ro);
  if (!res) {
    PromError e = from_http(res.error());
    co_return make_err(std::move(e));
  }
  PromResult parsed = parse_prometheus_response(res->body(), static_cast<int>(res->result_int()));
  co_return parsed;
}

}  // namespace autoplacer::metrics
