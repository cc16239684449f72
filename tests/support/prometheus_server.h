#pragma once
// A real Prometheus server for integration and e2e tests: the Debian `prometheus` binary started
// on a free loopback port with a generated config and a temporary data directory, scraping the
// given targets every `scrapeInterval`, and stopped (and its directory removed) on destruction.
//
//   auto prom = PrometheusServer::start({.targets = {"127.0.0.1:8123"}});
//   ASSERT_TRUE(prom.ok()) << prom.error();
//   (*prom)->wait_for_targets_up(30s);   // every target scraped successfully
//   use (*prom)->url()                    // "http://127.0.0.1:<port>"
//
// CMake target: ap_test_prometheus (tests/metrics/metrics.cmake).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace autoplacer::testing {

struct PrometheusServerOptions {
  std::vector<std::string> targets{};  // host:port, scraped at metricsPath
  std::string metricsPath = "/metrics";
  std::chrono::milliseconds scrapeInterval{1000};
  std::string binary = "prometheus";  // found on PATH
  std::chrono::milliseconds startTimeout{30000};
  std::vector<std::string> extraArgs{};  // more command-line flags
  // More scrape jobs, each with its own job name (e.g. {"autoplacer", {"127.0.0.1:8080"}}), as
  // alert rules that match on `job` expect. Scraped like `targets`, without honor_labels.
  std::vector<std::pair<std::string, std::vector<std::string>>> jobs{};
  // Rule files (absolute paths) Prometheus loads and evaluates every scrapeInterval.
  std::vector<std::string> ruleFiles{};
};

class PrometheusServer {
 public:
  // Starts Prometheus and waits for /-/ready. The error says why it could not (binary missing,
  // exited early -- its log is included).
  static Result<std::unique_ptr<PrometheusServer>, std::string> start(
      PrometheusServerOptions options);
  // True when the binary can be found (tests skip themselves otherwise, with a message).
  static bool available(const std::string& binary = "prometheus");

  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:<port>"
  const std::filesystem::path& directory() const { return dir_; }

  // Waits until every configured target has been scraped successfully (health "up").
  Result<Unit, std::string> wait_for_targets_up(std::chrono::milliseconds timeout);
  // A blocking GET of `target` (path and query) on this server: the body, or why it failed.
  Result<std::string, std::string> get(const std::string& target) const;

  bool running();
  // SIGTERM, wait up to 10 s, then SIGKILL. Safe to call twice.
  void stop();
  // SIGKILL at once (a crash, as far as clients can tell).
  void kill();
  // SIGSTOP / SIGCONT: a hung server. The kernel still accepts connections; nothing answers.
  void pause();
  void resume();
  // Prometheus's own output so far, for failure messages.
  std::string log() const;

 private:
  PrometheusServer() = default;
  void reap(std::chrono::milliseconds wait);

  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::vector<std::string> targets_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
int free_loopback_port();

}  // namespace autoplacer::testing
