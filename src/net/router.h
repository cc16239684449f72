#pragma once
// Routes a request by method and path pattern to an asynchronous handler.
//
//   Router r;
//   r.add(http::verb::get, "/v1/apps/{app}/machines/{id}", [](const Request&, const RouteParams& p)
//         -> awaitable<Response> { co_return json_response(p.path_param("id")); });
//
// A pattern is a path of literal segments and `{name}` segments; `{name}` matches exactly one
// non-empty segment (percent-decoded). Literal segments win over parameters when both match, so
// `/machines/{id}` and `/machines/events` can coexist. No match gives 404; a path that matches
// with another method gives 405 with `Allow`. Both can be replaced (set_not_found) so a server
// can keep its own error format (flysim answers in Fly's JSON error shape).
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_types.h"

namespace autoplacer::net {

struct RouteParams {
  std::string path;                           // decoded path without the query
  std::map<std::string, std::string> params;  // {name} segments of the pattern
  // Decoded query parameters in order (a name may repeat).
  std::vector<std::pair<std::string, std::string>> query;
  std::string pattern;  // the pattern that matched ("" for the not-found handler)

  // The value of a {name} segment, "" when absent.
  const std::string& path_param(std::string_view name) const;
  // The last value of a query parameter, nullopt when absent.
  std::optional<std::string> query_value(std::string_view name) const;
  // Every value of a query parameter, in order.
  std::vector<std::string> query_values(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(const Request&, const RouteParams&)>;

class Router {
 public:
  Router();

  // Patterns start with '/'. A later add() of the same method and pattern replaces the earlier.
  void add(http::verb method, std::string_view pattern, Handler handler);
  // Called when no pattern matches (params.pattern empty) or the method is not allowed
  // (status 405 decided by the router is passed in `method_not_allowed`).
  using FallbackHandler = std::function<boost::asio::awaitable<Response>(
      const Request&, const RouteParams&, http::status)>;
  void set_not_found(FallbackHandler handler);

  // Finds the route and runs its handler. Exceptions from the handler propagate to the caller
  // (the server turns them into 500).
  boost::asio::awaitable<Response> dispatch(const Request& req) const;

  // Splits a request target into decoded path and query; false when the target is malformed.
  static bool parse_target(std::string_view target, RouteParams& out);

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;  // "{name}" for parameters
    std::string pattern;
    Handler handler;
  };
  // Score of a match: more literal segments first. nullopt when the path does not match.
  static std::optional<int> match(const Route& route, const std::vector<std::string>& segments,
                                  std::map<std::string, std::string>& params);

  std::vector<Route> routes_;
  FallbackHandler fallback_;
};

// A response with a body and content type, keep-alive decided later by the server.
Response make_response(http::status status, std::string body,
                       std::string_view content_type = "application/json");

}  // namespace autoplacer::net
