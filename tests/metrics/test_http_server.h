#pragma once
// A small HTTP/1.1 server on 127.0.0.1:<free port>, running on its own thread, for integration
// tests: a scrape target whose counters the test controls, or a fake Prometheus that is slow,
// answers errors or garbage. The handler runs on the server thread.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "net/http_types.h"

namespace autoplacer::metrics::testing {

class TestHttpServer {
 public:
  using Handler = std::function<net::Response(const net::Request&)>;

  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();  // stops and joins; open connections are dropped
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }

  void set_handler(Handler handler);
  // Answers are held back this long (a slow server).
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  int requests() const { return requests_; }

  // Convenience: a response with this status, content type and body.
  static net::Response reply(int status, std::string body,
                             std::string content_type = "application/json");

 private:
  net::Response handle(const net::Request& req);

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::mutex mu_;
  Handler handler_;
  std::atomic<long long> delay_ms_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// Fly-style edge counters: fly_edge_http_responses_count{app,region,status="200"} growing at a
// rate (req/s) the test sets per region. Counters stay continuous when a rate changes.
class EdgeCounterTarget {
 public:
  explicit EdgeCounterTarget(std::string app);
  void set_rate(const std::string& region, double rps);
  std::string exposition();  // the /metrics text at this moment
  TestHttpServer& server() { return server_; }

 private:
  struct Counter {
    double base = 0;  // value at `since`
    double rps = 0;
    std::chrono::steady_clock::time_point since;
  };
  std::string app_;
  std::mutex mu_;
  std::map<std::string, Counter> counters_;
  TestHttpServer server_;
};

}  // namespace autoplacer::metrics::testing
