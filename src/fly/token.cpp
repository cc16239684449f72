#include "fly/token.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/log.h"

namespace autoplacer::fly {
namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string authorization_value(std::string_view token) {
  token = trim(token);
  if (starts_with(token, "FlyV1 ") || starts_with(token, "Bearer ")) return std::string(token);
  if (starts_with(token, "fm1r_") || starts_with(token, "fm1a_") || starts_with(token, "fm2_")) {
    return "FlyV1 " + std::string(token);
  }
  return "Bearer " + std::string(token);
}

Result<std::string, std::string> load_token(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return make_err("cannot read token file " + token_file);
    std::ostringstream ss;
    ss << in.rdbuf();
    token = std::string(trim(ss.str()));
    if (token.empty()) return make_err("token file " + token_file + " is empty");
  } else {
    const char* env = std::getenv("FLY_API_TOKEN");
    if (env == nullptr || trim(env).empty()) {
      return make_err(std::string("no Fly API token: set FLY_API_TOKEN or a token file"));
    }
    token = std::string(trim(env));
  }
  log::register_secret(token);
  // Each macaroon of a comma-joined token, and the token without its scheme, are secrets too.
  std::string_view rest = token;
  for (std::string_view scheme : {"FlyV1 ", "Bearer "}) {
    if (starts_with(rest, scheme)) rest.remove_prefix(scheme.size());
  }
  log::register_secret(rest);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    log::register_secret(trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return token;
}

}  // namespace autoplacer::fly
