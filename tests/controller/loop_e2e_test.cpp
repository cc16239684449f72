// The `autoplacer` binary end to end:
//   - `run` in demo mode (embedded flysim) serves /healthz, /readyz, /status, /metrics and exits 0
//     on SIGTERM;
//   - `plan` exit codes: 2 with changes, 0 without, 1 on error;
//   - restart: the controller is SIGKILLed mid-pass at several points (and while a create is in
//     flight), started again on the same state directory, and converges with no machine created
//     twice and no cooldown forgotten. Here flysim runs in the test process (real time, real
//     sockets) so it outlives the controller it serves.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "controller/crash_test_util.h"
#include "sim/flysim.h"

namespace autoplacer::controller {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

using crash::Child;
using crash::kBinary;
const std::string kSource = AP_SOURCE_DIR;

struct Reply {
  int status = 0;
  std::string body;
};

Reply http_get(std::uint16_t port, const std::string& target,
               net::http::verb verb = net::http::verb::get) {
  try {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    net::Request req{verb, target, 11};
    req.set(net::http::field::host, "localhost");
    req.prepare_payload();
    net::http::write(s, req);
    beast::flat_buffer buf;
    net::Response res;
    net::http::read(s, buf, res);
    return {static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception&) {
    return {};
  }
}

fs::path temp_dir(const std::string& tag) {
  fs::path d =
      fs::temp_directory_path() / ("ap-loop-e2e-" + std::to_string(::getpid()) + "-" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

int exit_code(const std::optional<int>& status) {
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

TEST(LoopE2E, RunServesItsEndpointsAndExitsZeroOnSigterm) {
  Child c({"run", "--policy", kSource + "/deploy/policies/demo.yaml", "--listen", "127.0.0.1:0",
           "--scenario", kSource + "/deploy/scenarios/follow-the-sun.csv", "--speed", "720"},
          {});
  auto port = c.wait_for_port(30s);
  ASSERT_TRUE(port) << c.output();
  EXPECT_EQ(http_get(*port, "/healthz").status, 200);
  Reply ready;
  for (auto deadline = Steady::now() + 30s; Steady::now() < deadline;) {
    ready = http_get(*port, "/readyz");
    if (ready.status == 200) break;
    c.pump(0ms);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(ready.status, 200) << ready.body << c.output();
  Reply status = http_get(*port, "/status");
  ASSERT_EQ(status.status, 200);
  auto policies = json::parse(status.body).as_object().at("policies").as_array();
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].as_object().at("policy").as_string(), "demo");
  Reply metrics = http_get(*port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("autoplacer_reconcile_total"), std::string::npos);
  EXPECT_EQ(http_get(*port, "/trigger", net::http::verb::get).status, 405);
  c.signal(SIGTERM);
  auto st = c.wait(40s);
  ASSERT_TRUE(st) << "did not exit after SIGTERM\n" << c.output();
  EXPECT_EQ(exit_code(st), 0) << c.output();
  EXPECT_NE(c.output().find("demo"), std::string::npos);
}

// flysim in the test process on real time: the controller's remote Fly.
class ExternalFly {
 public:
  explicit ExternalFly(std::vector<sim::SeedMachine> machines) {
    sim::FlySimOptions o;
    o.apps = {"demo-app"};
    o.machines = std::move(machines);
    o.delays.create = 300ms;
    o.delays.start = 100ms;
    o.delays.stop = 100ms;
    o.delays.destroy = 100ms;
    o.rate_limits.enabled = false;
    sim_ = std::make_unique<sim::FlySim>(ioc_.get_executor(), clock_, std::move(o));
    auto port = sim_->start("127.0.0.1", 0);
    EXPECT_TRUE(port.ok());
    url_ = "http://127.0.0.1:" + std::to_string(port.ok() ? *port : 0);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~ExternalFly() {
    sim_->stop(0ms);
    thread_.join();
  }
  const std::string& url() const { return url_; }
  sim::FlySim& sim() { return *sim_; }
  // Live machines of policy `web` by region (serving or about to), and operation ids seen twice.
  std::map<std::string, int> owned_active() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> out;
      for (const auto* m : w.machines("demo-app")) {
        const auto* md = m->config.if_contains("metadata");
        if (!md || !md->is_object() || !md->get_object().contains("autoplacer_policy")) continue;
        if (m->state == "started" || m->state == "starting" || m->state == "created" ||
            m->state == "creating")
          ++out[m->region];
      }
      return out;
    });
  }
  std::vector<std::string> duplicate_ops() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> ops;
      for (const auto* m : w.machines("demo-app")) {
        if (m->state == "destroyed") continue;
        const auto* md = m->config.if_contains("metadata");
        if (md && md->is_object() && md->get_object().contains("autoplacer_op_id"))
          ++ops[std::string(md->get_object().at("autoplacer_op_id").as_string())];
      }
      std::vector<std::string> dup;
      for (const auto& [op, n] : ops)
        if (n > 1) dup.push_back(op);
      return dup;
    });
  }
  std::uint64_t creates() {
    std::uint64_t n = 0;
    for (const auto& [key, count] : sim_->request_counts())
      if (key.first == "create") n += count;
    return n;
  }

 private:
  SystemClock clock_;
  asio::io_context ioc_;
  std::unique_ptr<sim::FlySim> sim_;
  std::thread thread_;
  std::string url_;
};

sim::SeedMachine original() {
  sim::SeedMachine s;
  s.name = "web-iad-original";
  s.region = "iad";
  s.metadata = {{"fly_process_group", "app"}};
  return s;
}

constexpr const char* kPolicyYaml = R"(apiVersion: autoplacer.fly.io/v1alpha1
kind: PlacementPolicy
metadata:
  name: web
spec:
  app: demo-app
  regions:
    allowed: [iad, fra, nrt, syd]
  capacity:
    targetPerMachine: 50
    maxPerRegion: 4
    minTotal: MIN_TOTAL
    maxTotal: 12
  traffic:
    interval: 1s
    queryTimeout: 1s
  forecast:
    model: ewma
    headroom: 0
  behavior:
    scaleUp:
      policies:
        - {type: machines, value: 10, period: 1s}
    scaleDown:
      stabilizationWindow: 0s
    cooldownAfterAdd: 1h
    cooldownAfterRemove: 1h
  fastPath:
    enabled: false
)";

std::string policy_yaml(int min_total) {
  std::string s = kPolicyYaml;
  s.replace(s.find("MIN_TOTAL"), 9, std::to_string(min_total));
  return s;
}

TEST(LoopE2E, PlanExitCodes) {
  auto dir = temp_dir("plan");
  // Demo mode: the embedded flysim's fleet does not match the scenario's demand: changes.
  {
    Child c({"plan", "--policy", kSource + "/deploy/policies/demo.yaml", "--scenario",
             kSource + "/deploy/scenarios/follow-the-sun.csv"},
            {});
    auto st = c.wait(60s);
    EXPECT_EQ(exit_code(st), 2) << c.output();
    EXPECT_NE(c.output().find("Plan"), std::string::npos) << c.output();
  }
  // No users, no machines, no minimum: nothing to do.
  {
    ExternalFly fly({});
    write_file(dir / "quiet.yaml", policy_yaml(0));
    write_file(dir / "quiet.csv", "timestamp,region,rps\n0,iad,0\n0,fra,0\n60,iad,0\n60,fra,0\n");
    Child c({"plan", "--policy", (dir / "quiet.yaml").string(), "--fly-api-url", fly.url(),
             "--scenario", (dir / "quiet.csv").string()},
            {});
    auto st = c.wait(60s);
    EXPECT_EQ(exit_code(st), 0) << c.output();
  }
  // Errors: an invalid policy, an unreachable API.
  {
    write_file(dir / "broken.yaml", "apiVersion: autoplacer.fly.io/v1alpha1\nkind: Nope\n");
    Child c({"plan", "--policy", (dir / "broken.yaml").string()}, {});
    EXPECT_EQ(exit_code(c.wait(60s)), 1) << c.output();
  }
  {
    write_file(dir / "web.yaml", policy_yaml(1));
    Child c({"plan", "--policy", (dir / "web.yaml").string(), "--fly-api-url", "http://127.0.0.1:1",
             "--scenario", (dir / "quiet.csv").string()},
            {});
    EXPECT_EQ(exit_code(c.wait(90s)), 1) << c.output();
  }
  fs::remove_all(dir);
}

// Region -> addedAtMs from the saved decision state.
std::map<std::string, std::int64_t> saved_added_at(const fs::path& state_dir) {
  std::map<std::string, std::int64_t> out;
  std::ifstream in(state_dir / "web" / "decision_state.json");
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().empty()) return out;
  auto doc = json::parse(ss.str());
  if (!doc.is_object() || !doc.as_object().contains("regions")) return out;
  for (const auto& [region, r] : doc.as_object().at("regions").as_object())
    if (r.is_object() && r.as_object().contains("addedAtMs"))
      out[std::string(region)] = r.as_object().at("addedAtMs").to_number<std::int64_t>();
  return out;
}

TEST(LoopE2E, SigkillMidPassThenRestartConvergesWithoutDuplicatesOrForgottenCooldowns) {
  auto dir = temp_dir("restart");
  const fs::path state = dir / "state";
  write_file(dir / "web.yaml", policy_yaml(1));
  // Constant demand: the replay's start time does not matter across restarts.
  write_file(dir / "traffic.csv",
             "timestamp,region,rps\n0,iad,30\n0,fra,140\n0,nrt,90\n"
             "86400,iad,30\n86400,fra,140\n86400,nrt,90\n");
  ExternalFly fly({original()});
  const std::vector<std::string> args = {
      "run",         "--policy",    (dir / "web.yaml").string(),
      "--listen",    "127.0.0.1:0", "--fly-api-url",
      fly.url(),     "--scenario",  (dir / "traffic.csv").string(),
      "--state-dir", state.string()};

  auto converge = [&](const std::string& label) -> std::map<std::string, int> {
    Child c(args, {});
    auto port = c.wait_for_port(30s);
    EXPECT_TRUE(port) << label << "\n" << c.output();
    if (!port) return {};
    // Converged: a few passes in a row report no changes and the fleet is stable.
    std::map<std::string, int> last;
    int stable = 0;
    for (auto deadline = Steady::now() + 40s; Steady::now() < deadline && stable < 4;) {
      c.pump(0ms);  // reading its output keeps the pipe from filling up
      std::this_thread::sleep_for(500ms);
      auto now = fly.owned_active();
      stable = (now == last && !now.empty()) ? stable + 1 : 0;
      last = now;
    }
    EXPECT_GE(stable, 4) << label << ": did not converge\n" << c.output();
    EXPECT_GT(last["fra"], 0) << label;
    EXPECT_GT(last["nrt"], 0) << label;
    EXPECT_TRUE(fly.duplicate_ops().empty()) << label << ": a create was repeated";
    c.signal(SIGTERM);
    EXPECT_EQ(exit_code(c.wait(40s)), 0) << label << "\n" << c.output();
    return last;
  };

  // First: killed right after its first write-ahead save, before any action.
  std::map<std::string, std::int64_t> cooldowns;
  std::map<std::string, int> fleet;
  for (const std::string point :
       {"pass.state_saved:1", "pass.applied:1", "pass.listed:2", "pass.status_saved:1"}) {
    {
      Child c(args, {{"AUTOPLACER_CRASH_AT", point}});
      auto st = c.wait(60s);
      ASSERT_TRUE(st) << point << "\n" << c.output();
      EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL) << point << "\n" << c.output();
    }
    auto after_crash = saved_added_at(state);
    // Every cooldown saved before the crash is still there, unchanged.
    for (const auto& [region, at] : cooldowns)
      EXPECT_EQ(after_crash[region], at) << point << ": cooldown of " << region << " changed";
    auto converged = converge(point);
    auto saved = saved_added_at(state);
    for (const auto& [region, at] : cooldowns)
      EXPECT_EQ(saved[region], at) << point << ": cooldown of " << region << " forgotten";
    if (!fleet.empty()) {
      EXPECT_EQ(converged, fleet) << point << ": the fleet changed";
    }
    fleet = converged;
    cooldowns = saved;
    EXPECT_TRUE(cooldowns.contains("fra"));
  }

  // Killed while creates are in flight: the API answers creates slowly, so a SIGKILL lands
  // between the request and its answer. Demand moves to syd to need new machines.
  write_file(dir / "traffic.csv",
             "timestamp,region,rps\n0,iad,30\n0,fra,140\n0,nrt,90\n0,syd,150\n"
             "86400,iad,30\n86400,fra,140\n86400,nrt,90\n86400,syd,150\n");
  auto slow = sim::FaultInjector::parse_flag("create:slow:1:1500ms");
  ASSERT_TRUE(slow.ok()) << slow.error();
  fly.sim().set_faults({*slow}, 7);
  {
    const auto creates_before = fly.creates();
    Child c(args, {});
    for (auto deadline = Steady::now() + 30s;
         Steady::now() < deadline && fly.creates() == creates_before;)
      c.pump(20ms);
    ASSERT_GT(fly.creates(), creates_before) << c.output();
    std::this_thread::sleep_for(300ms);
    c.signal(SIGKILL);
    c.wait(10s);
  }
  fly.sim().set_faults({}, 7);
  auto final_fleet = converge("after a kill during create");
  EXPECT_GT(final_fleet["syd"], 0);
  for (const auto& [region, n] : final_fleet) EXPECT_LE(n, 4) << region << " over maxPerRegion";
  for (const auto& [region, at] : cooldowns)
    EXPECT_EQ(saved_added_at(state)[region], at) << "cooldown of " << region << " forgotten";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace autoplacer::controller
