#pragma once
// A tiny scriptable HTTP(S) server on 127.0.0.1 (port chosen by the kernel) for client tests.
// It runs its own io_context on its own thread; the handler decides, per request, what to send
// back, after how long, or whether to drop the connection instead.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_types.h"

namespace autoplacer::testing {

struct TestReply {
  net::Response response{net::http::status::ok, 11};
  std::chrono::milliseconds delay{0};
  bool drop = false;          // close the connection without answering
  bool close_after = false;   // answer, then close (Connection: close)
  bool silent_close = false;  // answer with keep-alive, then close anyway (a stale pooled conn)
  bool raw = false;           // send raw_bytes instead of response
  std::string raw_bytes;
};

TestReply json_reply(net::http::status status, std::string body);

class TestHttpServer {
 public:
  using Handler = std::function<TestReply(const net::Request&)>;

  // tls: a server context (net::make_server_tls_context) or null for plain HTTP.
  explicit TestHttpServer(Handler handler,
                          std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  unsigned short port() const { return port_; }
  // "http://127.0.0.1:PORT" (or https, or another host name that resolves to loopback).
  std::string base_url(const std::string& host = "127.0.0.1") const;

  std::size_t connections_accepted() const { return accepted_.load(); }
  std::vector<net::Request> requests() const;
  std::size_t request_count() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

// The test PKI under tests/fixtures/tls.
std::string tls_fixture(const std::string& name);

}  // namespace autoplacer::testing
