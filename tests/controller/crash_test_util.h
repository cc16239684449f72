#pragma once
// A child process for the crash tests (owner: faults): the autoplacer binary with its stdout and
// stderr in a pipe, killed with SIGKILL on destruction if still running. The restart tests of
// loop_e2e_test.cpp use it too.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace autoplacer::controller::crash {
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

inline const std::string kBinary = std::string(AP_BINARY_DIR) + "/src/cli/autoplacer";

// A child process with its stdout and stderr in a pipe.
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
                        "AUTOPLACER_CRASH_AT", "AUTOPLACER_TRIGGER_TOKEN"})
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
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  // Reads what is available (waiting at most `wait`).
  void pump(std::chrono::milliseconds wait = 50ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // The port from "autoplacer listening on http://127.0.0.1:PORT".
  std::optional<std::uint16_t> wait_for_port(std::chrono::seconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
      pump(100ms);
      const std::string marker = "autoplacer listening on http://127.0.0.1:";
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
  // The wait status once the child exits (nullopt on time-out).
  std::optional<int> wait(std::chrono::seconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
      pump(50ms);
      if (exited()) {
        pump(0ms);
        return status_;
      }
    }
    return std::nullopt;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  const std::string& output() {
    pump(0ms);
    return output_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::optional<int> status_;
  std::string output_;
};

}  // namespace autoplacer::controller::crash
