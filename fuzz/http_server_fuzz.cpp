// The HTTP server's request handling over a real loopback connection: one HttpServer runs for
// the whole fuzzing session on a background thread; each input is written to a fresh
// connection, the client half-closes, and we read until the server closes. This reaches what the
// socket-free http_request target cannot: HttpServer's session loop, its limits and error
// answers, keep-alive and pipelining, and the 500 on a throwing handler.
//
// Checks: the server never hangs on a closed client (answer within 5 s), and whatever it sends
// is HTTP a client can frame: each answer starts with a status line, parses, and ends where the
// next begins (an answer to HEAD carries no body).
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <thread>

#include "harness/harness.h"
#include "harness/http_routes.h"
#include "harness/http_wire.h"
#include "net/http_server.h"

namespace {

struct Fixture {
  boost::asio::io_context ioc;
  std::shared_ptr<autoplacer::net::HttpServer> server;
  std::uint16_t port = 0;

  Fixture() {
    // The default options: the limits production runs with.
    server = autoplacer::net::HttpServer::create(ioc.get_executor(),
                                                 autoplacer::fuzz::make_fuzz_router(), {});
    auto p = server->listen("127.0.0.1", 0);
    if (!p) autoplacer::fuzz::fuzz_fail(__FILE__, __LINE__, "cannot listen on loopback");
    port = *p;
    std::thread([this] { ioc.run(); }).detach();  // lives as long as the fuzzing process
  }
};

Fixture* fixture = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the server logs handler failures
  fixture = new Fixture();                // never destroyed: its thread outlives main's return
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = autoplacer::fuzz::as_view(data, size);
  autoplacer::fuzz::check_http_answers(
      input, autoplacer::fuzz::exchange_over_loopback(fixture->port, input));
  return 0;
}
