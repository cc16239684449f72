#pragma once
// A real etcd (the `etcd` binary from Debian's etcd-server) for integration tests: one node or a
// cluster of three, on free loopback ports, with data in a temporary directory. Nodes can be
// killed (SIGKILL), paused (SIGSTOP) and started again on their data, so tests can play crashes,
// freezes and outages. Everything is killed and removed on destruction.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace autoplacer::testing {

class EtcdServer {
 public:
  // Starts `nodes` members and waits until each answers /health (throws std::runtime_error
  // with the tail of etcd's log if one does not within `timeout`).
  explicit EtcdServer(int nodes = 1, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // True when the etcd binary is installed (tests skip otherwise).
  static bool available();

  int size() const { return static_cast<int>(nodes_.size()); }
  // "http://127.0.0.1:<port>" of member i.
  std::string client_url(int i) const;
  std::vector<std::string> client_urls() const;

  void kill(int i);    // SIGKILL and reap; data stays
  void pause(int i);   // SIGSTOP
  void resume(int i);  // SIGCONT
  // Starts a killed member again on its data and waits for /health (for a cluster, /health
  // needs a quorum).
  void restart(int i, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running(int i) const { return nodes_[static_cast<std::size_t>(i)].pid > 0; }
  // Blocks until member i answers /health with {"health":"true"} or the timeout passes.
  bool wait_healthy(int i, std::chrono::milliseconds timeout) const;

 private:
  struct Node {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
    std::string data_dir;
    std::string log_file;
  };
  void spawn(int i, bool initial);
  std::string log_tail(int i) const;

  std::string root_;
  std::string initial_cluster_;
  std::vector<Node> nodes_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

}  // namespace autoplacer::testing
