#include "net/http_client.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <cerrno>

#include "net/tls_context.h"

namespace autoplacer::net {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;
using namespace asio::experimental::awaitable_operators;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct HttpClient::Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  SteadyTime idle_since{};

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // A pooled connection is worth reusing only if the peer has not closed it meanwhile. A peek
  // never blocks: EOF or an error means closed; pending bytes on a plain connection are garbage
  // (TLS may legitimately have pending records such as session tickets).
  bool looks_alive() {
    auto& sock = lowest().socket();
    if (!sock.is_open()) return false;
    char byte = 0;
    const ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;
    if (n > 0) return static_cast<bool>(tls);
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
};

namespace {

HttpError error(HttpError::Kind kind, std::string message) {
  return HttpError{kind, std::move(message)};
}

bool is_timeout(const boost::system::error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::timed_out;
}

bool is_closed(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == beast::http::error::end_of_stream || ec == asio::ssl::error::stream_truncated ||
         ec == beast::http::error::partial_message;
}

bool is_idempotent(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
      return true;
    default:
      return false;
  }
}

// Result of one exchange on one connection. nothing_received tells whether a retry on a new
// connection is plausible: a stale pooled connection fails before any response byte.
struct ExchangeFailure {
  HttpError error;
  bool nothing_received = false;
};

template <class Stream>
asio::awaitable<Result<Response, ExchangeFailure>> exchange(
    Stream& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer, Request& req,
    std::chrono::milliseconds timeout, const HttpClient::Options& options) {
  lowest.expires_after(timeout);
  auto [wec, written] = co_await http::async_write(stream, req, kTuple);
  (void)written;
  if (wec) {
    if (is_timeout(wec)) {
      co_return make_err(ExchangeFailure{
          error(HttpError::Kind::kTimeout, "request timed out while sending"), false});
    }
    if (wec == asio::error::operation_aborted) {
      co_return make_err(ExchangeFailure{error(HttpError::Kind::kCancelled, "cancelled"), false});
    }
    co_return make_err(ExchangeFailure{
        error(HttpError::Kind::kClosed, "connection failed while sending: " + wec.message()),
        true});
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  if (req.method() == http::verb::head) parser.skip(true);
  auto [rec, nread] = co_await http::async_read(stream, buffer, parser, kTuple);
  (void)nread;
  if (rec) {
    const bool nothing = !parser.got_some();
    if (is_timeout(rec)) {
      co_return make_err(ExchangeFailure{
          error(HttpError::Kind::kTimeout,
                "request timed out after " + std::to_string(timeout.count()) + " ms"),
          false});
    }
    if (rec == http::error::body_limit) {
      co_return make_err(ExchangeFailure{
          error(HttpError::Kind::kBodyTooLarge,
                "response body exceeds " + std::to_string(options.max_body_bytes) + " bytes"),
          false});
    }
    if (rec == http::error::header_limit) {
      co_return make_err(
          ExchangeFailure{error(HttpError::Kind::kProtocol, "response headers too large"), false});
    }
    if (rec == asio::error::operation_aborted) {
      co_return make_err(ExchangeFailure{error(HttpError::Kind::kCancelled, "cancelled"), false});
    }
    if (is_closed(rec)) {
      co_return make_err(ExchangeFailure{
          error(HttpError::Kind::kClosed,
                "connection closed before the response was complete: " + rec.message()),
          nothing});
    }
    co_return make_err(ExchangeFailure{
        error(HttpError::Kind::kProtocol, "bad response: " + rec.message()), nothing});
  }
  lowest.expires_never();
  co_return parser.release();
}

}  // namespace

std::shared_ptr<HttpClient> HttpClient::create(asio::any_io_executor executor, std::string base_url,
                                               Options options) {
  return std::make_shared<HttpClient>(Private{}, std::move(executor), std::move(base_url),
                                      std::move(options));
}

HttpClient::HttpClient(Private, asio::any_io_executor executor, std::string base_url,
                       Options options)
    : executor_(std::move(executor)),
      base_url_text_(std::move(base_url)),
      options_(std::move(options)) {
  auto parsed = parse_base_url(base_url_text_);
  if (!parsed) {
    config_error_ = parsed.error();
    return;
  }
  base_ = std::move(parsed.value());
  if (base_.tls) {
    auto ctx = make_client_tls_context(TlsClientOptions{options_.ca_file, options_.verify_peer});
    if (!ctx) {
      config_error_ = ctx.error();
      return;
    }
    tls_ = std::move(ctx.value());
  }
}

HttpClient::~HttpClient() = default;

std::size_t HttpClient::connections_opened() const {
  std::lock_guard lock(mu_);
  return opened_;
}

std::size_t HttpClient::idle_connections() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

std::unique_ptr<HttpClient::Connection> HttpClient::take_idle() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  while (!idle_.empty()) {
    // Most recently used first: it is the least likely to have been closed by the server.
    std::unique_ptr<Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    if (now - conn->idle_since > options_.idle_timeout) continue;
    if (!conn->looks_alive()) continue;
    return conn;
  }
  return nullptr;
}

void HttpClient::put_idle(std::unique_ptr<Connection> conn) {
  conn->idle_since = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (options_.max_idle_connections == 0) return;  // conn closes here
  if (idle_.size() >= options_.max_idle_connections) idle_.pop_front();
  idle_.push_back(std::move(conn));
}

asio::awaitable<HttpResult<std::unique_ptr<HttpClient::Connection>>> HttpClient::connect(
    SteadyTime deadline) {
  const std::string where = base_.host + ":" + base_.port;
  tcp::resolver resolver(executor_);
  asio::steady_timer timer(executor_);
  timer.expires_at(deadline);
  auto resolved =
      co_await (resolver.async_resolve(base_.host, base_.port, kTuple) || timer.async_wait(kTuple));
  if (resolved.index() == 1) {
    co_return make_err(error(HttpError::Kind::kTimeout, "resolving " + where + " timed out"));
  }
  auto [rec, endpoints] = std::get<0>(std::move(resolved));
  if (rec)
    co_return make_err(
        error(HttpError::Kind::kResolve, "cannot resolve " + where + ": " + rec.message()));

  auto conn = std::make_unique<Connection>();
  if (tls_) {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor_, *tls_);
    if (!set_tls_peer_name(conn->tls->native_handle(), base_.host, options_.verify_peer)) {
      co_return make_err(error(HttpError::Kind::kTls, "cannot set TLS peer name " + base_.host));
    }
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(executor_);
  }
  beast::tcp_stream& lowest = conn->lowest();
  lowest.expires_at(deadline);
  auto [cec, endpoint] = co_await lowest.async_connect(endpoints, kTuple);
  (void)endpoint;
  if (cec) {
    if (is_timeout(cec))
      co_return make_err(error(HttpError::Kind::kTimeout, "connecting to " + where + " timed out"));
    co_return make_err(
        error(HttpError::Kind::kConnect, "cannot connect to " + where + ": " + cec.message()));
  }
  boost::system::error_code ignored;
  lowest.socket().set_option(tcp::no_delay(true), ignored);
  if (conn->tls) {
    auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      if (is_timeout(hec))
        co_return make_err(
            error(HttpError::Kind::kTimeout, "TLS handshake with " + where + " timed out"));
      co_return make_err(
          error(HttpError::Kind::kTls,
                "TLS handshake with " + where +
                    " failed: " + describe_tls_failure(conn->tls->native_handle(), hec.message())));
    }
  }
  lowest.expires_never();
  {
    std::lock_guard lock(mu_);
    ++opened_;
  }
  co_return conn;
}

asio::awaitable<HttpResult<Response>> HttpClient::request(Request req, RequestOptions ro) {
  if (config_error_) co_return make_err(*config_error_);
  // Keep this object alive across suspensions even if the owner drops it meanwhile.
  auto self = shared_from_this();

  std::string target(req.target());
  if (target.empty() || target.front() != '/') target.insert(target.begin(), '/');
  req.target(base_.path_prefix + target);
  req.set(http::field::host, base_.host_header());
  if (req.find(http::field::user_agent) == req.end())
    req.set(http::field::user_agent, options_.user_agent);
  for (const auto& [name, value] : options_.default_headers) {
    if (req.find(name) == req.end()) req.set(name, value);
  }
  req.keep_alive(true);
  req.prepare_payload();
  const auto timeout = ro.timeout.value_or(options_.request_timeout);

  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn = take_idle();
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = co_await connect(std::chrono::steady_clock::now() + options_.connect_timeout);
      if (!fresh) co_return make_err(std::move(fresh).error());
      conn = std::move(fresh.value());
    }
    // (No co_await inside ?: -- g++ 12 miscompiles that and destroys the result twice.)
    std::optional<Result<Response, ExchangeFailure>> res;
    if (conn->tls) {
      res.emplace(
          co_await exchange(*conn->tls, conn->lowest(), conn->buffer, req, timeout, options_));
    } else {
      res.emplace(
          co_await exchange(*conn->plain, conn->lowest(), conn->buffer, req, timeout, options_));
    }
    if (res->ok()) {
      Response out = std::move(res->value());
      if (out.keep_alive() && !out.need_eof()) put_idle(std::move(conn));
      co_return out;
    }
    const ExchangeFailure& failure = res->error();
    if (reused && failure.nothing_received && attempt == 0 && is_idempotent(req.method())) continue;
    co_return make_err(failure.error);
  }
}

}  // namespace autoplacer::net
