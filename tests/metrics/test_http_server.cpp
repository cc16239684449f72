#include "metrics/test_http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace autoplacer::metrics::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> serve(tcp::socket socket,
                            std::function<net::Response(const net::Request&)> handle,
                            std::atomic<long long>& delay_ms) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buf;
  try {
    for (;;) {
      net::Request req;
      co_await http::async_read(stream, buf, req, asio::use_awaitable);
      net::Response res = handle(req);
      if (const auto d = delay_ms.load(); d > 0) {
        asio::steady_timer t(stream.get_executor());
        t.expires_after(std::chrono::milliseconds(d));
        co_await t.async_wait(asio::use_awaitable);
      }
      res.version(req.version());
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::use_awaitable);
      if (!req.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // Peer closed, or the server is stopping.
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor,
                                  std::function<net::Response(const net::Request&)> handle,
                                  std::atomic<long long>& delay_ms) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), handle, delay_ms),
                   asio::detached);
  }
}

}  // namespace

TestHttpServer::TestHttpServer(Handler handler)
    : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      handler_(std::move(handler)) {
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_,
                 accept_loop(
                     acceptor_, [this](const net::Request& r) { return handle(r); }, delay_ms_),
                 asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

TestHttpServer::~TestHttpServer() {
  asio::post(io_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  io_.stop();
  thread_.join();
}

void TestHttpServer::set_handler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

net::Response TestHttpServer::handle(const net::Request& req) {
  ++requests_;
  Handler h;
  {
    std::lock_guard lock(mu_);
    h = handler_;
  }
  if (!h) return reply(404, "no handler", "text/plain");
  return h(req);
}

net::Response TestHttpServer::reply(int status, std::string body, std::string content_type) {
  net::Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace autoplacer::metrics::testing
