#include "metrics/query_template.h"

#include "policy/spec.h"

namespace autoplacer::metrics {
namespace {

bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

bool safe_value(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\'' || c == '\\' || c == '`' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<std::string, std::string> expand_query(std::string_view templ,
                                              const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(templ.size() + 32);
  for (std::size_t i = 0; i < templ.size();) {
    const char c = templ[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < templ.size() && templ[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    std::string_view name;
    std::size_t next = 0;
    if (i + 1 < templ.size() && templ[i + 1] == '{') {
      const auto close = templ.find('}', i + 2);
      if (close == std::string_view::npos) {
        return make_err("unclosed \"${\" at offset " + std::to_string(i));
      }
      name = templ.substr(i + 2, close - i - 2);
      next = close + 1;
      bool ok = !name.empty() && name_start(name.front());
      for (char n : name) ok = ok && name_char(n);
      if (!ok) return make_err("bad variable name \"${" + std::string(name) + "}\"");
    } else {
      std::size_t j = i + 1;
      if (j >= templ.size() || !name_start(templ[j])) {
        return make_err("\"$\" without a variable name at offset " + std::to_string(i) +
                        " (write $$ for a literal $)");
      }
      while (j < templ.size() && name_char(templ[j])) ++j;
      name = templ.substr(i + 1, j - i - 1);
      next = j;
    }
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return make_err("undefined variable $" + std::string(name));
    if (!safe_value(it->second)) {
      return make_err("variable $" + std::string(name) +
                      " has a quote, backslash or control character in its value");
    }
    out += it->second;
    i = next;
  }
  return out;
}

std::map<std::string, std::string> query_variables(const PlacementPolicy& policy) {
  auto vars = policy.spec.traffic.variables;
  vars.emplace("APP", policy.spec.app);  // emplace: an explicit APP variable wins
  return vars;
}

}  // namespace autoplacer::metrics
