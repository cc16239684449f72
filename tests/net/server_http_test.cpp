// HttpServer over real loopback sockets: routing, limits, timeouts, connection cap, keep-alive,
// graceful stop, handler failures. The client side is plain blocking Beast so these tests do not
// depend on our own HTTP client.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "net/http_server.h"

namespace autoplacer::net {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class ServerFixture : public ::testing::Test {
 protected:
  void start(Router router, HttpServer::Options options = {}) {
    server_ = HttpServer::create(ioc_.get_executor(), std::move(router), options);
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop(0ms);
    guard_.reset();
    for (auto& t : threads_) t.join();
  }

  tcp::socket connect(std::chrono::milliseconds recv_timeout = 5s) {
    tcp::socket s(client_ioc_);
    s.connect({asio::ip::make_address("127.0.0.1"), port_});
    timeval tv{};
    tv.tv_sec = recv_timeout.count() / 1000;
    tv.tv_usec = (recv_timeout.count() % 1000) * 1000;
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }
  static void send(tcp::socket& s, std::string_view bytes) {
    asio::write(s, asio::buffer(bytes.data(), bytes.size()));
  }
  // nullopt when the server closed the connection (or the read timed out) before a response.
  static std::optional<Response> read(tcp::socket& s, beast::flat_buffer& buf) {
    Response res;
    boost::system::error_code ec;
    http::read(s, buf, res, ec);
    if (ec) return std::nullopt;
    return res;
  }
  std::optional<Response> roundtrip(tcp::socket& s, beast::flat_buffer& buf, std::string target,
                                    http::verb verb = http::verb::get, std::string body = "") {
    Request req{verb, target, 11};
    req.set(http::field::host, "localhost");
    req.body() = std::move(body);
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(s, req, ec);
    if (ec) return std::nullopt;
    return read(s, buf);
  }
  // True when the peer closed: a read returns EOF (or reset) within the socket timeout.
  static bool closed_by_peer(tcp::socket& s) {
    char c;
    boost::system::error_code ec;
    s.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{ioc_.get_executor()};
  std::vector<std::thread> threads_;
  asio::io_context client_ioc_;
  std::shared_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

Handler text(std::string body) {
  return [body](const Request&, const RouteParams&) -> asio::awaitable<Response> {
    co_return make_response(http::status::ok, body, "text/plain");
  };
}

Handler sleeper(std::chrono::milliseconds d) {
  return [d](const Request&, const RouteParams&) -> asio::awaitable<Response> {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
    co_return make_response(http::status::ok, "slept", "text/plain");
  };
}

TEST_F(ServerFixture, RoutesWithParamsOverTheWire) {
  Router r;
  r.add(http::verb::get, "/v1/apps/{app}/machines/{id}/lease",
        [](const Request&, const RouteParams& p) -> asio::awaitable<Response> {
          co_return make_response(http::status::ok,
                                  p.path_param("app") + "/" + p.path_param("id") + "/" +
                                      p.query_value("q").value_or("-"),
                                  "text/plain");
        });
  start(std::move(r));
  auto s = connect();
  beast::flat_buffer buf;
  auto res = roundtrip(s, buf, "/v1/apps/web/machines/abc/lease?q=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ(res->body(), "web/abc/1");
  res = roundtrip(s, buf, "/v1/apps/web/machines");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::not_found);
}

TEST_F(ServerFixture, KeepAliveReusesOneConnection) {
  Router r;
  r.add(http::verb::get, "/x", text("x"));
  start(std::move(r));
  auto s = connect();
  beast::flat_buffer buf;
  for (int i = 0; i < 5; ++i) {
    auto res = roundtrip(s, buf, "/x");
    ASSERT_TRUE(res) << i;
    EXPECT_TRUE(res->keep_alive());
  }
  EXPECT_EQ(server_->requests_served(), 5u);
  EXPECT_EQ(server_->active_connections(), 1u);
}

TEST_F(ServerFixture, OversizedHeaderGets431) {
  Router r;
  r.add(http::verb::get, "/x", text("x"));
  HttpServer::Options o;
  o.max_header_bytes = 1024;
  start(std::move(r), o);
  auto s = connect();
  send(s, "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  beast::flat_buffer buf;
  auto res = read(s, buf);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::request_header_fields_too_large);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(closed_by_peer(s));
}

TEST_F(ServerFixture, OversizedBodyGets413) {
  Router r;
  r.add(http::verb::post, "/x", text("x"));
  HttpServer::Options o;
  o.max_body_bytes = 100;
  start(std::move(r), o);
  auto s = connect();
  beast::flat_buffer buf;
  auto res = roundtrip(s, buf, "/x", http::verb::post, std::string(1000, 'b'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::payload_too_large);
  auto ok = [&] {
    auto s2 = connect();
    beast::flat_buffer b2;
    return roundtrip(s2, b2, "/x", http::verb::post, std::string(100, 'b'));
  }();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result(), http::status::ok);
}

TEST_F(ServerFixture, MalformedRequestGets400) {
  start(Router{});
  auto s = connect();
  send(s, "THIS IS NOT HTTP\r\n\r\n");
  beast::flat_buffer buf;
  auto res = read(s, buf);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::bad_request);
}

TEST_F(ServerFixture, SlowLorisIsCutOffByHeaderTimeout) {
  Router r;
  r.add(http::verb::get, "/x", text("x"));
  HttpServer::Options o;
  o.header_timeout = 300ms;
  start(std::move(r), o);
  auto s = connect();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string head = "GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: ";
  send(s, head);
  // Trickle one byte every 50 ms: each read is short, but the head never completes in time.
  bool cut = false;
  for (int i = 0; i < 60 && !cut; ++i) {
    std::this_thread::sleep_for(50ms);
    boost::system::error_code ec;
    asio::write(s, asio::buffer("a", 1), ec);
    if (ec) cut = true;
  }
  if (!cut) cut = closed_by_peer(s);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(cut);
  EXPECT_LT(elapsed, 2500ms);
  EXPECT_GE(elapsed, 250ms);
}

TEST_F(ServerFixture, IdleKeepAliveConnectionIsClosed) {
  Router r;
  r.add(http::verb::get, "/x", text("x"));
  HttpServer::Options o;
  o.idle_timeout = 200ms;
  start(std::move(r), o);
  auto s = connect();
  beast::flat_buffer buf;
  ASSERT_TRUE(roundtrip(s, buf, "/x"));
  EXPECT_TRUE(closed_by_peer(s));
}

TEST_F(ServerFixture, ConnectionCapRefusesExtraConnections) {
  Router r;
  r.add(http::verb::get, "/x", text("x"));
  HttpServer::Options o;
  o.max_connections = 2;
  start(std::move(r), o);
  auto a = connect();
  auto b = connect();
  beast::flat_buffer ba, bb;
  ASSERT_TRUE(roundtrip(a, ba, "/x"));  // both are registered and idle now
  ASSERT_TRUE(roundtrip(b, bb, "/x"));
  auto c = connect();
  beast::flat_buffer bc;
  auto res = read(c, bc);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::service_unavailable);
  EXPECT_EQ(server_->connections_refused(), 1u);
  // Closing one makes room again.
  a.close();
  for (int i = 0; i < 100 && server_->active_connections() > 1; ++i)
    std::this_thread::sleep_for(10ms);
  auto d = connect();
  beast::flat_buffer bd;
  auto ok = roundtrip(d, bd, "/x");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result(), http::status::ok);
}

TEST_F(ServerFixture, HandlerExceptionBecomes500AndServerGoesOn) {
  Router r;
  r.add(http::verb::get, "/boom",
        [](const Request&, const RouteParams&) -> asio::awaitable<Response> {
          throw std::runtime_error("kaboom");
          co_return make_response(http::status::ok, "");
        });
  r.add(http::verb::get, "/x", text("x"));
  start(std::move(r));
  auto s = connect();
  beast::flat_buffer buf;
  auto res = roundtrip(s, buf, "/boom");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::internal_server_error);
  res = roundtrip(s, buf, "/x");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "x");
}

TEST_F(ServerFixture, DropConnectionClosesWithoutAnswer) {
  Router r;
  r.add(http::verb::get, "/drop",
        [](const Request&, const RouteParams&) -> asio::awaitable<Response> {
          throw DropConnection();
          co_return make_response(http::status::ok, "");
        });
  start(std::move(r));
  auto s = connect();
  beast::flat_buffer buf;
  EXPECT_FALSE(roundtrip(s, buf, "/drop"));
}

TEST_F(ServerFixture, GracefulStopFinishesInFlightAndClosesIdle) {
  Router r;
  r.add(http::verb::get, "/slow", sleeper(300ms));
  r.add(http::verb::get, "/x", text("x"));
  start(std::move(r));
  auto idle = connect();
  beast::flat_buffer bi;
  ASSERT_TRUE(roundtrip(idle, bi, "/x"));
  auto busy = connect();
  Request req{http::verb::get, "/slow", 11};
  req.set(http::field::host, "a");
  http::write(busy, req);
  std::this_thread::sleep_for(50ms);  // the request is in the handler now
  server_->stop(5s);
  beast::flat_buffer bb;
  auto res = read(busy, bb);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "slept");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(closed_by_peer(idle));
  for (int i = 0; i < 100 && server_->active_connections() > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_->active_connections(), 0u);
  // No longer accepting.
  tcp::socket late(client_ioc_);
  boost::system::error_code ec;
  late.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
  EXPECT_TRUE(ec);
}

TEST_F(ServerFixture, GracePeriodBoundsSlowHandlers) {
  Router r;
  r.add(http::verb::get, "/slow", sleeper(1500ms));
  start(std::move(r));
  auto busy = connect();
  Request req{http::verb::get, "/slow", 11};
  req.set(http::field::host, "a");
  http::write(busy, req);
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  server_->stop(100ms);
  EXPECT_TRUE(closed_by_peer(busy));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
}

}  // namespace
}  // namespace autoplacer::net
