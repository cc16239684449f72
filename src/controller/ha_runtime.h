#pragma once
// High-availability mode assembled: the etcd client, the leader elector running in the service's
// event loop, the fenced etcd state store, the LeaderGate the controller asks, and what /readyz,
// /status and /metrics say about the role. Service (controller/service.cpp) builds one when
// --etcd-endpoints is set; without it nothing here is used (local state, AlwaysLeader).
//
// Guarantees, and where they come from:
//   - one replica acts: the gate is the elector's is_leader(), which re-checks the renew deadline
//     against a monotonic clock at every question, so a replica cut off from etcd or frozen stops
//     acting renew_deadline after its last renewal, lease_duration - renew_deadline before etcd
//     can let another replica in;
//   - a deposed leader cannot overwrite state: every state write is an etcd transaction that
//     compares the leader key's create_revision with our leadership revision;
//   - a deposed leader cannot change machines: wrap_machines_api() refuses writes when the gate
//     is closed (and machine leases fence the instant between the check and the send);
//   - a new leader continues from the last leader's state: the gate's term() is the leadership
//     revision, and a reconciler reloads its state when the term changes.
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "controller/etcd_client.h"
#include "controller/etcd_state_store.h"
#include "controller/ha_options.h"
#include "controller/leader_election.h"
#include "controller/leader_gate.h"
#include "controller/state_store.h"
#include "fly/machines_api.h"

namespace prometheus {
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace autoplacer::metrics {
class SelfMetrics;
}

namespace autoplacer::controller {

// Time for leadership deadlines: monotonic, so a wall-clock step (NTP) can neither extend a
// leader's belief that it still leads nor cut it short. Only differences are meaningful.
class MonotonicClock final : public Clock {
 public:
  TimePoint now() const override;
};

// What a replica says about its role in /readyz, /status and logs.
struct RoleReport {
  etcd::Role role = etcd::Role::kNoQuorum;
  std::string summary;  // "leader", "follower of 'b'", "no quorum: etcd unreachable (...)"
  boost::json::value json;
};
// Pure: the report for an elector state (tests feed it states directly).
RoleReport describe_role(const etcd::LeaderState& state, const std::string& identity,
                         Duration role_age);

class HaRuntime {
 public:
  // metrics may be null. Fails only on bad TLS material or bad options.
  static Result<std::unique_ptr<HaRuntime>, std::string> create(
      boost::asio::any_io_executor executor, HaOptions options, metrics::SelfMetrics* metrics);
  ~HaRuntime();
  HaRuntime(const HaRuntime&) = delete;
  HaRuntime& operator=(const HaRuntime&) = delete;

  StateStore& store() { return *adapter_; }
  const LeaderGate& gate() const { return *gate_; }
  // Refuses Machines API writes while the gate is closed (see ha_gated_machines_api.h).
  std::shared_ptr<fly::MachinesApi> wrap_machines_api(std::shared_ptr<fly::MachinesApi> api);

  // Spawns the election loop and the role metrics on the executor.
  void start();
  // For shutdown, after the controller stopped acting and saved its state: stop campaigning and
  // give the leadership up (revoke the lease), so a follower takes over at its next round
  // instead of after the TTL.
  boost::asio::awaitable<void> resign();

  RoleReport role() const;
  etcd::LeaderState state() const { return elector_->state(); }
  const HaOptions& options() const { return options_; }
  std::string current_endpoint() const { return client_->current_endpoint(); }

 private:
  HaRuntime(boost::asio::any_io_executor executor, HaOptions options,
            metrics::SelfMetrics* metrics);
  boost::asio::awaitable<void> publish_metrics();
  void publish_once();

  boost::asio::any_io_executor executor_;
  HaOptions options_;
  metrics::SelfMetrics* metrics_;
  MonotonicClock clock_;
  std::shared_ptr<etcd::EtcdTransport> transport_;
  std::unique_ptr<etcd::EtcdGatewayClient> client_;
  std::unique_ptr<etcd::LeaderElector> elector_;
  std::unique_ptr<etcd::EtcdStateStore> etcd_store_;
  std::unique_ptr<EtcdStateStoreAdapter> adapter_;
  std::unique_ptr<FunctionGate> gate_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<boost::asio::steady_timer> publish_timer_;

  // autoplacer_leader_role{role} (1 for the current role) and
  // autoplacer_leader_writes_refused_total{operation}; null without metrics.
  prometheus::Family<prometheus::Gauge>* role_family_ = nullptr;
  prometheus::Family<prometheus::Counter>* refused_family_ = nullptr;
};

}  // namespace autoplacer::controller
