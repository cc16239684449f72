#pragma once
// An in-memory MachinesApi for controller tests: deterministic ids, instant state changes, leases
// with nonces (409 without the right one), metadata, region capacity, and scripted failures.
// No sockets, no timers; every call completes at once. Single-threaded (like a test body).
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "fly/machines_api.h"

namespace autoplacer::fly {

class FakeMachinesApi final : public MachinesApi {
 public:
  // clock (optional) stamps created_at and expires leases; without it leases never expire.
  explicit FakeMachinesApi(std::string app = "test-app", const Clock* clock = nullptr);

  // ---- seeding and inspection ----
  // Adds a machine as is (an empty id gets the next generated one). Returns its id.
  std::string add_machine(Machine m);
  // A ready-to-clone machine: started, host_status ok, image_ref and config with the group.
  static Machine make_machine(std::string id, std::string region, std::string state = "started",
                              std::string process_group = "app");
  const Machine* find(std::string_view id) const;
  Machine* find_mutable(std::string_view id);
  std::vector<Machine> machines() const;  // in creation order, destroyed ones excluded
  void set_regions(std::vector<Region> regions) { regions_ = std::move(regions); }
  // Creates in this region fail with insufficient_capacity while false.
  void set_capacity(const std::string& region, bool available);
  // Another party's lease on a machine (the controller must then leave it alone).
  void set_foreign_lease(const std::string& id, std::string owner, std::int64_t expires_at = 0);

  // ---- scripted failures ----
  // The next `times` calls of `operation` fail with `error`. apply_anyway: the call takes
  // effect first and then reports the error (a write whose answer was lost: outcome unknown).
  // operations: list get create start stop suspend cordon uncordon delete wait lease_acquire
  // lease_refresh lease_release metadata_get metadata_set metadata_delete regions.
  void fail_next(const std::string& operation, FlyError error, int times = 1,
                 bool apply_anyway = false);
  static FlyError http_error(int status, std::string fly_status = {}, std::string message = {});

  // ---- call log ----
  struct CallRecord {
    std::string operation;
    std::string machine_id;  // or region for create, "" for app-level calls
    std::string nonce;
  };
  const std::vector<CallRecord>& calls() const { return calls_; }
  std::size_t count(std::string_view operation) const;
  void clear_calls() { calls_.clear(); }

  // ---- MachinesApi ----
  const std::string& app() const override { return app_; }
  boost::asio::awaitable<FlyResult<std::vector<Machine>>> list_machines(
      ListOptions options) override;
  boost::asio::awaitable<FlyResult<Machine>> get_machine(std::string id,
                                                         bool include_leases) override;
  boost::asio::awaitable<FlyResult<Machine>> create_machine(CreateMachineRequest request) override;
  boost::asio::awaitable<FlyResult<Unit>> start_machine(std::string id, std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> stop_machine(std::string id, StopOptions options,
                                                       std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> suspend_machine(std::string id,
                                                          std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> cordon_machine(std::string id,
                                                         std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> uncordon_machine(std::string id,
                                                           std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> delete_machine(std::string id, bool force,
                                                         std::string nonce) override;
  boost::asio::awaitable<FlyResult<WaitResult>> wait_machine(std::string id, std::string state,
                                                             std::chrono::seconds timeout,
                                                             std::string version) override;
  boost::asio::awaitable<FlyResult<LeaseInfo>> acquire_lease(std::string id,
                                                             std::chrono::seconds ttl,
                                                             std::string description) override;
  boost::asio::awaitable<FlyResult<LeaseInfo>> refresh_lease(std::string id, std::string nonce,
                                                             std::chrono::seconds ttl) override;
  boost::asio::awaitable<FlyResult<Unit>> release_lease(std::string id, std::string nonce) override;
  boost::asio::awaitable<FlyResult<std::map<std::string, std::string>>> get_metadata(
      std::string id) override;
  boost::asio::awaitable<FlyResult<Unit>> set_metadata(std::string id, std::string key,
                                                       std::string value,
                                                       std::string nonce) override;
  boost::asio::awaitable<FlyResult<Unit>> delete_metadata(std::string id, std::string key,
                                                          std::string nonce) override;
  boost::asio::awaitable<FlyResult<std::vector<Region>>> list_regions() override;

 private:
  struct Scripted {
    FlyError error;
    bool apply_anyway = false;
  };
  // Records the call and pops a scripted failure for it, if any.
  std::optional<Scripted> begin(const std::string& operation, const std::string& id,
                                const std::string& nonce);
  // The machine, or 404.
  FlyResult<Machine*> lookup(const std::string& id);
  // 409 if a live lease is held and `nonce` does not match it.
  std::optional<FlyError> check_lease(const Machine& m, const std::string& nonce) const;
  bool lease_live(const LeaseInfo& l) const;
  FlyResult<Unit> transition(const std::string& op, const std::string& id, const std::string& nonce,
                             const std::string& to_state);
  Machine view(const Machine& m, bool with_lease, bool summary) const;
  std::string stamp() const;

  std::string app_;
  const Clock* clock_;
  std::vector<std::string> order_;  // creation order
  std::map<std::string, Machine> machines_;
  std::map<std::string, LeaseInfo> leases_;  // machine id -> lease (nonce set)
  std::vector<Region> regions_;
  std::set<std::string> no_capacity_;
  std::map<std::string, std::deque<Scripted>> scripted_;
  std::vector<CallRecord> calls_;
  std::uint64_t next_id_ = 1;
  std::uint64_t next_nonce_ = 1;
  std::uint64_t next_version_ = 1;
};

}  // namespace autoplacer::fly
