#include "fly/fake_machines_api.h"

#include <algorithm>
#include <cstdio>

namespace autoplacer::fly {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

FlyError make_error(FlyError::Kind kind, int status, std::string message,
                    std::string fly_status = {}) {
  FlyError e;
  e.kind = kind;
  e.http_status = status;
  e.message = std::move(message);
  e.fly_status = std::move(fly_status);
  return e;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto comma = s.find(',', start);
    std::string part =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(std::move(part));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool persistent_state(const std::string& s) {
  return s == "created" || s == "started" || s == "stopped" || s == "suspended" || s == "failed" ||
         s == "destroyed";
}

}  // namespace

FakeMachinesApi::FakeMachinesApi(std::string app, const Clock* clock)
    : app_(std::move(app)), clock_(clock), regions_(RegionCatalog::builtin().regions()) {
  std::erase_if(regions_, [](const Region& r) { return !r.hostable; });
}

Machine FakeMachinesApi::make_machine(std::string id, std::string region, std::string state,
                                      std::string process_group) {
  Machine m;
  m.id = std::move(id);
  m.name = "machine-" + m.id;
  m.region = std::move(region);
  m.state = std::move(state);
  m.host_status = "ok";
  m.image_ref = ImageRef{"registry.fly.io", "test-app", "deployment-1", "sha256:0123abcd"};
  m.config = json::object{
      {"image", "registry.fly.io/test-app:deployment-1"},
      {"guest", json::object{{"cpu_kind", "shared"}, {"cpus", 1}, {"memory_mb", 256}}},
      {"services", json::array{json::object{{"internal_port", 8080}, {"protocol", "tcp"}}}}};
  m.metadata = {{std::string(kMetaProcessGroup), std::move(process_group)}};
  return m;
}

std::string FakeMachinesApi::stamp() const {
  if (clock_ == nullptr) return "";
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch());
  return std::to_string(secs.count());
}

std::string FakeMachinesApi::add_machine(Machine m) {
  if (m.id.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "fake%010llu", static_cast<unsigned long long>(next_id_++));
    m.id = buf;
  }
  if (m.version.empty()) m.version = "v" + std::to_string(next_version_++);
  if (m.instance_id.empty()) m.instance_id = m.version;
  const std::string id = m.id;
  if (!machines_.count(id)) order_.push_back(id);
  machines_[id] = std::move(m);
  return id;
}

const Machine* FakeMachinesApi::find(std::string_view id) const {
  auto it = machines_.find(std::string(id));
  return it == machines_.end() ? nullptr : &it->second;
}

Machine* FakeMachinesApi::find_mutable(std::string_view id) {
  auto it = machines_.find(std::string(id));
  return it == machines_.end() ? nullptr : &it->second;
}

std::vector<Machine> FakeMachinesApi::machines() const {
  std::vector<Machine> out;
  for (const auto& id : order_) {
    const Machine& m = machines_.at(id);
    if (m.state != "destroyed") out.push_back(view(m, false, false));
  }
  return out;
}

void FakeMachinesApi::set_capacity(const std::string& region, bool available) {
  if (available) {
    no_capacity_.erase(region);
  } else {
    no_capacity_.insert(region);
  }
}

void FakeMachinesApi::set_foreign_lease(const std::string& id, std::string owner,
                                        std::int64_t expires_at) {
  LeaseInfo l;
  l.nonce = "foreign-" + std::to_string(next_nonce_++);
  l.owner = std::move(owner);
  l.expires_at = expires_at;
  l.description = "held by someone else";
  leases_[id] = std::move(l);
}

void FakeMachinesApi::fail_next(const std::string& operation, FlyError error, int times,
                                bool apply_anyway) {
  for (int i = 0; i < times; ++i) scripted_[operation].push_back(Scripted{error, apply_anyway});
}

FlyError FakeMachinesApi::http_error(int status, std::string fly_status, std::string message) {
  net::Response res{static_cast<net::http::status>(status), 11};
  FlyError e = from_response(res);
  e.fly_status = std::move(fly_status);
  if (e.fly_status == "insufficient_capacity") e.kind = FlyError::Kind::kInsufficientCapacity;
  e.message = message.empty() ? "scripted " + std::to_string(status) : std::move(message);
  return e;
}

std::size_t FakeMachinesApi::count(std::string_view operation) const {
  return static_cast<std::size_t>(std::count_if(
      calls_.begin(), calls_.end(), [&](const CallRecord& c) { return c.operation == operation; }));
}

std::optional<FakeMachinesApi::Scripted> FakeMachinesApi::begin(const std::string& operation,
                                                                const std::string& id,
                                                                const std::string& nonce) {
  calls_.push_back(CallRecord{operation, id, nonce});
  auto it = scripted_.find(operation);
  if (it == scripted_.end() || it->second.empty()) return std::nullopt;
  Scripted s = std::move(it->second.front());
  it->second.pop_front();
  return s;
}

FlyResult<Machine*> FakeMachinesApi::lookup(const std::string& id) {
  Machine* m = find_mutable(id);
  if (m == nullptr)
    return make_err(make_error(FlyError::Kind::kNotFound, 404, "machine not found"));
  return m;
}

bool FakeMachinesApi::lease_live(const LeaseInfo& l) const {
  if (clock_ == nullptr || l.expires_at == 0) return true;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  return now < l.expires_at;
}

std::optional<FlyError> FakeMachinesApi::check_lease(const Machine& m,
                                                     const std::string& nonce) const {
  auto it = leases_.find(m.id);
  if (it == leases_.end() || !lease_live(it->second) || it->second.nonce == nonce)
    return std::nullopt;
  return make_error(FlyError::Kind::kConflict, 409,
                    "machine " + m.id + " has a lease held by " + it->second.owner);
}

Machine FakeMachinesApi::view(const Machine& m, bool with_lease, bool summary) const {
  Machine out = m;
  out.lease.reset();
  if (with_lease) {
    if (auto it = leases_.find(m.id); it != leases_.end() && lease_live(it->second)) {
      out.lease = it->second;
      out.lease->nonce.clear();  // StrippedLease
    }
  }
  if (summary) {
    out.config = json::object{};
    out.events.clear();
    out.host_status.clear();
  } else {
    json::object md;
    for (const auto& [k, v] : m.metadata) md[k] = v;
    out.config["metadata"] = std::move(md);
  }
  return out;
}

FlyResult<Unit> FakeMachinesApi::transition(const std::string& op, const std::string& id,
                                            const std::string& nonce, const std::string& to_state) {
  auto scripted = begin(op, id, nonce);
  if (scripted && !scripted->apply_anyway) return make_err(scripted->error);
  auto m = lookup(id);
  if (!m) return make_err(m.error());
  Machine& machine = **m;
  if (machine.state == "destroyed") {
    return make_err(make_error(FlyError::Kind::kNotFound, 404, "machine destroyed"));
  }
  if (auto conflict = check_lease(machine, nonce)) return make_err(*conflict);
  if (op == "cordon") {
    machine.cordoned = true;
  } else if (op == "uncordon") {
    machine.cordoned = false;
  } else {
    machine.state = to_state;
  }
  machine.updated_at = stamp();
  if (scripted) return make_err(scripted->error);
  return Unit{};
}

asio::awaitable<FlyResult<std::vector<Machine>>> FakeMachinesApi::list_machines(
    ListOptions options) {
  if (auto s = begin("list", "", "")) co_return make_err(s->error);
  std::vector<Machine> out;
  for (const auto& id : order_) {
    const Machine& m = machines_.at(id);
    if (options.states.empty()) {
      if (m.state == "destroyed") continue;
    } else if (std::find(options.states.begin(), options.states.end(), m.state) ==
               options.states.end()) {
      continue;
    }
    if (!options.region.empty() && m.region != options.region) continue;
    bool match = true;
    for (const auto& [k, v] : options.metadata) match = match && m.metadata_value(k) == v;
    if (!match) continue;
    out.push_back(view(m, options.include_leases, options.summary));
  }
  co_return out;
}

asio::awaitable<FlyResult<Machine>> FakeMachinesApi::get_machine(std::string id,
                                                                 bool include_leases) {
  if (auto s = begin("get", id, "")) co_return make_err(s->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  co_return view(**m, include_leases, false);
}

asio::awaitable<FlyResult<Machine>> FakeMachinesApi::create_machine(CreateMachineRequest request) {
  auto scripted = begin("create", request.region, "");
  if (scripted && !scripted->apply_anyway) co_return make_err(scripted->error);
  std::string region;
  for (const auto& candidate : split_commas(request.region)) {
    if (!no_capacity_.count(candidate)) {
      region = candidate;
      break;
    }
  }
  if (region.empty()) {
    co_return make_err(make_error(FlyError::Kind::kInsufficientCapacity, 412,
                                  "insufficient resources to create machine in " + request.region,
                                  "insufficient_capacity"));
  }
  if (!request.name.empty()) {
    for (const auto& [id, m] : machines_) {
      if (m.name == request.name && m.state != "destroyed") {
        co_return make_err(make_error(FlyError::Kind::kUnprocessable, 422,
                                      "name " + request.name + " is taken", "name_taken"));
      }
    }
  }
  Machine m;
  m.region = region;
  m.state = request.skip_launch ? "created" : "started";
  m.host_status = "ok";
  m.created_at = stamp();
  m.updated_at = m.created_at;
  m.config = request.config;
  if (const json::value* image = m.config.if_contains("image"); image && image->is_string()) {
    m.image_ref = ImageRef::from_image(image->get_string());
  }
  if (const json::value* md = m.config.if_contains("metadata"); md && md->is_object()) {
    for (const auto& kv : md->get_object()) {
      if (kv.value().is_string()) m.metadata.emplace(kv.key(), kv.value().get_string());
    }
  }
  const std::string id = add_machine(std::move(m));
  Machine& stored = machines_.at(id);
  if (stored.name.empty()) stored.name = request.name.empty() ? "machine-" + id : request.name;
  Machine out = view(stored, false, false);
  if (request.lease_ttl) {
    LeaseInfo l;
    l.nonce = "nonce-" + std::to_string(next_nonce_++);
    l.owner = "autoplacer";
    l.expires_at =
        clock_ ? std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch())
                         .count() +
                     *request.lease_ttl
               : 0;
    leases_[id] = l;
    out.nonce = l.nonce;
  }
  if (scripted) co_return make_err(scripted->error);
  co_return out;
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::start_machine(std::string id, std::string nonce) {
  co_return transition("start", id, nonce, "started");
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::stop_machine(std::string id, StopOptions,
                                                               std::string nonce) {
  co_return transition("stop", id, nonce, "stopped");
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::suspend_machine(std::string id,
                                                                  std::string nonce) {
  co_return transition("suspend", id, nonce, "suspended");
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::cordon_machine(std::string id,
                                                                 std::string nonce) {
  co_return transition("cordon", id, nonce, "");
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::uncordon_machine(std::string id,
                                                                   std::string nonce) {
  co_return transition("uncordon", id, nonce, "");
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::delete_machine(std::string id, bool force,
                                                                 std::string nonce) {
  if (!force) {
    if (const Machine* m = find(id); m != nullptr && m->state == "started") {
      begin("delete", id, nonce);
      co_return make_err(make_error(FlyError::Kind::kPrecondition, 412,
                                    "unable to destroy machine, not currently stopped"));
    }
  }
  auto r = transition("delete", id, nonce, "destroyed");
  if (r.ok() || r.error().kind != FlyError::Kind::kNotFound) leases_.erase(id);
  co_return r;
}

asio::awaitable<FlyResult<WaitResult>> FakeMachinesApi::wait_machine(std::string id,
                                                                     std::string state,
                                                                     std::chrono::seconds,
                                                                     std::string) {
  if (auto s = begin("wait", id, "")) co_return make_err(s->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  const std::string& now = (*m)->state;
  const bool reached = now == state || (state == "settled" && persistent_state(now));
  if (!reached) {
    co_return make_err(make_error(FlyError::Kind::kWaitTimeout, 408,
                                  "machine " + id + " is " + now + ", not " + state));
  }
  co_return WaitResult{true, now, (*m)->version, ""};
}

asio::awaitable<FlyResult<LeaseInfo>> FakeMachinesApi::acquire_lease(std::string id,
                                                                     std::chrono::seconds ttl,
                                                                     std::string description) {
  if (auto s = begin("lease_acquire", id, "")) co_return make_err(s->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  if (auto it = leases_.find(id); it != leases_.end() && lease_live(it->second)) {
    co_return make_err(
        make_error(FlyError::Kind::kConflict, 409, "lease currently held by " + it->second.owner));
  }
  LeaseInfo l;
  l.nonce = "nonce-" + std::to_string(next_nonce_++);
  l.owner = "autoplacer";
  l.description = std::move(description);
  l.version = (*m)->version;
  l.expires_at =
      clock_ ? std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch())
                       .count() +
                   ttl.count()
             : 0;
  leases_[id] = l;
  co_return l;
}

asio::awaitable<FlyResult<LeaseInfo>> FakeMachinesApi::refresh_lease(std::string id,
                                                                     std::string nonce,
                                                                     std::chrono::seconds ttl) {
  if (auto s = begin("lease_refresh", id, nonce)) co_return make_err(s->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  auto it = leases_.find(id);
  if (it == leases_.end() || !lease_live(it->second) || it->second.nonce != nonce) {
    co_return make_err(make_error(FlyError::Kind::kConflict, 409, "lease nonce does not match"));
  }
  if (clock_) {
    it->second.expires_at =
        std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count() +
        ttl.count();
  }
  co_return it->second;
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::release_lease(std::string id, std::string nonce) {
  if (auto s = begin("lease_release", id, nonce)) co_return make_err(s->error);
  auto it = leases_.find(id);
  if (it == leases_.end() || !lease_live(it->second)) co_return Unit{};
  if (it->second.nonce != nonce) {
    co_return make_err(make_error(FlyError::Kind::kConflict, 409, "lease nonce does not match"));
  }
  leases_.erase(it);
  co_return Unit{};
}

asio::awaitable<FlyResult<std::map<std::string, std::string>>> FakeMachinesApi::get_metadata(
    std::string id) {
  if (auto s = begin("metadata_get", id, "")) co_return make_err(s->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  co_return (*m)->metadata;
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::set_metadata(std::string id, std::string key,
                                                               std::string value,
                                                               std::string nonce) {
  auto scripted = begin("metadata_set", id, nonce);
  if (scripted && !scripted->apply_anyway) co_return make_err(scripted->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  if (auto conflict = check_lease(**m, nonce)) co_return make_err(*conflict);
  (*m)->metadata[key] = value;
  if (scripted) co_return make_err(scripted->error);
  co_return Unit{};
}

asio::awaitable<FlyResult<Unit>> FakeMachinesApi::delete_metadata(std::string id, std::string key,
                                                                  std::string nonce) {
  auto scripted = begin("metadata_delete", id, nonce);
  if (scripted && !scripted->apply_anyway) co_return make_err(scripted->error);
  auto m = lookup(id);
  if (!m) co_return make_err(m.error());
  if (auto conflict = check_lease(**m, nonce)) co_return make_err(*conflict);
  (*m)->metadata.erase(key);
  if (scripted) co_return make_err(scripted->error);
  co_return Unit{};
}

asio::awaitable<FlyResult<std::vector<Region>>> FakeMachinesApi::list_regions() {
  if (auto s = begin("regions", "", "")) co_return make_err(s->error);
  co_return regions_;
}

}  // namespace autoplacer::fly
