#pragma once
// Base URLs and the small encoding helpers every client needs (path segments, query strings).
// A base URL names one origin plus an optional path prefix that is put in front of every request
// target: "https://api.fly.io/prometheus/my-org" + "/api/v1/query".
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_types.h"

namespace autoplacer::net {

struct BaseUrl {
  bool tls = false;         // https
  std::string host;         // "api.machines.dev", "127.0.0.1", "::1" (no brackets)
  std::string port;         // always set: explicit, else 80 / 443
  std::string path_prefix;  // "" or "/prometheus/my-org" (no trailing slash)

  // The Host header value: host, plus ":port" when the port is not the scheme's default.
  std::string host_header() const;
};

// Accepts http:// and https:// URLs without query, fragment or user info.
HttpResult<BaseUrl> parse_base_url(std::string_view url);

// Percent-encodes one path segment ("/" included), so ids and keys can never change the path.
std::string encode_path_segment(std::string_view segment);

// "a=1&b=x%20y" from pairs, each name and value percent-encoded; empty list gives "".
std::string encode_query(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace autoplacer::net
