// flysim: the simulated Fly Machines API + edge metrics as a stand-alone server, for the demo and
// for running the controller without a Fly account.
//
//   flysim --listen 127.0.0.1:4280 --app demo-app --scenario traffic.csv --speed 60
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/log.h"
#include "sim/flysim.h"

namespace {

using autoplacer::sim::FlySimOptions;

constexpr const char* kUsage = R"(usage: flysim [options]

A simulated Fly.io Machines API (/v1/apps/{app}/machines...) with Fly-style edge metrics on
/metrics, replayed from a traffic scenario. Admin endpoints under /flysim/ (state, faults,
machines, capacity, foreign_lease, rate_limits).

options:
  --listen ADDR:PORT       where to listen (default 127.0.0.1:4280; port 0 picks one)
  --app NAME               an app that exists (repeatable; default demo-app)
  --token TOKEN            require `Authorization: Bearer|FlyV1 TOKEN` (or env FLYSIM_TOKEN)
  --scenario FILE          traffic CSV (timestamp,region,rps) replayed for the first app
  --speed X                scenario seconds per real second (default 1)
  --loop                   replay the scenario again after its end
  --seed N                 seed for ids, nonces and faults (default 1)
  --regions-capacity LIST  most machines per region, e.g. fra=2,lhr=0 (default unlimited)
  --create-delay D         creating -> created (default 2s)
  --start-delay D          starting -> started (default 1s)
  --stop-delay D           stopping -> stopped (default 1s)
  --suspend-delay D        suspending -> suspended (default 1s)
  --destroy-delay D        destroying -> destroyed (default 1s)
  --fault SPEC             op:kind[:probability[:param]] (repeatable), kinds error, timeout,
                           drop, slow, insufficient_capacity, foreign_lease; e.g.
                           create:error:0.1:503  *:slow:0.05:1500ms  get:timeout:0.01:40s
  --no-rate-limits         do not enforce the documented Machines API rate limits
  --retry-after-date       send a 429's Retry-After as an HTTP-date, not delta seconds
  --empty                  start with no machines (default: a small realistic fleet)
  --threads N              I/O threads (default 2)
  --log-level LEVEL        trace|debug|info|warn|error (default info)
  --help                   this text
)";

bool parse_capacity(const std::string& text, std::map<std::string, int>& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(',', pos);
    const std::string part = text.substr(pos, end == std::string::npos ? end : end - pos);
    const auto eq = part.find('=');
    if (eq == std::string::npos) return false;
    try {
      out[part.substr(0, eq)] = std::stoi(part.substr(eq + 1));
    } catch (...) {
      return false;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return true;
}

int fail(const std::string& message) {
  std::cerr << "flysim: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace autoplacer;
  FlySimOptions options;
  options.apps.clear();
  std::string listen = "127.0.0.1:4280";
  std::string log_level = "info";
  bool empty = false;
  int threads = 2;
  if (const char* t = std::getenv("FLYSIM_TOKEN")) options.token = t;

  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto duration = [&](Duration& out) -> bool {
      auto v = value();
      if (!v) return false;
      auto d = parse_duration(*v);
      if (!d) return false;
      out = *d;
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--listen") {
      auto v = value();
      if (!v) return fail("--listen needs ADDR:PORT");
      listen = *v;
    } else if (a == "--app") {
      auto v = value();
      if (!v || v->empty()) return fail("--app needs a name");
      options.apps.push_back(*v);
    } else if (a == "--token") {
      auto v = value();
      if (!v) return fail("--token needs a value");
      options.token = *v;
    } else if (a == "--scenario") {
      auto v = value();
      if (!v) return fail("--scenario needs a file");
      auto s = sim::Scenario::load_csv(*v);
      if (!s) return fail(s.error());
      options.scenario = std::move(*s);
    } else if (a == "--speed") {
      auto v = value();
      try {
        options.speed = v ? std::stod(*v) : -1;
      } catch (...) {
        options.speed = -1;
      }
      if (options.speed <= 0) return fail("--speed needs a positive number");
    } else if (a == "--loop") {
      options.loop = true;
    } else if (a == "--seed") {
      auto v = value();
      try {
        options.seed = v ? std::stoull(*v) : 0;
      } catch (...) {
        return fail("--seed needs a number");
      }
    } else if (a == "--regions-capacity") {
      auto v = value();
      if (!v || !parse_capacity(*v, options.capacity))
        return fail("--regions-capacity wants region=N[,region=N...]");
    } else if (a == "--create-delay") {
      if (!duration(options.delays.create)) return fail("--create-delay needs a duration");
    } else if (a == "--start-delay") {
      if (!duration(options.delays.start)) return fail("--start-delay needs a duration");
    } else if (a == "--stop-delay") {
      if (!duration(options.delays.stop)) return fail("--stop-delay needs a duration");
    } else if (a == "--suspend-delay") {
      if (!duration(options.delays.suspend)) return fail("--suspend-delay needs a duration");
    } else if (a == "--destroy-delay") {
      if (!duration(options.delays.destroy)) return fail("--destroy-delay needs a duration");
    } else if (a == "--fault") {
      auto v = value();
      if (!v) return fail("--fault needs a spec");
      auto rule = sim::FaultInjector::parse_flag(*v);
      if (!rule) return fail(rule.error());
      options.faults.push_back(*rule);
    } else if (a == "--no-rate-limits") {
      options.rate_limits.enabled = false;
    } else if (a == "--retry-after-date") {
      options.retry_after_http_date = true;
    } else if (a == "--empty") {
      empty = true;
    } else if (a == "--threads") {
      auto v = value();
      try {
        threads = v ? std::stoi(*v) : 0;
      } catch (...) {
        threads = 0;
      }
      if (threads < 1) return fail("--threads needs a positive number");
    } else if (a == "--log-level") {
      auto v = value();
      if (!v) return fail("--log-level needs a level");
      log_level = *v;
    } else {
      return fail("unknown option '" + a + "' (see --help)");
    }
  }
  if (options.apps.empty()) options.apps.push_back("demo-app");
  log::init(log_level);
  if (!options.token.empty()) log::register_secret(options.token);
  if (!empty) {
    for (const auto& app : options.apps) {
      auto fleet = sim::default_fleet(app);
      options.machines.insert(options.machines.end(), fleet.begin(), fleet.end());
    }
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail("--listen wants ADDR:PORT");
  std::string address = listen.substr(0, colon);
  if (address.size() > 2 && address.front() == '[') address = address.substr(1, address.size() - 2);
  int port = -1;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) return fail("--listen: bad port");

  boost::asio::io_context ioc(threads);
  SystemClock clock;
  sim::FlySim fly(ioc.get_executor(), clock, std::move(options));
  auto bound = fly.start(address, static_cast<std::uint16_t>(port));
  if (!bound) return fail(bound.error());
  std::cout << "flysim listening on " << address << ":" << *bound << std::endl;

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) fly.stop(std::chrono::seconds(2));
  });
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
