// HttpClient against a real loopback server (plain and TLS).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <thread>

#include "net/client_test_server.h"
#include "net/client_test_util.h"
#include "net/http_client.h"
#include "net/tls_context.h"

namespace autoplacer::net {
namespace {
using autoplacer::testing::json_reply;
using autoplacer::testing::run_sync;
using autoplacer::testing::TestHttpServer;
using autoplacer::testing::TestReply;
using autoplacer::testing::tls_fixture;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TestReply echo(const Request& req) {
  auto r = json_reply(http::status::ok, std::string(req.target()) + "|" + req.body());
  return r;
}

Request get(std::string target) {
  return Request{http::verb::get, target, 11};
}

class HttpClientTest : public ::testing::Test {
 protected:
  HttpResult<Response> send(const std::shared_ptr<HttpClient>& c, Request req,
                            HttpClient::RequestOptions ro = {}) {
    return run_sync(io, c->request(std::move(req), ro));
  }
  asio::io_context io;
};

TEST_F(HttpClientTest, GetSetsHostUserAgentAndDefaultHeaders) {
  TestHttpServer server(echo);
  HttpClient::Options o;
  o.default_headers = {{"Authorization", "Bearer abc"}, {"X-Extra", "1"}};
  auto client = HttpClient::create(io.get_executor(), server.base_url(), o);
  Request req = get("/v1/apps?x=1");
  req.set("X-Extra", "mine");
  auto res = send(client, std::move(req));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ(res->body(), "/v1/apps?x=1|");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0][http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[0][http::field::user_agent], "fly-autoplacer");
  EXPECT_EQ(seen[0]["Authorization"], "Bearer abc");
  EXPECT_EQ(seen[0]["X-Extra"], "mine");  // the request's own header wins
}

TEST_F(HttpClientTest, PostSendsBodyAndPrefixIsPrepended) {
  TestHttpServer server(echo);
  auto client = HttpClient::create(io.get_executor(), server.base_url() + "/prefix/p2/");
  Request req{http::verb::post, "/things", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"a":1})";
  auto res = send(client, std::move(req));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->body(), R"(/prefix/p2/things|{"a":1})");
  EXPECT_EQ(server.requests().at(0)[http::field::content_length], "7");
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
  TestHttpServer server(echo);
  auto client = HttpClient::create(io.get_executor(), server.base_url());
  for (int i = 0; i < 5; ++i) {
    auto res = send(client, get("/n" + std::to_string(i)));
    ASSERT_TRUE(res.ok()) << res.error().message;
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(client->connections_opened(), 1u);
  EXPECT_EQ(client->idle_connections(), 1u);
}

TEST_F(HttpClientTest, ConnectionCloseIsNotPooled) {
  TestHttpServer server([](const Request& r) {
    auto reply = echo(r);
    reply.close_after = true;
    return reply;
  });
  auto client = HttpClient::create(io.get_executor(), server.base_url());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(send(client, get("/")).ok());
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_EQ(client->idle_connections(), 0u);
}

TEST_F(HttpClientTest, StaleIdleConnectionIsReplacedEvenForPost) {
  TestHttpServer server([](const Request& r) {
    auto reply = echo(r);
    reply.silent_close = true;  // says keep-alive, closes anyway
    return reply;
  });
  auto client = HttpClient::create(io.get_executor(), server.base_url());
  ASSERT_TRUE(send(client, get("/a")).ok());
  std::this_thread::sleep_for(50ms);  // let the FIN arrive
  Request post{http::verb::post, "/b", 11};
  post.body() = "x";
  auto res = send(client, std::move(post));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(server.connections_accepted(), 2u);
  EXPECT_EQ(server.request_count(), 2u);  // the POST was sent exactly once
}

TEST_F(HttpClientTest, ConcurrentRequestsAllSucceedAndPoolStaysBounded) {
  TestHttpServer server([](const Request& r) {
    auto reply = echo(r);
    reply.delay = 20ms;
    return reply;
  });
  HttpClient::Options o;
  o.max_idle_connections = 2;
  auto client = HttpClient::create(io.get_executor(), server.base_url(), o);
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto r = co_await client->request(get("/c" + std::to_string(i)));
          if (r.ok() && r->body() == "/c" + std::to_string(i) + "|") ++ok;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(client->idle_connections(), 2u);
}

TEST_F(HttpClientTest, RequestTimeout) {
  TestHttpServer server([](const Request& r) {
    auto reply = echo(r);
    reply.delay = 1500ms;
    return reply;
  });
  auto client = HttpClient::create(io.get_executor(), server.base_url());
  const auto start = std::chrono::steady_clock::now();
  auto res = send(client, get("/slow"), {.timeout = 150ms});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kTimeout) << res.error().message;
  EXPECT_LT(took, 1000ms);
}

TEST_F(HttpClientTest, ConnectRefused) {
  unsigned short port = 0;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto client = HttpClient::create(io.get_executor(), "http://127.0.0.1:" + std::to_string(port));
  auto res = send(client, get("/"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kConnect) << res.error().message;
}

TEST_F(HttpClientTest, UnresolvableHost) {
  HttpClient::Options o;
  o.connect_timeout = 1500ms;
  auto client = HttpClient::create(io.get_executor(), "http://no-such-host.invalid:1", o);
  auto res = send(client, get("/"));
  ASSERT_FALSE(res.ok());
  // Without network DNS the resolver may hang until the deadline instead of failing.
  EXPECT_TRUE(res.error().kind == HttpError::Kind::kResolve ||
              res.error().kind == HttpError::Kind::kTimeout)
      << res.error().message;
}

TEST_F(HttpClientTest, DroppedConnectionIsClosed) {
  TestHttpServer server([](const Request&) {
    TestReply r;
    r.drop = true;
    return r;
  });
  auto client = HttpClient::create(io.get_executor(), server.base_url());
  Request post{http::verb::post, "/x", 11};
  auto res = send(client, std::move(post));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kClosed) << res.error().message;
  EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(HttpClientTest, BodyTooLarge) {
  TestHttpServer server(
      [](const Request&) { return json_reply(http::status::ok, std::string(2u << 20, 'x')); });
  HttpClient::Options o;
  o.max_body_bytes = 1u << 20;
  auto client = HttpClient::create(io.get_executor(), server.base_url(), o);
  auto res = send(client, get("/big"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kBodyTooLarge) << res.error().message;
}

TEST_F(HttpClientTest, GarbageResponseIsProtocolError) {
  TestHttpServer server([](const Request&) {
    TestReply r;
    r.raw = true;
    r.raw_bytes = "SMTP ready\r\n\r\n";
    return r;
  });
  auto client = HttpClient::create(io.get_executor(), server.base_url());
  auto res = send(client, get("/"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kProtocol) << res.error().message;
}

TEST_F(HttpClientTest, InvalidBaseUrlFailsEveryRequest) {
  auto client = HttpClient::create(io.get_executor(), "not a url");
  ASSERT_TRUE(client->config_error().has_value());
  auto res = send(client, get("/"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kProtocol);
}

TEST_F(HttpClientTest, MissingCaFileIsConfigError) {
  HttpClient::Options o;
  o.ca_file = tls_fixture("does-not-exist.crt");
  auto client = HttpClient::create(io.get_executor(), "https://localhost:1", o);
  ASSERT_TRUE(client->config_error().has_value());
  EXPECT_EQ(client->config_error()->kind, HttpError::Kind::kTls);
}

// ---- TLS ----

std::shared_ptr<asio::ssl::context> server_tls(const std::string& name) {
  auto ctx = make_server_tls_context(tls_fixture(name + ".crt"), tls_fixture(name + ".key"));
  EXPECT_TRUE(ctx.ok());
  return ctx.ok() ? ctx.value() : nullptr;
}

TEST_F(HttpClientTest, TlsVerifiesHostNameAndIp) {
  TestHttpServer server(echo, server_tls("server"));
  HttpClient::Options o;
  o.ca_file = tls_fixture("ca.crt");
  for (const char* host : {"localhost", "127.0.0.1"}) {
    auto client = HttpClient::create(io.get_executor(), server.base_url(host), o);
    ASSERT_FALSE(client->config_error().has_value());
    for (int i = 0; i < 3; ++i) {
      auto res = send(client, get("/tls"));
      ASSERT_TRUE(res.ok()) << host << ": " << res.error().message;
      EXPECT_EQ(res->body(), "/tls|");
    }
    EXPECT_EQ(client->connections_opened(), 1u) << host;  // keep-alive over TLS too
  }
}

TEST_F(HttpClientTest, TlsRejectsWrongHostName) {
  TestHttpServer server(echo, server_tls("wrong_host"));
  HttpClient::Options o;
  o.ca_file = tls_fixture("ca.crt");
  auto client = HttpClient::create(io.get_executor(), server.base_url("localhost"), o);
  auto res = send(client, get("/"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kTls) << res.error().message;
  EXPECT_NE(res.error().message.find("verif"), std::string::npos) << res.error().message;
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpClientTest, TlsRejectsUntrustedCa) {
  TestHttpServer server(echo, server_tls("server"));
  HttpClient::Options o;
  o.ca_file = tls_fixture("other_ca.crt");
  auto client = HttpClient::create(io.get_executor(), server.base_url("localhost"), o);
  auto res = send(client, get("/"));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().kind, HttpError::Kind::kTls) << res.error().message;
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(HttpClientTest, PlainClientAgainstTlsServerFails) {
  TestHttpServer server(echo, server_tls("server"));
  HttpClient::Options o;
  o.request_timeout = 1s;
  auto client =
      HttpClient::create(io.get_executor(), "http://127.0.0.1:" + std::to_string(server.port()), o);
  auto res = send(client, get("/"));
  EXPECT_FALSE(res.ok());
}

}  // namespace
}  // namespace autoplacer::net
