// Measures leader take-over time with real processes and a real etcd: starts etcd (1 or 3
// members, on free loopback ports), N elector processes (this program with --elector), then
// repeatedly SIGKILLs whichever process leads and measures the time until another process's
// key is in etcd. Prints each figure and a summary (for docs/performance.md).
//
//   leader_takeover_bench [--kills 20] [--replicas 3] [--nodes 1]
//                         [--lease 15s] [--renew 10s] [--retry 2s]
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "controller/etcd_client.h"
#include "controller/leader_election.h"
#include "support/etcd_server.h"

extern char** environ;

namespace {
namespace asio = boost::asio;
using namespace autoplacer;
using namespace autoplacer::etcd;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

constexpr const char* kKey = "/autoplacer/bench/leader";

struct Args {
  int kills = 20;
  int replicas = 3;
  int nodes = 1;
  Duration lease{15000}, renew{10000}, retry{2000};
  bool elector = false;
  std::string endpoints, id;
};

Duration duration_arg(const char* v) {
  auto d = parse_duration(v);
  if (!d) {
    std::fprintf(stderr, "bad duration %s\n", v);
    std::exit(2);
  }
  return *d;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (k == "--kills")
      a.kills = std::atoi(v), ++i;
    else if (k == "--replicas")
      a.replicas = std::atoi(v), ++i;
    else if (k == "--nodes")
      a.nodes = std::atoi(v), ++i;
    else if (k == "--lease")
      a.lease = duration_arg(v), ++i;
    else if (k == "--renew")
      a.renew = duration_arg(v), ++i;
    else if (k == "--retry")
      a.retry = duration_arg(v), ++i;
    else if (k == "--elector")
      a.elector = true;
    else if (k == "--endpoints")
      a.endpoints = v, ++i;
    else if (k == "--id")
      a.id = v, ++i;
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

std::string fmt_ms(Duration d) {
  return std::to_string(d.count());
}

// Child: one replica's election loop, until SIGKILL.
int run_elector(const Args& a) {
  log::init("warn");
  asio::io_context ctx;
  EtcdClientOptions o;
  for (std::size_t s = 0, e; s < a.endpoints.size(); s = e + 1) {
    e = a.endpoints.find(',', s);
    if (e == std::string::npos) e = a.endpoints.size();
    o.endpoints.push_back(a.endpoints.substr(s, e - s));
  }
  o.request_timeout = milliseconds(2000);
  EtcdGatewayClient client(o, make_etcd_transport(ctx.get_executor(), {}, milliseconds(1000)));
  SystemClock clock;
  LeaderElectionConfig c;
  c.key = kKey;
  c.identity = a.id;
  c.lease_duration = a.lease;
  c.renew_deadline = a.renew;
  c.retry_period = a.retry;
  if (auto bad = validate(c)) {
    std::fprintf(stderr, "%s\n", bad->c_str());
    return 2;
  }
  LeaderElector elector(client, clock, c);
  asio::co_spawn(ctx, elector.run(), asio::detached);
  ctx.run();
  return 0;
}

pid_t spawn_elector(const Args& a, const std::string& endpoints, const std::string& id) {
  std::vector<std::string> args = {"/proc/self/exe", "--elector",
                                   "--endpoints",    endpoints,
                                   "--id",           id,
                                   "--lease",        fmt_ms(a.lease) + "ms",
                                   "--renew",        fmt_ms(a.renew) + "ms",
                                   "--retry",        fmt_ms(a.retry) + "ms"};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.elector) return run_elector(a);
  log::init("warn");

  testing::EtcdServer server(a.nodes);
  std::string endpoints;
  for (const auto& u : server.client_urls()) endpoints += (endpoints.empty() ? "" : ",") + u;

  asio::io_context ctx;
  EtcdClientOptions o;
  o.endpoints = server.client_urls();
  o.request_timeout = milliseconds(1000);
  EtcdGatewayClient observer(o, make_etcd_transport(ctx.get_executor(), {}));
  auto leader_now = [&]() -> std::string {
    std::string out;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          auto r = co_await observer.range(RangeRequest::single(kKey));
          if (r && !r->kvs.empty()) out = r->kvs.front().value;
        },
        asio::detached);
    ctx.restart();
    ctx.run();
    return out;
  };

  std::map<std::string, pid_t> pids;
  int next_id = 0;
  for (int i = 0; i < a.replicas; ++i) {
    std::string id = "replica-" + std::to_string(next_id++);
    pids[id] = spawn_elector(a, endpoints, id);
  }
  std::printf("etcd members: %d, replicas: %d, lease %s ms, renew deadline %s ms, retry %s ms\n",
              a.nodes, a.replicas, fmt_ms(a.lease).c_str(), fmt_ms(a.renew).c_str(),
              fmt_ms(a.retry).c_str());
  std::mt19937 rng(42);
  std::vector<double> takeovers;
  for (int k = 0; k < a.kills; ++k) {
    std::string leader;
    while ((leader = leader_now()).empty() || !pids.contains(leader)) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    // Let it renew a few times, and kill at a random phase of its renewal period.
    std::uniform_int_distribution<int> jitter(0, static_cast<int>(a.retry.count()));
    std::this_thread::sleep_for(a.retry * 2 + milliseconds(jitter(rng)));
    leader = leader_now();
    if (!pids.contains(leader)) {
      --k;
      continue;
    }
    const auto killed_at = Steady::now();
    ::kill(pids[leader], SIGKILL);
    ::waitpid(pids[leader], nullptr, 0);
    pids.erase(leader);
    std::string next;
    while ((next = leader_now()).empty() || next == leader) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    const double ms = std::chrono::duration<double, std::milli>(Steady::now() - killed_at).count();
    takeovers.push_back(ms);
    std::printf("kill %2d: %s -> %s in %.0f ms\n", k + 1, leader.c_str(), next.c_str(), ms);
    std::fflush(stdout);
    std::string id = "replica-" + std::to_string(next_id++);
    pids[id] = spawn_elector(a, endpoints, id);  // keep the replica count
  }
  for (auto& [id, pid] : pids) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::sort(takeovers.begin(), takeovers.end());
  auto pct = [&](double p) {
    return takeovers[std::min(takeovers.size() - 1,
                              static_cast<std::size_t>(p * static_cast<double>(takeovers.size())))];
  };
  if (!takeovers.empty()) {
    const double bound = static_cast<double>((a.lease + a.retry).count());
    int within = 0;
    for (double t : takeovers) within += t <= bound ? 1 : 0;
    std::printf(
        "take-over over %zu kills: min %.0f ms, median %.0f ms, p90 %.0f ms, max %.0f ms; "
        "%d/%zu within lease + retry (%.0f ms)\n",
        takeovers.size(), takeovers.front(), pct(0.5), pct(0.9), takeovers.back(), within,
        takeovers.size(), bound);
  }
  return 0;
}
