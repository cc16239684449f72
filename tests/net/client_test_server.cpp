#include "net/client_test_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

namespace autoplacer::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct TestHttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  Handler handler;
  std::shared_ptr<asio::ssl::context> tls;
  mutable std::mutex mu;
  std::vector<net::Request> requests;
  std::atomic<std::size_t>* accepted = nullptr;

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, tcp::socket& socket) {
    beast::flat_buffer buffer;
    for (;;) {
      net::Request req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
      (void)n;
      if (ec) co_return;
      TestReply reply;
      {
        std::lock_guard lock(mu);
        requests.push_back(req);
      }
      reply = handler(req);
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(io, reply.delay);
        co_await timer.async_wait(kTuple);
      }
      if (reply.drop) {
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        co_return;
      }
      if (reply.raw) {
        co_await asio::async_write(stream, asio::buffer(reply.raw_bytes), kTuple);
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
      reply.response.version(11);
      const bool keep = req.keep_alive() && !reply.close_after;
      reply.response.keep_alive(keep);
      reply.response.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, reply.response, kTuple);
      (void)wn;
      if (wec || !keep || reply.silent_close) {
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    if (tls) {
      asio::ssl::stream<tcp::socket&> stream(socket, *tls);
      auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
      if (ec) co_return;
      co_await serve(stream, socket);
    } else {
      co_await serve(socket, socket);
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      accepted->fetch_add(1);
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

TestReply json_reply(net::http::status status, std::string body) {
  TestReply r;
  r.response.result(status);
  r.response.set(http::field::content_type, "application/json");
  r.response.body() = std::move(body);
  return r;
}

TestHttpServer::TestHttpServer(Handler handler, std::shared_ptr<asio::ssl::context> tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->tls = std::move(tls);
  impl_->accepted = &accepted_;
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  thread_ = std::thread([this] { impl_->io.run(); });
}

TestHttpServer::~TestHttpServer() {
  impl_->io.stop();
  if (thread_.joinable()) thread_.join();
}

std::string TestHttpServer::base_url(const std::string& host) const {
  return std::string(impl_->tls ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

std::vector<net::Request> TestHttpServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::size_t TestHttpServer::request_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests.size();
}

std::string tls_fixture(const std::string& name) {
  return std::string(AP_TEST_FIXTURES) + "/tls/" + name;
}

}  // namespace autoplacer::testing
