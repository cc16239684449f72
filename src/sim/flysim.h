#pragma once
// flysim: a simulated Fly.io Machines API, faithful enough that the controller cannot tell it
// from the real one, plus Fly-style edge metrics replayed from a traffic scenario.
//
//   ManualClock clock(t0);
//   sim::FlySim fly(ioc.get_executor(), clock, options, &clock);
//   auto port = fly.start("127.0.0.1", 0);
//   ... point the Machines client at http://127.0.0.1:<port>, Prometheus at /metrics ...
//   fly.stop(1s);
//
// Everything is owned by the instance (no globals), so several can run in one process. Time comes
// from the injected Clock: machine transitions, leases, rate limits and /wait deadlines follow it
// (a ManualClock in tests; tests advance it instead of sleeping). Faults that delay an answer
// (slow, timeout) and /wait polling use real timers.
//
// HTTP surface:
//   /v1/apps/{app}/machines[...]    the Machines API subset (routes in FlySim::make_router)
//   /v1/platform/regions
//   /metrics                        fly_edge_* series + flysim_* self metrics (Prometheus text)
//   /healthz
//   /flysim/...                     admin: state, faults, clock, machines, capacity, leases
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "net/http_server.h"
#include "sim/api_rate_limits.h"
#include "sim/edge_traffic.h"
#include "sim/faults.h"
#include "sim/fly_world.h"
#include "sim/scenario.h"

namespace autoplacer::sim {

struct FlySimOptions {
  std::vector<std::string> apps{"demo-app"};
  std::string token;  // non-empty: every /v1 request needs `Authorization: Bearer|FlyV1 <token>`
  LifecycleDelays delays;
  std::map<std::string, int> capacity;  // region -> most machines; absent = unlimited
  std::uint64_t seed = 1;               // machine ids, nonces, fault draws
  std::vector<FaultRule> faults;
  RateLimitConfig rate_limits;
  std::optional<Scenario> scenario;  // traffic to replay for traffic_app
  std::string traffic_app;           // default: apps[0]
  double speed = 1;
  bool loop = false;
  std::optional<TimePoint> traffic_origin;  // default: the clock at construction
  double service_ms = 15;
  std::vector<SeedMachine> machines;  // the start-up fleet (app "" = apps[0])
  net::HttpServer::Options http;
  std::chrono::milliseconds tick{200};      // real-time period of the background advance
  std::chrono::milliseconds wait_poll{20};  // real-time period of /wait checks
  std::string foreign_lease_owner = "deploy-bot@fly.io";
  // Retry-After on a 429 as an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", in the flysim clock)
  // instead of delta seconds. Fly documents neither; clients must understand both.
  bool retry_after_http_date = false;
  // Sees every Machines API exchange (not /metrics or /flysim/...) once answered: the request
  // and the response, or nullptr when the connection was dropped without one. Called on an I/O
  // thread, concurrently; for tests and request logs (contract checks on the wire).
  std::function<void(const net::Request&, const net::Response*)> on_exchange;
};

// A fleet like a real app's: an original machine, a machine of another process group, one owned
// by another autoplacer policy, one being deployed (bluegreen tag, foreign lease) and one on an
// unreachable host.
std::vector<SeedMachine> default_fleet(const std::string& app);

class FlySim {
 public:
  // manual: the same clock when it is a ManualClock, enabling POST /flysim/clock/advance.
  FlySim(boost::asio::any_io_executor executor, const Clock& clock, FlySimOptions options,
         ManualClock* manual = nullptr);
  ~FlySim();
  FlySim(const FlySim&) = delete;
  FlySim& operator=(const FlySim&) = delete;

  Result<std::uint16_t, std::string> start(std::string_view address, std::uint16_t port);
  void stop(std::chrono::milliseconds grace);
  std::uint16_t port() const;

  // Thread-safe in-process access to the world (advanced to the clock's now first).
  template <class F>
  auto with_world(F&& f) {
    std::lock_guard lock(mu_);
    sync_locked(clock_.now());
    return f(world_);
  }
  std::string metrics_text();
  boost::json::value state_json();
  void set_faults(std::vector<FaultRule> rules, std::uint64_t seed);
  std::uint64_t rate_limited_total() const { return rate_limited_.load(); }
  // Requests answered (or dropped) by operation and status ("dropped" for no answer).
  std::map<std::pair<std::string, std::string>, std::uint64_t> request_counts() const;

 private:
  struct Call;
  using Op = std::function<WorldResult<boost::json::value>(Call&)>;

  net::Router make_router();
  void add_api(net::Router& r, net::http::verb verb, const std::string& pattern,
               const std::string& operation, int ok_status, Op op);
  boost::asio::awaitable<net::Response> run_api(const std::string& operation, int ok_status, Op op,
                                                const net::Request& req,
                                                const net::RouteParams& params);
  boost::asio::awaitable<net::Response> run_wait(Call& call);
  boost::asio::awaitable<bool> sleep_for(std::chrono::milliseconds d);
  boost::asio::awaitable<void> ticker();
  void sync_locked(TimePoint now);
  void count(const std::string& operation, const std::string& status);
  net::Response error_response(int status, const std::string& message,
                               const std::string& fly_status) const;
  net::Response json_response(int status, const boost::json::value& body) const;

  boost::asio::any_io_executor executor_;
  const Clock& clock_;
  ManualClock* manual_;
  FlySimOptions options_;
  std::shared_ptr<net::HttpServer> server_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> rate_limited_{0};
  std::atomic<std::uint64_t> request_seq_{0};

  mutable std::mutex mu_;  // guards everything below
  FlyWorld world_;
  ApiRateLimiter limiter_;
  FaultInjector faults_;
  std::optional<EdgeTraffic> traffic_;
  std::optional<TimePoint> synced_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> requests_;
};

}  // namespace autoplacer::sim
