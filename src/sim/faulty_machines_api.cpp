#include "sim/faulty_machines_api.h"

#include <boost/json/serialize.hpp>

#include "net/http_types.h"

namespace autoplacer::sim {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

fly::FlyError FaultyMachinesApi::error_for(FaultKind kind, int status, bool write) {
  fly::FlyError e;
  switch (kind) {
    case FaultKind::kTimeout:
      e.kind = fly::FlyError::Kind::kTimeout;
      e.message = "no answer in time (simulated)";
      e.outcome_unknown = write;
      return e;
    case FaultKind::kDrop:
      e.kind = fly::FlyError::Kind::kTransport;
      e.message = "connection closed without an answer (simulated)";
      e.outcome_unknown = write;
      return e;
    case FaultKind::kInsufficientCapacity:
      status = 412;
      break;
    default:
      break;
  }
  // An answer, mapped exactly as MachinesClient maps flysim's.
  net::Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  if (status == 429) res.set(http::field::retry_after, "1");
  const bool capacity = kind == FaultKind::kInsufficientCapacity;
  res.body() = json::serialize(json::object{
      {"error", capacity ? "insufficient resources available to fulfill request (simulated)"
                         : "simulated server error"},
      {"status", capacity ? "insufficient_capacity" : "unknown"}});
  res.prepare_payload();
  e = fly::from_response(res);
  if (write && status >= 500) e.outcome_unknown = true;
  return e;
}

FaultyMachinesApi::FaultyMachinesApi(fly::MachinesApi& inner, FaultInjector& faults,
                                     const Clock& clock, FaultyHooks hooks)
    : inner_(inner), faults_(faults), clock_(clock), hooks_(std::move(hooks)) {}

void FaultyMachinesApi::fail_call(std::uint64_t k, fly::FlyError error, bool after_apply) {
  fail_at_ = k == 0 ? 0 : calls_ + k;
  fail_error_ = std::move(error);
  fail_after_apply_ = after_apply;
}

FaultyMachinesApi::Plan FaultyMachinesApi::begin(std::string_view operation, const std::string& id,
                                                 bool write) {
  Plan p;
  p.call.number = ++calls_;
  p.call.operation = std::string(operation);
  p.call.machine_id = id;
  p.call.write = write;
  if (fail_at_ != 0 && p.call.number == fail_at_) {
    fly::FlyError e = fail_error_;
    if (write && (e.kind == fly::FlyError::Kind::kTimeout ||
                  e.kind == fly::FlyError::Kind::kTransport || e.http_status >= 500))
      e.outcome_unknown = true;
    (fail_after_apply_ ? p.after : p.before) = std::move(e);
    p.call.fault = FaultKind::kError;
    ++injected_;
    return p;
  }
  if (!enabled_) return p;
  // The injector always counts the call, so the same seed gives the same faults.
  std::optional<FaultRule> rule = faults_.decide(operation, clock_.now());
  if (!rule) return p;
  p.call.fault = rule->kind;
  ++injected_;
  switch (rule->kind) {
    case FaultKind::kSlow:
      if (hooks_.delay) hooks_.delay(rule->delay);
      break;
    case FaultKind::kForeignLease:
      if (hooks_.foreign_lease && !id.empty()) hooks_.foreign_lease(id, rule->delay);
      break;
    case FaultKind::kTimeout:
      if (hooks_.delay) hooks_.delay(rule->delay);
      [[fallthrough]];
    default: {
      fly::FlyError e = error_for(rule->kind, rule->status, write);
      // insufficient_capacity is a refusal: never after the fact.
      if (rule->after_apply && rule->kind != FaultKind::kInsufficientCapacity) {
        e.outcome_unknown = write;
        p.after = std::move(e);
      } else {
        p.before = std::move(e);
      }
      break;
    }
  }
  return p;
}

template <class T, class F>
asio::awaitable<fly::FlyResult<T>> FaultyMachinesApi::run(std::string operation, std::string id,
                                                          bool write, F inner) {
  // Parameters by value and no co_await inside a conditional expression: g++ 12 mishandles
  // temporaries there (the controller's code avoids the same pattern).
  Plan p = begin(operation, id, write);
  if (hooks_.before) hooks_.before(p.call);
  std::optional<fly::FlyResult<T>> result;
  if (p.before) {
    result.emplace(make_err(*p.before));
  } else {
    fly::FlyResult<T> answer = co_await inner();
    result.emplace(std::move(answer));
  }
  p.call.applied = !p.before;
  if (p.after && *result) result.emplace(make_err(*p.after));
  p.call.failed = !*result;
  if (hooks_.after) hooks_.after(p.call);
  co_return std::move(*result);
}

asio::awaitable<fly::FlyResult<std::vector<fly::Machine>>> FaultyMachinesApi::list_machines(
    fly::ListOptions options) {
  co_return co_await run<std::vector<fly::Machine>>("list", "", false,
                                                    [&] { return inner_.list_machines(options); });
}

asio::awaitable<fly::FlyResult<fly::Machine>> FaultyMachinesApi::get_machine(std::string id,
                                                                             bool include_leases) {
  co_return co_await run<fly::Machine>("get", id, false,
                                       [&] { return inner_.get_machine(id, include_leases); });
}

asio::awaitable<fly::FlyResult<fly::Machine>> FaultyMachinesApi::create_machine(
    fly::CreateMachineRequest request) {
  co_return co_await run<fly::Machine>("create", "", true,
                                       [&] { return inner_.create_machine(request); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::start_machine(std::string id,
                                                                       std::string nonce) {
  co_return co_await run<Unit>("start", id, true, [&] { return inner_.start_machine(id, nonce); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::stop_machine(std::string id,
                                                                      fly::StopOptions options,
                                                                      std::string nonce) {
  co_return co_await run<Unit>("stop", id, true,
                               [&] { return inner_.stop_machine(id, options, nonce); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::suspend_machine(std::string id,
                                                                         std::string nonce) {
  co_return co_await run<Unit>("suspend", id, true,
                               [&] { return inner_.suspend_machine(id, nonce); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::cordon_machine(std::string id,
                                                                        std::string nonce) {
  co_return co_await run<Unit>("cordon", id, true,
                               [&] { return inner_.cordon_machine(id, nonce); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::uncordon_machine(std::string id,
                                                                          std::string nonce) {
  co_return co_await run<Unit>("uncordon", id, true,
                               [&] { return inner_.uncordon_machine(id, nonce); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::delete_machine(std::string id, bool force,
                                                                        std::string nonce) {
  co_return co_await run<Unit>("delete", id, true,
                               [&] { return inner_.delete_machine(id, force, nonce); });
}

asio::awaitable<fly::FlyResult<fly::WaitResult>> FaultyMachinesApi::wait_machine(
    std::string id, std::string state, std::chrono::seconds timeout, std::string version) {
  co_return co_await run<fly::WaitResult>(
      "wait", id, false, [&] { return inner_.wait_machine(id, state, timeout, version); });
}

asio::awaitable<fly::FlyResult<fly::LeaseInfo>> FaultyMachinesApi::acquire_lease(
    std::string id, std::chrono::seconds ttl, std::string description) {
  co_return co_await run<fly::LeaseInfo>(
      "lease_acquire", id, true, [&] { return inner_.acquire_lease(id, ttl, description); });
}

asio::awaitable<fly::FlyResult<fly::LeaseInfo>> FaultyMachinesApi::refresh_lease(
    std::string id, std::string nonce, std::chrono::seconds ttl) {
  // flysim names a refresh "lease_acquire" too (the same POST /lease).
  co_return co_await run<fly::LeaseInfo>("lease_acquire", id, true,
                                         [&] { return inner_.refresh_lease(id, nonce, ttl); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::release_lease(std::string id,
                                                                       std::string nonce) {
  co_return co_await run<Unit>("lease_release", id, true,
                               [&] { return inner_.release_lease(id, nonce); });
}

asio::awaitable<fly::FlyResult<std::map<std::string, std::string>>> FaultyMachinesApi::get_metadata(
    std::string id) {
  co_return co_await run<std::map<std::string, std::string>>(
      "metadata_get", id, false, [&] { return inner_.get_metadata(id); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::set_metadata(std::string id,
                                                                      std::string key,
                                                                      std::string value,
                                                                      std::string nonce) {
  co_return co_await run<Unit>("metadata_set", id, true,
                               [&] { return inner_.set_metadata(id, key, value, nonce); });
}

asio::awaitable<fly::FlyResult<Unit>> FaultyMachinesApi::delete_metadata(std::string id,
                                                                         std::string key,
                                                                         std::string nonce) {
  co_return co_await run<Unit>("metadata_delete", id, true,
                               [&] { return inner_.delete_metadata(id, key, nonce); });
}

asio::awaitable<fly::FlyResult<std::vector<Region>>> FaultyMachinesApi::list_regions() {
  co_return co_await run<std::vector<Region>>("regions", "", false,
                                              [&] { return inner_.list_regions(); });
}

}  // namespace autoplacer::sim
