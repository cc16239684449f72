#include "controller/http_api.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>

namespace autoplacer::controller {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;

bool constant_time_equals(std::string_view given, std::string_view expected) {
  // Walk `expected` in full whatever `given` is; fold every difference (and a length mismatch)
  // into one accumulator so no branch depends on the content.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g =
        i < given.size() ? static_cast<unsigned char>(given[i]) : static_cast<unsigned char>(0);
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0 && !expected.empty();
}

namespace {

net::Response json_reply(int status, const json::value& body) {
  auto res = net::make_response(static_cast<http::status>(status), json::serialize(body) + "\n",
                                "application/json");
  res.set(http::field::cache_control, "no-store");
  return res;
}

net::Response error_reply(int status, std::string_view message) {
  return json_reply(status, json::object{{"error", message}});
}

// The token from "Authorization: Bearer <token>"; nullopt when absent or another scheme.
std::optional<std::string_view> bearer_token(const net::Request& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return std::nullopt;
  std::string_view value = it->value();
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

// Whether a role object (HttpApiOptions::role) says `role`.
bool role_is(const json::value& ha, std::string_view role) {
  if (!ha.is_object()) return false;
  const auto* r = ha.as_object().if_contains("role");
  return r != nullptr && r->is_string() && r->get_string() == role;
}

// Releases a trigger slot when the handler ends, however it ends.
struct SlotGuard {
  std::shared_ptr<std::atomic<int>> counter;
  ~SlotGuard() {
    if (counter) counter->fetch_sub(1);
  }
};

}  // namespace

net::Router HttpApi::make_router(ControllerView& view, const HttpApiOptions& options,
                                 std::shared_ptr<std::atomic<int>> triggers_in_flight) {
  net::Router r;
  ControllerView* v = &view;

  r.add(http::verb::get, "/healthz",
        [](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          co_return net::make_response(http::status::ok, "ok\n", "text/plain");
        });

  auto role = options.role;
  r.add(http::verb::get, "/readyz",
        [v, role](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          Readiness ready = v->readiness();
          json::value ha = role ? role() : json::value();
          if (role_is(ha, "no_quorum")) {
            ready.ready = false;
            const auto* summary = ha.as_object().if_contains("summary");
            ready.reason = summary != nullptr && summary->is_string()
                               ? std::string(summary->get_string())
                               : std::string("no quorum");
          }
          json::object body{{"ready", ready.ready}, {"reason", ready.reason}};
          if (ha.is_object() && ha.as_object().contains("role"))
            body["role"] = ha.as_object().at("role");
          if (!ready.detail.is_null()) body["detail"] = ready.detail;
          if (!ha.is_null()) body["ha"] = ha;
          co_return json_reply(ready.ready ? 200 : 503, body);
        });

  r.add(http::verb::get, "/status",
        [v, role](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          json::value status = v->status_json();
          if (role && status.is_object()) {
            json::value ha = role();
            if (ha.is_object() && ha.as_object().contains("role"))
              status.as_object()["role"] = ha.as_object().at("role");
            status.as_object()["ha"] = std::move(ha);
          }
          co_return json_reply(200, status);
        });

  r.add(http::verb::get, "/metrics",
        [v](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          auto res = net::make_response(http::status::ok, v->metrics_text(),
                                        "text/plain; version=0.0.4; charset=utf-8");
          res.set(http::field::cache_control, "no-store");
          co_return res;
        });

  const std::string token = options.trigger_token;
  const int max_in_flight = std::max(1, options.max_concurrent_triggers);
  r.add(http::verb::post, "/trigger",
        [v, token, max_in_flight, triggers_in_flight](
            const net::Request& req,
            const net::RouteParams& params) -> asio::awaitable<net::Response> {
          if (!token.empty()) {
            auto given = bearer_token(req);
            if (!given || !constant_time_equals(*given, token)) {
              auto res = error_reply(401, "a bearer token is required for /trigger");
              res.set(http::field::www_authenticate, "Bearer realm=\"autoplacer\"");
              co_return res;
            }
          }
          if (triggers_in_flight->fetch_add(1) >= max_in_flight) {
            triggers_in_flight->fetch_sub(1);
            auto res = error_reply(429, "too many triggers in flight; try again shortly");
            res.set(http::field::retry_after, "1");
            co_return res;
          }
          SlotGuard slot{triggers_in_flight};
          std::optional<std::string> policy = params.query_value("policy");
          if (policy && policy->empty()) policy.reset();
          TriggerOutcome out = co_await v->trigger(policy);
          co_return json_reply(out.http_status, out.body);
        });
  return r;
}

HttpApi::HttpApi(asio::any_io_executor executor, ControllerView& view, HttpApiOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {
  server_ = net::HttpServer::create(
      executor_, make_router(view, options_, std::make_shared<std::atomic<int>>(0)),
      options_.server);
}

HttpApi::~HttpApi() {
  stop(std::chrono::milliseconds(0));
}

Result<std::uint16_t, std::string> HttpApi::listen(std::string_view address, std::uint16_t port) {
  return server_->listen(address, port);
}

std::uint16_t HttpApi::port() const {
  return server_->port();
}

void HttpApi::stop(std::chrono::milliseconds grace) {
  server_->stop(grace);
}

Result<std::pair<std::string, std::uint16_t>, std::string> parse_listen_address(
    std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return make_err(std::string("listen address wants ADDR:PORT, got '") + std::string(text) + "'");
  std::string address(text.substr(0, colon));
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  if (address.empty()) address = "0.0.0.0";
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty())
    return make_err(std::string("listen address has a bad port: '") + std::string(text) + "'");
  return std::pair<std::string, std::uint16_t>{address, static_cast<std::uint16_t>(port)};
}

}  // namespace autoplacer::controller
