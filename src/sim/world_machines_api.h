#pragma once
// The Machines API served straight from a FlyWorld, in process: no sockets, no threads, no real
// time. For tests that run the controller thousands of times (fault schedules over hundreds of
// seeds, failure at every call): each call advances the world to the clock's now, runs the same
// FlyWorld operation flysim's HTTP layer runs, and turns the answer into what MachinesClient
// would return, through the same parsers (fly/models.h) and error mapping (fly/errors.h). So the
// controller sees flysim's behaviour, minus the transport (and minus the client's retries: every
// failure reaches the caller, which is the harsher case).
//
//   sim::FlyWorld world(options);
//   sim::WorldMachinesApi api(world, clock, "demo-app");
//   PolicyReconciler rec(policy, std::shared_ptr<fly::MachinesApi>(&api, [](auto*) {}), env);
//
// /wait cannot block: a state not reached yet answers 408 at once (kWaitTimeout), after moving
// the ManualClock on by the wait's timeout when one is given (the time a real server would hold
// the request), so wait_for_state() still ends.
#include <string>

#include "common/clock.h"
#include "fly/machines_api.h"
#include "sim/fly_world.h"

namespace autoplacer::sim {

class WorldMachinesApi final : public fly::MachinesApi {
 public:
  // manual: the same clock when it is a ManualClock (lets /wait pass time); may be null.
  WorldMachinesApi(FlyWorld& world, const Clock& clock, std::string app,
                   ManualClock* manual = nullptr);

  const std::string& app() const override { return app_; }
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
  TimePoint sync();  // advances the world to the clock's now and returns it

  FlyWorld& world_;
  const Clock& clock_;
  std::string app_;
  ManualClock* manual_;
};

}  // namespace autoplacer::sim
