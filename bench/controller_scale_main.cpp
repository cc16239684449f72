// The controller's CPU and memory with many policies (docs/performance.md, "Controller"; issue
// 6's target: 1,000 policies of 18 regions each under one core and 200 MB).
//
// This process is the controller only: the real Controller (work queue, fast path, reconcilers,
// decision core, diff, executor), one MachinesClient per app over loopback HTTP, the real
// self-metrics registry and a local state directory (every pass saves its write-ahead state,
// as `autoplacer run` does). Machines come from a flysim in ANOTHER process (started by
// scripts/bench_controller_scale.sh with one --app per policy), so its CPU and memory are not
// counted here. Demand is set per app (3 origins each, steady), standing in for Prometheus.
//
// It runs --warmup seconds (convergence: creates and starts), then measures --seconds of steady
// state: CPU time of this process (getrusage) over wall time, RSS and peak RSS (/proc), passes and
// Machines API requests per second.
//
//   controller_scale_bench --fly-api-url http://127.0.0.1:PORT --policies 1000 --regions 18
//       --state-dir DIR [--warmup 60] [--seconds 60] [--workers 4]
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "controller/controller.h"
#include "controller/state_store.h"
#include "controller_bench_util.h"
#include "fly/machines_client.h"
#include "metrics/self_metrics.h"

using namespace autoplacer;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// VmRSS / VmHWM in MB.
double proc_status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024;
  }
  return 0;
}

std::uint64_t counter_total(const std::string& text, const std::string& name) {
  std::uint64_t total = 0;
  std::size_t pos = 0;
  while ((pos = text.find("\n" + name, pos)) != std::string::npos) {
    const std::size_t eol = text.find('\n', pos + 1);
    const std::string line = text.substr(pos + 1, eol - pos - 1);
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0)
      total += static_cast<std::uint64_t>(std::atof(line.substr(line.rfind(' ') + 1).c_str()));
    pos = eol == std::string::npos ? text.size() : eol;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, state_dir;
  int policies = 1000, regions = 18, warmup = 60, seconds = 60, workers = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--fly-api-url") url = v;
    if (a == "--state-dir") state_dir = v;
    if (a == "--policies") policies = std::max(1, std::atoi(v.c_str()));
    if (a == "--regions") regions = std::max(1, std::atoi(v.c_str()));
    if (a == "--warmup") warmup = std::max(0, std::atoi(v.c_str()));
    if (a == "--seconds") seconds = std::max(1, std::atoi(v.c_str()));
    if (a == "--workers") workers = std::max(1, std::atoi(v.c_str()));
  }
  if (url.empty() || state_dir.empty()) {
    std::fprintf(stderr, "usage: %s --fly-api-url URL --state-dir DIR [--policies N] ...\n",
                 argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  SystemClock clock;
  const RegionCatalog& catalog = RegionCatalog::builtin();
  std::vector<std::string> allowed = catalog.hostable_codes();
  if (static_cast<int>(allowed.size()) > regions) allowed.resize(static_cast<std::size_t>(regions));

  bench::SettableTrafficSource traffic;
  std::vector<PlacementPolicy> list;
  for (int k = 0; k < policies; ++k) {
    PlacementPolicy p;
    p.metadata.name = "app-" + std::to_string(k);
    p.spec.app = p.metadata.name;
    p.spec.regions.allowed = allowed;
    p.specHash = spec_hash(p.spec);
    list.push_back(p);
    // Three origins per app, different for neighbouring apps; iad always (the original's region).
    const auto n = allowed.size();
    traffic.set(p.spec.app, {{"iad", 30},
                             {allowed[static_cast<std::size_t>(k) % n], 60},
                             {allowed[static_cast<std::size_t>(k * 7 + 3) % n], 90}});
  }

  auto store = controller::LocalStateStore::open(state_dir);
  if (!store) {
    std::fprintf(stderr, "state dir: %s\n", store.error().message.c_str());
    return 1;
  }
  metrics::SelfMetrics self_metrics("bench");
  asio::io_context ioc{1};
  controller::ReconcilerEnv env;
  env.clock = &clock;
  env.catalog = &catalog;
  env.traffic = &traffic;
  env.store = store->get();
  env.metrics = &self_metrics;
  controller::ControllerOptions co;
  co.workers = workers;
  controller::Controller ctl(
      ioc.get_executor(), env,
      [&](const std::string& app) -> std::shared_ptr<fly::MachinesApi> {
        fly::MachinesClientOptions mo;
        mo.app = app;
        mo.base_url = url;
        return std::make_shared<fly::MachinesClient>(ioc.get_executor(), mo, clock,
                                                     self_metrics.api_observer());
      },
      co);
  ctl.set_policies(list);
  asio::co_spawn(ioc, ctl.run(), asio::detached);
  std::thread loop([&] { ioc.run(); });

  auto snapshot = [&] {
    std::promise<std::string> text;
    auto f = text.get_future();
    asio::post(ioc, [&] { text.set_value(ctl.metrics_text()); });
    return f.get();
  };
  std::this_thread::sleep_for(std::chrono::seconds(warmup));
  std::string m0 = snapshot();
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  double rss_max = 0;
  for (int s = 0; s < seconds; ++s) {
    std::this_thread::sleep_for(1s);
    rss_max = std::max(rss_max, proc_status_mb("VmRSS"));
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  std::string m1 = snapshot();
  const double passes = static_cast<double>(counter_total(m1, "autoplacer_reconcile_total") -
                                            counter_total(m0, "autoplacer_reconcile_total"));
  const double requests =
      static_cast<double>(counter_total(m1, "autoplacer_machines_api_requests_total") -
                          counter_total(m0, "autoplacer_machines_api_requests_total"));
  const double actions = static_cast<double>(counter_total(m1, "autoplacer_actions_total") -
                                             counter_total(m0, "autoplacer_actions_total"));
  std::printf(
      "policies %d x %zu regions, %d workers: CPU %.3f cores (%.1f s over %.1f s), RSS max %.1f "
      "MB, peak (VmHWM, warm-up included) %.1f MB; %.1f passes/s, %.1f Machines API requests/s, "
      "%.0f actions in the window\n",
      policies, allowed.size(), workers, cpu / wall, cpu, wall, rss_max, proc_status_mb("VmHWM"),
      passes / wall, requests / wall, actions);
  std::fflush(stdout);
  std::_Exit(0);  // figures are out; no orderly teardown needed
}
