#pragma once
// A MachinesApi that refuses every write while this replica may not act.
//
// Why: the reconciler asks the LeaderGate before a pass and again before applying, but a pass
// applies several actions over seconds (a create waits for `started`), and a leader can lose its
// lease in between: etcd unreachable past the renew deadline, or the process frozen (SIGSTOP)
// and resumed after another replica took over. Asking the gate right before every write closes
// that window down to the instant between the check and the send; what is left there is fenced
// by the machine leases and operation ids (docs/ha.md). Reads always pass: a follower may look.
//
// A refused write fails as kCancelled ("not the leader: ..."), with outcome_unknown false since
// nothing was sent, so the executor records it as not done and the next leader re-plans.
#include <functional>
#include <memory>

#include "controller/leader_gate.h"
#include "fly/machines_api.h"

namespace autoplacer::controller {

class GatedMachinesApi final : public fly::MachinesApi {
 public:
  // `on_refused` (optional) is called for every write refused, e.g. to count it.
  GatedMachinesApi(std::shared_ptr<fly::MachinesApi> inner, const LeaderGate& gate,
                   std::function<void(const char* operation)> on_refused = {});

  const std::string& app() const override { return inner_->app(); }

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
  // Always passes: giving a lease back only helps whoever leads now.
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
  // The error for a refused write, or nullopt when the gate lets it through.
  std::optional<fly::FlyError> refuse(const char* operation) const;

  std::shared_ptr<fly::MachinesApi> inner_;
  const LeaderGate& gate_;
  std::function<void(const char*)> on_refused_;
};

}  // namespace autoplacer::controller
