#include "fly/mini_fly_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "net/client_test_util.h"

namespace autoplacer::testing {
namespace json = boost::json;
namespace http = net::http;
using fly::FlyError;
using fly::FlyResult;

namespace {

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

std::string decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

TestReply error_reply(const FlyError& e) {
  json::object body{{"error", e.message},
                    {"status", e.fly_status.empty() ? "unknown" : e.fly_status}};
  return json_reply(static_cast<http::status>(e.http_status), json::serialize(body));
}

template <class T>
T run(boost::asio::awaitable<T> aw) {
  boost::asio::io_context io;
  return run_sync(io, std::move(aw));
}

}  // namespace

MiniFly::MiniFly(const OpenApiContract& contract, std::string app, fly::RateLimits limits,
                 std::shared_ptr<boost::asio::ssl::context> tls)
    : contract_(contract), fake_(std::move(app)), limiter_(clock_, [&] {
        // Half a token of slack for scheduling jitter between the client's clock and ours.
        limits.per_action.burst += 0.5;
        limits.get_machine.burst += 0.5;
        return limits;
      }()) {
  server_ = std::make_unique<TestHttpServer>([this](const net::Request& r) { return handle(r); },
                                             std::move(tls));
}

void MiniFly::set_hook(Hook hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

std::vector<std::string> MiniFly::violations() const {
  std::lock_guard lock(mu_);
  return violations_;
}

std::vector<std::string> MiniFly::take_violations() {
  std::lock_guard lock(mu_);
  return std::exchange(violations_, {});
}

std::size_t MiniFly::rate_limited() const {
  std::lock_guard lock(mu_);
  return rate_limited_;
}

TestReply MiniFly::handle(const net::Request& req) {
  std::lock_guard lock(mu_);
  const std::string target(req.target());
  const std::string method(req.method_string());
  for (auto& v : contract_.check_request(req)) violations_.push_back("request: " + v);
  TestReply reply;
  if (auto hooked = hook_ ? hook_(req) : std::nullopt) {
    reply = std::move(*hooked);
  } else {
    auto tmpl = contract_.match(method, target);
    reply = tmpl ? route(req, *tmpl)
                 : error_reply(fly::FakeMachinesApi::http_error(404, "", "no route"));
  }
  reply.response.set("fly-request-id", "req-" + std::to_string(next_request_id_++));
  if (!reply.drop && !reply.raw) {
    for (auto& v : contract_.check_response(method, target, reply.response)) {
      violations_.push_back("response: " + v);
    }
  }
  return reply;
}

TestReply MiniFly::route(const net::Request& req, const std::string& tmpl) {
  const std::string target(req.target());
  const auto qpos = target.find('?');
  const std::string path = target.substr(0, qpos);
  std::map<std::string, std::string> params;
  const auto t = split(tmpl, '/');
  const auto p = split(path, '/');
  for (std::size_t i = 0; i < t.size() && i < p.size(); ++i) {
    if (!t[i].empty() && t[i].front() == '{')
      params[t[i].substr(1, t[i].size() - 2)] = decode(p[i]);
  }
  std::vector<std::pair<std::string, std::string>> query;
  if (qpos != std::string::npos) {
    for (const auto& kv : split(std::string_view(target).substr(qpos + 1), '&')) {
      const auto eq = kv.find('=');
      query.emplace_back(decode(kv.substr(0, eq)),
                         eq == std::string::npos ? "" : decode(kv.substr(eq + 1)));
    }
  }
  const auto q = [&](const std::string& name) {
    for (const auto& [k, v] : query) {
      if (k == name) return v;
    }
    return std::string();
  };
  const std::string id = params.count("machine_id") ? params["machine_id"] : "";
  const std::string nonce(req["fly-machine-lease-nonce"]);
  const auto verb = req.method();
  const std::string action_suffix = path.substr(path.rfind('/') + 1);

  // The documented limits, keyed like Fly: per action and machine, per app for app-level ones.
  std::string action;
  std::string key = id;
  if (tmpl == "/v1/apps/{app_name}/machines") {
    action = verb == http::verb::get ? "list" : "create";
    key = fake_.app();
  } else if (tmpl == "/v1/platform/regions") {
    action = "regions";
    key = fake_.app();
  } else if (tmpl == "/v1/apps/{app_name}/machines/{machine_id}") {
    action = verb == http::verb::get ? "get" : "delete";
  } else if (tmpl.ends_with("/lease")) {
    action = verb == http::verb::post ? "lease" : "lease_release";
  } else if (tmpl.ends_with("/metadata")) {
    action = "metadata_get";
  } else if (tmpl.ends_with("/metadata/{key}")) {
    action = verb == http::verb::post ? "metadata_set" : "metadata_delete";
  } else {
    action = action_suffix;
  }
  if (!limiter_.try_acquire(action, key)) {
    ++rate_limited_;
    return json_reply(http::status::too_many_requests,
                      R"({"error":"rate limited","status":"unknown"})");
  }

  const auto ok_empty = [] { return json_reply(http::status::ok, R"({"ok":true})"); };
  const auto unit_reply = [&](const FlyResult<Unit>& r) {
    return r.ok() ? ok_empty() : error_reply(r.error());
  };
  json::value body;
  if (!req.body().empty()) {
    boost::system::error_code ec;
    body = json::parse(req.body(), ec);
    if (ec || !body.is_object()) {
      return error_reply(fly::FakeMachinesApi::http_error(400, "", "body is not a JSON object"));
    }
  }

  if (tmpl == "/v1/apps/{app_name}/machines" && verb == http::verb::get) {
    fly::ListOptions o;
    o.region = q("region");
    if (!q("state").empty()) o.states = split(q("state"), ',');
    o.summary = q("summary") == "true";
    o.include_leases = q("include_leases") == "true";
    for (const auto& [k, v] : query) {
      if (k.rfind("metadata.", 0) == 0) o.metadata[k.substr(9)] = v;
    }
    auto all = run(fake_.list_machines(o));
    if (!all) return error_reply(all.error());
    std::size_t offset = q("cursor").empty() ? 0 : std::stoul(q("cursor").substr(1));
    std::size_t limit = q("limit").empty() ? all->size() : std::stoul(q("limit"));
    json::array out;
    for (std::size_t i = offset; i < all->size() && i < offset + limit; ++i)
      out.push_back(fly::machine_to_json((*all)[i]));
    TestReply r = json_reply(http::status::ok, json::serialize(out));
    if (offset + limit < all->size())
      r.response.set("fly-next-cursor", "o" + std::to_string(offset + limit));
    return r;
  }
  if (tmpl == "/v1/apps/{app_name}/machines" && verb == http::verb::post) {
    fly::CreateMachineRequest c;
    const auto& o = body.as_object();
    if (const auto* v = o.if_contains("config"); v && v->is_object()) c.config = v->get_object();
    if (const auto* v = o.if_contains("region"); v && v->is_string())
      c.region = std::string(v->get_string());
    if (const auto* v = o.if_contains("name"); v && v->is_string())
      c.name = std::string(v->get_string());
    if (const auto* v = o.if_contains("skip_launch"); v && v->is_bool())
      c.skip_launch = v->get_bool();
    if (const auto* v = o.if_contains("lease_ttl"); v && v->is_int64())
      c.lease_ttl = static_cast<int>(v->get_int64());
    auto m = run(fake_.create_machine(c));
    if (!m) return error_reply(m.error());
    return json_reply(http::status::ok, json::serialize(fly::machine_to_json(*m)));
  }
  if (tmpl == "/v1/apps/{app_name}/machines/{machine_id}") {
    if (verb == http::verb::get) {
      auto m = run(fake_.get_machine(id, q("include_leases") == "true"));
      if (!m) return error_reply(m.error());
      return json_reply(http::status::ok, json::serialize(fly::machine_to_json(*m)));
    }
    return unit_reply(run(fake_.delete_machine(id, q("force") == "true", nonce)));
  }
  if (action_suffix == "start") return unit_reply(run(fake_.start_machine(id, nonce)));
  if (action_suffix == "stop") return unit_reply(run(fake_.stop_machine(id, {}, nonce)));
  if (action_suffix == "suspend") return unit_reply(run(fake_.suspend_machine(id, nonce)));
  if (action_suffix == "cordon") return unit_reply(run(fake_.cordon_machine(id, nonce)));
  if (action_suffix == "uncordon") return unit_reply(run(fake_.uncordon_machine(id, nonce)));
  if (action_suffix == "wait") {
    auto w = run(fake_.wait_machine(id, q("state"), std::chrono::seconds(1), q("version")));
    if (!w) return error_reply(w.error());
    return json_reply(
        http::status::ok,
        json::serialize(json::object{{"ok", w->ok}, {"state", w->state}, {"version", w->version}}));
  }
  if (tmpl.ends_with("/lease")) {
    if (verb == http::verb::delete_) return unit_reply(run(fake_.release_lease(id, nonce)));
    std::int64_t ttl = 30;
    if (const auto* v = body.is_object() ? body.as_object().if_contains("ttl") : nullptr;
        v && v->is_int64()) {
      ttl = v->get_int64();
    }
    auto l = nonce.empty() ? run(fake_.acquire_lease(id, std::chrono::seconds(ttl), "test"))
                           : run(fake_.refresh_lease(id, nonce, std::chrono::seconds(ttl)));
    if (!l) return error_reply(l.error());
    return json_reply(http::status::created,
                      json::serialize(json::object{{"nonce", l->nonce},
                                                   {"expires_at", l->expires_at},
                                                   {"owner", l->owner},
                                                   {"description", l->description}}));
  }
  if (tmpl.ends_with("/metadata")) {
    auto md = run(fake_.get_metadata(id));
    if (!md) return error_reply(md.error());
    json::object o;
    for (const auto& [k, v] : *md) o[k] = v;
    return json_reply(http::status::ok, json::serialize(o));
  }
  if (tmpl.ends_with("/metadata/{key}")) {
    FlyResult<Unit> r = Unit{};
    if (verb == http::verb::post) {
      std::string value;
      if (const auto* v = body.is_object() ? body.as_object().if_contains("value") : nullptr;
          v && v->is_string()) {
        value = std::string(v->get_string());
      }
      r = run(fake_.set_metadata(id, params["key"], value, nonce));
    } else {
      r = run(fake_.delete_metadata(id, params["key"], nonce));
    }
    if (!r) return error_reply(r.error());
    TestReply ok;
    ok.response.result(http::status::no_content);
    return ok;
  }
  if (tmpl == "/v1/platform/regions") {
    auto regions = run(fake_.list_regions());
    json::array rows;
    for (const auto& r : *regions) {
      rows.push_back(json::object{{"code", r.code},
                                  {"name", r.name},
                                  {"latitude", r.latitude},
                                  {"longitude", r.longitude},
                                  {"deprecated", r.deprecated}});
    }
    return json_reply(http::status::ok,
                      json::serialize(json::object{{"nearest", "fra"}, {"regions", rows}}));
  }
  return error_reply(fly::FakeMachinesApi::http_error(404, "", "route not implemented in MiniFly"));
}

}  // namespace autoplacer::testing
