#pragma once
// A MachinesApi decorator that injects faults into another MachinesApi, in process, for fault
// schedules and "failure at every call" tests of the controller. Two ways to fail a call:
//
//  - seeded random rules (sim/faults.h FaultInjector, the same rules and draws as flysim's
//    --fault): 5xx/429 answers, time-outs, dropped connections, slow answers,
//    insufficient_capacity, a lease taken by someone else; `after_apply` rules let the call take
//    effect and then lose the answer (the write whose outcome the caller cannot know);
//  - fail_call(k): the k-th call (1-based, every operation counted) fails, once, like the
//    fail_count of Beast's test suite: run a scenario with k = 1, 2, ... until a run makes fewer
//    than k calls, and every call site has seen its failure.
//
// A fault becomes the FlyError MachinesClient would give for it: 5xx on a write and a lost
// answer (drop, time-out) are outcome_unknown, 429 carries Retry-After. Time does not pass by
// itself: slow answers and time-outs call the `delay` hook (a test moves its ManualClock), a
// foreign lease calls `foreign_lease` (the test puts the lease on the machine in its world).
//
// Hooks also see every call before and after it runs, for invariant checks at every step.
// Single-threaded, like the controller's event loop.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "fly/machines_api.h"
#include "sim/faults.h"

namespace autoplacer::sim {

struct FaultyCall {
  std::uint64_t number = 0;        // 1-based, across every operation
  std::string operation;           // flysim's names: list get create start stop ... lease_acquire
  std::string machine_id;          // "" for app-level calls (list, create, regions)
  bool write = false;              // changes state (create, start, ..., lease, metadata writes)
  std::optional<FaultKind> fault;  // injected into this call, if any
  bool applied = false;            // after the call: it reached the inner API
  bool failed = false;             // after the call: the caller got an error
};

struct FaultyHooks {
  std::function<void(const FaultyCall&)> before;  // before the inner call (or the fault)
  std::function<void(const FaultyCall&)> after;   // after it, with applied/failed set
  std::function<void(Duration)> delay;            // slow answer / time-out: let time pass
  std::function<void(const std::string& machine_id, Duration ttl)> foreign_lease;
};

class FaultyMachinesApi final : public fly::MachinesApi {
 public:
  // `faults` may have no rules (then only fail_call fires). Both references must outlive this.
  FaultyMachinesApi(fly::MachinesApi& inner, FaultInjector& faults, const Clock& clock,
                    FaultyHooks hooks = {});

  // The k-th call from now on (counting from the calls already made) fails with `error`
  // (after_apply: it takes effect first). k = 0 disarms.
  void fail_call(std::uint64_t k, fly::FlyError error, bool after_apply = false);
  // Random rules on or off (fail_call stays armed).
  void set_enabled(bool enabled) { enabled_ = enabled; }
  std::uint64_t calls() const { return calls_; }
  std::uint64_t faults_injected() const { return injected_; }

  // The FlyError a client gets for a fault of this kind (status: for kError).
  static fly::FlyError error_for(FaultKind kind, int status, bool write);

  const std::string& app() const override { return inner_.app(); }
  boost::asio::awaitable<fly::FlyResult<std::vector<fly::Machine>>> list_machines(
      fly::ListOptions options) override;
  boost::asio::awaitable<fly::FlyResult<fly::Machine>> get_machine(std::string id,
                                                                   bool include_leases) override;
  boost::asio::awaitable<fly::FlyResult<fly::Machine>> create_machine(
      fly::CreateMachineRequest request) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> start_machine(std::string id,
                                                             std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> stop_machine(std::string id,
                                                            fly::StopOptions options,
                                                            std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> suspend_machine(std::string id,
                                                               std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> cordon_machine(std::string id,
                                                              std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> uncordon_machine(std::string id,
                                                                std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> delete_machine(std::string id, bool force,
                                                              std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<fly::WaitResult>> wait_machine(
      std::string id, std::string state, std::chrono::seconds timeout,
      std::string version) override;
  boost::asio::awaitable<fly::FlyResult<fly::LeaseInfo>> acquire_lease(
      std::string id, std::chrono::seconds ttl, std::string description) override;
  boost::asio::awaitable<fly::FlyResult<fly::LeaseInfo>> refresh_lease(
      std::string id, std::string nonce, std::chrono::seconds ttl) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> release_lease(std::string id,
                                                             std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<std::map<std::string, std::string>>> get_metadata(
      std::string id) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> set_metadata(std::string id, std::string key,
                                                            std::string value,
                                                            std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<Unit>> delete_metadata(std::string id, std::string key,
                                                               std::string nonce) override;
  boost::asio::awaitable<fly::FlyResult<std::vector<Region>>> list_regions() override;

 private:
  // What to do with one call, decided before it runs.
  struct Plan {
    FaultyCall call;
    std::optional<fly::FlyError> before;  // fail without calling the inner API
    std::optional<fly::FlyError> after;   // call it, then fail (the answer is lost)
  };
  Plan begin(std::string_view operation, const std::string& id, bool write);
  // Runs `inner` (a coroutine factory) under the plan.
  template <class T, class F>
  boost::asio::awaitable<fly::FlyResult<T>> run(std::string operation, std::string id, bool write,
                                                F inner);

  fly::MachinesApi& inner_;
  FaultInjector& faults_;
  const Clock& clock_;
  FaultyHooks hooks_;
  bool enabled_ = true;
  std::uint64_t calls_ = 0;
  std::uint64_t injected_ = 0;
  std::uint64_t fail_at_ = 0;  // absolute call number, 0 = none
  fly::FlyError fail_error_;
  bool fail_after_apply_ = false;
};

}  // namespace autoplacer::sim
