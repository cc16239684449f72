#pragma once
// A small HTTP/1.1 server on 127.0.0.1:<free port>, running on its own thread, for integration
// tests: a fake Prometheus that is slow, answers errors, garbage or too much. The handler runs on
// the server thread. (The real Prometheus tests scrape flysim instead.)
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
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

}  // namespace autoplacer::metrics::testing
