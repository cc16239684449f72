// Secrets end to end (issue 9): a full `autoplacer run` with a known fake Fly token
// (FLY_API_TOKEN) and a trigger token (AUTOPLACER_TRIGGER_TOKEN), logging at trace level, against
// a flysim that requires the token. Every output is searched for both tokens: stdout and stderr,
// /status, /metrics, /readyz, every HTTP answer's headers, every file of the state directory,
// the output of a run the Machines API rejects (401), and the output of crashes (the crash-point
// SIGKILL, SIGSEGV, SIGABRT). /trigger needs the trigger token.
// (The container's non-root USER is checked by scripts/check_dockerfile.sh, test
// deploy_dockerfile_check.)
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <thread>

#include "common/clock.h"
#include "e2e/child_process.h"
#include "sim/flysim.h"

namespace autoplacer::e2e {
namespace {
namespace fs = std::filesystem;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr const char* kApp = "secret-app";
constexpr const char* kFlyToken = "fm2_FlyTokenNeverLogged_7f3a9c1e5b";
constexpr const char* kTriggerToken = "trigger-TokenNeverLogged-42c8d0";
constexpr const char* kWrongFlyToken = "fm2_WrongTokenAlsoSecret_0d9e8f";

constexpr const char* kPolicy = R"(apiVersion: autoplacer.fly.io/v1alpha1
kind: PlacementPolicy
metadata:
  name: secrets
spec:
  app: secret-app
  regions:
    allowed: [iad, fra, syd]
  capacity:
    targetPerMachine: 50
    maxPerRegion: 3
    minTotal: 1
    maxTotal: 6
  traffic:
    interval: 1s
    queryTimeout: 1s
  forecast:
    model: none
    headroom: 0
  behavior:
    scaleDown:
      stabilizationWindow: 0s
    cooldownAfterAdd: 1s
    cooldownAfterRemove: 1s
  fastPath:
    enabled: false
)";

class Fly {
 public:
  Fly() {
    sim::FlySimOptions o;
    o.apps = {kApp};
    o.token = kFlyToken;
    o.delays.create = 200ms;
    o.delays.start = 100ms;
    o.delays.stop = 100ms;
    o.delays.destroy = 100ms;
    o.tick = 100ms;
    // Some calls fail, so error paths (which are the ones tempted to print a request) run too.
    auto flaky = sim::FaultInjector::parse_flag("create:error:0.3:503");
    EXPECT_TRUE(flaky.ok());
    if (flaky.ok()) o.faults = {*flaky};
    sim_ = std::make_unique<sim::FlySim>(ioc_.get_executor(), clock_, std::move(o));
    auto port = sim_->start("127.0.0.1", 0);
    EXPECT_TRUE(port.ok());
    url_ = "http://127.0.0.1:" + std::to_string(port.ok() ? *port : 0);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Fly() {
    sim_->stop(0ms);
    thread_.join();
  }
  const std::string& url() const { return url_; }
  std::uint64_t requests() {
    std::uint64_t n = 0;
    for (const auto& [key, count] : sim_->request_counts()) n += count;
    return n;
  }

 private:
  SystemClock clock_;
  boost::asio::io_context ioc_;
  std::unique_ptr<sim::FlySim> sim_;
  std::thread thread_;
  std::string url_;
};

// Where a token shows in `text`, for the failure message ("" when nowhere).
std::string leak(const std::string& what, const std::string& text) {
  std::string found;
  for (const std::string token : {kFlyToken, kTriggerToken, kWrongFlyToken}) {
    // Also a token cut in two by a log line limit would still share a long prefix.
    const std::string prefix = token.substr(0, 16);
    if (auto at = text.find(prefix); at != std::string::npos)
      found +=
          what + " shows a token near: ..." + text.substr(at > 40 ? at - 40 : 0, 120) + "...\n";
  }
  return found;
}

struct RunSetup {
  fs::path dir;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
};

RunSetup make_run(const std::string& tag, const Fly& fly) {
  RunSetup r;
  r.dir = temp_dir(tag);
  write_file(r.dir / "policy.yaml", kPolicy);
  write_file(r.dir / "traffic.csv",
             "timestamp,region,rps\n0,iad,30\n0,fra,120\n0,syd,60\n"
             "86400,iad,30\n86400,fra,120\n86400,syd,60\n");
  r.args = {"run",
            "--policy",
            (r.dir / "policy.yaml").string(),
            "--listen",
            "127.0.0.1:0",
            "--fly-api-url",
            fly.url(),
            "--scenario",
            (r.dir / "traffic.csv").string(),
            "--state-dir",
            (r.dir / "state").string(),
            "--log-level",
            "trace"};
  r.env = {{"FLY_API_TOKEN", kFlyToken}, {"AUTOPLACER_TRIGGER_TOKEN", kTriggerToken}};
  return r;
}

TEST(SecretsE2E, TokensNeverAppearInLogsStatusMetricsStateOrCrashOutput) {
  Fly fly;
  RunSetup run = make_run("secrets", fly);
  std::string leaks;
  {
    Child c(run.args, run.env);
    auto port = c.wait_for_port(30s);
    ASSERT_TRUE(port) << c.output();
    // Let it work for a while: passes, creates (some failing), retries.
    const auto before = fly.requests();
    for (auto deadline = Steady::now() + 6s; Steady::now() < deadline;) c.pump(200ms);
    EXPECT_GT(fly.requests(), before + 5) << "the controller did not talk to flysim\n"
                                          << c.output();

    // /trigger: no token, the wrong one, the Fly token, another scheme: 401. The right one: 200.
    const auto post = [&](std::map<std::string, std::string> headers) {
      return http_exchange(*port, http::verb::post, "/trigger", headers);
    };
    EXPECT_EQ(post({}).status, 401);
    EXPECT_EQ(post({{"Authorization", "Bearer wrong"}}).status, 401);
    EXPECT_EQ(post({{"Authorization", std::string("Bearer ") + kFlyToken}}).status, 401);
    EXPECT_EQ(post({{"Authorization", std::string("Basic ") + kTriggerToken}}).status, 401);
    EXPECT_EQ(post({{"Authorization", std::string("Bearer ") + kTriggerToken + "x"}}).status, 401);
    Reply ok = post({{"Authorization", std::string("Bearer ") + kTriggerToken}});
    EXPECT_EQ(ok.status, 200) << ok.body;
    leaks += leak("/trigger answer", ok.headers + ok.body);

    for (const std::string target : {"/status", "/metrics", "/readyz", "/healthz"}) {
      Reply r = http_get(*port, target);
      EXPECT_EQ(r.status == 200 || (target == "/readyz" && r.status == 503), true)
          << target << " " << r.status;
      leaks += leak(target, r.headers + r.body);
    }
    c.signal(SIGTERM);
    auto st = c.wait(30s);
    ASSERT_TRUE(st) << c.output();
    EXPECT_EQ(exit_code(st), 0) << c.output();
    // Trace level: the most the controller ever logs (every request, every decision detail).
    EXPECT_NE(c.output().find(" debug "), std::string::npos) << "expected debug and trace lines:\n"
                                                             << c.output().substr(0, 3000);
    leaks += leak("stdout/stderr of the run", c.output());
  }

  // Every file the controller wrote.
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(run.dir / "state")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    leaks += leak(entry.path().filename().string(), read_file(entry.path()));
  }
  EXPECT_GT(files, 0u) << "the run saved no state";

  // The Machines API rejects a token: the 401 is reported without the token it was given.
  {
    Child c({"plan", "--policy", (run.dir / "policy.yaml").string(), "--fly-api-url", fly.url(),
             "--scenario", (run.dir / "traffic.csv").string(), "--log-level", "trace"},
            {{"FLY_API_TOKEN", kWrongFlyToken}});
    auto st = c.wait(60s);
    EXPECT_EQ(exit_code(st), 1) << c.output();
    leaks += leak("output of a rejected token", c.output());
  }

  // Crashes: the crash-point SIGKILL mid-pass, a segfault and an abort. Whatever is printed (by
  // the binary or a handler it may install) must not show a token.
  for (const auto& [label, how] : std::vector<std::pair<std::string, int>>{
           {"AUTOPLACER_CRASH_AT", 0}, {"SIGSEGV", SIGSEGV}, {"SIGABRT", SIGABRT}}) {
    auto env = run.env;
    if (how == 0) env["AUTOPLACER_CRASH_AT"] = "pass.state_saved:2";
    Child c(run.args, env);
    auto port = c.wait_for_port(30s);
    ASSERT_TRUE(port) << label << "\n" << c.output();
    if (how != 0) {
      c.pump(1500ms);  // mid-work
      c.signal(how);
    }
    auto st = c.wait(30s);
    ASSERT_TRUE(st) << label << ": still running\n" << c.output();
    EXPECT_TRUE(WIFSIGNALED(*st)) << label << "\n" << c.output();
    leaks += leak("crash output (" + label + ")", c.output());
  }
  EXPECT_EQ(leaks, "");
  fs::remove_all(run.dir);
}

}  // namespace
}  // namespace autoplacer::e2e
