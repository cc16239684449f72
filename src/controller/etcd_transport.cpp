// Transports for the etcd gateway client: over net::HttpClient (the default), and over plain
// Boost.Beast with one connection per request, kept for client certificates (mTLS), which
// net::HttpClient does not offer yet.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <map>
#include <mutex>
#include <optional>

#include "controller/etcd_client.h"
#include "net/http_client.h"
#include "net/tls_context.h"

namespace autoplacer::etcd {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kBodyLimit = 8 * 1024 * 1024;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

net::HttpError error(net::HttpError::Kind kind, std::string message) {
  return net::HttpError{kind, std::move(message)};
}

net::HttpError::Kind kind_of(const boost::system::error_code& ec, net::HttpError::Kind dflt) {
  if (ec == beast::error::timeout) return net::HttpError::Kind::kTimeout;
  if (ec == asio::error::operation_aborted) return net::HttpError::Kind::kCancelled;
  if (ec == http::error::body_limit) return net::HttpError::Kind::kBodyTooLarge;
  return dflt;
}

class BeastTransport final : public EtcdTransport {
 public:
  BeastTransport(asio::any_io_executor executor, EtcdTlsOptions tls)
      : executor_(std::move(executor)), tls_(std::move(tls)) {}

  asio::awaitable<net::HttpResult<Reply>> post(std::string endpoint, std::string path,
                                               std::string body, std::string auth_token,
                                               Duration timeout) override {
    auto url = boost::urls::parse_uri(endpoint);
    if (!url) {
      co_return make_err(error(net::HttpError::Kind::kResolve, "bad endpoint URL " + endpoint));
    }
    const bool secure = url->scheme() == "https";
    std::string host = url->host();
    std::string port = url->has_port() ? std::string(url->port()) : (secure ? "443" : "80");

    http::request<http::string_body> req{http::verb::post, path, 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "fly-autoplacer");
    if (!auth_token.empty()) req.set(http::field::authorization, auth_token);
    req.body() = std::move(body);
    req.prepare_payload();

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    tcp::resolver resolver(executor_);
    auto [rec, results] = co_await resolver.async_resolve(host, port, kTuple);
    if (rec) co_return make_err(error(net::HttpError::Kind::kResolve, rec.message()));

    beast::tcp_stream tcp_stream(executor_);
    tcp_stream.expires_at(deadline);
    auto [cec, ep] = co_await tcp_stream.async_connect(results, kTuple);
    (void)ep;
    if (cec) {
      co_return make_err(
          error(kind_of(cec, net::HttpError::Kind::kConnect), "connect: " + cec.message()));
    }
    if (!secure) co_return co_await exchange(tcp_stream, req, deadline);

    auto ctx = ssl_context();
    if (!ctx) co_return make_err(ctx.error());
    beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(tcp_stream), *ctx.value());
    if (!net::set_tls_peer_name(tls_stream.native_handle(), host, !tls_.insecure_skip_verify)) {
      co_return make_err(error(net::HttpError::Kind::kTls, "cannot set the TLS peer name"));
    }
    beast::get_lowest_layer(tls_stream).expires_at(deadline);
    auto [hec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) {
      co_return make_err(
          error(kind_of(hec, net::HttpError::Kind::kTls), "TLS handshake: " + hec.message()));
    }
    co_return co_await exchange(tls_stream, req, deadline);
  }

 private:
  template <class Stream>
  asio::awaitable<net::HttpResult<Reply>> exchange(Stream& stream,
                                                   http::request<http::string_body>& req,
                                                   std::chrono::steady_clock::time_point deadline) {
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [wec, written] = co_await http::async_write(stream, req, kTuple);
    (void)written;
    if (wec) {
      co_return make_err(
          error(kind_of(wec, net::HttpError::Kind::kClosed), "write: " + wec.message()));
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    auto [rec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
    (void)read;
    if (rec) {
      auto kind = rec == http::error::end_of_stream || rec == asio::error::eof ||
                          rec == asio::error::connection_reset
                      ? net::HttpError::Kind::kClosed
                      : kind_of(rec, net::HttpError::Kind::kProtocol);
      co_return make_err(error(kind, "read: " + rec.message()));
    }
    auto res = parser.release();
    co_return Reply{res.result_int(), std::move(res.body())};
  }

  net::HttpResult<asio::ssl::context*> ssl_context() {
    if (ctx_) return ctx_.get();
    auto ctx = net::make_client_tls_context(
        net::TlsClientOptions{tls_.ca_file, !tls_.insecure_skip_verify});
    if (!ctx) return make_err(ctx.error());
    boost::system::error_code ec;
    if (!tls_.cert_file.empty()) {
      ctx.value()->use_certificate_chain_file(tls_.cert_file, ec);
      if (ec) return make_err(error(net::HttpError::Kind::kTls, "client cert: " + ec.message()));
      ctx.value()->use_private_key_file(tls_.key_file, asio::ssl::context::pem, ec);
      if (ec) return make_err(error(net::HttpError::Kind::kTls, "client key: " + ec.message()));
    }
    ctx_ = std::move(ctx.value());
    return ctx_.get();
  }

  asio::any_io_executor executor_;
  EtcdTlsOptions tls_;
  std::shared_ptr<asio::ssl::context> ctx_;
};

}  // namespace

std::shared_ptr<EtcdTransport> make_beast_transport(asio::any_io_executor executor,
                                                    const EtcdTlsOptions& tls) {
  return std::make_shared<BeastTransport>(std::move(executor), tls);
}

}  // namespace autoplacer::etcd

// ---------------------------------------------------------------------------------------------
// Over the project's HttpClient.

namespace autoplacer::etcd {
namespace {

class HttpClientTransport final : public EtcdTransport {
 public:
  HttpClientTransport(asio::any_io_executor executor, EtcdTlsOptions tls, Duration connect_timeout)
      : executor_(std::move(executor)), tls_(std::move(tls)), connect_timeout_(connect_timeout) {}

  asio::awaitable<net::HttpResult<Reply>> post(std::string endpoint, std::string path,
                                               std::string body, std::string auth_token,
                                               Duration timeout) override {
    auto client = client_for(endpoint);
    net::Request req{http::verb::post, path, 11};
    req.set(http::field::content_type, "application/json");
    if (!auth_token.empty()) req.set(http::field::authorization, auth_token);
    req.body() = std::move(body);
    req.prepare_payload();
    auto res = co_await client->request(std::move(req), {.timeout = timeout});
    if (!res) co_return make_err(std::move(res).error());
    co_return Reply{res->result_int(), std::move(res->body())};
  }

 private:
  std::shared_ptr<net::HttpClient> client_for(const std::string& endpoint) {
    std::lock_guard lock(mu_);
    auto& c = clients_[endpoint];
    if (!c) {
      net::HttpClient::Options o;
      // A single-node etcd answers in milliseconds; a dead one must cost us little.
      o.connect_timeout = connect_timeout_;
      o.ca_file = tls_.ca_file;
      o.verify_peer = !tls_.insecure_skip_verify;
      o.max_idle_connections = 2;
      c = net::HttpClient::create(executor_, endpoint, std::move(o));
    }
    return c;
  }

  asio::any_io_executor executor_;
  EtcdTlsOptions tls_;
  Duration connect_timeout_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<net::HttpClient>> clients_;
};

}  // namespace

std::shared_ptr<EtcdTransport> make_etcd_transport(asio::any_io_executor executor,
                                                   const EtcdTlsOptions& tls,
                                                   Duration connect_timeout) {
  if (!tls.cert_file.empty()) return make_beast_transport(std::move(executor), tls);
  return std::make_shared<HttpClientTransport>(std::move(executor), tls, connect_timeout);
}

}  // namespace autoplacer::etcd
