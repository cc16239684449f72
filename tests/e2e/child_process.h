#pragma once
// Helpers of the end-to-end tests: the `autoplacer` binary as a child process with its output in
// a pipe, a blocking HTTP exchange on loopback, temporary directories and files.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace autoplacer::e2e {

inline const std::string kAutoplacer = std::string(AP_BINARY_DIR) + "/src/cli/autoplacer";
inline const std::string kSourceDir = AP_SOURCE_DIR;
inline const std::string kFixtures = AP_TEST_FIXTURES;

// A child process running `binary args...` with `env` added to a cleaned environment; stdout and
// stderr go to one pipe the test reads (pump()) so the child never blocks on a full pipe.
class Child {
 public:
  Child(std::vector<std::string> args, std::map<std::string, std::string> env,
        const std::string& binary = kAutoplacer) {
    // Everything the child needs is built before fork: other threads may hold the malloc lock.
    std::vector<std::string> argv_store;
    argv_store.push_back(binary);
    for (auto& a : args) argv_store.push_back(std::move(a));
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      const std::string name = kv.substr(0, kv.find('='));
      // Nothing of the developer's own Fly or controller settings leaks into the run.
      if (name.rfind("FLY_", 0) == 0 || name.rfind("AUTOPLACER_", 0) == 0) continue;
      env_store.push_back(std::move(kv));
    }
    for (const auto& [k, v] : env) env_store.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::close(out[0]);
      ::close(out[1]);
      ::execve(argv[0], argv.data(), envp.data());
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

  // Reads what is available, waiting at most `wait` for the first byte.
  void pump(std::chrono::milliseconds wait = std::chrono::milliseconds(50)) {
    if (fd_ < 0) return;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // The port from "autoplacer listening on http://127.0.0.1:PORT".
  std::optional<std::uint16_t> wait_for_port(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string marker = "autoplacer listening on http://127.0.0.1:";
    while (std::chrono::steady_clock::now() < deadline) {
      pump(std::chrono::milliseconds(100));
      if (auto at = output_.find(marker); at != std::string::npos) {
        const auto end = output_.find_first_not_of("0123456789", at + marker.size());
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
    if (pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
    return status_.has_value();
  }
  // The wait status once the child exits (nullopt on time-out).
  std::optional<int> wait(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pump(std::chrono::milliseconds(50));
      if (exited()) {
        pump(std::chrono::milliseconds(0));
        return status_;
      }
    }
    return std::nullopt;
  }
  void signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }
  pid_t pid() const { return pid_; }
  const std::string& output() {
    pump(std::chrono::milliseconds(0));
    return output_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::optional<int> status_;
  std::string output_;
};

inline int exit_code(const std::optional<int>& status) {
  if (!status) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

struct Reply {
  int status = 0;  // 0: no answer
  std::string body;
  std::string headers;  // the whole head as sent, for leak checks
};

// One request on a fresh connection to 127.0.0.1:port, with a 10 s deadline.
inline Reply http_exchange(std::uint16_t port, boost::beast::http::verb verb,
                           const std::string& target,
                           const std::map<std::string, std::string>& headers = {}) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.expires_after(std::chrono::seconds(10));
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    std::ostringstream head;
    head << res.base();
    return {static_cast<int>(res.result_int()), res.body(), head.str()};
  } catch (const std::exception&) {
    return {};
  }
}

inline Reply http_get(std::uint16_t port, const std::string& target) {
  return http_exchange(port, boost::beast::http::verb::get, target);
}

// A fresh directory under the system's temporary directory.
inline std::filesystem::path temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("ap-e2e-" + std::to_string(::getpid()) + "-" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command with `input` on its stdin; returns the exit status and the combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
inline CommandResult run_with_stdin(const std::string& command, const std::string& input,
                                    const std::filesystem::path& scratch) {
  const auto in = scratch / "stdin.txt";
  const auto out = scratch / "stdout.txt";
  write_file(in, input);
  const std::string cmd = command + " < '" + in.string() + "' > '" + out.string() + "' 2>&1";
  const int st = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.output = read_file(out);
  return r;
}

}  // namespace autoplacer::e2e
