#include "sim/flysim.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "net/http_date.h"

namespace autoplacer::sim {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kNonceHeader = "fly-machine-lease-nonce";

bool truthy(const std::optional<std::string>& v) {
  return v && (*v == "true" || *v == "1" || v->empty());
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t pos = 0;
    while (pos <= v.size()) {
      auto end = v.find(',', pos);
      auto part = v.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      if (!part.empty()) out.push_back(part);
      if (end == std::string::npos) break;
      pos = end + 1;
    }
  }
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

struct FlySim::Call {
  const net::Request& req;
  const net::RouteParams& params;
  std::string app;
  std::string id;
  std::string nonce;
  json::value body;
  TimePoint now{};
};

std::vector<SeedMachine> default_fleet(const std::string& app) {
  const std::string image = "registry.fly.io/" + app + ":deployment-01HZX3K9Q2";
  auto base = [&](std::string name, std::string region) {
    SeedMachine s;
    s.app = app;
    s.name = std::move(name);
    s.region = std::move(region);
    s.image = image;
    s.metadata = {{"fly_process_group", "app"},
                  {"fly_platform_version", "v2"},
                  {"fly_release_id", "rel_01"},
                  {"fly_release_version", "3"},
                  {"fly_flyctl_version", "0.3.45"}};
    return s;
  };
  std::vector<SeedMachine> out;
  out.push_back(base("web-iad-original", "iad"));  // the user's own machine: the clone source
  auto worker = base("worker-iad", "iad");
  worker.metadata["fly_process_group"] = "worker";
  out.push_back(worker);
  auto foreign = base("other-policy-lhr", "lhr");
  foreign.metadata["autoplacer_policy"] = "someone-else";
  out.push_back(foreign);
  auto deploying = base("web-fra-deploying", "fra");
  deploying.metadata["fly_bluegreen_deployment_tag"] = "bluegreen-01HZX3";
  deploying.lease_owner = "deploy-bot@fly.io";
  out.push_back(deploying);
  auto sick = base("web-sin-unreachable", "sin");
  sick.state = "stopped";
  sick.host_status = "unreachable";
  out.push_back(sick);
  return out;
}

FlySim::FlySim(asio::any_io_executor executor, const Clock& clock, FlySimOptions options,
               ManualClock* manual)
    : executor_(std::move(executor)),
      clock_(clock),
      manual_(manual),
      options_(std::move(options)),
      world_([&] {
        FlyWorld::Options w;
        w.apps = options_.apps;
        w.delays = options_.delays;
        w.capacity = options_.capacity;
        w.seed = options_.seed;
        return w;
      }()),
      limiter_(options_.rate_limits),
      faults_(options_.seed) {
  if (options_.apps.empty()) options_.apps.push_back("demo-app");
  if (options_.traffic_app.empty()) options_.traffic_app = options_.apps.front();
  faults_.set_rules(options_.faults, options_.seed);
  const TimePoint now = clock_.now();
  for (auto seed : options_.machines) {
    if (seed.app.empty()) seed.app = options_.apps.front();
    world_.seed(seed, now);
  }
  if (options_.scenario) {
    EdgeTraffic::Options t;
    t.app = options_.traffic_app;
    t.speed = options_.speed;
    t.loop = options_.loop;
    t.origin = options_.traffic_origin.value_or(now);
    t.service_ms = options_.service_ms;
    traffic_.emplace(*options_.scenario, world_.regions(), t);
  }
  synced_ = now;
}

FlySim::~FlySim() {
  stopping_ = true;
  if (server_) server_->stop(0ms);
}

std::uint16_t FlySim::port() const {
  return server_ ? server_->port() : 0;
}

Result<std::uint16_t, std::string> FlySim::start(std::string_view address, std::uint16_t port) {
  server_ = net::HttpServer::create(executor_, make_router(), options_.http);
  auto bound = server_->listen(address, port);
  if (!bound) return bound;
  asio::co_spawn(executor_, ticker(), asio::detached);
  return bound;
}

void FlySim::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  if (server_) server_->stop(grace);
}

void FlySim::sync_locked(TimePoint now) {
  if (synced_ && now < *synced_) now = *synced_;  // never run time backwards
  // Step through machine transitions so the traffic between two of them sees the fleet that
  // was actually serving then, whatever the scrape or tick timing.
  for (;;) {
    const auto next = world_.next_transition();
    const TimePoint t = next && *next < now ? *next : now;
    if (traffic_) traffic_->advance(t, world_.serving_regions(options_.traffic_app));
    world_.advance(t);
    if (t >= now) break;
  }
  synced_ = now;
}

asio::awaitable<void> FlySim::ticker() {
  asio::steady_timer timer(executor_);
  while (!stopping_) {
    timer.expires_after(options_.tick);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(mu_);
    sync_locked(clock_.now());
  }
}

asio::awaitable<bool> FlySim::sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto end = std::chrono::steady_clock::now() + d;
  while (!stopping_ && std::chrono::steady_clock::now() < end) {
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(
        50ms, end - std::chrono::steady_clock::now()));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return !stopping_;
}

void FlySim::count(const std::string& operation, const std::string& status) {
  std::lock_guard lock(mu_);
  ++requests_[{operation, status}];
}

std::map<std::pair<std::string, std::string>, std::uint64_t> FlySim::request_counts() const {
  std::lock_guard lock(mu_);
  return requests_;
}

net::Response FlySim::json_response(int status, const json::value& body) const {
  net::Response res{static_cast<http::status>(status), 11};
  if (!body.is_null() && status != 204) {
    res.set(http::field::content_type, "application/json");
    res.body() = json::serialize(body);
  }
  res.prepare_payload();
  return res;
}

net::Response FlySim::error_response(int status, const std::string& message,
                                     const std::string& fly_status) const {
  return json_response(status, json::object{{"error", message}, {"status", fly_status}});
}

void FlySim::set_faults(std::vector<FaultRule> rules, std::uint64_t seed) {
  std::lock_guard lock(mu_);
  faults_.set_rules(std::move(rules), seed);
}

void FlySim::add_api(net::Router& r, http::verb verb, const std::string& pattern,
                     const std::string& operation, int ok_status, Op op) {
  r.add(verb, pattern,
        [this, operation, ok_status, op = std::move(op)](
            const net::Request& req, const net::RouteParams& p) -> asio::awaitable<net::Response> {
          const std::string request_id =
              fmt::format("{:016x}-{}", ++request_seq_, options_.traffic_app);
          net::Response res;
          try {
            res = co_await run_api(operation, ok_status, op, req, p);
          } catch (const net::DropConnection&) {
            count(operation, "dropped");
            if (options_.on_exchange) options_.on_exchange(req, nullptr);
            throw;
          }
          res.set("fly-request-id", request_id);
          count(operation, std::to_string(res.result_int()));
          if (options_.on_exchange) options_.on_exchange(req, &res);
          spdlog::debug("flysim: {} {} -> {}", std::string(req.method_string()),
                        std::string(req.target()), res.result_int());
          co_return res;
        });
}

asio::awaitable<net::Response> FlySim::run_api(const std::string& operation, int ok_status, Op op,
                                               const net::Request& req, const net::RouteParams& p) {
  if (!options_.token.empty()) {
    const auto auth = req[http::field::authorization];
    if (auth != "Bearer " + options_.token && auth != "FlyV1 " + options_.token) {
      co_return error_response(401, "You must be authenticated to view this.", "unknown");
    }
  }
  Call call{req, p, p.path_param("app"), p.path_param("id"), {}, nullptr, {}};
  if (auto it = req.find(kNonceHeader); it != req.end()) call.nonce = std::string(it->value());
  if (!req.body().empty()) {
    boost::system::error_code ec;
    call.body = json::parse(req.body(), ec);
    if (ec) co_return error_response(400, "invalid JSON body: " + ec.message(), "unknown");
  }

  std::optional<FaultRule> fault;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_.now();
    sync_locked(now);
    const std::string key = call.id.empty() ? call.app : call.app + "/" + call.id;
    if (auto wait = limiter_.take(operation, key, now)) {
      ++rate_limited_;
      auto res = error_response(429, "rate limit exceeded", "unknown");
      const auto secs = std::max<std::int64_t>(1, (wait->count() + 999) / 1000);
      if (options_.retry_after_http_date) {
        // Whole seconds, rounded up so the date is never earlier than the bucket allows.
        const auto at = std::chrono::ceil<std::chrono::seconds>(now + *wait);
        res.set(http::field::retry_after, net::format_http_date(TimePoint(at)));
      } else {
        res.set(http::field::retry_after, std::to_string(secs));
      }
      co_return res;
    }
    fault = faults_.decide(operation, now);
  }

  if (fault && !fault->after_apply) {
    switch (fault->kind) {
      case FaultKind::kSlow:
        if (!co_await sleep_for(fault->delay)) throw net::DropConnection();
        break;
      case FaultKind::kTimeout:
        co_await sleep_for(fault->delay);
        throw net::DropConnection();
      case FaultKind::kDrop:
        throw net::DropConnection();
      case FaultKind::kError:
        co_return error_response(fault->status, "simulated server error", "unknown");
      case FaultKind::kInsufficientCapacity:
        co_return error_response(412,
                                 "insufficient resources available to fulfill request: could "
                                 "not reserve resource for machine",
                                 "insufficient_capacity");
      case FaultKind::kForeignLease: {
        std::lock_guard lock(mu_);
        world_.set_foreign_lease(call.app, call.id, options_.foreign_lease_owner, fault->delay,
                                 clock_.now());
        break;
      }
    }
  }

  if (operation == "wait") co_return co_await run_wait(call);

  WorldResult<json::value> result = json::value(nullptr);
  {
    std::lock_guard lock(mu_);
    call.now = clock_.now();
    sync_locked(call.now);
    result = op(call);
  }

  if (fault && fault->after_apply) {
    switch (fault->kind) {
      case FaultKind::kError:
        co_return error_response(fault->status, "simulated server error", "unknown");
      case FaultKind::kDrop:
        throw net::DropConnection();
      case FaultKind::kTimeout:
        co_await sleep_for(fault->delay);
        throw net::DropConnection();
      default:
        break;
    }
  }
  if (!result) {
    const auto& e = result.error();
    co_return error_response(e.status, e.message, e.fly_status);
  }
  if (operation == "list") {
    auto& o = result->get_object();
    auto res = json_response(ok_status, o["__machines"]);
    if (const auto& cursor = o["__cursor"].get_string(); !cursor.empty())
      res.set("fly-next-cursor", std::string(cursor));
    co_return res;
  }
  co_return json_response(ok_status, *result);
}

asio::awaitable<net::Response> FlySim::run_wait(Call& call) {
  auto states = split_commas(call.params.query_values("state"));
  if (states.empty()) states.push_back("started");
  std::string version = call.params.query_value("version").value_or("");
  if (version.empty()) version = call.params.query_value("instance_id").value_or("");
  std::int64_t timeout_s = 60;
  if (auto t = call.params.query_value("timeout"); t && !t->empty()) {
    if (auto n = parse_int(*t)) {
      timeout_s = *n;
    } else if (auto d = parse_duration(*t)) {
      timeout_s = d->count() / 1000;
    } else {
      co_return error_response(400, "invalid timeout '" + *t + "'", "unknown");
    }
  }
  timeout_s = std::clamp<std::int64_t>(timeout_s, 0, 60);
  const TimePoint deadline = clock_.now() + std::chrono::seconds(timeout_s);
  const auto wall_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      const TimePoint now = clock_.now();
      sync_locked(now);
      auto r = world_.wait_check(call.app, call.id, states, version, now);
      if (!r) co_return error_response(r.error().status, r.error().message, r.error().fly_status);
      if (*r) co_return json_response(200, **r);
      if (now >= deadline || std::chrono::steady_clock::now() >= wall_deadline || stopping_) {
        std::string what;
        for (const auto& s : states) what += (what.empty() ? "" : ",") + s;
        co_return error_response(
            408, "deadline_exceeded: timeout waiting for machine to be " + what, "unknown");
      }
    }
    co_await sleep_for(options_.wait_poll);
  }
}

std::string FlySim::metrics_text() {
  std::lock_guard lock(mu_);
  sync_locked(clock_.now());
  std::string out = traffic_ ? traffic_->prometheus_text() : std::string();
  out += "# HELP flysim_machines Machines in the simulated Fly by app, region and state.\n";
  out += "# TYPE flysim_machines gauge\n";
  for (const auto& app : options_.apps) {
    for (const auto& [key, n] : world_.counts(app)) {
      out += fmt::format("flysim_machines{{app=\"{}\",region=\"{}\",state=\"{}\"}} {}\n", app,
                         key.first, key.second, n);
    }
  }
  out += "# HELP flysim_api_requests_total Machines API requests by operation and answer.\n";
  out += "# TYPE flysim_api_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += fmt::format("flysim_api_requests_total{{operation=\"{}\",status=\"{}\"}} {}\n",
                       key.first, key.second, n);
  }
  out += "# HELP flysim_rate_limited_total Requests answered 429.\n";
  out += "# TYPE flysim_rate_limited_total counter\n";
  out += fmt::format("flysim_rate_limited_total {}\n", rate_limited_.load());
  out += "# HELP flysim_faults_total Faults injected by kind.\n";
  out += "# TYPE flysim_faults_total counter\n";
  for (auto k : {FaultKind::kError, FaultKind::kTimeout, FaultKind::kDrop, FaultKind::kSlow,
                 FaultKind::kInsufficientCapacity, FaultKind::kForeignLease}) {
    out += fmt::format("flysim_faults_total{{kind=\"{}\"}} {}\n", to_string(k), faults_.fired(k));
  }
  return out;
}

json::value FlySim::state_json() {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  sync_locked(now);
  json::object apps;
  for (const auto& app : options_.apps) {
    json::array ms;
    for (const auto* m : world_.machines(app)) {
      json::object o = FlyWorld::machine_json(*m, false, true);
      if (!m->stages.empty()) {
        o["next_state"] = m->stages.front().state;
        o["next_state_at_ms"] = m->stages.front().at.time_since_epoch().count();
      }
      ms.push_back(std::move(o));
    }
    apps[app] = std::move(ms);
  }
  json::array rules;
  for (const auto& r : faults_.rules()) rules.push_back(FaultInjector::rule_to_json(r));
  json::object capacity;
  for (const auto& [r, n] : world_.options().capacity) capacity[r] = n;
  json::object out{{"now_ms", now.time_since_epoch().count()},
                   {"now", format_rfc3339(now)},
                   {"apps", std::move(apps)},
                   {"faults", std::move(rules)},
                   {"capacity", std::move(capacity)},
                   {"rate_limits_enabled", limiter_.config().enabled},
                   {"rate_limited_total", rate_limited_.load()}};
  if (traffic_) {
    auto st = traffic_->scenario_time(now);
    out["scenario"] = json::object{
        {"name", traffic_->scenario().name()},
        {"speed", traffic_->options().speed},
        {"time_ms", st ? json::value(st->time_since_epoch().count()) : json::value(nullptr)},
        {"finished", !st.has_value()}};
  }
  return out;
}

net::Router FlySim::make_router() {
  net::Router r;
  using V = http::verb;
  const std::string m = "/v1/apps/{app}/machines";
  const std::string one = m + "/{id}";

  add_api(r, V::get, m, "list", 200, [this](Call& c) -> WorldResult<json::value> {
    ListQuery q;
    q.region = c.params.query_value("region").value_or("");
    q.states = split_commas(c.params.query_values("state"));
    q.summary = truthy(c.params.query_value("summary"));
    q.include_leases = truthy(c.params.query_value("include_leases"));
    q.include_deleted = truthy(c.params.query_value("include_deleted"));
    q.cursor = c.params.query_value("cursor").value_or("");
    if (auto l = c.params.query_value("limit"); l && !l->empty()) {
      auto n = parse_int(*l);
      if (!n) return make_err(ApiError{400, "limit must be an integer", "unknown"});
      q.limit = static_cast<int>(*n);
    }
    for (const auto& [k, v] : c.params.query)
      if (k.rfind("metadata.", 0) == 0 && k.size() > 9) q.metadata[k.substr(9)] = v;
    auto page = world_.list(c.app, q, c.now);
    if (!page) return make_err(page.error());
    // The cursor travels in a header; stash it in the body's wrapper for run_api to move.
    return json::value(
        json::object{{"__machines", std::move(page->machines)}, {"__cursor", page->next_cursor}});
  });
  add_api(r, V::post, m, "create", 200,
          [this](Call& c) { return world_.create(c.app, c.body, c.now); });
  add_api(r, V::get, one, "get", 200, [this](Call& c) {
    return world_.get(c.app, c.id, truthy(c.params.query_value("include_leases")), c.now);
  });
  add_api(r, V::post, one + "/start", "start", 200,
          [this](Call& c) { return world_.start(c.app, c.id, c.nonce, c.now); });
  add_api(r, V::post, one + "/stop", "stop", 200,
          [this](Call& c) { return world_.stop(c.app, c.id, c.body, c.nonce, c.now); });
  add_api(r, V::post, one + "/suspend", "suspend", 200,
          [this](Call& c) { return world_.suspend(c.app, c.id, c.nonce, c.now); });
  add_api(r, V::post, one + "/cordon", "cordon", 200,
          [this](Call& c) { return world_.cordon(c.app, c.id, true, c.nonce, c.now); });
  add_api(r, V::post, one + "/uncordon", "uncordon", 200,
          [this](Call& c) { return world_.cordon(c.app, c.id, false, c.nonce, c.now); });
  add_api(r, V::delete_, one, "delete", 200, [this](Call& c) {
    const bool force =
        truthy(c.params.query_value("force")) || truthy(c.params.query_value("kill"));
    return world_.destroy(c.app, c.id, force, c.nonce, c.now);
  });
  add_api(r, V::get, one + "/wait", "wait", 200,
          [](Call&) -> WorldResult<json::value> { return json::value(nullptr); });
  add_api(r, V::get, one + "/lease", "lease_get", 200,
          [this](Call& c) { return world_.lease_get(c.app, c.id, c.now); });
  add_api(r, V::post, one + "/lease", "lease_acquire", 201,
          [this](Call& c) { return world_.lease_acquire(c.app, c.id, c.body, c.nonce, c.now); });
  add_api(r, V::delete_, one + "/lease", "lease_release", 200,
          [this](Call& c) { return world_.lease_release(c.app, c.id, c.nonce, c.now); });
  add_api(r, V::get, one + "/metadata", "metadata_get", 200,
          [this](Call& c) { return world_.metadata_get(c.app, c.id); });
  add_api(r, V::patch, one + "/metadata", "metadata_update", 204, [this](Call& c) {
    return world_.metadata_update(c.app, c.id, c.body, false, c.nonce, c.now);
  });
  add_api(r, V::put, one + "/metadata", "metadata_update", 204, [this](Call& c) {
    return world_.metadata_update(c.app, c.id, c.body, true, c.nonce, c.now);
  });
  add_api(r, V::get, one + "/metadata/{key}", "metadata_get_key", 200, [this](Call& c) {
    return world_.metadata_get_key(c.app, c.id, c.params.path_param("key"));
  });
  add_api(r, V::post, one + "/metadata/{key}", "metadata_set", 204, [this](Call& c) {
    return world_.metadata_set_key(c.app, c.id, c.params.path_param("key"), c.body, c.nonce, c.now);
  });
  add_api(r, V::delete_, one + "/metadata/{key}", "metadata_delete", 204, [this](Call& c) {
    return world_.metadata_delete_key(c.app, c.id, c.params.path_param("key"), c.nonce, c.now);
  });
  add_api(r, V::get, "/v1/platform/regions", "regions", 200,
          [this](Call&) -> WorldResult<json::value> { return world_.regions_json(); });

  // --- Not part of the Machines API ---
  r.add(V::get, "/metrics",
        [this](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          co_return net::make_response(http::status::ok, metrics_text(),
                                       "text/plain; version=0.0.4; charset=utf-8");
        });
  r.add(V::get, "/healthz",
        [](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          co_return net::make_response(http::status::ok, "ok\n", "text/plain");
        });
  r.add(V::get, "/flysim/state",
        [this](const net::Request&, const net::RouteParams&) -> asio::awaitable<net::Response> {
          co_return json_response(200, state_json());
        });
  auto admin = [this](auto fn) {
    return [this, fn](const net::Request& req,
                      const net::RouteParams& p) -> asio::awaitable<net::Response> {
      json::value body;
      if (!req.body().empty()) {
        boost::system::error_code ec;
        body = json::parse(req.body(), ec);
        if (ec) co_return error_response(400, "invalid JSON body", "unknown");
      }
      co_return fn(body, p);
    };
  };
  r.add(V::get, "/flysim/faults", admin([this](const json::value&, const net::RouteParams&) {
          std::lock_guard lock(mu_);
          json::array rules;
          for (const auto& x : faults_.rules()) rules.push_back(FaultInjector::rule_to_json(x));
          return json_response(200, json::object{{"rules", std::move(rules)}});
        }));
  r.add(V::post, "/flysim/faults",
        admin([this](const json::value& body, const net::RouteParams&) -> net::Response {
          if (!body.is_object()) return error_response(400, "want an object", "unknown");
          std::vector<FaultRule> rules;
          if (const auto* a = body.get_object().if_contains("rules"); a && a->is_array()) {
            for (const auto& v : a->get_array()) {
              auto rule = FaultInjector::rule_from_json(v);
              if (!rule) return error_response(400, rule.error(), "unknown");
              rules.push_back(*rule);
            }
          }
          std::uint64_t seed = options_.seed;
          if (const auto* s = body.get_object().if_contains("seed"); s && s->is_int64())
            seed = static_cast<std::uint64_t>(s->get_int64());
          set_faults(std::move(rules), seed);
          return json_response(200, json::object{{"ok", true}});
        }));
  r.add(V::delete_, "/flysim/faults", admin([this](const json::value&, const net::RouteParams&) {
          set_faults({}, options_.seed);
          return json_response(200, json::object{{"ok", true}});
        }));
  r.add(V::post, "/flysim/clock/advance",
        admin([this](const json::value& body, const net::RouteParams& p) -> net::Response {
          if (manual_ == nullptr)
            return error_response(409, "flysim runs on the system clock", "unknown");
          Duration by{0};
          if (auto q = p.query_value("by")) {
            auto d = parse_duration(*q);
            if (!d) return error_response(400, "bad duration '" + *q + "'", "unknown");
            by = *d;
          } else if (body.is_object() && body.get_object().if_contains("seconds")) {
            const auto& s = body.get_object().at("seconds");
            const double secs = s.is_double()  ? s.get_double()
                                : s.is_int64() ? static_cast<double>(s.get_int64())
                                               : -1;
            if (secs < 0) return error_response(400, "seconds must be >= 0", "unknown");
            by = Duration{static_cast<std::int64_t>(secs * 1000)};
          }
          manual_->advance(by);
          std::lock_guard lock(mu_);
          sync_locked(clock_.now());
          return json_response(200,
                               json::object{{"now_ms", clock_.now().time_since_epoch().count()}});
        }));
  r.add(V::post, "/flysim/machines",
        admin([this](const json::value& body, const net::RouteParams&) -> net::Response {
          if (!body.is_object()) return error_response(400, "want an object", "unknown");
          const auto& o = body.get_object();
          SeedMachine s;
          auto str = [&](const char* k, std::string& out) {
            if (const auto* v = o.if_contains(k); v && v->is_string()) out = v->get_string();
          };
          str("app", s.app);
          str("name", s.name);
          str("region", s.region);
          str("state", s.state);
          str("host_status", s.host_status);
          str("image", s.image);
          str("lease_owner", s.lease_owner);
          if (s.app.empty()) s.app = options_.apps.front();
          if (const auto* md = o.if_contains("metadata"); md && md->is_object())
            for (const auto& kv : md->get_object())
              if (kv.value().is_string()) s.metadata[kv.key()] = kv.value().get_string();
          std::lock_guard lock(mu_);
          if (!world_.has_app(s.app)) return error_response(404, "app not found", "unknown");
          sync_locked(clock_.now());
          const SimMachine& seeded = world_.seed(s, clock_.now());
          return json_response(200, FlyWorld::machine_json(seeded, false, true));
        }));
  r.add(V::post, "/flysim/capacity",
        admin([this](const json::value& body, const net::RouteParams&) -> net::Response {
          if (!body.is_object()) return error_response(400, "want an object", "unknown");
          std::lock_guard lock(mu_);
          for (const auto& kv : body.get_object()) {
            if (kv.value().is_int64())
              world_.set_capacity(kv.key(), static_cast<int>(kv.value().get_int64()));
            else
              world_.set_capacity(kv.key(), std::nullopt);
          }
          return json_response(200, json::object{{"ok", true}});
        }));
  r.add(V::post, "/flysim/apps/{app}/machines/{id}/foreign_lease",
        admin([this](const json::value& body, const net::RouteParams& p) -> net::Response {
          std::string owner = options_.foreign_lease_owner;
          std::int64_t ttl = 60;
          if (body.is_object()) {
            if (const auto* o = body.get_object().if_contains("owner"); o && o->is_string())
              owner = o->get_string();
            if (const auto* t = body.get_object().if_contains("ttl"); t && t->is_int64())
              ttl = t->get_int64();
          }
          std::lock_guard lock(mu_);
          if (!world_.set_foreign_lease(p.path_param("app"), p.path_param("id"), owner,
                                        std::chrono::seconds(ttl), clock_.now()))
            return error_response(404, "machine not found", "unknown");
          return json_response(200, json::object{{"ok", true}});
        }));
  r.add(V::post, "/flysim/rate_limits",
        admin([this](const json::value& body, const net::RouteParams&) -> net::Response {
          std::lock_guard lock(mu_);
          auto cfg = limiter_.config();
          if (body.is_object())
            if (const auto* e = body.get_object().if_contains("enabled"); e && e->is_bool())
              cfg.enabled = e->get_bool();
          limiter_.set_config(cfg);
          return json_response(200, json::object{{"enabled", cfg.enabled}});
        }));

  r.set_not_found([this](const net::Request&, const net::RouteParams&,
                         http::status s) -> asio::awaitable<net::Response> {
    auto res = error_response(static_cast<int>(s),
                              s == http::status::method_not_allowed ? "method not allowed"
                              : s == http::status::bad_request      ? "bad request"
                                                                    : "not found",
                              "unknown");
    res.set("fly-request-id", fmt::format("{:016x}-{}", ++request_seq_, options_.traffic_app));
    co_return res;
  });
  return r;
}

}  // namespace autoplacer::sim
