#pragma once
// A small Machines API server for the client's integration tests: HTTP routing in front of
// FakeMachinesApi, Fly's documented rate limits enforced with 429s, and every request and
// response checked against the OpenAPI subset. A hook lets a test replace any answer (errors,
// delays, dropped connections, malformed bodies). Not flysim: just enough Fly to test the client.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "fly/fake_machines_api.h"
#include "fly/rate_limiter.h"
#include "net/client_test_server.h"
#include "support/openapi_contract.h"

namespace autoplacer::testing {

class MiniFly {
 public:
  using Hook = std::function<std::optional<TestReply>(const net::Request&)>;

  explicit MiniFly(const OpenApiContract& contract, std::string app = "app",
                   fly::RateLimits limits = fly::RateLimits{},
                   std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  // Seed and inspect between requests (the server thread uses it while answering).
  fly::FakeMachinesApi& fake() { return fake_; }
  void set_hook(Hook hook);
  std::string base_url() const { return server_->base_url(); }
  TestHttpServer& server() { return *server_; }

  std::vector<std::string> violations() const;
  std::vector<std::string> take_violations();  // returns and forgets them
  std::size_t rate_limited() const;            // 429s the server's own limiter sent
  std::vector<net::Request> requests() const { return server_->requests(); }

 private:
  TestReply handle(const net::Request& req);
  TestReply route(const net::Request& req, const std::string& tmpl);

  const OpenApiContract& contract_;
  SystemClock clock_;
  fly::FakeMachinesApi fake_;
  fly::RateLimiter limiter_;
  mutable std::mutex mu_;
  Hook hook_;
  std::vector<std::string> violations_;
  std::size_t rate_limited_ = 0;
  std::size_t next_request_id_ = 1;
  std::unique_ptr<TestHttpServer> server_;  // last: stops first
};

}  // namespace autoplacer::testing
