// Router: pattern matching, parameters, query decoding, 404/405. No sockets.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "net/router.h"

namespace autoplacer::net {
namespace {
namespace asio = boost::asio;

Response run(const Router& router, http::verb verb, std::string target) {
  asio::io_context ioc;
  Request req{verb, target, 11};
  auto fut = asio::co_spawn(ioc, router.dispatch(req), asio::use_future);
  ioc.run();
  return fut.get();
}

Handler echo(std::string tag) {
  return [tag](const Request&, const RouteParams& p) -> asio::awaitable<Response> {
    std::string body = tag;
    for (const auto& [k, v] : p.params) body += " " + k + "=" + v;
    for (const auto& [k, v] : p.query) body += " ?" + k + "=" + v;
    co_return make_response(http::status::ok, body, "text/plain");
  };
}

TEST(Router, MatchesParamsAndQuery) {
  Router r;
  r.add(http::verb::get, "/v1/apps/{app}/machines/{id}/lease", echo("lease"));
  auto res = run(r, http::verb::get, "/v1/apps/my%20app/machines/m1/lease?x=1&y=a%2Cb&x=2");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "lease app=my app id=m1 ?x=1 ?y=a,b ?x=2");
}

TEST(Router, LiteralWinsOverParameter) {
  Router r;
  r.add(http::verb::get, "/m/{id}", echo("param"));
  r.add(http::verb::get, "/m/events", echo("literal"));
  EXPECT_EQ(run(r, http::verb::get, "/m/events").body(), "literal");
  EXPECT_EQ(run(r, http::verb::get, "/m/abc").body(), "param id=abc");
}

TEST(Router, NotFoundAndMethodNotAllowed) {
  Router r;
  r.add(http::verb::get, "/a/{id}", echo("get"));
  r.add(http::verb::delete_, "/a/{id}", echo("del"));
  EXPECT_EQ(run(r, http::verb::get, "/b").result(), http::status::not_found);
  EXPECT_EQ(run(r, http::verb::get, "/a").result(), http::status::not_found);
  EXPECT_EQ(run(r, http::verb::get, "/a/1/2").result(), http::status::not_found);
  auto res = run(r, http::verb::post, "/a/1");
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, DELETE");
  EXPECT_EQ(run(r, http::verb::delete_, "/a/1").body(), "del id=1");
}

TEST(Router, CustomFallbackKeepsItsFormat) {
  Router r;
  r.set_not_found(
      [](const Request&, const RouteParams& p, http::status s) -> asio::awaitable<Response> {
        co_return make_response(s, "custom " + p.path, "text/plain");
      });
  auto res = run(r, http::verb::get, "/nothing/here?q=1");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_EQ(res.body(), "custom /nothing/here");
}

TEST(Router, QueryHelpers) {
  RouteParams p;
  ASSERT_TRUE(Router::parse_target("/x?state=a&state=b&flag&metadata.k=v%3D", p));
  EXPECT_EQ(p.path, "/x");
  EXPECT_EQ(p.query_values("state"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.query_value("state"), "b");
  EXPECT_EQ(p.query_value("flag"), "");
  EXPECT_EQ(p.query_value("metadata.k"), "v=");
  EXPECT_FALSE(p.query_value("none").has_value());
}

}  // namespace
}  // namespace autoplacer::net
