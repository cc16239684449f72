#pragma once
// The controller's HTTP endpoints, on one Beast server (net/http_server.h, which enforces the
// timeouts, header and body limits and the connection cap):
//
//   GET  /metrics                 Prometheus text exposition of the controller's registry
//   GET  /healthz                 200 while the process serves requests (liveness)
//   GET  /readyz                  200 once the first pass of every policy succeeded, else 503;
//                                 in HA mode also the role (see HttpApiOptions::role)
//   GET  /status                  JSON: policies, conditions, placement, recent decisions, role
//   POST /trigger[?policy=NAME]   reconcile now (one policy, or all) and answer the result
//
// /trigger changes the world, so when a token is configured it needs
// `Authorization: Bearer <token>` (compared in constant time; 401 otherwise), and only a few
// triggers run at once (429 with Retry-After beyond that): a client looping on /trigger cannot
// pile up passes. The other endpoints only read.
//
// The API knows the controller only through ControllerView, so it is tested with a fake.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/http_server.h"
#include "net/router.h"

namespace autoplacer::controller {

struct Readiness {
  bool ready = false;
  std::string reason;         // why not ready (or "ok")
  boost::json::value detail;  // e.g. {"policies": {"web": "first pass pending"}}
};

struct TriggerOutcome {
  // 200: the pass ran (its result, success or failure, is in the body); 404: no such policy;
  // 503: not acting (shutting down, not the leader).
  int http_status = 200;
  boost::json::value body;
};

// What the HTTP API asks of the controller. Implementations must be safe to call from the
// server's threads.
class ControllerView {
 public:
  virtual ~ControllerView() = default;
  virtual std::string metrics_text() = 0;
  virtual Readiness readiness() = 0;
  virtual boost::json::value status_json() = 0;
  // policy: nullopt = every policy. Completes when the pass (or passes) finished.
  virtual boost::asio::awaitable<TriggerOutcome> trigger(std::optional<std::string> policy) = 0;
};

struct HttpApiOptions {
  std::string trigger_token;  // empty: /trigger needs no token (bind to loopback then)
  // This replica's role in the leader election (HA mode, controller/ha_runtime.h): an object
  // with at least "role": "leader" | "follower" | "no_quorum". Added to /readyz and /status as
  // "ha". A follower stays ready (it is healthy and waiting to take over); "no_quorum" makes
  // /readyz answer 503, since this replica can neither act nor know who does. Empty: no "ha".
  std::function<boost::json::value()> role;
  int max_concurrent_triggers = 4;
  // Limits and timeouts. Idle connections are reclaimed at the cap, so a client holding many
  // connections open cannot lock out the health checks.
  net::HttpServer::Options server{.reclaim_idle_connections = true};
};

// Compares in time that depends only on the length of `expected`, never on where `given` first
// differs, so response timing does not leak the token byte by byte.
bool constant_time_equals(std::string_view given, std::string_view expected);

class HttpApi {
 public:
  HttpApi(boost::asio::any_io_executor executor, ControllerView& view, HttpApiOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // address: an IP literal; port 0 picks one. Returns the bound port.
  Result<std::uint16_t, std::string> listen(std::string_view address, std::uint16_t port);
  std::uint16_t port() const;
  void stop(std::chrono::milliseconds grace);

  // The routes alone (tests dispatch to them without a socket).
  static net::Router make_router(ControllerView& view, const HttpApiOptions& options,
                                 std::shared_ptr<std::atomic<int>> triggers_in_flight);

 private:
  boost::asio::any_io_executor executor_;
  HttpApiOptions options_;
  std::shared_ptr<net::HttpServer> server_;
};

// Splits "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", ":8080" = all interfaces).
Result<std::pair<std::string, std::uint16_t>, std::string> parse_listen_address(
    std::string_view text);

}  // namespace autoplacer::controller
