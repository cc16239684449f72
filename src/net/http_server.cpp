#include "net/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace autoplacer::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Response error_response(http::status status, std::string_view message) {
  return make_response(status, std::string("{\"error\":\"") + std::string(message) + "\"}");
}

}  // namespace

struct HttpServer::Session {
  explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;  // its executor is this connection's strand
  // A request is being read, handled or answered. Written on the strand; read by the acceptor
  // when it looks for an idle connection to reclaim.
  std::atomic<bool> busy{false};
  std::atomic<bool> reclaiming{false};  // picked as a victim; its close is on the way
};

namespace {
// Connections admitted beyond the cap while their victims are still closing: a victim that got a
// request in between is spared, so the count can briefly exceed the cap, never by more than this.
constexpr std::size_t kReclaimSlack = 16;
}  // namespace

std::shared_ptr<HttpServer> HttpServer::create(asio::any_io_executor executor, Router router,
                                               Options options) {
  return std::make_shared<HttpServer>(Private{}, std::move(executor), std::move(router),
                                      std::move(options));
}

HttpServer::HttpServer(Private, asio::any_io_executor executor, Router router, Options options)
    : executor_(executor),
      acceptor_strand_(asio::make_strand(executor)),
      acceptor_(acceptor_strand_),
      router_(std::move(router)),
      options_(std::move(options)) {}

HttpServer::~HttpServer() = default;

Result<std::uint16_t, std::string> HttpServer::listen(std::string_view address,
                                                      std::uint16_t port) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(std::string(address), ec);
  if (ec) return make_err("bad listen address '" + std::string(address) + "': " + ec.message());
  const tcp::endpoint endpoint{ip, port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_err("cannot listen on " + std::string(address) + ":" + std::to_string(port) + ": " +
                    ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(acceptor_strand_, accept_loop(), asio::detached);
  return port_.load();
}

std::size_t HttpServer::active_connections() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

asio::awaitable<void> HttpServer::accept_loop() {
  auto self = shared_from_this();
  while (!stopping_) {
    // Every connection gets its own strand: its handlers never run concurrently, even when the
    // io_context runs on many threads.
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(executor_), kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      spdlog::warn("http server: accept failed: {}", ec.message());
      continue;
    }
    std::shared_ptr<Session> session;
    std::shared_ptr<Session> victim;
    {
      std::lock_guard lock(mu_);
      bool admit = sessions_.size() < options_.max_connections;
      if (!admit && options_.reclaim_idle_connections &&
          sessions_.size() < options_.max_connections + kReclaimSlack) {
        victim = pick_idle_victim_locked();
        admit = victim != nullptr;
      }
      if (admit && !stopping_) {
        session = std::make_shared<Session>(std::move(socket));
        sessions_.emplace(next_session_id_++, session);
      }
    }
    if (victim) reclaim(std::move(victim));
    if (!session) {
      refuse(std::move(socket));
      continue;
    }
    auto executor = session->stream.get_executor();
    asio::co_spawn(executor, run_session(std::move(session)), asio::detached);
  }
}

void HttpServer::refuse(tcp::socket socket) {
  // Beyond the cap we do not spend a coroutine: one non-blocking write of a fixed answer, then
  // close. If the write does not fit the socket buffer the client just sees the close.
  ++refused_;
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
      "Content-Length: 0\r\n\r\n";
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(kBusy.data(), kBusy.size()), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

asio::awaitable<void> HttpServer::run_session(std::shared_ptr<Session> s) {
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  bool first = true;
  auto send_and_close = [&](Response res) -> asio::awaitable<void> {
    res.keep_alive(false);
    res.set(http::field::server, options_.server_name);
    res.prepare_payload();
    s->stream.expires_after(options_.write_timeout);
    co_await http::async_write(s->stream, res, kTuple);
  };

  for (;;) {
    s->busy = false;
    if (stopping_) break;
    // Wait for the first byte of the next request: a new connection gets header_timeout, an
    // idle keep-alive connection idle_timeout.
    if (buffer.size() == 0) {
      s->stream.expires_after(first ? options_.header_timeout : options_.idle_timeout);
      auto [ec, n] = co_await s->stream.async_read_some(buffer.prepare(4096), kTuple);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    s->busy = true;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    s->stream.expires_after(options_.header_timeout);
    auto [hec, hn] = co_await http::async_read_header(s->stream, buffer, parser, kTuple);
    (void)hn;
    auto fail = [&](const boost::system::error_code& ec) -> std::optional<Response> {
      if (ec == http::error::header_limit)
        return error_response(http::status::request_header_fields_too_large,
                              "request header too large");
      if (ec == http::error::body_limit)
        return error_response(http::status::payload_too_large, "request body too large");
      if (&ec.category() == &http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message)
        return error_response(http::status::bad_request, "malformed request");
      return std::nullopt;  // timeout, reset, EOF: nobody to answer
    };
    if (hec) {
      if (auto res = fail(hec)) co_await send_and_close(std::move(*res));
      break;
    }
    if (!parser.is_done()) {
      s->stream.expires_after(options_.body_timeout);
      auto [bec, bn] = co_await http::async_read(s->stream, buffer, parser, kTuple);
      (void)bn;
      if (bec) {
        if (auto res = fail(bec)) co_await send_and_close(std::move(*res));
        break;
      }
    }
    Request req = parser.release();
    s->stream.expires_never();

    std::optional<Response> res;
    bool drop = false;
    try {
      res = co_await router_.dispatch(req);
    } catch (const DropConnection&) {
      drop = true;
    } catch (const std::exception& e) {
      spdlog::error("http server: handler for {} {} failed: {}", std::string(req.method_string()),
                    std::string(req.target()), e.what());
      res = error_response(http::status::internal_server_error, "internal error");
    } catch (...) {
      spdlog::error("http server: handler for {} {} failed", std::string(req.method_string()),
                    std::string(req.target()));
      res = error_response(http::status::internal_server_error, "internal error");
    }
    if (drop) break;
    const bool keep = req.keep_alive() && res->keep_alive() && !stopping_;
    res->version(req.version());
    res->keep_alive(keep);
    if (res->find(http::field::server) == res->end())
      res->set(http::field::server, options_.server_name);
    if (req.method() != http::verb::head)
      res->prepare_payload();
    else
      res->body().clear();  // HEAD: headers only
    ++served_;
    s->stream.expires_after(options_.write_timeout);
    auto [wec, wn] = co_await http::async_write(s->stream, *res, kTuple);
    (void)wn;
    if (wec || !keep) break;
  }

  boost::system::error_code ignored;
  s->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  s->stream.close();
  std::lock_guard lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second == s) {
      sessions_.erase(it);
      break;
    }
  }
}

std::shared_ptr<HttpServer::Session> HttpServer::pick_idle_victim_locked() {
  // The map is ordered by session id: the first idle one is the oldest.
  for (auto& [id, s] : sessions_) {
    if (s->busy.load() || s->reclaiming.load()) continue;
    s->reclaiming = true;
    return s;
  }
  return nullptr;
}

void HttpServer::reclaim(std::shared_ptr<Session> victim) {
  ++reclaimed_;
  auto executor = victim->stream.get_executor();
  asio::post(executor, [victim = std::move(victim)] {
    // A request may have started since it was picked: then it is spared and finishes normally.
    if (victim->busy.load()) {
      victim->reclaiming = false;
      return;
    }
    boost::system::error_code ec;
    victim->stream.socket().cancel(ec);
    victim->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  });
}

void HttpServer::close_sessions(bool idle_only) {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) sessions.push_back(s);
  }
  for (auto& s : sessions) {
    // Run on the connection's strand so we never race with its coroutine.
    asio::post(s->stream.get_executor(), [s, idle_only] {
      if (idle_only && s->busy) return;
      boost::system::error_code ec;
      s->stream.socket().cancel(ec);
      s->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    });
  }
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_strand_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
  close_sessions(/*idle_only=*/true);
  asio::co_spawn(executor_, stop_after(grace), asio::detached);
}

asio::awaitable<void> HttpServer::stop_after(std::chrono::milliseconds grace) {
  auto self = shared_from_this();
  asio::steady_timer timer(executor_);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  // Poll rather than wake on the last session: simple, and a stop happens once.
  while (std::chrono::steady_clock::now() < deadline && active_connections() > 0) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(kTuple);
    // A session that was between requests when stop() was posted may have started reading.
    close_sessions(/*idle_only=*/true);
  }
  if (active_connections() > 0) {
    if (grace.count() > 0)
      spdlog::warn("http server: {} connection(s) still busy after the grace period; closing",
                   active_connections());
    close_sessions(/*idle_only=*/false);
  }
}

}  // namespace autoplacer::net
