#pragma once
// Leader election on etcd, so that of two or three controller replicas exactly one acts.
//
// How: every replica holds an etcd lease (TTL `lease_duration`, default 15 s) and tries, every
// `retry_period` (2 s), a transaction that creates the leader key bound to its lease only if the
// key is absent (create_revision == 0). The one that created it leads; its key's
// create_revision is its *leadership revision*: a fencing token that the etcd state store puts
// in every write's compare, so a deposed leader's write fails. The leader renews its lease and
// checks that the key is still its own every retry period. If it has not renewed within
// `renew_deadline` (10 s) it steps down by itself: the lease was last renewed at or after the
// moment it sent that renewal, so the key cannot expire, and no one else can win, before
// TTL - renew_deadline (5 s) after it stopped acting. A dead leader's key expires with its lease,
// so a follower takes over within lease_duration + retry_period.
//
// Why not etcd's election API (/v3/election/campaign, which 3.4's gateway serves)? Campaign
// blocks until elected, so over HTTP it ties up a request for as long as we are a follower and
// hides whether etcd is reachable; the transaction is one short request per period and gives the
// same guarantees (it is what the election API does inside).
//
// Time: deadlines are measured with the injected Clock, so tests drive `tick()` under a
// ManualClock. `is_leader()` re-checks the deadline against the clock on every call, so a
// replica that was frozen (SIGSTOP, a long GC-like pause) stops acting the moment it wakes,
// before its election loop even runs.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "controller/etcd_client.h"

namespace autoplacer::etcd {

struct LeaderElectionConfig {
  std::string key;       // e.g. "/autoplacer/<app>/leader"
  std::string identity;  // unique per replica, e.g. "<machine id>@<region>"
  Duration lease_duration{15000};
  Duration renew_deadline{10000};
  Duration retry_period{2000};
};

// nullopt when valid; else what is wrong (the relations client-go enforces, in whole seconds
// for the lease since etcd's TTLs are seconds).
std::optional<std::string> validate(const LeaderElectionConfig& config);

enum class Role {
  kLeader,    // this replica leads and may act
  kFollower,  // another replica leads (or the key is free and we will try again)
  kNoQuorum,  // etcd did not answer: we neither lead nor know who does
};
const char* to_string(Role role);

struct LeaderState {
  Role role = Role::kNoQuorum;
  std::string leader_identity;    // the observed leader, empty if unknown or none
  Revision leader_revision = 0;   // create_revision of the observed leader's key
  LeaseId lease = 0;              // our lease, 0 if none
  TimePoint last_renew{};         // when our last successful renewal was sent (leader only)
  TimePoint role_since{};         // when the current role began
  std::uint64_t transitions = 0;  // how many times we started or stopped leading
  std::string last_error;         // the last etcd error, empty after a clean round
};

struct LeaderCallbacks {
  // Called on the elector's executor. `revision` is the leadership revision.
  std::function<void(Revision revision)> on_started_leading;
  std::function<void(const std::string& why)> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;  // observed leader changed
};

class LeaderElector {
 public:
  LeaderElector(Etcd& etcd, const Clock& clock, LeaderElectionConfig config,
                LeaderCallbacks callbacks = {});

  // One round: renew (leader) or campaign (others). run() calls it every retry period; tests
  // call it directly.
  boost::asio::awaitable<void> tick();

  // Loops tick() every retry period on the current executor until stop() or cancellation.
  boost::asio::awaitable<void> run();
  // Ends run() after its current round (thread-safe).
  void stop();

  // Gives up leadership for good: ends run() (as stop() does), steps down and revokes the lease
  // so a follower takes over at its next round instead of after the TTL. For a clean shutdown
  // or a deploy: stop acting first, then resign.
  boost::asio::awaitable<void> resign();

  // True only while we lead AND our last renewal is younger than the renew deadline by the
  // clock right now. This is the question to ask before every action. Thread-safe.
  bool is_leader() const;
  // The leadership revision while is_leader(), for fencing writes.
  std::optional<Revision> leadership_revision() const;
  // A snapshot for /readyz, /status and metrics; the role accounts for the deadline as
  // is_leader() does. Thread-safe.
  LeaderState state() const;

  const LeaderElectionConfig& config() const { return config_; }

 private:
  boost::asio::awaitable<void> renew();
  boost::asio::awaitable<void> campaign();
  // Both expect mu_ NOT held; they update state and run callbacks.
  void become_leader(Revision revision, TimePoint renewed_at, const std::string& observed_value);
  void step_down(const std::string& why, Role next);
  void observe(Role role, const std::string& identity, Revision revision);
  void set_error(const EtcdError& e);
  bool deadline_passed(TimePoint now) const;  // with mu_ held

  Etcd& etcd_;
  const Clock& clock_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;

  mutable std::mutex mu_;
  LeaderState state_;
  bool stop_ = false;
  std::optional<boost::asio::any_io_executor> run_executor_;
  std::function<void()> wake_;  // cancels run()'s sleep, set while run() sleeps
};

}  // namespace autoplacer::etcd
