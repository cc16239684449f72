#include "support/openapi_contract.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace autoplacer::testing {
namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    out.emplace_back(
        s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A parameter name may be a template itself: "metadata.{key}" matches "metadata.role".
bool name_matches(std::string_view declared, std::string_view actual) {
  const auto open = declared.find('{');
  if (open == std::string_view::npos) return declared == actual;
  const auto close = declared.find('}', open);
  if (close == std::string_view::npos) return false;
  const std::string_view prefix = declared.substr(0, open);
  const std::string_view suffix = declared.substr(close + 1);
  return actual.size() > prefix.size() + suffix.size() &&
         actual.substr(0, prefix.size()) == prefix &&
         actual.substr(actual.size() - suffix.size()) == suffix;
}

bool path_matches(std::string_view tmpl, std::string_view path, int* literal_segments) {
  const auto t = split(tmpl, '/');
  const auto p = split(path, '/');
  if (t.size() != p.size()) return false;
  int literals = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!t[i].empty() && t[i].front() == '{' && t[i].back() == '}') {
      if (p[i].empty()) return false;
    } else if (t[i] != p[i]) {
      return false;
    } else {
      ++literals;
    }
  }
  *literal_segments = literals;
  return true;
}

std::string type_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "integer";
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "?";
}

bool type_ok(const json::value& v, std::string_view type) {
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_bool();
  if (type == "integer") {
    return v.is_int64() || v.is_uint64() ||
           (v.is_double() && std::isfinite(v.get_double()) &&
            std::floor(v.get_double()) == v.get_double());
  }
  if (type == "number") return v.is_number();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  return true;  // unknown type keyword: not ours to judge
}

// A query/header/path parameter value (always text) against its schema.
std::optional<std::string> check_param_value(std::string_view name, const std::string& value,
                                             const json::object& schema) {
  std::string type;
  if (const auto* t = schema.if_contains("type"); t && t->is_string())
    type = std::string(t->get_string());
  if (type == "boolean" && value != "true" && value != "false") {
    return "parameter '" + std::string(name) + "' must be true|false, got '" + value + "'";
  }
  if (type == "integer") {
    const bool digits =
        !value.empty() &&
        std::all_of(value.begin() + (value[0] == '-' ? 1 : 0), value.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!digits)
      return "parameter '" + std::string(name) + "' must be an integer, got '" + value + "'";
  }
  if (const auto* e = schema.if_contains("enum"); e && e->is_array()) {
    // The Machines API accepts comma-separated lists for enum query parameters (wait state).
    for (const auto& part : split(value, ',')) {
      bool found = false;
      for (const auto& allowed : e->get_array())
        found = found || (allowed.is_string() && allowed.get_string() == part);
      if (!found)
        return "parameter '" + std::string(name) + "' value '" + part + "' is not in its enum";
    }
  }
  return std::nullopt;
}

}  // namespace

Result<OpenApiContract, std::string> OpenApiContract::load_file(const std::string& path,
                                                                Options options) {
  std::ifstream in(path);
  if (!in) return make_err("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value spec = json::parse(ss.str(), ec);
  if (ec) return make_err(path + ": invalid JSON: " + ec.message());
  return from_json(std::move(spec), options);
}

Result<OpenApiContract, std::string> OpenApiContract::from_json(json::value spec, Options options) {
  if (!spec.is_object() || !spec.get_object().contains("paths") || !spec.at("paths").is_object()) {
    return make_err(std::string("not an OpenAPI document: no 'paths' object"));
  }
  return OpenApiContract(std::move(spec), options);
}

const json::object* OpenApiContract::operation(std::string_view method, std::string_view path,
                                               std::string* template_out) const {
  const std::string m = lower(method);
  const json::object* best = nullptr;
  int best_literals = -1;
  for (const auto& kv : spec_.at("paths").get_object()) {
    int literals = 0;
    if (!path_matches(kv.key(), path, &literals) || !kv.value().is_object()) continue;
    const auto* op = kv.value().get_object().if_contains(m);
    if (op == nullptr || !op->is_object()) continue;
    if (literals > best_literals) {
      best = &op->get_object();
      best_literals = literals;
      if (template_out) *template_out = std::string(kv.key());
    }
  }
  return best;
}

std::optional<std::string> OpenApiContract::match(std::string_view method,
                                                  std::string_view path) const {
  std::string tmpl;
  if (operation(method, path.substr(0, path.find('?')), &tmpl) == nullptr) return std::nullopt;
  return tmpl;
}

const json::value* OpenApiContract::resolve(const json::value& schema) const {
  const json::value* s = &schema;
  for (int hops = 0; hops < 16 && s->is_object(); ++hops) {
    const auto* ref = s->get_object().if_contains("$ref");
    if (ref == nullptr || !ref->is_string()) return s;
    const std::string_view r = ref->get_string();
    constexpr std::string_view kPrefix = "#/components/schemas/";
    if (r.substr(0, kPrefix.size()) != kPrefix) return nullptr;
    const auto* schemas = spec_.at("components").get_object().if_contains("schemas");
    if (schemas == nullptr) return nullptr;
    s = schemas->get_object().if_contains(r.substr(kPrefix.size()));
    if (s == nullptr) return nullptr;
  }
  return s;
}

void OpenApiContract::validate(const json::value& v, const json::value& schema_in,
                               const std::string& where, bool strict, std::vector<std::string>& out,
                               int depth) const {
  if (depth > 64) return;
  const json::value* resolved = resolve(schema_in);
  if (resolved == nullptr) {
    out.push_back(where + ": unresolvable schema " + json::serialize(schema_in));
    return;
  }
  if (!resolved->is_object()) return;
  const json::object& schema = resolved->get_object();
  if (v.is_null()) {
    // Fly's Go server writes absent slices/maps as null; optional fields may be null.
    return;
  }
  if (const auto* t = schema.if_contains("type");
      t && t->is_string() && !type_ok(v, t->get_string())) {
    out.push_back(where + ": expected " + std::string(t->get_string()) + ", got " + type_of(v));
    return;
  }
  if (const auto* e = schema.if_contains("enum"); e && e->is_array()) {
    const auto& values = e->get_array();
    if (std::find(values.begin(), values.end(), v) == values.end()) {
      out.push_back(where + ": value " + json::serialize(v) + " is not in enum " +
                    json::serialize(*e));
    }
  }
  // Properties declared here and in allOf members (CreateMachineRequest.config uses allOf).
  std::set<std::string> declared;
  bool open_map = false;
  const auto collect = [&](const json::object& s) {
    if (const auto* p = s.if_contains("properties"); p && p->is_object()) {
      for (const auto& kv : p->get_object()) declared.insert(std::string(kv.key()));
    }
    if (s.contains("additionalProperties")) open_map = true;
  };
  collect(schema);
  if (const auto* all = schema.if_contains("allOf"); all && all->is_array()) {
    for (const auto& member : all->get_array()) {
      validate(v, member, where, false, out, depth + 1);
      if (const auto* m = resolve(member); m && m->is_object()) collect(m->get_object());
    }
  }
  if (v.is_object()) {
    const auto& obj = v.get_object();
    if (const auto* p = schema.if_contains("properties"); p && p->is_object()) {
      for (const auto& kv : p->get_object()) {
        if (const auto* field = obj.if_contains(kv.key())) {
          validate(*field, kv.value(), where + "." + std::string(kv.key()), strict, out, depth + 1);
        }
      }
    }
    if (const auto* req = schema.if_contains("required"); req && req->is_array()) {
      for (const auto& name : req->get_array()) {
        if (!name.is_string()) continue;
        const auto* field = obj.if_contains(name.get_string());
        if (field == nullptr || field->is_null()) {
          out.push_back(where + ": missing required field '" + std::string(name.get_string()) +
                        "'");
        }
      }
    }
    if (const auto* ap = schema.if_contains("additionalProperties"); ap && ap->is_object()) {
      for (const auto& kv : obj) {
        if (!declared.count(std::string(kv.key()))) {
          validate(kv.value(), *ap, where + "." + std::string(kv.key()), strict, out, depth + 1);
        }
      }
    }
    if (strict && !open_map && !declared.empty()) {
      for (const auto& kv : obj) {
        if (!declared.count(std::string(kv.key()))) {
          out.push_back(where + ": unknown property '" + std::string(kv.key()) + "'");
        }
      }
    }
  }
  if (v.is_array()) {
    if (const auto* items = schema.if_contains("items")) {
      std::size_t i = 0;
      for (const auto& item : v.get_array()) {
        validate(item, *items, where + "[" + std::to_string(i++) + "]", strict, out, depth + 1);
      }
    }
  }
}

std::vector<std::string> OpenApiContract::check_value(const json::value& value,
                                                      std::string_view schema,
                                                      bool reject_unknown_properties) const {
  std::string ref(schema);
  if (ref.rfind("#/", 0) != 0) ref = "#/components/schemas/" + ref;
  std::vector<std::string> out;
  validate(value, json::object{{"$ref", ref}}, std::string(schema), reject_unknown_properties, out,
           0);
  return out;
}

std::vector<std::string> OpenApiContract::check_request(
    std::string_view method, std::string_view target,
    const std::map<std::string, std::string>& headers, std::string_view body) const {
  std::vector<std::string> out;
  const auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  const std::string label = std::string(method) + " " + std::string(path);
  std::string tmpl;
  const json::object* op = operation(method, path, &tmpl);
  if (op == nullptr) {
    out.push_back(label + ": no such operation in the spec");
    return out;
  }
  std::map<std::string, std::string> lower_headers;
  for (const auto& [k, v] : headers) lower_headers[lower(k)] = v;
  std::vector<std::pair<std::string, std::string>> query;
  if (qpos != std::string_view::npos) {
    for (const auto& pair : split(target.substr(qpos + 1), '&')) {
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      query.emplace_back(
          percent_decode(pair.substr(0, eq)),
          eq == std::string::npos ? std::string() : percent_decode(pair.substr(eq + 1)));
    }
  }
  json::array params;
  if (const auto* p = op->if_contains("parameters"); p && p->is_array()) params = p->get_array();
  // Query parameters must be declared and well-typed.
  for (const auto& [name, value] : query) {
    const json::object* decl = nullptr;
    for (const auto& p : params) {
      const auto& po = p.get_object();
      if (po.at("in") == "query" && name_matches(po.at("name").get_string(), name)) decl = &po;
    }
    if (decl == nullptr) {
      out.push_back(label + ": undeclared query parameter '" + name + "'");
      continue;
    }
    if (const auto* s = decl->if_contains("schema"); s && s->is_object()) {
      if (auto err = check_param_value(name, value, s->get_object()))
        out.push_back(label + ": " + *err);
    }
  }
  // Required parameters must be there.
  for (const auto& p : params) {
    const auto& po = p.get_object();
    const auto* req = po.if_contains("required");
    if (req == nullptr || !req->is_bool() || !req->get_bool()) continue;
    const std::string in(po.at("in").get_string());
    const std::string name(po.at("name").get_string());
    if (in == "query") {
      const bool present = std::any_of(query.begin(), query.end(),
                                       [&](const auto& q) { return name_matches(name, q.first); });
      if (!present) out.push_back(label + ": missing required query parameter '" + name + "'");
    } else if (in == "header" && !lower_headers.count(lower(name))) {
      out.push_back(label + ": missing required header '" + name + "'");
    }
  }
  // Body.
  const auto* rb = op->if_contains("requestBody");
  if (rb == nullptr) {
    if (!body.empty()) out.push_back(label + ": operation takes no request body");
    return out;
  }
  const auto& rbo = rb->get_object();
  const bool required =
      rbo.if_contains("required") && rbo.at("required").is_bool() && rbo.at("required").get_bool();
  if (body.empty()) {
    if (required) out.push_back(label + ": missing required request body");
    return out;
  }
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec) {
    out.push_back(label + ": request body is not JSON: " + ec.message());
    return out;
  }
  const auto* content = rbo.if_contains("content");
  const json::value* schema = nullptr;
  if (content && content->is_object()) {
    if (const auto* aj = content->get_object().if_contains("application/json");
        aj && aj->is_object()) {
      schema = aj->get_object().if_contains("schema");
    }
  }
  if (schema != nullptr) {
    validate(parsed, *schema, label + " body", options_.reject_unknown_request_properties, out, 0);
  }
  return out;
}

std::vector<std::string> OpenApiContract::check_request(const net::Request& req) const {
  std::map<std::string, std::string> headers;
  for (const auto& f : req) headers[std::string(f.name_string())] = std::string(f.value());
  return check_request(std::string(req.method_string()), req.target(), headers, req.body());
}

std::vector<std::string> OpenApiContract::check_response(std::string_view method,
                                                         std::string_view target, int status,
                                                         std::string_view body) const {
  std::vector<std::string> out;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::string label =
      std::string(method) + " " + std::string(path) + " -> " + std::to_string(status);
  const json::object* op = operation(method, path, nullptr);
  if (op == nullptr) {
    out.push_back(label + ": no such operation in the spec");
    return out;
  }
  const json::value* response = nullptr;
  if (const auto* rs = op->if_contains("responses"); rs && rs->is_object()) {
    response = rs->get_object().if_contains(std::to_string(status));
    if (response == nullptr) response = rs->get_object().if_contains("default");
  }
  const json::value* schema = nullptr;
  if (response == nullptr) {
    if (status < 400) {
      out.push_back(label + ": status not declared for this operation");
      return out;
    }
    // Errors are possible on every operation; their body must be Fly's error shape.
    static const json::value kError = json::object{{"$ref", "#/components/schemas/ErrorResponse"}};
    schema = &kError;
    if (body.empty()) return out;
  } else if (const auto* c = response->get_object().if_contains("content"); c && c->is_object()) {
    if (const auto* aj = c->get_object().if_contains("application/json"); aj && aj->is_object()) {
      schema = aj->get_object().if_contains("schema");
    }
  }
  if (schema == nullptr) return out;  // no body schema declared: anything goes
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec) {
    out.push_back(label + ": response body is not JSON: " + ec.message());
    return out;
  }
  validate(parsed, *schema, label + " body", options_.reject_unknown_response_properties, out, 0);
  return out;
}

std::vector<std::string> OpenApiContract::check_response(std::string_view method,
                                                         std::string_view target,
                                                         const net::Response& res) const {
  return check_response(method, target, static_cast<int>(res.result_int()), res.body());
}

}  // namespace autoplacer::testing
