#include "support/prometheus_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace autoplacer::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

bool executable_on_path(const std::string& binary) {
  if (binary.find('/') != std::string::npos) return ::access(binary.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + binary).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::filesystem::path make_temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "ap-prometheus-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) return {};
  return templ;
}

std::string config_yaml(const PrometheusServerOptions& o) {
  const auto ms = std::to_string(o.scrapeInterval.count()) + "ms";
  std::string y = "global:\n  scrape_interval: " + ms + "\n  evaluation_interval: " + ms + "\n";
  y += "scrape_configs:\n  - job_name: test\n    honor_labels: true\n";
  y += "    scrape_interval: " + ms + "\n    scrape_timeout: " + ms + "\n";
  y += "    metrics_path: \"" + o.metricsPath + "\"\n    static_configs:\n      - targets: [";
  for (std::size_t i = 0; i < o.targets.size(); ++i) {
    y += (i ? ", \"" : "\"") + o.targets[i] + "\"";
  }
  y += "]\n";
  for (const auto& [job, targets] : o.jobs) {
    y += "  - job_name: \"" + job + "\"\n";
    y += "    scrape_interval: " + ms + "\n    scrape_timeout: " + ms + "\n";
    y += "    metrics_path: \"" + o.metricsPath + "\"\n    static_configs:\n      - targets: [";
    for (std::size_t i = 0; i < targets.size(); ++i) y += (i ? ", \"" : "\"") + targets[i] + "\"";
    y += "]\n";
  }
  if (!o.ruleFiles.empty()) {
    y += "rule_files:\n";
    for (const auto& f : o.ruleFiles) y += "  - \"" + f + "\"\n";
  }
  return y;
}

}  // namespace

int free_loopback_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

bool PrometheusServer::available(const std::string& binary) {
  return executable_on_path(binary);
}

Result<std::unique_ptr<PrometheusServer>, std::string> PrometheusServer::start(
    PrometheusServerOptions options) {
  using Out = Result<std::unique_ptr<PrometheusServer>, std::string>;
  if (!available(options.binary)) {
    return Out(make_err("`" + options.binary + "` not found (install the prometheus package)"));
  }
  std::string last_error;
  // The free port can be taken between our probe and Prometheus binding it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<PrometheusServer> s(new PrometheusServer());
    s->targets_ = options.targets;
    for (const auto& job : options.jobs)
      s->targets_.insert(s->targets_.end(), job.second.begin(), job.second.end());
    s->dir_ = make_temp_dir();
    if (s->dir_.empty()) return Out(make_err(std::string("cannot create a temporary directory")));
    std::filesystem::create_directories(s->dir_ / "data");
    {
      std::ofstream cfg(s->dir_ / "prometheus.yml");
      cfg << config_yaml(options);
    }
    s->port_ = free_loopback_port();
    std::vector<std::string> args = {
        options.binary,
        "--config.file=" + (s->dir_ / "prometheus.yml").string(),
        "--storage.tsdb.path=" + (s->dir_ / "data").string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(s->port_),
        "--storage.tsdb.retention.time=1d",
        "--log.level=warn",
    };
    for (const auto& a : options.extraArgs) args.push_back(a);
    const std::string log_path = (s->dir_ / "prometheus.log").string();
    const std::string dir = s->dir_.string();
    // Everything the child needs is prepared before fork: other threads may hold the malloc lock.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) return Out(make_err(std::string("fork failed")));
    if (pid == 0) {
      // Child: die with the test process, write output to the log, exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    s->pid_ = pid;

    const auto deadline = std::chrono::steady_clock::now() + options.startTimeout;
    bool ready = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!s->running()) break;
      auto r = s->get("/-/ready");
      if (r.ok()) {
        ready = true;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    if (ready) return Out(std::move(s));
    last_error = "prometheus did not become ready on port " + std::to_string(s->port_) +
                 "; its log:\n" + s->log();
    s->kill();
  }
  return Out(make_err(std::move(last_error)));
}

PrometheusServer::~PrometheusServer() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string PrometheusServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

bool PrometheusServer::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return r == 0;
}

void PrometheusServer::reap(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (pid_ > 0) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) {
      pid_ = -1;
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) return;
    std::this_thread::sleep_for(20ms);
  }
}

void PrometheusServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);  // a paused process would not act on SIGTERM
  ::kill(pid_, SIGTERM);
  reap(10s);
  kill();
}

void PrometheusServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap(10s);
}

void PrometheusServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void PrometheusServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string PrometheusServer::log() const {
  std::ifstream in(dir_ / "prometheus.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string, std::string> PrometheusServer::get(const std::string& target) const {
  using Out = Result<std::string, std::string>;
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(5s);
    stream.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() != 200) {
      return Out(make_err("HTTP " + std::to_string(res.result_int()) + ": " + res.body()));
    }
    return Out(std::move(res.body()));
  } catch (const std::exception& e) {
    return Out(make_err(std::string(e.what())));
  }
}

Result<Unit, std::string> PrometheusServer::wait_for_targets_up(std::chrono::milliseconds timeout) {
  using Out = Result<Unit, std::string>;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline) {
    auto body = get("/api/v1/targets?state=active");
    if (body.ok()) {
      boost::system::error_code ec;
      auto doc = boost::json::parse(*body, ec);
      std::size_t up = 0, total = 0;
      if (!ec && doc.is_object()) {
        const auto* data = doc.get_object().if_contains("data");
        const auto* active =
            data && data->is_object() ? data->get_object().if_contains("activeTargets") : nullptr;
        if (active != nullptr && active->is_array()) {
          for (const auto& t : active->get_array()) {
            ++total;
            const auto* h = t.is_object() ? t.get_object().if_contains("health") : nullptr;
            if (h != nullptr && h->is_string() && h->get_string() == "up") ++up;
          }
        }
      }
      if (total >= targets_.size() && up == total) return Out(Unit{});
      last = std::to_string(up) + " of " + std::to_string(total) + " targets up";
    } else {
      last = body.error();
    }
    std::this_thread::sleep_for(200ms);
  }
  return Out(make_err("targets not up in time: " + last));
}

}  // namespace autoplacer::testing
