// The controller's HTTP endpoints (controller/http_api.h on net/http_server.h) under abuse, over
// real loopback sockets, served by one I/O thread as in `autoplacer run`:
// - slow-loris: many clients dribbling a request head are cut off by the header timeout while
//   /healthz keeps answering promptly;
// - oversized heads get 431 (or a close), oversized bodies 413, before the body is read;
// - many idle connections: the connection cap holds, a new /healthz is still answered at once
//   (idle connections are reclaimed at the cap), and memory stays bounded;
// - POST /trigger needs the bearer token, and nothing else is accepted in its place.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "controller/http_api.h"

namespace autoplacer::controller {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr const char* kTriggerToken = "s3cret-trigger-token-0123456789abcdef";

class FakeView : public ControllerView {
 public:
  std::string metrics_text() override {
    return "# HELP autoplacer_build_info Build.\n# TYPE autoplacer_build_info gauge\n"
           "autoplacer_build_info{version=\"test\"} 1\n";
  }
  Readiness readiness() override { return {true, "ok", {}}; }
  boost::json::value status_json() override { return boost::json::object{{"policies", {}}}; }
  asio::awaitable<TriggerOutcome> trigger(std::optional<std::string>) override {
    ++triggers;
    co_return TriggerOutcome{200, boost::json::object{{"result", "success"}}};
  }
  std::atomic<int> triggers{0};
};

// Resident set size of this process, in KiB.
long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

class AbuseTest : public ::testing::Test {
 protected:
  void start(HttpApiOptions options) {
    api_ = std::make_unique<HttpApi>(ioc_.get_executor(), view_, std::move(options));
    auto port = api_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    thread_ = std::thread([this] { ioc_.run(); });  // one thread, like the controller
  }
  void TearDown() override {
    if (api_) api_->stop(0ms);
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }
  static HttpApiOptions options() {
    HttpApiOptions o;
    o.trigger_token = kTriggerToken;
    o.server.header_timeout = 500ms;
    o.server.body_timeout = 500ms;
    return o;
  }

  tcp::socket connect(std::chrono::milliseconds recv_timeout = 3s) {
    tcp::socket s(client_ioc_);
    s.connect({asio::ip::make_address("127.0.0.1"), port_});
    timeval tv{};
    tv.tv_sec = recv_timeout.count() / 1000;
    tv.tv_usec = (recv_timeout.count() % 1000) * 1000;
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }
  static bool send(tcp::socket& s, std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }
  // The response, or nullopt when the server closed (or the read timed out) first.
  static std::optional<http::response<http::string_body>> read(tcp::socket& s) {
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    boost::system::error_code ec;
    http::read(s, buf, res, ec);
    if (ec) return std::nullopt;
    return res;
  }
  static bool closed_by_peer(tcp::socket& s) {
    char c;
    boost::system::error_code ec;
    s.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
  // One request on a fresh connection; the status (0: no answer) and how long it took.
  std::pair<int, std::chrono::milliseconds> request(
      http::verb verb, const std::string& target,
      std::optional<std::string> authorization = std::nullopt) {
    const auto t0 = Steady::now();
    try {
      auto s = connect();
      http::request<http::string_body> req{verb, target, 11};
      req.set(http::field::host, "localhost");
      if (authorization) req.set(http::field::authorization, *authorization);
      req.prepare_payload();
      http::write(s, req);
      auto res = read(s);
      return {res ? static_cast<int>(res->result_int()) : 0,
              std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t0)};
    } catch (const std::exception&) {
      return {0, std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t0)};
    }
  }

  FakeView view_;
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_{ioc_.get_executor()};
  std::thread thread_;
  asio::io_context client_ioc_;
  std::unique_ptr<HttpApi> api_;
  std::uint16_t port_ = 0;
};

TEST_F(AbuseTest, SlowLorisClientsAreCutOffWhileHealthzStaysPrompt) {
  start(options());
  constexpr int kClients = 40;
  std::vector<tcp::socket> slow;
  for (int i = 0; i < kClients; ++i) {
    slow.push_back(connect());
    ASSERT_TRUE(send(slow.back(), "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: "));
  }
  const auto t0 = Steady::now();
  std::vector<bool> cut(kClients, false);
  int cut_count = 0;
  std::chrono::milliseconds worst_healthz{0};
  // Every client dribbles a byte every 50 ms; the head never completes.
  while (cut_count < kClients && Steady::now() - t0 < 3s) {
    for (int i = 0; i < kClients; ++i) {
      if (cut[i]) continue;
      if (!send(slow[i], "a")) {
        cut[i] = true;
        ++cut_count;
      }
    }
    auto [status, took] = request(http::verb::get, "/healthz");
    EXPECT_EQ(status, 200);
    worst_healthz = std::max(worst_healthz, took);
    std::this_thread::sleep_for(50ms);
  }
  // A write may still succeed after the server's close (it lands in the socket buffer): the
  // read then sees the close.
  for (int i = 0; i < kClients; ++i)
    if (!cut[i] && closed_by_peer(slow[i])) cut[i] = true, ++cut_count;
  const auto elapsed = Steady::now() - t0;
  EXPECT_EQ(cut_count, kClients);
  EXPECT_LT(elapsed, 3500ms) << "slow clients were not cut off by the 500 ms header timeout";
  EXPECT_LT(worst_healthz, 500ms) << "/healthz slowed down while slow-loris clients were held";
}

TEST_F(AbuseTest, OversizedHeadersGet431OrClose) {
  start(options());
  // One huge header line.
  {
    auto s = connect();
    std::string head =
        "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n";
    send(s, head);  // the server may close before it has read everything
    auto res = read(s);
    if (res)
      EXPECT_EQ(res->result(), http::status::request_header_fields_too_large);
    else
      EXPECT_TRUE(closed_by_peer(s));
  }
  // Many small header lines.
  {
    auto s = connect();
    std::string head = "GET /healthz HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 2000; ++i) head += "X-H" + std::to_string(i) + ": value\r\n";
    head += "\r\n";
    send(s, head);
    auto res = read(s);
    if (res)
      EXPECT_EQ(res->result(), http::status::request_header_fields_too_large);
    else
      EXPECT_TRUE(closed_by_peer(s));
  }
  EXPECT_EQ(request(http::verb::get, "/healthz").first, 200);
}

TEST_F(AbuseTest, OversizedBodiesGet413BeforeTheBodyIsRead) {
  start(options());
  const std::string auth = std::string("Bearer ") + kTriggerToken;
  // A declared length over the limit: refused from the head alone, the body never sent.
  {
    auto s = connect();
    send(s, "POST /trigger HTTP/1.1\r\nHost: a\r\nAuthorization: " + auth +
                "\r\nContent-Length: 104857600\r\n\r\n");
    auto res = read(s);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::payload_too_large);
    EXPECT_TRUE(closed_by_peer(s));
  }
  // A chunked body that grows past the limit.
  {
    auto s = connect();
    send(s, "POST /trigger HTTP/1.1\r\nHost: a\r\nAuthorization: " + auth +
                "\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    std::optional<http::response<http::string_body>> res;
    for (int i = 0; i < 40; ++i)
      if (!send(s, chunk)) break;
    res = read(s);
    if (res)
      EXPECT_EQ(res->result(), http::status::payload_too_large);
    else
      EXPECT_TRUE(closed_by_peer(s));
  }
  EXPECT_EQ(view_.triggers.load(), 0) << "an oversized request reached the handler";
  EXPECT_EQ(request(http::verb::get, "/healthz").first, 200);
}

TEST_F(AbuseTest, IdleConnectionsCannotStarveHealthzAndMemoryStaysBounded) {
  // Room for the client and the server ends of every connection.
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  const int idle_count =
      static_cast<int>(std::min<rlim_t>(2000, lim.rlim_cur > 400 ? (lim.rlim_cur - 200) / 2 : 100));

  auto o = options();
  o.server.max_connections = 64;
  o.server.header_timeout = 30s;  // idle clients are not timed out during the test
  start(o);
  // Warm up (first allocations of the server and the client side) before measuring.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(request(http::verb::get, "/healthz").first, 200);
  const long rss_before = rss_kib();

  std::vector<tcp::socket> idle;
  idle.reserve(static_cast<std::size_t>(idle_count));
  std::chrono::milliseconds worst{0};
  for (int i = 0; i < idle_count; ++i) {
    idle.push_back(connect(200ms));
    if (i % 100 == 99) {
      // A health check among them is answered at once, never refused for lack of room.
      auto [status, took] = request(http::verb::get, "/healthz");
      EXPECT_EQ(status, 200) << "after " << i + 1 << " idle connections";
      worst = std::max(worst, took);
    }
  }
  std::this_thread::sleep_for(200ms);
  auto [status, took] = request(http::verb::get, "/healthz");
  EXPECT_EQ(status, 200);
  worst = std::max(worst, took);
  EXPECT_LT(worst, 500ms);
  // The cap holds: most idle connections were closed by the server to make room.
  int closed = 0;
  for (auto& s : idle) {
    ::fcntl(s.native_handle(), F_SETFL, ::fcntl(s.native_handle(), F_GETFL) | O_NONBLOCK);
    char c;
    const ssize_t n = ::recv(s.native_handle(), &c, 1, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) ++closed;
  }
  EXPECT_GE(closed, idle_count - 64 - 8) << "of " << idle_count << " idle connections";
  const long growth = rss_kib() - rss_before;
  // Client sockets live in the kernel; the server's bounded sessions cost a few KiB each.
  // AddressSanitizer keeps freed memory in quarantine and pads every allocation, so RSS says
  // little there: the bound is checked in the plain build only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr long kMaxGrowthKib = 256 * 1024;
#else
  constexpr long kMaxGrowthKib = 16 * 1024;
#endif
  EXPECT_LT(growth, kMaxGrowthKib)
      << "RSS grew by " << growth << " KiB for " << idle_count << " idle connections";
  std::cout << "[ info ] " << idle_count << " idle connections: RSS +" << growth
            << " KiB, worst /healthz " << worst.count() << " ms\n";
}

TEST_F(AbuseTest, TriggerNeedsTheBearerTokenAndNothingElse) {
  start(options());
  const std::string token = kTriggerToken;
  for (const std::optional<std::string>& auth : std::vector<std::optional<std::string>>{
           std::nullopt, "", "Bearer", "Bearer ", "Bearer wrong", "Basic " + token,
           "Bearer " + token.substr(0, token.size() - 1), "Bearer " + token + "0",
           "Bearer " + token.substr(1), "Token " + token, token}) {
    EXPECT_EQ(request(http::verb::post, "/trigger", auth).first, 401) << auth.value_or("(none)");
  }
  EXPECT_EQ(view_.triggers.load(), 0);
  EXPECT_EQ(request(http::verb::post, "/trigger", "Bearer " + token).first, 200);
  EXPECT_EQ(request(http::verb::post, "/trigger", "bearer  " + token + " ").first, 200);
  EXPECT_EQ(view_.triggers.load(), 2);
  // Reads need no token; nothing else accepts a write.
  for (const char* target : {"/healthz", "/readyz", "/status", "/metrics"}) {
    EXPECT_EQ(request(http::verb::get, target).first, 200) << target;
    EXPECT_EQ(request(http::verb::post, target).first, 405) << target;
    EXPECT_EQ(request(http::verb::delete_, target).first, 405) << target;
  }
  EXPECT_EQ(request(http::verb::get, "/trigger").first, 405);
}

TEST(ConstantTimeEquals, ComparesWholeTokens) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abd", "abc"));
  EXPECT_FALSE(constant_time_equals("xbc", "abc"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));
  EXPECT_FALSE(constant_time_equals("abcd", "abc"));
  EXPECT_FALSE(constant_time_equals("", "abc"));
  EXPECT_FALSE(constant_time_equals("", ""));  // an empty configured token never matches
  EXPECT_FALSE(constant_time_equals(std::string_view("ab\0", 3), "ab"));
}

}  // namespace
}  // namespace autoplacer::controller
