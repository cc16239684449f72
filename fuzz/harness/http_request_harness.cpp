// Harness for the HTTP server's request path without sockets: Beast's request parser with the
// server's limits (HttpServer::Options defaults), then Router::dispatch, then serialising the
// answer, for each request of a pipelined stream, as HttpServer's session loop does.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <optional>
#include <sstream>

#include "harness.h"
#include "http_routes.h"
#include "net/http_server.h"

namespace autoplacer::fuzz {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

const net::Router& router() {
  static const net::Router r = make_fuzz_router();
  return r;
}

// Runs the router on a fresh io_context; nullopt when the handler threw (the server answers 500).
std::optional<net::Response> dispatch(const net::Request& req) {
  asio::io_context ioc;
  std::optional<net::Response> out;
  bool done = false;
  asio::co_spawn(ioc, router().dispatch(req), [&](std::exception_ptr e, net::Response res) {
    done = true;
    if (!e) out = std::move(res);
  });
  ioc.run();
  AP_FUZZ_CHECK(done);  // no handler here waits on anything
  return out;
}

void check_response(const net::Request& req, net::Response res) {
  const unsigned status = res.result_int();
  AP_FUZZ_CHECK(status >= 200 && status < 600);
  if (status == 405) AP_FUZZ_CHECK(res.find(http::field::allow) != res.end());
  // Serialise as the server does and read it back: the answer must be valid HTTP.
  res.version(req.version() == 10 ? 10 : 11);
  res.keep_alive(req.keep_alive());
  if (req.method() != http::verb::head) res.prepare_payload();
  std::ostringstream wire;
  wire << res;
  const std::string text = wire.str();
  http::response_parser<http::string_body> p;
  p.eager(true);
  if (req.method() == http::verb::head) p.skip(true);
  boost::system::error_code ec;
  p.put(asio::buffer(text), ec);
  AP_FUZZ_CHECK(!ec);
  AP_FUZZ_CHECK(p.is_header_done());
  AP_FUZZ_CHECK(p.get().result_int() == status);
}

}  // namespace

void http_request(std::string_view data) {
  const net::HttpServer::Options limits;
  // Like the session loop: one parser per request, until an error or the end of the bytes.
  for (int requests = 0; requests < 16 && !data.empty(); ++requests) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    parser.eager(true);
    boost::system::error_code ec;
    while (!parser.is_done()) {
      const std::size_t n = parser.put(asio::buffer(data.data(), data.size()), ec);
      data.remove_prefix(n);
      if (ec == http::error::need_more || (!ec && n == 0)) {
        ec = {};
        if (n > 0 && !data.empty()) continue;
        parser.put_eof(ec);  // no more bytes will come: the client closed its side
        if (!ec && !parser.is_done()) ec = http::error::partial_message;
      }
      if (ec) break;
    }
    if (ec) {
      // The server answers 431/413/400 and closes, or just closes: either way the stream ends.
      return;
    }
    AP_FUZZ_CHECK(parser.is_done());
    net::Request req = parser.release();
    AP_FUZZ_CHECK(req.body().size() <= limits.max_body_bytes);

    net::RouteParams target;
    if (net::Router::parse_target(req.target(), target)) {
      AP_FUZZ_CHECK(!target.path.empty() && target.path.front() == '/');
    }
    if (auto res = dispatch(req)) check_response(req, std::move(*res));
    if (!req.keep_alive()) return;  // the server closes after this answer
  }
}

}  // namespace autoplacer::fuzz
