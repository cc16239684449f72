// High availability end to end: two or three `autoplacer run` processes (the built binary)
// against one flysim (in this process, real time, real sockets) and a real etcd (Debian's
// etcd-server, started here on free loopback ports: one node, and a three-node cluster).
//
//   - kill the leader (SIGKILL): a follower takes over within the lease TTL plus one interval,
//     no machine is created twice, and the history (state in etcd) carries on;
//   - pause the leader (SIGSTOP) past its lease and resume it (SIGCONT): it sends no Machines API
//     write after it wakes (each replica has its own token, so flysim's request log says who
//     sent what);
//   - etcd unavailable: every replica holds (no write), says "no quorum" on /readyz and in
//     metrics, and recovers when etcd is back.
//
// Lease settings are scaled down (3s / 2s / 0.5s) so the suite runs in well under a minute and a
// half; docs/performance.md has take-over figures for the 15s / 10s / 2s defaults.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sim/flysim.h"
#include "support/etcd_server.h"

namespace autoplacer::controller {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using autoplacer::testing::EtcdServer;

const std::string kBinary = std::string(AP_BINARY_DIR) + "/src/cli/autoplacer";

constexpr auto kLease = 3s;
constexpr auto kRetry = 500ms;
// etcd checks lease expiry every 500 ms, a campaign round is a few requests, and /status is
// polled every 100 ms.
constexpr auto kSlack = 1500ms;

// ---- A child process with its output in a pipe -----------------------------------------------

class Child {
 public:
  Child(std::vector<std::string> args, std::map<std::string, std::string> env) {
    int out[2];
    EXPECT_EQ(::pipe(out), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::close(out[0]);
      ::close(out[1]);
      for (auto name : {"FLY_API_TOKEN", "FLY_API_URL", "FLY_PROMETHEUS_URL", "FLY_ORG",
                        "AUTOPLACER_CRASH_AT", "AUTOPLACER_TRIGGER_TOKEN", "ETCD_ENDPOINTS",
                        "AUTOPLACER_ETCD_ENDPOINTS", "ETCD_USERNAME", "ETCD_PASSWORD"})
        ::unsetenv(name);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(kBinary.c_str()));
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(kBinary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    fd_ = out[0];
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void pump(std::chrono::milliseconds wait = 0ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<std::size_t>(n));
    }
  }
  std::optional<std::uint16_t> wait_for_port(std::chrono::seconds timeout) {
    const std::string marker = "autoplacer listening on http://127.0.0.1:";
    for (const auto deadline = Steady::now() + timeout; Steady::now() < deadline;) {
      pump(100ms);
      if (auto at = output_.find(marker); at != std::string::npos) {
        auto end = output_.find('\n', at);
        if (end != std::string::npos)
          return static_cast<std::uint16_t>(
              std::stoi(output_.substr(at + marker.size(), end - at - marker.size())));
      }
      if (exited()) return std::nullopt;
    }
    return std::nullopt;
  }
  bool exited() {
    if (status_) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
    return status_.has_value();
  }
  std::optional<int> wait(std::chrono::seconds timeout) {
    for (const auto deadline = Steady::now() + timeout; Steady::now() < deadline;) {
      pump(50ms);
      if (exited()) return status_;
    }
    return std::nullopt;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  void kill_now() {
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    wait(10s);
  }
  const std::string& output() {
    pump();
    return output_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::optional<int> status_;
  std::string output_;
};

struct Reply {
  int status = 0;
  std::string body;
};

Reply http_get(std::uint16_t port, const std::string& target) {
  try {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    beast::http::request<beast::http::string_body> req{beast::http::verb::get, target, 11};
    req.set(beast::http::field::host, "localhost");
    beast::http::write(s, req);
    beast::flat_buffer buf;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(s, buf, res);
    return {static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception&) {
    return {};
  }
}

// ---- flysim in this process, with a log of who wrote --------------------------------------------

class Fly {
 public:
  Fly() {
    sim::FlySimOptions o;
    o.apps = {"ha-app"};
    // The app's original machine: what the controller clones from.
    sim::SeedMachine original;
    original.name = "web-iad-original";
    original.region = "iad";
    original.metadata = {{"fly_process_group", "app"}};
    o.machines = {original};
    o.delays.create = 200ms;
    o.delays.start = 100ms;
    o.delays.stop = 100ms;
    o.delays.destroy = 100ms;
    o.rate_limits.enabled = false;
    // Every replica has its own token: the Authorization header says which one wrote.
    o.on_exchange = [this](const net::Request& req, const net::Response*) {
      if (req.method() == beast::http::verb::get) return;
      std::string who = "?";
      if (auto it = req.find(beast::http::field::authorization); it != req.end()) {
        std::string value(it->value());
        if (auto at = value.find("replica-"); at != std::string::npos) who = value.substr(at);
      }
      std::lock_guard lock(mu_);
      writes_[who].push_back(std::string(req.method_string()) + " " + std::string(req.target()));
    };
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

  // Machines of the policy that are serving or about to, by region.
  std::map<std::string, int> active() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> out;
      for (const auto* m : w.machines("ha-app")) {
        const auto* md = m->config.if_contains("metadata");
        if (!md || !md->is_object() || !md->get_object().contains("autoplacer_policy")) continue;
        if (m->state == "started" || m->state == "starting" || m->state == "created" ||
            m->state == "creating")
          ++out[m->region];
      }
      return out;
    });
  }
  // Operation ids carried by more than one live machine: a create done twice.
  std::vector<std::string> duplicate_ops() {
    return sim_->with_world([](sim::FlyWorld& w) {
      std::map<std::string, int> ops;
      for (const auto* m : w.machines("ha-app")) {
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
  // Destroys one started machine in `region` behind the controller's back (so a leader would
  // want to replace it). Returns its id.
  std::string destroy_one(const std::string& region) {
    return sim_->with_world([&](sim::FlyWorld& w) {
      for (const auto* m : w.machines("ha-app")) {
        const auto* md = m->config.if_contains("metadata");
        if (!md || !md->is_object() || !md->get_object().contains("autoplacer_policy")) continue;
        if (m->region == region && m->state == "started") {
          std::string id = m->id;
          auto r = w.destroy("ha-app", id, true, "", clock_.now());
          return r.ok() ? id : std::string();
        }
      }
      return std::string();
    });
  }
  std::size_t writes_by(const std::string& replica) {
    std::lock_guard lock(mu_);
    auto it = writes_.find(replica);
    return it == writes_.end() ? 0 : it->second.size();
  }
  std::string write_log() {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [who, list] : writes_)
      for (const auto& w : list) out += who + ": " + w + "\n";
    return out;
  }

 private:
  SystemClock clock_;
  asio::io_context ioc_;
  std::unique_ptr<sim::FlySim> sim_;
  std::thread thread_;
  std::string url_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> writes_;
};

// ---- The controllers
// -----------------------------------------------------------------------------

constexpr const char* kPolicyYaml = R"(apiVersion: autoplacer.fly.io/v1alpha1
kind: PlacementPolicy
metadata:
  name: web
spec:
  app: ha-app
  regions:
    allowed: [iad, fra]
  capacity:
    targetPerMachine: 50
    maxPerRegion: 4
    minTotal: 1
    maxTotal: 8
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
    cooldownAfterAdd: 0s
    cooldownAfterRemove: 0s
  fastPath:
    enabled: false
)";

// iad 140 req/s -> 3 machines (one is the app's original), fra 40 -> 1, all day long.
constexpr const char* kTraffic =
    "timestamp,region,rps\n0,iad,140\n0,fra,40\n86400,iad,140\n86400,fra,40\n";

class HaE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::available()) GTEST_SKIP() << "etcd is not installed (Debian: etcd-server)";
    dir_ = fs::temp_directory_path() /
           ("ap-ha-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << kPolicyYaml;
    std::ofstream(dir_ / "traffic.csv") << kTraffic;
  }
  void TearDown() override {
    replicas_.clear();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  struct Replica {
    std::string id;
    std::unique_ptr<Child> child;
    std::uint16_t port = 0;
    bool alive = true;
  };

  void start_replica(const std::string& id, const std::vector<std::string>& endpoints,
                     const Fly& fly) {
    std::string joined;
    for (const auto& e : endpoints) joined += (joined.empty() ? "" : ",") + e;
    Replica r;
    r.id = id;
    r.child = std::make_unique<Child>(
        std::vector<std::string>{"run",
                                 "--policy",
                                 (dir_ / "policy.yaml").string(),
                                 "--listen",
                                 "127.0.0.1:0",
                                 "--fly-api-url",
                                 fly.url(),
                                 "--scenario",
                                 (dir_ / "traffic.csv").string(),
                                 "--speed",
                                 "1",
                                 "--replica-id",
                                 id,
                                 "--lease-duration",
                                 "3s",
                                 "--renew-deadline",
                                 "2s",
                                 "--retry-period",
                                 "500ms",
                                 "--etcd-request-timeout",
                                 "1s",
                                 "--etcd-prefix",
                                 "/autoplacer-test/ha",
                                 "--log-level",
                                 "info"},
        std::map<std::string, std::string>{{"FLY_API_TOKEN", "replica-" + id},
                                           {"ETCD_ENDPOINTS", joined}});
    auto port = r.child->wait_for_port(30s);
    ASSERT_TRUE(port) << id << " did not start:\n" << r.child->output();
    r.port = *port;
    replicas_.push_back(std::move(r));
  }

  // The role a replica reports in /status ("" when it does not answer).
  std::string role_of(Replica& r) {
    r.child->pump();
    Reply s = http_get(r.port, "/status");
    if (s.status != 200) return "";
    try {
      auto v = json::parse(s.body);
      return std::string(v.as_object().at("role").as_string());
    } catch (const std::exception&) {
      return "";
    }
  }

  // Waits until exactly one live replica leads; returns its index (nullopt on time-out).
  std::optional<std::size_t> wait_for_one_leader(std::chrono::milliseconds timeout) {
    for (const auto deadline = Steady::now() + timeout; Steady::now() < deadline;) {
      std::vector<std::size_t> leaders;
      for (std::size_t i = 0; i < replicas_.size(); ++i)
        if (replicas_[i].alive && role_of(replicas_[i]) == "leader") leaders.push_back(i);
      if (leaders.size() == 1) return leaders.front();
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }

  // Waits until flysim holds the wanted machines (the policy's own, besides the original) for a
  // few seconds in a row.
  bool wait_converged(Fly& fly, std::chrono::seconds timeout) {
    int stable = 0;
    std::map<std::string, int> last;
    for (const auto deadline = Steady::now() + timeout; Steady::now() < deadline;) {
      const auto now = fly.active();
      if (wanted_.empty()) {
        stable = !now.empty() && now == last ? stable + 1 : 0;
        last = now;
      } else {
        stable = now == wanted_ ? stable + 1 : 0;
      }
      if (stable >= 6) {
        if (wanted_.empty()) wanted_ = now;
        return true;
      }
      for (auto& r : replicas_)
        if (r.alive) r.child->pump();
      std::this_thread::sleep_for(250ms);
    }
    return false;
  }

  std::string outputs() {
    std::string out;
    for (auto& r : replicas_) out += "---- " + r.id + "\n" + r.child->output();
    return out;
  }

  // A sample's value from /metrics (-1 when absent); `name` may include labels.
  std::int64_t metric(Replica& r, const std::string& name) {
    Reply m = http_get(r.port, "/metrics");
    for (std::size_t at = m.body.find(name); at != std::string::npos;
         at = m.body.find(name, at + 1)) {
      if (at > 0 && m.body[at - 1] != '\n') continue;
      auto space = m.body.find(' ', at);
      auto end = m.body.find('\n', at);
      if (space == std::string::npos || end == std::string::npos || space > end) continue;
      if (m.body.compare(at, space - at, name) != 0) continue;
      return static_cast<std::int64_t>(std::stod(m.body.substr(space + 1, end - space - 1)));
    }
    return -1;
  }

  // The pass counter of the policy (kept in the state, so in etcd), from /status.
  std::int64_t passes(Replica& r) {
    Reply s = http_get(r.port, "/status");
    try {
      auto v = json::parse(s.body);
      for (const auto& p : v.as_object().at("policies").as_array())
        if (auto* n = p.as_object().if_contains("passes"); n && n->is_number())
          return n->to_number<std::int64_t>();
    } catch (const std::exception&) {
    }
    return -1;
  }

  // Waits until replica r reports `role`.
  bool wait_for_role(Replica& r, const std::string& role, std::chrono::milliseconds timeout) {
    for (const auto deadline = Steady::now() + timeout; Steady::now() < deadline;) {
      if (role_of(r) == role) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  fs::path dir_;
  std::vector<Replica> replicas_;
  // The policy's machines once converged (set by the first wait_converged()).
  std::map<std::string, int> wanted_;
};

// Kill the leader, three times in a row, with three replicas on a three-member etcd cluster: a
// follower takes over within TTL + one retry, no machine is created twice, the fleet stays as it
// was and the history carries on (the pass counter the state keeps goes on rising).
TEST_F(HaE2E, KillTheLeaderThreeReplicasThreeNodeEtcd) {
  EtcdServer etcd(3);
  Fly fly;
  for (const char* id : {"a", "b", "c"}) start_replica(id, etcd.client_urls(), fly);
  auto leader = wait_for_one_leader(20s);
  ASSERT_TRUE(leader) << outputs();
  ASSERT_TRUE(wait_converged(fly, 30s)) << outputs();

  for (int round = 0; round < 2; ++round) {
    const std::int64_t passes_before = passes(replicas_[*leader]);
    ASSERT_GT(passes_before, 0);
    Replica& old = replicas_[*leader];
    old.child->kill_now();
    old.alive = false;
    const auto killed_at = Steady::now();
    auto next = wait_for_one_leader(kLease + kRetry + kSlack + 2s);
    const auto took = Steady::now() - killed_at;
    ASSERT_TRUE(next) << "round " << round << ": no follower took over\n" << outputs();
    EXPECT_LE(took, kLease + kRetry + kSlack)
        << "take-over took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
        << " ms";
    leader = next;
    // A few passes of the new leader: nothing to do, nothing done twice.
    ASSERT_TRUE(wait_converged(fly, 20s)) << outputs();
    EXPECT_TRUE(fly.duplicate_ops().empty()) << fly.write_log();
    // The new leader started from the state the old one left in etcd, not from zero.
    EXPECT_GT(passes(replicas_[*leader]), passes_before)
        << "the new leader did not continue the history\n"
        << outputs();
    // The dead leader comes back as a follower.
    const std::string again = old.id + "2";
    start_replica(again, etcd.client_urls(), fly);
    EXPECT_TRUE(wait_for_role(replicas_.back(), "follower", 5s)) << outputs();
  }
}

// Freeze the leader past its lease: another replica takes over; when the frozen one wakes it
// sends no Machines API write at all, even though the new leader changes the fleet meanwhile.
TEST_F(HaE2E, PausedLeaderDoesNotActAfterItWakes) {
  EtcdServer etcd(1);
  Fly fly;
  for (const char* id : {"a", "b"}) start_replica(id, etcd.client_urls(), fly);
  auto leader = wait_for_one_leader(20s);
  ASSERT_TRUE(leader) << outputs();
  ASSERT_TRUE(wait_converged(fly, 30s)) << outputs();
  const std::size_t paused = *leader;
  const std::size_t other = 1 - paused;
  const std::string paused_token = "replica-" + replicas_[paused].id;

  replicas_[paused].child->signal(SIGSTOP);
  replicas_[paused].alive = false;  // not asked while frozen
  auto next = wait_for_one_leader(kLease + kRetry + kSlack + 2s);
  ASSERT_TRUE(next) << outputs();
  EXPECT_EQ(*next, other);
  // The new leader has work to do: a machine vanishes and it replaces it.
  ASSERT_FALSE(fly.destroy_one("fra").empty());
  std::this_thread::sleep_for(300ms);
  const std::size_t writes_while_frozen = fly.writes_by(paused_token);

  replicas_[paused].child->signal(SIGCONT);
  replicas_[paused].alive = true;
  ASSERT_TRUE(wait_converged(fly, 20s)) << outputs();
  std::this_thread::sleep_for(2s);  // passes of both replicas
  EXPECT_EQ(fly.writes_by(paused_token), writes_while_frozen)
      << "the replica that was frozen wrote after it woke:\n"
      << fly.write_log() << outputs();
  EXPECT_TRUE(wait_for_role(replicas_[paused], "follower", 3s)) << outputs();
  EXPECT_EQ(role_of(replicas_[other]), "leader") << outputs();
  EXPECT_TRUE(fly.duplicate_ops().empty()) << fly.write_log();
}

// etcd down: every replica holds (no write), /readyz says no quorum with 503, autoplacer_leader
// is 0 everywhere; when etcd is back one replica leads again and repairs what changed meanwhile.
TEST_F(HaE2E, EtcdDownEveryoneHoldsAndRecovers) {
  EtcdServer etcd(1);
  Fly fly;
  for (const char* id : {"a", "b"}) start_replica(id, etcd.client_urls(), fly);
  auto leader = wait_for_one_leader(20s);
  ASSERT_TRUE(leader) << outputs();
  ASSERT_TRUE(wait_converged(fly, 30s)) << outputs();
  EXPECT_EQ(metric(replicas_[*leader], "autoplacer_leader"), 1);

  etcd.kill(0);
  // Within the renew deadline (2 s) plus a round, nobody leads and everyone says so.
  std::this_thread::sleep_for(2s + kRetry + kSlack);
  for (auto& r : replicas_) {
    Reply ready = http_get(r.port, "/readyz");
    EXPECT_EQ(ready.status, 503) << r.id << ": " << ready.body;
    EXPECT_NE(ready.body.find("no_quorum"), std::string::npos) << r.id << ": " << ready.body;
    EXPECT_EQ(role_of(r), "no_quorum") << r.id;
    EXPECT_EQ(metric(r, "autoplacer_leader"), 0) << r.id;
    EXPECT_EQ(metric(r, "autoplacer_leader_role{role=\"no_quorum\"}"), 1) << r.id;
  }
  // A machine vanishes while nobody may act: nobody replaces it.
  std::map<std::string, std::size_t> writes;
  for (auto& r : replicas_) writes[r.id] = fly.writes_by("replica-" + r.id);
  ASSERT_FALSE(fly.destroy_one("fra").empty());
  std::this_thread::sleep_for(3s);
  for (auto& r : replicas_)
    EXPECT_EQ(fly.writes_by("replica-" + r.id), writes[r.id]) << r.id << " wrote without quorum\n"
                                                              << fly.write_log();
  EXPECT_EQ(fly.active()["fra"], wanted_["fra"] - 1);

  etcd.restart(0);
  leader = wait_for_one_leader(kLease + kRetry + kSlack + 5s);
  ASSERT_TRUE(leader) << outputs();
  ASSERT_TRUE(wait_converged(fly, 20s)) << outputs();
  for (auto& r : replicas_) EXPECT_EQ(http_get(r.port, "/readyz").status, 200) << r.id;
  EXPECT_TRUE(fly.duplicate_ops().empty()) << fly.write_log();
}

}  // namespace
}  // namespace autoplacer::controller
