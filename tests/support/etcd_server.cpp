#include "support/etcd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace autoplacer::testing {
namespace fs = std::filesystem;

namespace {

constexpr const char* kEtcdBinary = "etcd";

bool find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// A blocking GET on loopback with short timeouts; the body, or "" on any failure.
std::string http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n = 0;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool EtcdServer::available() {
  return find_in_path(kEtcdBinary);
}

EtcdServer::EtcdServer(int nodes, std::chrono::milliseconds timeout) {
  std::string tmpl = (fs::temp_directory_path() / "ap-etcd-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  for (int i = 0; i < nodes; ++i) {
    Node n;
    n.name = "n" + std::to_string(i);
    n.client_port = free_loopback_port();
    n.peer_port = free_loopback_port();
    n.data_dir = root_ + "/" + n.name;
    n.log_file = root_ + "/" + n.name + ".log";
    if (!initial_cluster_.empty()) initial_cluster_ += ",";
    initial_cluster_ += n.name + "=http://127.0.0.1:" + std::to_string(n.peer_port);
    nodes_.push_back(std::move(n));
  }
  for (int i = 0; i < nodes; ++i) spawn(i, true);
  for (int i = 0; i < nodes; ++i) {
    if (!wait_healthy(i, timeout)) {
      std::string tail = log_tail(i);
      for (int k = 0; k < nodes; ++k) kill(k);
      fs::remove_all(root_);
      throw std::runtime_error("etcd member " + std::to_string(i) + " did not become healthy:\n" +
                               tail);
    }
  }
}

EtcdServer::~EtcdServer() {
  for (int i = 0; i < size(); ++i) {
    resume(i);
    kill(i);
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string EtcdServer::client_url(int i) const {
  return "http://127.0.0.1:" + std::to_string(nodes_[static_cast<std::size_t>(i)].client_port);
}

std::vector<std::string> EtcdServer::client_urls() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(client_url(i));
  return out;
}

void EtcdServer::spawn(int i, bool initial) {
  Node& n = nodes_[static_cast<std::size_t>(i)];
  const std::string client = "http://127.0.0.1:" + std::to_string(n.client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(n.peer_port);
  std::vector<std::string> args = {
      kEtcdBinary, "--name", n.name, "--data-dir", n.data_dir, "--listen-client-urls", client,
      "--advertise-client-urls", client, "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer, "--initial-cluster", initial_cluster_,
      "--initial-cluster-token", "ap-test", "--initial-cluster-state", initial ? "new" : "existing",
      // Fast elections on loopback: 50 ms heartbeats, 500 ms
      // election timeout (etcd's defaults are 100 ms / 1 s).
      "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, n.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, kEtcdBinary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start etcd");
  n.pid = pid;
}

bool EtcdServer::wait_healthy(int i, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int port = nodes_[static_cast<std::size_t>(i)].client_port;
  while (std::chrono::steady_clock::now() < deadline) {
    if (http_get(port, "/health").find("\"health\":\"true\"") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void EtcdServer::kill(int i) {
  Node& n = nodes_[static_cast<std::size_t>(i)];
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGKILL);
  int status = 0;
  ::waitpid(n.pid, &status, 0);
  n.pid = -1;
}

void EtcdServer::pause(int i) {
  Node& n = nodes_[static_cast<std::size_t>(i)];
  if (n.pid > 0) ::kill(n.pid, SIGSTOP);
}

void EtcdServer::resume(int i) {
  Node& n = nodes_[static_cast<std::size_t>(i)];
  if (n.pid > 0) ::kill(n.pid, SIGCONT);
}

void EtcdServer::restart(int i, std::chrono::milliseconds timeout) {
  kill(i);
  spawn(i, false);
  if (!wait_healthy(i, timeout)) {
    throw std::runtime_error("etcd member " + std::to_string(i) + " did not come back:\n" +
                             log_tail(i));
  }
}

std::string EtcdServer::log_tail(int i) const {
  std::ifstream in(nodes_[static_cast<std::size_t>(i)].log_file);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

}  // namespace autoplacer::testing
