#include "http_routes.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

namespace autoplacer::fuzz {
namespace asio = boost::asio;
namespace json = boost::json;
using net::http::verb;

namespace {

// Echoes what the router extracted, as JSON (escaping whatever bytes the client sent).
asio::awaitable<net::Response> echo(const net::Request& req, const net::RouteParams& p) {
  json::object o;
  o["pattern"] = p.pattern;
  o["path"] = p.path;
  json::object params;
  for (const auto& [k, v] : p.params) params[k] = v;
  o["params"] = std::move(params);
  json::array query;
  for (const auto& [k, v] : p.query) query.push_back(json::array{json::string(k), json::string(v)});
  o["query"] = std::move(query);
  if (auto state = p.query_value("state")) o["state"] = *state;
  o["regions"] = p.query_values("region").size();
  o["body_bytes"] = req.body().size();
  co_return net::make_response(net::http::status::ok, json::serialize(o));
}

// A handler that reads a JSON body, as create/lease/metadata handlers do.
asio::awaitable<net::Response> json_body(const net::Request& req, const net::RouteParams& p) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec || !v.is_object()) {
    co_return net::make_response(net::http::status::bad_request, R"({"error":"bad body"})");
  }
  const auto& o = v.get_object();
  json::object out;
  out["id"] = p.path_param("id");
  if (const auto* r = o.if_contains("region"); r != nullptr && r->is_string()) out["region"] = *r;
  if (const auto* t = o.if_contains("ttl"); t != nullptr && t->is_number()) out["ttl"] = *t;
  co_return net::make_response(net::http::status::created, json::serialize(out));
}

asio::awaitable<net::Response> text(const net::Request&, const net::RouteParams&) {
  co_return net::make_response(net::http::status::ok, "ok\n", "text/plain");
}

asio::awaitable<net::Response> throws(const net::Request&, const net::RouteParams& p) {
  if (p.query_value("kind") == std::optional<std::string>("int")) throw 42;
  throw std::runtime_error("handler failed on purpose");
  co_return net::make_response(net::http::status::ok, "");
}

}  // namespace

net::Router make_fuzz_router() {
  net::Router r;
  r.add(verb::get, "/healthz", text);
  r.add(verb::get, "/readyz", text);
  r.add(verb::get, "/metrics", text);
  r.add(verb::get, "/status", echo);
  r.add(verb::get, "/v1/apps/{app}/machines", echo);
  r.add(verb::post, "/v1/apps/{app}/machines", json_body);
  r.add(verb::get, "/v1/apps/{app}/machines/{id}", echo);
  r.add(verb::delete_, "/v1/apps/{app}/machines/{id}", echo);
  r.add(verb::get, "/v1/apps/{app}/machines/{id}/wait", echo);
  r.add(verb::post, "/v1/apps/{app}/machines/{id}/lease", json_body);
  r.add(verb::delete_, "/v1/apps/{app}/machines/{id}/lease", echo);
  r.add(verb::get, "/v1/apps/{app}/machines/events", echo);  // literal beats {id}
  r.add(verb::patch, "/v1/apps/{app}/machines/{id}/metadata", json_body);
  r.add(verb::get, "/v1/platform/regions", echo);
  r.add(verb::post, "/flysim/throw", throws);
  return r;
}

}  // namespace autoplacer::fuzz
