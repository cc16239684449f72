#include "controller/ha_gated_machines_api.h"

#include <spdlog/spdlog.h>

namespace autoplacer::controller {
namespace asio = boost::asio;
using fly::FlyResult;

GatedMachinesApi::GatedMachinesApi(std::shared_ptr<fly::MachinesApi> inner, const LeaderGate& gate,
                                   std::function<void(const char*)> on_refused)
    : inner_(std::move(inner)), gate_(gate), on_refused_(std::move(on_refused)) {}

std::optional<fly::FlyError> GatedMachinesApi::refuse(const char* operation) const {
  if (gate_.may_act()) return std::nullopt;
  fly::FlyError e;
  e.kind = fly::FlyError::Kind::kCancelled;
  e.message = std::string(operation) + " not sent: not the leader (" + gate_.why_not() + ")";
  e.outcome_unknown = false;
  spdlog::warn("{}", e.message);
  if (on_refused_) on_refused_(operation);
  return e;
}

// Each write: ask the gate, then forward. Arguments go through locals, as elsewhere: g++ 12
// mishandles temporaries inside co_await expressions.
#define AP_GATED(operation, call)                                                \
  if (auto refused = refuse(operation)) co_return make_err(std::move(*refused)); \
  co_return co_await inner_->call;

asio::awaitable<FlyResult<std::vector<fly::Machine>>> GatedMachinesApi::list_machines(
    fly::ListOptions options) {
  co_return co_await inner_->list_machines(std::move(options));
}

asio::awaitable<FlyResult<fly::Machine>> GatedMachinesApi::get_machine(std::string id,
                                                                       bool include_leases) {
  co_return co_await inner_->get_machine(std::move(id), include_leases);
}

asio::awaitable<FlyResult<fly::Machine>> GatedMachinesApi::create_machine(
    fly::CreateMachineRequest request){AP_GATED("create", create_machine(std::move(request)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::start_machine(std::string id, std::string nonce){
    AP_GATED("start", start_machine(std::move(id), std::move(nonce)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::stop_machine(std::string id,
                                                                fly::StopOptions options,
                                                                std::string nonce){
    AP_GATED("stop", stop_machine(std::move(id), std::move(options), std::move(nonce)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::suspend_machine(std::string id,
                                                                   std::string nonce){
    AP_GATED("suspend", suspend_machine(std::move(id), std::move(nonce)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::cordon_machine(std::string id,
                                                                  std::string nonce){
    AP_GATED("cordon", cordon_machine(std::move(id), std::move(nonce)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::uncordon_machine(std::string id,
                                                                    std::string nonce){
    AP_GATED("uncordon", uncordon_machine(std::move(id), std::move(nonce)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::delete_machine(std::string id, bool force,
                                                                  std::string nonce){
    AP_GATED("destroy", delete_machine(std::move(id), force, std::move(nonce)))}

asio::awaitable<FlyResult<fly::WaitResult>> GatedMachinesApi::wait_machine(
    std::string id, std::string state, std::chrono::seconds timeout, std::string version) {
  co_return co_await inner_->wait_machine(std::move(id), std::move(state), timeout,
                                          std::move(version));
}

asio::awaitable<FlyResult<fly::LeaseInfo>> GatedMachinesApi::acquire_lease(std::string id,
                                                                           std::chrono::seconds ttl,
                                                                           std::string description){
    AP_GATED("acquire_lease", acquire_lease(std::move(id), ttl, std::move(description)))}

asio::awaitable<FlyResult<fly::LeaseInfo>> GatedMachinesApi::refresh_lease(
    std::string id, std::string nonce, std::chrono::seconds ttl){
    AP_GATED("refresh_lease", refresh_lease(std::move(id), std::move(nonce), ttl))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::release_lease(std::string id,
                                                                 std::string nonce) {
  co_return co_await inner_->release_lease(std::move(id), std::move(nonce));
}

asio::awaitable<FlyResult<std::map<std::string, std::string>>> GatedMachinesApi::get_metadata(
    std::string id) {
  co_return co_await inner_->get_metadata(std::move(id));
}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::set_metadata(std::string id, std::string key,
                                                                std::string value,
                                                                std::string nonce){
    AP_GATED("set_metadata",
             set_metadata(std::move(id), std::move(key), std::move(value), std::move(nonce)))}

asio::awaitable<FlyResult<Unit>> GatedMachinesApi::delete_metadata(std::string id, std::string key,
                                                                   std::string nonce){
    AP_GATED("delete_metadata", delete_metadata(std::move(id), std::move(key), std::move(nonce)))}

asio::awaitable<FlyResult<std::vector<Region>>> GatedMachinesApi::list_regions() {
  co_return co_await inner_->list_regions();
}

#undef AP_GATED

}  // namespace autoplacer::controller
