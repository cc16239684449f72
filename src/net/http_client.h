#pragma once
// An asynchronous HTTP/1.1 client for one origin, over Boost.Beast with C++20 coroutines.
//
// Used for the Fly Machines API, the Prometheus API and etcd: one HttpClient per base URL.
//
//   auto client = net::HttpClient::create(ex, "https://api.machines.dev", {});
//   net::Request req{net::http::verb::get, "/v1/apps/x/machines", 11};
//   auto res = co_await client->request(std::move(req));   // HttpResult<Response>
//
// - base_url: "http://host[:port][/prefix]" or "https://host[:port][/prefix]". The request
//   target is appended to the prefix ("https://api.fly.io/prometheus/org" + "/api/v1/query").
//   The client sets Host, User-Agent, Content-Length and keep-alive; the default headers from
//   Options are added unless the request already has that header.
// - HTTPS verifies the certificate chain and the host name (or IP) and sends SNI. Options::ca_file
//   replaces the system trust store (tests use their own CA).
// - Keep-alive: finished connections go back to a small idle pool (Options::max_idle_connections)
//   and are reused. A pooled connection the server has meanwhile closed is detected before reuse;
//   if it still fails before any response byte arrives, idempotent requests (GET, HEAD, PUT,
//   DELETE, OPTIONS) are retried once on a fresh connection. POST is never re-sent.
// - Deadlines: resolve + connect + TLS handshake share connect_timeout; writing the request and
//   reading the whole response share request_timeout (overridable per request).
// - Responses larger than max_body_bytes fail with kBodyTooLarge.
// - Nothing is thrown out of request(): every failure is an HttpError. A kTimeout or kClosed after
//   the request was written means the server may or may not have acted on it.
// - Thread-safe: request() may run concurrently from several coroutines (and threads); each
//   exchange owns its connection, only the idle pool is shared (under a mutex).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/http_types.h"
#include "net/url.h"

namespace boost::asio::ssl {
class context;
}

namespace autoplacer::net {

class HttpClient : public std::enable_shared_from_this<HttpClient> {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
    std::size_t max_body_bytes = 16u << 20;
    std::size_t max_header_bytes = 64u << 10;
    std::size_t max_idle_connections = 4;
    // Idle pooled connections older than this are closed instead of reused (servers drop idle
    // connections after a while; reusing one that is being closed wastes a round trip).
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
    std::string ca_file;  // PEM; empty = system trust store
    bool verify_peer = true;
    std::string user_agent = "fly-autoplacer";
    std::vector<std::pair<std::string, std::string>> default_headers;
  };

  struct RequestOptions {
    // Overrides Options::request_timeout (e.g. a long-poll that the server holds for 60 s).
    std::optional<std::chrono::milliseconds> timeout;
  };

  // Never fails: with an invalid base_url or an unusable CA file, every request returns that
  // error (check config_error() at start-up to fail fast).
  static std::shared_ptr<HttpClient> create(boost::asio::any_io_executor executor,
                                            std::string base_url, Options options);
  static std::shared_ptr<HttpClient> create(boost::asio::any_io_executor executor,
                                            std::string base_url) {
    return create(std::move(executor), std::move(base_url), Options{});
  }

  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // req.target() is the path and query relative to the base URL ("/v1/apps?x=1").
  boost::asio::awaitable<HttpResult<Response>> request(Request req, RequestOptions ro = {});

  const std::string& base_url() const { return base_url_text_; }
  const std::optional<HttpError>& config_error() const { return config_error_; }

  // For tests and metrics.
  std::size_t connections_opened() const;
  std::size_t idle_connections() const;

  struct Connection;  // defined in the .cpp

 private:
  struct Private {};

 public:
  HttpClient(Private, boost::asio::any_io_executor executor, std::string base_url, Options options);

 private:
  boost::asio::awaitable<HttpResult<std::unique_ptr<Connection>>> connect(
      std::chrono::steady_clock::time_point deadline);
  std::unique_ptr<Connection> take_idle();
  void put_idle(std::unique_ptr<Connection> conn);

  boost::asio::any_io_executor executor_;
  std::string base_url_text_;
  Options options_;
  BaseUrl base_;
  std::optional<HttpError> config_error_;
  std::shared_ptr<boost::asio::ssl::context> tls_;

  mutable std::mutex mu_;
  std::deque<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  std::size_t opened_ = 0;                        // guarded by mu_
};

}  // namespace autoplacer::net
