#include "net/router.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace autoplacer::net {
namespace asio = boost::asio;

namespace {

const std::string kEmpty;

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    if (pattern[pos] == '/') {
      ++pos;
      continue;
    }
    const std::size_t end = pattern.find('/', pos);
    const std::size_t stop = end == std::string_view::npos ? pattern.size() : end;
    out.emplace_back(pattern.substr(pos, stop - pos));
    pos = stop;
  }
  return out;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string default_body(http::status status) {
  return std::string("{\"error\":\"") + std::string(http::obsolete_reason(status)) + "\"}";
}

}  // namespace

const std::string& RouteParams::path_param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? kEmpty : it->second;
}

std::optional<std::string> RouteParams::query_value(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [k, v] : query)
    if (k == name) out = v;
  return out;
}

std::vector<std::string> RouteParams::query_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == name) out.push_back(v);
  return out;
}

Response make_response(http::status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Router::Router() {
  fallback_ = [](const Request&, const RouteParams&,
                 http::status status) -> asio::awaitable<Response> {
    co_return make_response(status, default_body(status));
  };
}

void Router::add(http::verb method, std::string_view pattern, Handler handler) {
  auto segments = split_pattern(pattern);
  for (auto& r : routes_) {
    if (r.method == method && r.segments == segments) {
      r.handler = std::move(handler);
      return;
    }
  }
  routes_.push_back(Route{method, std::move(segments), std::string(pattern), std::move(handler)});
}

void Router::set_not_found(FallbackHandler handler) {
  fallback_ = std::move(handler);
}

bool Router::parse_target(std::string_view target, RouteParams& out) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return false;
  const boost::urls::url_view& u = *parsed;
  out.path.clear();
  for (auto seg : u.segments()) {
    out.path += '/';
    out.path += seg;
  }
  if (out.path.empty()) out.path = "/";
  out.query.clear();
  for (auto p : u.params()) out.query.emplace_back(p.key, p.has_value ? p.value : std::string());
  return true;
}

std::optional<int> Router::match(const Route& route, const std::vector<std::string>& segments,
                                 std::map<std::string, std::string>& params) {
  if (route.segments.size() != segments.size()) return std::nullopt;
  int literals = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (is_param(want)) {
      if (segments[i].empty()) return std::nullopt;
      params[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want == segments[i]) {
      ++literals;
    } else {
      return std::nullopt;
    }
  }
  return literals;
}

asio::awaitable<Response> Router::dispatch(const Request& req) const {
  RouteParams params;
  if (!parse_target(req.target(), params)) {
    co_return co_await fallback_(req, params, http::status::bad_request);
  }
  // Segments of the decoded path; a decoded '/' inside a segment is not re-split because we
  // match on the decoded segments of the URL itself.
  std::vector<std::string> segments;
  if (auto parsed = boost::urls::parse_origin_form(req.target())) {
    for (auto seg : parsed->segments()) segments.emplace_back(seg);
  }
  const Route* best = nullptr;
  int best_score = -1;
  std::map<std::string, std::string> best_params;
  std::string allow;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> p;
    auto score = match(route, segments, p);
    if (!score) continue;
    if (route.method != req.method()) {
      if (!allow.empty()) allow += ", ";
      allow += std::string(http::to_string(route.method));
      continue;
    }
    if (*score > best_score) {
      best = &route;
      best_score = *score;
      best_params = std::move(p);
    }
  }
  if (best == nullptr) {
    if (!allow.empty()) {
      Response res = co_await fallback_(req, params, http::status::method_not_allowed);
      res.set(http::field::allow, allow);
      co_return res;
    }
    co_return co_await fallback_(req, params, http::status::not_found);
  }
  params.params = std::move(best_params);
  params.pattern = best->pattern;
  co_return co_await best->handler(req, params);
}

}  // namespace autoplacer::net
