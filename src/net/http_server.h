#pragma once
// An HTTP/1.1 server over Boost.Beast with C++20 coroutines, in the style of Beast's
// advanced_server: one strand per connection, explicit timeouts, bounded requests, a connection
// cap and a graceful stop. Used by flysim and by the controller's own endpoints.
//
//   net::Router router;
//   router.add(http::verb::get, "/healthz", handler);
//   auto server = net::HttpServer::create(ioc.get_executor(), std::move(router), {});
//   auto port = server->listen("127.0.0.1", 0);   // port 0: the kernel picks; see port()
//   ... ioc.run() on any number of threads ...
//   server->stop(std::chrono::seconds(5));         // from any thread
//
// - Timeouts: the whole request head must arrive within header_timeout of its first byte
//   (a slow-loris client that trickles bytes is cut off), the body within body_timeout, and
//   an idle keep-alive connection is closed after idle_timeout. A new connection must start its
//   request within header_timeout.
// - Limits: a head larger than max_header_bytes gets 431, a body larger than max_body_bytes 413,
//   a malformed request 400; the connection is closed after each of them.
// - Beyond max_connections concurrent connections, new ones get a bare 503 and are closed. With
//   reclaim_idle_connections, a new connection first takes the place of the oldest idle one
//   (connected or kept alive, waiting for a request: nginx does the same when it runs out of
//   connections), so clients that only hold connections open cannot lock out a health check;
//   the 503 is left for when every connection is busy with a request.
// - A handler that throws gets a 500 (logged); a handler that throws DropConnection gets its
//   connection closed without an answer (fault injection).
// - stop(grace): stop accepting, close idle connections now, let requests in flight finish and
//   answer with `Connection: close`, and close whatever is left when grace runs out. Handlers
//   that block for long (long polls) should watch stopping() themselves.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/router.h"

namespace autoplacer::net {

// Thrown by a handler to close the connection without sending anything.
class DropConnection : public std::exception {
 public:
  const char* what() const noexcept override { return "drop connection"; }
};

class HttpServer : public std::enable_shared_from_this<HttpServer> {
 public:
  struct Options {
    std::size_t max_header_bytes = 16u << 10;
    std::size_t max_body_bytes = 1u << 20;
    std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
    std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
    std::size_t max_connections = 512;
    bool reclaim_idle_connections = false;
    std::string server_name = "fly-autoplacer";
  };

  static std::shared_ptr<HttpServer> create(boost::asio::any_io_executor executor, Router router,
                                            Options options);
  static std::shared_ptr<HttpServer> create(boost::asio::any_io_executor executor, Router router) {
    return create(std::move(executor), std::move(router), Options{});
  }
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. address: an IP literal ("127.0.0.1", "::", "0.0.0.0").
  // Returns the bound port (useful with port 0).
  Result<std::uint16_t, std::string> listen(std::string_view address, std::uint16_t port);
  std::uint16_t port() const { return port_.load(); }

  // Thread-safe; the first call wins.
  void stop(std::chrono::milliseconds grace);
  bool stopping() const { return stopping_.load(); }

  std::size_t active_connections() const;
  std::uint64_t connections_refused() const { return refused_.load(); }
  std::uint64_t connections_reclaimed() const { return reclaimed_.load(); }
  std::uint64_t requests_served() const { return served_.load(); }

  struct Session;  // one connection; defined in the .cpp

 private:
  struct Private {};

 public:
  HttpServer(Private, boost::asio::any_io_executor executor, Router router, Options options);

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> run_session(std::shared_ptr<Session> session);
  boost::asio::awaitable<void> stop_after(std::chrono::milliseconds grace);
  void refuse(boost::asio::ip::tcp::socket socket);
  void close_sessions(bool idle_only);
  // At the cap: the oldest idle session, marked for closing (nullptr when all are busy).
  std::shared_ptr<Session> pick_idle_victim_locked();
  void reclaim(std::shared_ptr<Session> victim);

  boost::asio::any_io_executor executor_;
  boost::asio::strand<boost::asio::any_io_executor> acceptor_strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Router router_;
  Options options_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> reclaimed_{0};
  std::atomic<std::uint64_t> served_{0};

  mutable std::mutex mu_;
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;  // guarded by mu_
  std::uint64_t next_session_id_ = 0;                           // guarded by mu_
};

}  // namespace autoplacer::net
