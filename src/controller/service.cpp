#include "controller/service.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "controller/controller.h"
#include "controller/ha_runtime.h"
#include "controller/http_api.h"
#include "controller/leader_gate.h"
#include "controller/policy_watcher.h"
#include "controller/scenario_traffic_source.h"
#include "controller/state_store.h"
#include "fly/machines_client.h"
#include "fly/token.h"
#include "metrics/prometheus_client.h"
#include "metrics/prometheus_traffic_source.h"
#include "metrics/region_catalog_refresh.h"
#include "metrics/self_metrics.h"
#include "sim/flysim.h"

namespace autoplacer::controller {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr double kDefaultDemoSpeed = 720;  // a day in two minutes
constexpr const char* kDefaultScenario = "deploy/scenarios/follow-the-sun.csv";
constexpr const char* kDefaultPolicy = "deploy/policies/demo.yaml";

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// A project file: from the working directory, else next to the executable's source tree
// (build/src/cli/autoplacer -> ../../..), so `scripts/run.sh` works from anywhere.
std::string find_project_file(const std::string& relative) {
  std::error_code ec;
  if (fs::exists(relative, ec)) return relative;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.parent_path();
       dir = dir.parent_path()) {
    if (fs::exists(dir / relative, ec)) return (dir / relative).string();
  }
  return {};
}

}  // namespace

std::string find_default_scenario() {
  return find_project_file(kDefaultScenario);
}
std::string find_default_policy() {
  return find_project_file(kDefaultPolicy);
}

const char* service_options_help() {
  return R"(options:
  --policy FILE|DIR      PlacementPolicy YAML file, or a directory of them (default
                         deploy/policies/demo.yaml)
  --listen ADDR:PORT     HTTP endpoints (default 127.0.0.1:8080; 0.0.0.0:8080 on Fly)
  --fly-api-url URL      Machines API (env FLY_API_URL; default https://api.machines.dev)
  --prometheus-url URL   Prometheus API for demand (env FLY_PROMETHEUS_URL; default
                         https://api.fly.io/prometheus/$FLY_ORG)
  --org SLUG             Fly organization for the default Prometheus URL (env FLY_ORG)
  --state-dir DIR        where state that survives a restart is kept (default: in memory in
                         demo mode, ./.autoplacer-state otherwise; `plan` only reads it)
  --scenario CSV         demo traffic (timestamp,region,rps) for the embedded flysim (default
                         deploy/scenarios/follow-the-sun.csv)
  --speed N              scenario seconds per real second (default 720: a day in 2 minutes)
  --no-loop              do not replay the scenario again after its end
  --workers N            passes in flight at most (default 4)
  --shutdown-grace D     how long passes in flight may finish on SIGTERM (default 20s)
  --log-level LEVEL      trace|debug|info|warn|error (default info)
  --log-json             one JSON object per log line

environment:
  FLY_API_TOKEN          talk to Fly (without it and without --fly-api-url: embedded flysim)
  FLY_PROMETHEUS_TOKEN   token for Prometheus (default FLY_API_TOKEN)
  AUTOPLACER_TRIGGER_TOKEN  bearer token POST /trigger requires
)";
}

Result<ServiceOptions, std::string> parse_service_args(int argc, char** argv) {
  ServiceOptions o;
  o.fly_api_url = env_or("FLY_API_URL", "");
  o.prometheus_url = env_or("FLY_PROMETHEUS_URL", "");
  o.org = env_or("FLY_ORG", "");
  o.trigger_token = env_or("AUTOPLACER_TRIGGER_TOKEN", "");
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto value = [&]() -> Result<std::string, std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return make_err(a + " needs a value");
      return args[++i];
    };
#define AP_VALUE(target)                \
  do {                                  \
    auto v = value();                   \
    if (!v) return make_err(v.error()); \
    target = *v;                        \
  } while (0)
    if (a == "--policy") {
      AP_VALUE(o.policy_path);
    } else if (a == "--listen") {
      AP_VALUE(o.listen);
    } else if (a == "--fly-api-url") {
      AP_VALUE(o.fly_api_url);
    } else if (a == "--prometheus-url") {
      AP_VALUE(o.prometheus_url);
    } else if (a == "--org") {
      AP_VALUE(o.org);
    } else if (a == "--state-dir") {
      AP_VALUE(o.state_dir);
    } else if (a == "--scenario") {
      AP_VALUE(o.scenario_path);
    } else if (a == "--speed") {
      std::string s;
      AP_VALUE(s);
      try {
        o.speed = std::stod(s);
      } catch (...) {
        o.speed = -1;
      }
      if (!(o.speed > 0)) return make_err(std::string("--speed needs a positive number"));
    } else if (a == "--no-loop") {
      o.loop = false;
    } else if (a == "--workers") {
      std::string s;
      AP_VALUE(s);
      try {
        o.workers = std::stoi(s);
      } catch (...) {
        o.workers = 0;
      }
      if (o.workers < 1 || o.workers > 256) return make_err(std::string("--workers needs 1..256"));
    } else if (a == "--shutdown-grace") {
      std::string s;
      AP_VALUE(s);
      auto d = parse_duration(s);
      if (!d) return make_err(std::string("--shutdown-grace needs a duration such as 20s"));
      o.shutdown_grace = *d;
    } else if (a == "--log-level") {
      AP_VALUE(o.log_level);
    } else if (a == "--log-json") {
      o.json_logs = true;
    } else if (a == "--no-demo-summary") {
      o.demo_summary = false;
    } else if (auto ha = parse_ha_flag(a, value, o.ha)) {
      if (!*ha) return make_err(ha->error());
    } else {
      return make_err("unknown option '" + args[i] + "' (see --help)");
    }
#undef AP_VALUE
  }
  if (auto listen = parse_listen_address(o.listen); !listen) return make_err(listen.error());
  {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    auto ha = resolve_ha_options(
        o.ha, [](const char* name) { return std::getenv(name); }, host, "");
    if (!ha) return make_err(ha.error());
  }
  if (o.policy_path.empty()) {
    o.policy_path = find_default_policy();
    if (o.policy_path.empty())
      return make_err(std::string("no --policy given and ") + kDefaultPolicy + " not found");
  }
  if (const char* t = std::getenv("FLY_API_TOKEN"); t && *t) {
    auto token = fly::load_token("");
    if (!token) return make_err(token.error());
    o.token = *token;
  }
  o.demo = o.token.empty() && o.fly_api_url.empty();
  if (o.fly_api_url.empty()) o.fly_api_url = "https://api.machines.dev";
  if (o.demo) {
    if (o.scenario_path.empty()) o.scenario_path = find_default_scenario();
    if (o.scenario_path.empty())
      return make_err(std::string("no --scenario given and ") + kDefaultScenario + " not found");
    if (o.speed <= 0) o.speed = kDefaultDemoSpeed;
  } else if (o.prometheus_url.empty() && o.scenario_path.empty()) {
    if (o.org.empty())
      return make_err(
          std::string("demand needs --prometheus-url (or FLY_PROMETHEUS_URL), or FLY_ORG for Fly's "
                      "https://api.fly.io/prometheus/<org>"));
    o.prometheus_url = "https://api.fly.io/prometheus/" + o.org;
  }
  if (o.speed <= 0) o.speed = 1;
  return o;
}

// ---- Service ------------------------------------------------------------------------------------

struct Service::Impl {
  explicit Impl(ServiceOptions o) : options(std::move(o)), metrics("0.1.0") {}

  ServiceOptions options;
  SystemClock clock;
  metrics::SelfMetrics metrics;
  AlwaysLeader leader;
  // The built-in table, refreshed from GET /v1/platform/regions at start-up (refresh_catalog).
  RegionCatalog catalog = RegionCatalog::builtin();
  asio::io_context ioc{1};

  // Demo: the simulated Fly on its own thread, like a remote server.
  asio::io_context sim_ioc{1};
  std::unique_ptr<sim::FlySim> flysim;
  std::thread sim_thread;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> sim_work;
  std::string api_url;
  ScenarioTrafficSource* scenario_traffic = nullptr;

  std::unique_ptr<StateStore> store;
  std::unique_ptr<HaRuntime> ha;  // HA mode only: etcd state, election, gate
  std::unique_ptr<metrics::TrafficSource> traffic;
  std::shared_ptr<metrics::PrometheusClient> prometheus;
  std::unique_ptr<PolicyWatcher> watcher;
  std::vector<PlacementPolicy> policies;

  ~Impl() { stop_sim(); }

  void stop_sim() {
    if (flysim) flysim->stop(std::chrono::milliseconds(200));
    sim_work.reset();
    if (sim_thread.joinable()) sim_thread.join();
  }

  Result<Unit, std::string> prepare() {
    log::init(options.log_level, options.json_logs);
    if (!options.token.empty()) log::register_secret(options.token);
    if (!options.trigger_token.empty()) log::register_secret(options.trigger_token);

    watcher = std::make_unique<PolicyWatcher>(options.policy_path, make_policy_loader(catalog));
    auto loaded = watcher->load_initial();
    if (!loaded) return make_err("invalid policy:\n" + loaded.error());
    policies = *loaded;

    if (options.state_dir.empty()) {
      store = std::make_unique<FakeStateStore>();
    } else {
      auto local = LocalStateStore::open(options.state_dir);
      if (!local)
        return make_err("state directory " + options.state_dir + ": " + local.error().message);
      store = std::move(*local);
    }

    if (options.demo) {
      if (auto started = start_flysim(); !started) return started;
    } else {
      api_url = options.fly_api_url;
    }

    if (!options.prometheus_url.empty()) {
      metrics::PrometheusClientOptions po;
      po.url = options.prometheus_url;
      po.token = env_or("FLY_PROMETHEUS_TOKEN", options.token);
      if (!po.token.empty()) log::register_secret(po.token);
      prometheus = metrics::PrometheusClient::create(ioc.get_executor(), po);
      if (auto err = prometheus->config_error()) return make_err("--prometheus-url: " + *err);
      traffic = std::make_unique<metrics::PrometheusTrafficSource>(prometheus, catalog);
    } else if (!options.scenario_path.empty()) {
      auto scenario = sim::Scenario::load_csv(options.scenario_path);
      if (!scenario) return make_err(scenario.error());
      auto source =
          std::make_unique<ScenarioTrafficSource>(std::move(*scenario), policies.front().spec.app,
                                                  clock.now(), options.speed, options.loop);
      scenario_traffic = source.get();
      traffic = std::move(source);
    } else {
      return make_err(std::string("no source of demand: give --prometheus-url or --scenario"));
    }
    return Unit{};
  }

  Result<Unit, std::string> start_flysim() {
    auto scenario = sim::Scenario::load_csv(options.scenario_path);
    if (!scenario) return make_err(scenario.error());
    sim::FlySimOptions so;
    so.apps.clear();
    std::set<std::string> apps;
    for (const auto& p : policies)
      if (apps.insert(p.spec.app).second) so.apps.push_back(p.spec.app);
    for (const auto& app : so.apps) {
      auto fleet = sim::default_fleet(app);
      so.machines.insert(so.machines.end(), fleet.begin(), fleet.end());
    }
    so.scenario = std::move(*scenario);
    so.traffic_app = so.apps.front();
    so.speed = options.speed;
    so.loop = options.loop;
    so.traffic_origin = clock.now();
    flysim = std::make_unique<sim::FlySim>(sim_ioc.get_executor(), clock, std::move(so));
    auto port = flysim->start("127.0.0.1", 0);
    if (!port) return make_err("embedded flysim: " + port.error());
    api_url = "http://127.0.0.1:" + std::to_string(*port);
    sim_work.emplace(sim_ioc.get_executor());
    sim_thread = std::thread([this] { sim_ioc.run(); });
    return Unit{};
  }

  // HA mode: state on etcd, leader election in this event loop. Called by run() only (`plan`
  // acts on nothing, so it needs no leadership).
  Result<Unit, std::string> prepare_ha() {
    if (!options.ha.enabled()) return Unit{};
    if (options.ha.prefix.empty())
      options.ha.prefix = default_prefix_for(policies.front().spec.app);
    auto runtime = HaRuntime::create(ioc.get_executor(), options.ha, &metrics);
    if (!runtime) return make_err(runtime.error());
    ha = std::move(*runtime);
    return Unit{};
  }

  // This replica's role for /readyz and /status.
  boost::json::value role_json() const {
    if (ha) return ha->role().json;
    return boost::json::object{{"mode", "single"}, {"role", "leader"}};
  }

  // Start-up: the platform's regions, so a region Fly added or retired is placed correctly. A
  // failure keeps the built-in table (logged); the first passes wait for this one call only.
  asio::awaitable<void> refresh_catalog() {
    if (policies.empty()) co_return;
    auto api = api_factory()(policies.front().spec.app);
    RegionCatalog fresh = catalog;
    auto refreshed = co_await metrics::refresh_region_catalog(*api, fresh);
    if (!refreshed) {
      spdlog::warn("region catalog: keeping the built-in table: {}", refreshed.error());
      co_return;
    }
    catalog = std::move(fresh);  // on the event loop, before the first pass reads it
    spdlog::info("region catalog: {}", metrics::describe(*refreshed));
  }

  MachinesApiFactory api_factory() {
    return [this](const std::string& app) -> std::shared_ptr<fly::MachinesApi> {
      fly::MachinesClientOptions mo;
      mo.app = app;
      mo.base_url = api_url;
      mo.token = options.token;
      auto client = std::make_shared<fly::MachinesClient>(ioc.get_executor(), mo, clock,
                                                          metrics.api_observer());
      // HA: a replica that stops leading mid-pass sends no further write.
      if (ha) return ha->wrap_machines_api(std::move(client));
      return client;
    };
  }

  ReconcilerEnv env() {
    ReconcilerEnv e;
    e.clock = &clock;
    e.catalog = &catalog;
    e.traffic = traffic.get();
    e.store = ha ? &ha->store() : store.get();
    e.leader = ha ? &ha->gate() : static_cast<const LeaderGate*>(&leader);
    e.metrics = &metrics;
    // The restart test's crash points: AUTOPLACER_CRASH_AT=<point>[:<nth>] SIGKILLs the process
    // the nth time a pass reaches <point>. Unset in production.
    if (const char* crash = std::getenv("AUTOPLACER_CRASH_AT"); crash && *crash) {
      std::string spec = crash;
      int nth = 1;
      if (auto colon = spec.rfind(':'); colon != std::string::npos) {
        nth = std::max(1, std::atoi(spec.c_str() + colon + 1));
        spec = spec.substr(0, colon);
      }
      auto hits = std::make_shared<int>(0);
      e.on_point = [spec, nth, hits](std::string_view point) {
        if (point == spec && ++*hits == nth) {
          std::fprintf(stderr, "AUTOPLACER_CRASH_AT: killing at %s\n", spec.c_str());
          std::fflush(stderr);
          ::kill(::getpid(), SIGKILL);
        }
      };
    }
    return e;
  }

  // Demo: every few seconds, where the users are and where the machines are.
  asio::awaitable<void> demo_summary(Controller& controller) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    int ticks = 0;
    while (!controller.stopping()) {
      // Short sleeps, so shutdown does not wait for a whole period.
      timer.expires_after(std::chrono::milliseconds(250));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (controller.stopping() || !flysim || !scenario_traffic) break;
      if (++ticks % 20 != 0) continue;
      const std::string app = policies.front().spec.app;
      DemandReading d = scenario_traffic->demand_at(clock.now());
      std::vector<std::pair<double, std::string>> top;
      for (const auto& [region, rps] : d.rps) top.emplace_back(rps, region);
      std::sort(top.rbegin(), top.rend());
      std::ostringstream users;
      for (std::size_t i = 0; i < top.size() && i < 4; ++i)
        users << (i ? ", " : "") << top[i].second << " " << static_cast<int>(top[i].first);
      auto counts = flysim->with_world([&](sim::FlyWorld& w) { return w.counts(app); });
      std::map<std::string, int> started;
      for (const auto& [key, n] : counts)
        if (key.second == "started") started[key.first] += n;
      std::ostringstream machines;
      bool first = true;
      for (const auto& [region, n] : started) {
        machines << (first ? "" : ", ") << region << " " << n;
        first = false;
      }
      spdlog::info("[demo] users (req/s): {} | machines started: {}", users.str(), machines.str());
    }
  }
};

Service::Service(ServiceOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Service::~Service() = default;

int Service::run() {
  Impl& s = *impl_;
  // Against a real Fly the state must survive a restart: on disk unless told otherwise. (`plan`
  // saves nothing, so it keeps an unset state dir in memory.)
  // In HA mode the state lives in etcd instead.
  if (s.options.state_dir.empty() && !s.options.demo && !s.options.ha.enabled())
    s.options.state_dir = ".autoplacer-state";
  if (auto ready = s.prepare(); !ready) {
    std::fprintf(stderr, "autoplacer: %s\n", ready.error().c_str());
    return 1;
  }
  if (auto ready = s.prepare_ha(); !ready) {
    std::fprintf(stderr, "autoplacer: %s\n", ready.error().c_str());
    return 1;
  }
  ControllerOptions co;
  co.workers = s.options.workers;
  Controller controller(s.ioc.get_executor(), s.env(), s.api_factory(), co);
  controller.set_policies(s.policies);

  HttpApiOptions ho;
  ho.trigger_token = s.options.trigger_token;
  ho.role = [&s] { return s.role_json(); };
  HttpApi api(s.ioc.get_executor(), controller, ho);
  auto listen = parse_listen_address(s.options.listen);
  auto port = api.listen(listen->first, listen->second);
  if (!port) {
    std::fprintf(stderr, "autoplacer: cannot listen on %s: %s\n", s.options.listen.c_str(),
                 port.error().c_str());
    return 1;
  }
  const std::string http_base = "http://" + listen->first + ":" + std::to_string(*port);
  if (s.options.demo) {
    spdlog::info("demo mode (no FLY_API_TOKEN): embedded flysim at {} replaying {} at {}x",
                 s.api_url, s.options.scenario_path, s.options.speed);
  } else {
    spdlog::info(
        "Machines API at {}; demand from {}", s.api_url,
        s.options.prometheus_url.empty() ? s.options.scenario_path : s.options.prometheus_url);
  }
  spdlog::info("serving {}/status, {}/metrics, {}/healthz, {}/readyz and POST {}/trigger",
               http_base, http_base, http_base, http_base, http_base);
  if (s.ha) {
    spdlog::info("state: etcd {} under {}", s.ha->current_endpoint(), state_prefix(s.options.ha));
  } else {
    spdlog::info("state: {}", s.options.state_dir.empty() ? std::string("in memory (demo)")
                                                          : s.options.state_dir);
  }
  std::printf("autoplacer listening on %s\n", http_base.c_str());
  std::fflush(stdout);

  if (s.ha) s.ha->start();  // before the controller: its first pass already asks the gate
  asio::co_spawn(
      s.ioc,
      [&]() -> asio::awaitable<void> {
        co_await s.refresh_catalog();
        co_await controller.run();
      },
      asio::detached);
  asio::co_spawn(s.ioc,
                 s.watcher->run(std::chrono::duration_cast<Duration>(s.options.policy_poll),
                                [&controller](const PolicyChange& change) {
                                  if (change.kind == PolicyChange::Kind::kApplied) {
                                    spdlog::info("policy files changed: applying {} policies",
                                                 change.policies.size());
                                    controller.set_invalid_change(std::nullopt);
                                    controller.set_policies(change.policies);
                                  } else if (change.kind == PolicyChange::Kind::kInvalid) {
                                    controller.set_invalid_change(change.error);
                                  }
                                }),
                 asio::detached);
  if (s.options.demo && s.options.demo_summary)
    asio::co_spawn(s.ioc, s.demo_summary(controller), asio::detached);

  int signals_seen = 0;
  asio::signal_set signals(s.ioc, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (++signals_seen > 1) {
      std::fprintf(stderr, "autoplacer: second signal, exiting now\n");
      std::_Exit(130);
    }
    spdlog::info("received {}: shutting down", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    signals.async_wait(on_signal);
    asio::co_spawn(
        s.ioc,
        [&]() -> asio::awaitable<void> {
          s.watcher->stop();
          co_await controller.shutdown(s.options.shutdown_grace);
          // Saved and quiet: hand the leadership over now rather than after the lease TTL.
          if (s.ha) co_await s.ha->resign();
          api.stop(std::chrono::milliseconds(1000));
          // Let the event loop drain by itself (every loop watches stopping()), so nothing that
          // refers to the controller is left suspended when it is destroyed. A watchdog ends the
          // process if something lingers: the state is already saved.
          boost::system::error_code ignored;
          signals.cancel(ignored);
          std::thread([] {
            std::this_thread::sleep_for(std::chrono::seconds(10));
            spdlog::warn("event loop did not drain within 10 s after shutdown; exiting");
            std::fflush(nullptr);
            std::_Exit(0);
          }).detach();
        },
        asio::detached);
  };
  signals.async_wait(on_signal);
  s.ioc.run();
  s.stop_sim();
  return 0;
}

int Service::plan() {
  Impl& s = *impl_;
  if (auto ready = s.prepare(); !ready) {
    std::fprintf(stderr, "autoplacer: %s\n", ready.error().c_str());
    return 1;
  }
  int exit_code = 0;
  auto apis = s.api_factory();
  asio::co_spawn(
      s.ioc,
      [&]() -> asio::awaitable<void> {
        std::map<std::string, std::shared_ptr<fly::MachinesApi>> by_app;
        for (const auto& policy : s.policies) {
          auto& api = by_app[policy.spec.app];
          if (!api) api = apis(policy.spec.app);
          ReconcilerEnv env = s.env();
          env.metrics = nullptr;
          env.on_point = nullptr;
          PolicyReconciler rec(policy, api, env);
          PassOptions po;
          po.plan_only = true;
          PassResult r = co_await rec.reconcile(po);
          if (!r.succeeded()) {
            std::printf("Error: policy %s: %s\n", r.policy.c_str(), r.message.c_str());
            exit_code = 1;
            continue;
          }
          if (r.decision) {
            for (const auto& [region, rd] : r.decision->regions) {
              if (rd.desired == rd.current && rd.direction == Direction::kNone) continue;
              if (auto held = r.held.find(region); held != r.held.end()) {
                // Not a change: the surplus is not ours (or held) and stays.
                std::printf("  %s held at %d (desired %d): %s\n", region.c_str(), rd.current,
                            rd.desired, held->second.c_str());
                continue;
              }
              std::printf("  %s %d -> %d: %s\n", region.c_str(), rd.current, rd.desired,
                          rd.message.c_str());
            }
          }
          std::printf("%s\n", format_plan(*r.plan).c_str());
          if (r.has_changes() && exit_code == 0) exit_code = 2;
        }
      },
      [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::fprintf(stderr, "autoplacer: %s\n", ex.what());
          }
          exit_code = 1;
        }
      });
  s.ioc.run();
  s.stop_sim();
  return exit_code;
}

}  // namespace autoplacer::controller
