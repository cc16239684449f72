// Crash anywhere (issue 9): the autoplacer binary against flysim (in this process, real time,
// real sockets, slow answers so kills land mid-call), SIGKILLed again and again at random
// moments, or at a random named point of a pass (AUTOPLACER_CRASH_AT), with the demand moving
// between runs so every restart has machines to create and retire. After every kill:
//   - every state file loads (atomic saves: no torn or half-written JSON), leftovers of an
//     interrupted save are only temp files, which the store removes when it opens;
//   - no create operation id is on two live machines (no duplicate from a retried create);
//   - machines that are not the policy's never changed.
// At the end a run without kills converges to the demand with the same checks and exits 0 on
// SIGTERM. AP_CRASH_RUNS (default 15) and AP_CRASH_SEED choose the runs (scripts/soak_faults.sh
// runs more).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "controller/crash_test_util.h"
#include "controller/faults_harness.h"
#include "controller/state_store.h"
#include "sim/flysim.h"

namespace autoplacer::controller::crash {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using faults::view_of;
using faults::WorldView;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

class Fly {
 public:
  Fly() {
    sim::FlySimOptions o;
    o.apps = {faults::kApp};
    o.machines = sim::default_fleet(faults::kApp);
    o.delays.create = 300ms;
    o.delays.start = 100ms;
    o.delays.stop = 100ms;
    o.delays.suspend = 100ms;
    o.delays.destroy = 100ms;
    o.rate_limits.enabled = false;
    sim_ = std::make_unique<sim::FlySim>(ioc_.get_executor(), clock_, std::move(o));
    auto port = sim_->start("127.0.0.1", 0);
    EXPECT_TRUE(port.ok());
    url_ = "http://127.0.0.1:" + std::to_string(port.ok() ? *port : 0);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~Fly() {
    sim_->stop(0ms);
    for (auto& t : threads_) t.join();
  }
  const std::string& url() const { return url_; }
  sim::FlySim& sim() { return *sim_; }
  WorldView view() {
    return sim_->with_world([](sim::FlyWorld& w) { return view_of(w); });
  }

 private:
  SystemClock clock_;
  asio::io_context ioc_;
  std::unique_ptr<sim::FlySim> sim_;
  std::vector<std::thread> threads_;
  std::string url_;
};

constexpr const char* kPolicyYaml = R"(apiVersion: autoplacer.fly.io/v1alpha1
kind: PlacementPolicy
metadata:
  name: web
spec:
  app: demo-app
  regions:
    allowed: [iad, fra, nrt, syd, gru, ams]
    pinned: [ams]
  capacity:
    targetPerMachine: 50
    maxPerRegion: 4
    minTotal: 1
    maxTotal: 10
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
    cooldownAfterAdd: 1s
    cooldownAfterRemove: 1s
  retire:
    action: RETIRE
  fastPath:
    enabled: false
)";

// Two placements the runs alternate between, so each restart has work to do.
const char* kTrafficA =
    "timestamp,region,rps\n0,iad,30\n0,fra,140\n0,nrt,90\n"
    "86400,iad,30\n86400,fra,140\n86400,nrt,90\n";
const char* kTrafficB =
    "timestamp,region,rps\n0,iad,30\n0,syd,150\n0,gru,60\n"
    "86400,iad,30\n86400,syd,150\n86400,gru,60\n";

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

fs::path temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("ap-crash-" + std::to_string(::getpid()) + "-" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Every blob in the state directory loads; returns problems.
std::vector<std::string> check_state_dir(const fs::path& dir) {
  std::vector<std::string> problems;
  // Before opening (which removes them): anything but a complete blob must be a temp file.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (!name.ends_with(".json") && name.find(".tmp.") == std::string::npos)
      problems.push_back("unexpected file " + it->path().string());
  }
  auto store = LocalStateStore::open(dir);
  if (!store) return {"cannot open state dir: " + store.error().message};
  auto keys = (*store)->list_now("");
  if (!keys) return {"cannot list state dir: " + keys.error().message};
  for (const auto& k : *keys) {
    auto blob = (*store)->load_now(k.policy, k.name);
    if (!blob) problems.push_back(k.policy + "/" + k.name + ": " + blob.error().message);
  }
  return problems;
}

int exit_code(const std::optional<int>& status) {
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

TEST(CrashAnywhere, SigkillAtRandomMomentsThenRestartConvergesWithoutDuplicatesOrTornState) {
  const std::uint64_t runs = env_number("AP_CRASH_RUNS", 15);
  const std::uint64_t seed = env_number("AP_CRASH_SEED", 1);
  std::mt19937_64 rng(seed);
  auto dir = temp_dir("anywhere");
  const fs::path state = dir / "state";
  std::string policy = kPolicyYaml;
  const char* retire[] = {"stop", "suspend", "destroy"};
  policy.replace(policy.find("RETIRE"), 6, retire[seed % 3]);
  write_file(dir / "web.yaml", policy);
  Fly fly;
  const WorldView before = fly.view();
  // Slow answers: a kill often lands between a request and its answer.
  std::vector<sim::FaultRule> slow;
  for (const char* flag : {"create:slow:0.6:400ms", "*:slow:0.3:80ms"}) {
    auto r = sim::FaultInjector::parse_flag(flag);
    ASSERT_TRUE(r.ok()) << r.error();
    slow.push_back(*r);
  }
  fly.sim().set_faults(slow, seed);
  const std::vector<std::string> args = {
      "run",         "--policy",    (dir / "web.yaml").string(),
      "--listen",    "127.0.0.1:0", "--fly-api-url",
      fly.url(),     "--scenario",  (dir / "traffic.csv").string(),
      "--state-dir", state.string()};
  const char* points[] = {"pass.listed", "pass.state_saved", "pass.applied", "pass.status_saved"};

  auto check_world = [&](const std::string& label) {
    const WorldView now = fly.view();
    EXPECT_TRUE(now.duplicate_ops.empty()) << label << ": a create was repeated";
    for (const auto& [id, print] : before.foreign) {
      auto it = now.foreign.find(id);
      EXPECT_TRUE(it != now.foreign.end() && it->second == print)
          << label << ": machine " << id << " is not ours and changed";
    }
    for (const auto& p : check_state_dir(state)) ADD_FAILURE() << label << ": " << p;
  };

  int killed_outside = 0, killed_at_point = 0;
  for (std::uint64_t i = 0; i < runs; ++i) {
    write_file(dir / "traffic.csv", (i / 2) % 2 == 0 ? kTrafficA : kTrafficB);
    std::string label = "run " + std::to_string(i);
    if (i % 2 == 0) {
      // SIGKILL from outside at a random moment: start-up, mid-pass, mid-call, mid-save.
      const auto delay =
          std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 2500)(rng));
      label += " (SIGKILL after " + std::to_string(delay.count()) + " ms)";
      Child c(args, {});
      for (auto until = Steady::now() + delay; Steady::now() < until;) c.pump(10ms);
      c.signal(SIGKILL);
      ASSERT_TRUE(c.wait(20s)) << label;
      ++killed_outside;
    } else {
      const std::string point = std::string(points[std::uniform_int_distribution<int>(0, 3)(rng)]) +
                                ":" + std::to_string(std::uniform_int_distribution<int>(1, 3)(rng));
      label += " (AUTOPLACER_CRASH_AT=" + point + ")";
      Child c(args, {{"AUTOPLACER_CRASH_AT", point}});
      auto st = c.wait(60s);
      ASSERT_TRUE(st) << label << "\n" << c.output();
      EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL) << label << "\n" << c.output();
      ++killed_at_point;
    }
    check_world(label);
  }

  // The last run: no kill. It converges to traffic A and stops cleanly.
  fly.sim().set_faults({}, seed);
  write_file(dir / "traffic.csv", kTrafficA);
  Child c(args, {});
  ASSERT_TRUE(c.wait_for_port(30s)) << c.output();
  std::map<std::string, int> last;
  int stable = 0;
  for (auto deadline = Steady::now() + 60s; Steady::now() < deadline && stable < 4;) {
    c.pump(0ms);
    std::this_thread::sleep_for(500ms);
    auto now = fly.view().owned_active;
    stable = (now == last && !now.empty()) ? stable + 1 : 0;
    last = now;
  }
  EXPECT_GE(stable, 4) << "did not converge\n" << c.output();
  const WorldView final_view = fly.view();
  EXPECT_GT(faults::at(final_view.active, "fra"), 0);
  EXPECT_GT(faults::at(final_view.active, "nrt"), 0);
  EXPECT_GT(faults::at(final_view.active, "ams"), 0) << "pinned region empty";
  // syd and gru (traffic B) may keep a machine a killed run had leased: our own lease of a
  // crashed pass holds it until its TTL (60 s) runs out, longer than this run waits.
  EXPECT_LE(final_view.total_active, 10) << "above maxTotal";
  c.signal(SIGTERM);
  EXPECT_EQ(exit_code(c.wait(40s)), 0) << c.output();
  check_world("after the final run");
  std::printf("crash anywhere: %d kills from outside, %d at named points, then converged\n",
              killed_outside, killed_at_point);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace autoplacer::controller::crash
