#pragma once
// MachinesApi over HTTP (net::HttpClient), for one app.
//
// - Authorization from the token (fly/token.h: FlyV1 for macaroons, else Bearer); none if empty
//   (flysim needs none).
// - Client-side rate limiting (fly/rate_limiter.h) before every request, so Fly's limits are
//   kept and a 429 is exceptional.
// - Retries: reads (GET) are retried on transport errors, timeouts, 5xx and 429, up to
//   max_attempts with jittered exponential backoff; writes are retried only when they certainly
//   did not happen (429 refused, or no connection could be made). A 429's Retry-After is
//   honoured (if longer than max_retry_after the error is returned for the caller to requeue).
//   A write that timed out or lost its connection after sending, or got a 5xx, comes back with
//   outcome_unknown: the reconciler re-lists instead of repeating it.
// - Every attempt is reported to the ApiObserver (operation, status, duration).
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "common/clock.h"
#include "fly/machines_api.h"
#include "fly/observer.h"
#include "fly/rate_limiter.h"
#include "net/http_client.h"

namespace autoplacer::fly {

struct MachinesClientOptions {
  std::string app;
  std::string base_url = "https://api.machines.dev";  // or http://_api.internal:4280, flysim
  std::string token;  // raw token or "FlyV1 ..."/"Bearer ..."; empty: no Authorization header
  net::HttpClient::Options http;
  bool rate_limit = true;
  RateLimiter::Limits limits;
  // Fly's buckets start and refill by when requests arrive, ours by when they leave; requests
  // delayed unevenly on the way (a new connection, a TLS handshake, the network) could bunch up
  // at Fly and meet an empty bucket. Keeping this much time in hand (each burst is shrunk by
  // rate * headroom, so the bucket refills that much before we spend its last token) absorbs
  // that jitter. 0: use the documented limits exactly.
  std::chrono::milliseconds rate_limit_headroom{50};
  int max_attempts = 4;  // per call, first attempt included
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(5)};
  std::chrono::milliseconds max_retry_after{std::chrono::seconds(60)};
  int page_size = 500;            // list: limit per page (1..1000)
  std::uint64_t jitter_seed = 0;  // 0: seeded from std::random_device
};

class MachinesClient final : public MachinesApi {
 public:
  // clock drives the rate limiter's buckets (SystemClock in production).
  MachinesClient(boost::asio::any_io_executor executor, MachinesClientOptions options,
                 const Clock& clock, std::shared_ptr<ApiObserver> observer = nullptr);

  const std::string& app() const override { return options_.app; }
  const std::shared_ptr<net::HttpClient>& http() const { return http_; }

  boost::asio::awaitable<FlyResult<std::vector<Machine>>> list_machines(
      ListOptions options) override;
  boost::asio::awaitable<FlyResult<Machine>> get_machine(std::string id,
                                                         bool include_leases) override;
  boost::asio::awaitable<FlyResult<Machine>> create_machine(CreateMachineRequest request) override;
  boost::asio::awaitable<FlyResult<Unit>> start_machine(std::string id, std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> stop_machine(std::string id, StopOptions options,
                                                       std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> suspend_machine(std::string id,
                                                          std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> cordon_machine(std::string id,
                                                         std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> uncordon_machine(std::string id,
                                                           std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> delete_machine(std::string id, bool force,
                                                         std::string nonce) override;
  boost::asio::awaitable<FlyResult<WaitResult>> wait_machine(std::string id, std::string state,
                                                             std::chrono::seconds timeout,
                                                             std::string version) override;
  boost::asio::awaitable<FlyResult<LeaseInfo>> acquire_lease(std::string id,
                                                             std::chrono::seconds ttl,
                                                             std::string description) override;
  boost::asio::awaitable<FlyResult<LeaseInfo>> refresh_lease(std::string id, std::string nonce,
                                                             std::chrono::seconds ttl) override;
  boost::asio::awaitable<FlyResult<Unit>> release_lease(std::string id, std::string nonce) override;
  boost::asio::awaitable<FlyResult<std::map<std::string, std::string>>> get_metadata(
      std::string id) override;
  boost::asio::awaitable<FlyResult<Unit>> set_metadata(std::string id, std::string key,
                                                       std::string value,
                                                       std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> delete_metadata(std::string id, std::string key,
                                                          std::string nonce) override;
  boost::asio::awaitable<FlyResult<std::vector<Region>>> list_regions() override;

  // One HTTP call as the operations build it; public so contract tests can see every request.
  struct Call {
    std::string operation;    // metrics label and rate-limit action
    std::string rate_action;  // bucket action (defaults to operation)
    std::string rate_key;     // machine id, or the app for app-level actions
    net::http::verb method = net::http::verb::get;
    std::string target;  // path and query
    std::string body;    // JSON, or empty
    std::string nonce;   // fly-machine-lease-nonce
    std::optional<std::chrono::milliseconds> timeout;
    bool is_write() const { return method != net::http::verb::get; }
  };
  net::Request build_request(const Call& call) const;

 private:
  boost::asio::awaitable<FlyResult<net::Response>> execute(Call call);
  boost::asio::awaitable<FlyResult<Unit>> simple_write(std::string operation, std::string id,
                                                       std::string suffix, std::string nonce);
  std::string machines_path() const;
  std::string machine_path(const std::string& id) const;
  std::chrono::milliseconds backoff(int attempt);

  boost::asio::any_io_executor executor_;
  const Clock& clock_;  // the limiter's buckets and Retry-After dates
  MachinesClientOptions options_;
  std::string authorization_;
  std::shared_ptr<ApiObserver> observer_;
  std::shared_ptr<net::HttpClient> http_;
  std::unique_ptr<RateLimiter> limiter_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace autoplacer::fly
