#include "sim/world_machines_api.h"

#include <boost/json/serialize.hpp>

#include "net/http_types.h"

namespace autoplacer::sim {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// What MachinesClient makes of an error answer: the same status, body and mapping, and a 5xx on
// a write is an unknown outcome (the server may have acted before failing).
fly::FlyError to_fly_error(const ApiError& e, bool is_write, TimePoint now) {
  net::Response res{static_cast<http::status>(e.status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = json::serialize(json::object{{"error", e.message}, {"status", e.fly_status}});
  res.prepare_payload();
  fly::FlyError out = fly::from_response(res, now);
  if (is_write && e.status >= 500) out.outcome_unknown = true;
  return out;
}

// A 2xx body the parsers refused (cannot happen with FlyWorld's answers unless they drift from
// the Machines API shapes; then the controller must see an error, as with a real server).
fly::FlyError bad_body(const std::string& why, bool is_write) {
  fly::FlyError e;
  e.kind = fly::FlyError::Kind::kBadResponse;
  e.http_status = 200;
  e.message = why;
  e.outcome_unknown = is_write;
  return e;
}

template <class T>
fly::FlyResult<T> parsed(fly::ParseResult<T> r, bool is_write) {
  if (!r) return make_err(bad_body(r.error(), is_write));
  return std::move(r).value();
}

fly::FlyResult<Unit> unit_or_error(const WorldResult<json::value>& r, bool is_write,
                                   TimePoint now) {
  if (!r) return make_err(to_fly_error(r.error(), is_write, now));
  return Unit{};
}

}  // namespace

WorldMachinesApi::WorldMachinesApi(FlyWorld& world, const Clock& clock, std::string app,
                                   ManualClock* manual)
    : world_(world), clock_(clock), app_(std::move(app)), manual_(manual) {}

TimePoint WorldMachinesApi::sync() {
  const TimePoint now = clock_.now();
  world_.advance(now);
  return now;
}

asio::awaitable<fly::FlyResult<std::vector<fly::Machine>>> WorldMachinesApi::list_machines(
    fly::ListOptions options) {
  const TimePoint now = sync();
  ListQuery q;
  q.region = options.region;
  q.states = options.states;
  q.metadata = options.metadata;
  q.summary = options.summary;
  q.include_leases = options.include_leases;
  q.limit = 1000;
  std::vector<fly::Machine> out;
  for (;;) {
    auto page = world_.list(app_, q, now);
    if (!page) co_return make_err(to_fly_error(page.error(), false, now));
    auto machines = fly::machines_from_json(json::serialize(page->machines));
    if (!machines) co_return make_err(bad_body(machines.error(), false));
    for (auto& m : machines.value()) out.push_back(std::move(m));
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  co_return out;
}

asio::awaitable<fly::FlyResult<fly::Machine>> WorldMachinesApi::get_machine(std::string id,
                                                                            bool include_leases) {
  const TimePoint now = sync();
  auto r = world_.get(app_, id, include_leases, now);
  if (!r) co_return make_err(to_fly_error(r.error(), false, now));
  co_return parsed(fly::machine_from_body(json::serialize(*r)), false);
}

asio::awaitable<fly::FlyResult<fly::Machine>> WorldMachinesApi::create_machine(
    fly::CreateMachineRequest request) {
  const TimePoint now = sync();
  // Through the wire form, as the client sends it.
  const json::value body = json::value(fly::to_json(request));
  auto r = world_.create(app_, body, now);
  if (!r) co_return make_err(to_fly_error(r.error(), true, now));
  co_return parsed(fly::machine_from_body(json::serialize(*r)), true);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::start_machine(std::string id,
                                                                      std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.start(app_, id, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::stop_machine(std::string id,
                                                                     fly::StopOptions options,
                                                                     std::string nonce) {
  const TimePoint now = sync();
  json::object body;
  if (!options.signal.empty()) body["signal"] = options.signal;
  if (options.timeout) body["timeout"] = std::to_string(options.timeout->count()) + "s";
  const json::value b = body.empty() ? json::value(nullptr) : json::value(std::move(body));
  co_return unit_or_error(world_.stop(app_, id, b, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::suspend_machine(std::string id,
                                                                        std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.suspend(app_, id, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::cordon_machine(std::string id,
                                                                       std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.cordon(app_, id, true, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::uncordon_machine(std::string id,
                                                                         std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.cordon(app_, id, false, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::delete_machine(std::string id, bool force,
                                                                       std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.destroy(app_, id, force, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<fly::WaitResult>> WorldMachinesApi::wait_machine(
    std::string id, std::string state, std::chrono::seconds timeout, std::string version) {
  TimePoint now = sync();
  std::vector<std::string> states{state.empty() ? std::string("started") : state};
  auto r = world_.wait_check(app_, id, states, version, now);
  if (r && !r->has_value() && manual_ != nullptr) {
    // A real server holds the request until the state or the timeout; here time jumps instead.
    manual_->advance(std::clamp(timeout, std::chrono::seconds{1}, std::chrono::seconds{60}));
    now = sync();
    r = world_.wait_check(app_, id, states, version, now);
  }
  if (!r) co_return make_err(to_fly_error(r.error(), false, now));
  if (!r->has_value()) {
    co_return make_err(
        to_fly_error(ApiError{408, "timed out waiting for state", "unknown"}, false, now));
  }
  co_return parsed(fly::wait_from_body(json::serialize(**r)), false);
}

asio::awaitable<fly::FlyResult<fly::LeaseInfo>> WorldMachinesApi::acquire_lease(
    std::string id, std::chrono::seconds ttl, std::string description) {
  const TimePoint now = sync();
  json::object body{{"ttl", ttl.count()}};
  if (!description.empty()) body["description"] = description;
  auto r = world_.lease_acquire(app_, id, json::value(std::move(body)), "", now);
  if (!r) co_return make_err(to_fly_error(r.error(), true, now));
  co_return parsed(fly::lease_from_body(json::serialize(*r)), true);
}

asio::awaitable<fly::FlyResult<fly::LeaseInfo>> WorldMachinesApi::refresh_lease(
    std::string id, std::string nonce, std::chrono::seconds ttl) {
  const TimePoint now = sync();
  auto r =
      world_.lease_acquire(app_, id, json::value(json::object{{"ttl", ttl.count()}}), nonce, now);
  if (!r) co_return make_err(to_fly_error(r.error(), true, now));
  co_return parsed(fly::lease_from_body(json::serialize(*r)), true);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::release_lease(std::string id,
                                                                      std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.lease_release(app_, id, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<std::map<std::string, std::string>>> WorldMachinesApi::get_metadata(
    std::string id) {
  const TimePoint now = sync();
  auto r = world_.metadata_get(app_, id);
  if (!r) co_return make_err(to_fly_error(r.error(), false, now));
  co_return parsed(fly::metadata_from_body(json::serialize(*r)), false);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::set_metadata(std::string id,
                                                                     std::string key,
                                                                     std::string value,
                                                                     std::string nonce) {
  const TimePoint now = sync();
  auto r = world_.metadata_set_key(app_, id, key, json::value(json::object{{"value", value}}),
                                   nonce, now);
  co_return unit_or_error(r, true, now);
}

asio::awaitable<fly::FlyResult<Unit>> WorldMachinesApi::delete_metadata(std::string id,
                                                                        std::string key,
                                                                        std::string nonce) {
  const TimePoint now = sync();
  co_return unit_or_error(world_.metadata_delete_key(app_, id, key, nonce, now), true, now);
}

asio::awaitable<fly::FlyResult<std::vector<Region>>> WorldMachinesApi::list_regions() {
  (void)sync();
  co_return parsed(fly::regions_from_body(json::serialize(world_.regions_json())), false);
}

}  // namespace autoplacer::sim
