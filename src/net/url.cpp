#include "net/url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace autoplacer::net {
namespace {

HttpError bad_url(std::string_view url, std::string_view why) {
  return HttpError{HttpError::Kind::kProtocol,
                   "invalid base url '" + std::string(url) + "': " + std::string(why)};
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace

std::string BaseUrl::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port = (tls && port == "443") || (!tls && port == "80");
  if (!default_port) h += ":" + port;
  return h;
}

HttpResult<BaseUrl> parse_base_url(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return make_err(bad_url(url, parsed.error().message()));
  const boost::urls::url_view& u = *parsed;
  BaseUrl out;
  const std::string scheme(u.scheme());
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    return make_err(bad_url(url, "scheme must be http or https"));
  }
  if (u.has_userinfo()) return make_err(bad_url(url, "user info is not supported"));
  if (u.has_query() || u.has_fragment()) {
    return make_err(bad_url(url, "query and fragment are not supported"));
  }
  switch (u.host_type()) {
    case boost::urls::host_type::ipv6:
      out.host = std::string(u.encoded_host_address());
      if (out.host.size() >= 2 && out.host.front() == '[')
        out.host = out.host.substr(1, out.host.size() - 2);
      break;
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4:
      out.host = std::string(u.host_address());
      break;
    default:
      return make_err(bad_url(url, "unsupported host"));
  }
  if (out.host.empty()) return make_err(bad_url(url, "missing host"));
  if (u.has_port()) {
    if (u.port_number() == 0) return make_err(bad_url(url, "bad port"));
    out.port = std::to_string(u.port_number());
  } else {
    out.port = out.tls ? "443" : "80";
  }
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  out.path_prefix = std::move(path);
  return out;
}

std::string encode_path_segment(std::string_view segment) {
  return percent_encode(segment);
}

std::string encode_query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(name);
    out.push_back('=');
    out += percent_encode(value);
  }
  return out;
}

}  // namespace autoplacer::net
