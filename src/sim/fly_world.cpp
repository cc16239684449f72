#include "sim/fly_world.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <ctime>
#include <set>

namespace autoplacer::sim {
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

ApiError err(int status, std::string message, std::string fly_status = "unknown") {
  return ApiError{status, std::move(message), std::move(fly_status)};
}

json::value ok_body() {
  return json::object{{"ok", true}};
}

bool is_transient(std::string_view s) {
  static const std::set<std::string_view> kTransient{"creating",   "starting",   "stopping",
                                                     "restarting", "suspending", "destroying",
                                                     "updating",   "replacing",  "launch_failed"};
  return kTransient.count(s) > 0;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto end = s.find(sep, pos);
    const auto stop = end == std::string_view::npos ? s.size() : end;
    std::string part(s.substr(pos, stop - pos));
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) out.push_back(part);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

// "registry.fly.io/app:tag@sha256:..." -> ImageRef fields.
json::object parse_image(std::string_view image, const std::string& fallback_digest) {
  std::string rest(image);
  std::string registry, tag, digest;
  if (auto at = rest.find('@'); at != std::string::npos) {
    digest = rest.substr(at + 1);
    rest.resize(at);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string first = rest.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
        first == "localhost") {
      registry = first;
      rest = rest.substr(slash + 1);
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    tag = rest.substr(colon + 1);
    rest.resize(colon);
  }
  if (registry.empty()) registry = "docker.io";
  if (tag.empty()) tag = "latest";
  if (digest.empty()) digest = fallback_digest;
  return json::object{{"registry", registry},
                      {"repository", rest},
                      {"tag", tag},
                      {"digest", digest},
                      {"labels", json::object{}}};
}

std::int64_t unix_ms(TimePoint t) {
  return t.time_since_epoch().count();
}
std::int64_t unix_s(TimePoint t) {
  return unix_ms(t) / 1000;
}

json::object lease_json(const SimLease& l, const SimMachine& m, bool with_nonce) {
  json::object o{{"owner", l.owner},
                 {"description", l.description},
                 {"expires_at", unix_s(l.expires_at)},
                 {"version", m.instance_id}};
  if (with_nonce) o["nonce"] = l.nonce;
  return o;
}

bool lease_active(const SimMachine& m, TimePoint now) {
  return m.lease && m.lease->expires_at > now;
}

std::string default_name(std::mt19937_64& rng) {
  static const char* kAdj[] = {"shy", "bold", "calm", "quiet", "brave", "swift", "misty", "young"};
  static const char* kNoun[] = {"bird", "river", "leaf", "star", "moon", "wave", "fog", "hill"};
  const auto r = rng();
  return std::string(kAdj[r % 8]) + "-" + kNoun[(r >> 8) % 8] + "-" +
         std::to_string(1000 + (r >> 16) % 9000);
}

}  // namespace

std::string format_rfc3339(TimePoint t) {
  const std::time_t secs = static_cast<std::time_t>(unix_s(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

FlyWorld::FlyWorld(Options options)
    : options_(std::move(options)),
      regions_(options_.regions ? options_.regions : &RegionCatalog::builtin()),
      rng_(options_.seed) {
  for (const auto& app : options_.apps) apps_[app];
}

bool FlyWorld::has_app(std::string_view app) const {
  return apps_.find(app) != apps_.end();
}

std::string FlyWorld::new_hex(int chars) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  while (static_cast<int>(out.size()) < chars) {
    auto r = rng_();
    for (int i = 0; i < 16 && static_cast<int>(out.size()) < chars; ++i, r >>= 4)
      out += kHex[r & 0xf];
  }
  return out;
}

std::string FlyWorld::new_id() {
  for (;;) {
    std::string id = new_hex(14);
    bool taken = false;
    for (const auto& [app, ms] : apps_) taken = taken || ms.count(id) > 0;
    if (!taken) return id;
  }
}

std::string FlyWorld::new_ulid() {
  static const char* kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string out = "01";
  auto r = rng_();
  for (int i = 0; i < 24; ++i) {
    if (i == 12) r = rng_();
    out += kCrockford[r & 31];
    r >>= 5;
  }
  return out;
}

std::string FlyWorld::new_private_ip() {
  return "fdaa:0:1:a7b:" + new_hex(3) + ":" + new_hex(4) + ":" + new_hex(4) + ":2";
}

void FlyWorld::set_capacity(const std::string& region, std::optional<int> limit) {
  if (limit)
    options_.capacity[region] = *limit;
  else
    options_.capacity.erase(region);
}

void FlyWorld::set_state(SimMachine& m, std::string state, TimePoint at,
                         std::string_view event_type, std::string_view source) {
  m.state = std::move(state);
  m.updated_at = at;
  json::object ev{{"id", new_ulid()},
                  {"type", event_type},
                  {"status", m.state},
                  {"source", source},
                  {"timestamp", unix_ms(at)}};
  m.events.insert(m.events.begin(), std::move(ev));
  constexpr std::size_t kMaxEvents = 10;
  if (m.events.size() > kMaxEvents) m.events.resize(kMaxEvents);
}

void FlyWorld::schedule(SimMachine& m, std::string transient, TimePoint now,
                        std::vector<std::pair<std::string, Duration>> then,
                        std::string_view event_type) {
  set_state(m, std::move(transient), now, event_type, "user");
  m.stages.clear();
  TimePoint at = now;
  for (auto& [state, delay] : then) {
    at += delay;
    m.stages.push_back({std::move(state), at});
  }
}

void FlyWorld::advance(TimePoint now) {
  for (auto& [app, ms] : apps_) {
    for (auto& [id, m] : ms) {
      while (!m.stages.empty() && m.stages.front().at <= now) {
        auto stage = std::move(m.stages.front());
        m.stages.pop_front();
        const std::string type = stage.state == "started"     ? "start"
                                 : stage.state == "destroyed" ? "destroy"
                                 : stage.state == "stopped"   ? "exit"
                                                              : stage.state;
        set_state(m, stage.state, stage.at, type, "flyd");
        if (stage.state == "destroyed") m.lease.reset();
      }
    }
  }
}

std::optional<TimePoint> FlyWorld::next_transition() const {
  std::optional<TimePoint> best;
  for (const auto& [app, ms] : apps_)
    for (const auto& [id, m] : ms)
      if (!m.stages.empty() && (!best || m.stages.front().at < *best)) best = m.stages.front().at;
  return best;
}

SimMachine& FlyWorld::seed(const SeedMachine& s, TimePoint now) {
  auto& ms = apps_[s.app];
  SimMachine m;
  m.id = new_id();
  m.app = s.app;
  m.name = s.name.empty() ? default_name(rng_) : s.name;
  m.region = s.region;
  m.instance_id = new_ulid();
  m.private_ip = new_private_ip();
  m.host_status = s.host_status;
  json::object metadata;
  for (const auto& [k, v] : s.metadata) metadata[k] = v;
  m.config = json::object{
      {"image", s.image},
      {"guest", json::object{{"cpu_kind", "shared"}, {"cpus", 1}, {"memory_mb", 256}}},
      {"metadata", std::move(metadata)},
      {"services",
       json::array{json::object{
           {"protocol", "tcp"},
           {"internal_port", 8080},
           {"autostart", true},
           {"autostop", "off"},
           {"ports", json::array{json::object{{"port", 443}, {"handlers", {"tls", "http"}}},
                                 json::object{{"port", 80}, {"handlers", {"http"}}}}}}}},
      {"mounts", json::array{}},
      {"restart", json::object{{"policy", "on-failure"}}}};
  m.image_ref = parse_image(s.image, "sha256:" + new_hex(64));
  m.created_at = m.updated_at = now;
  m.seq = next_seq_++;
  set_state(m, s.state, now, "launch", "user");
  if (!s.lease_owner.empty()) {
    m.lease = SimLease{new_hex(32), s.lease_owner, "deploy", now + s.lease_ttl};
  }
  auto [it, inserted] = ms.emplace(m.id, std::move(m));
  (void)inserted;
  return it->second;
}

bool FlyWorld::set_foreign_lease(std::string_view app, std::string_view id, std::string owner,
                                 Duration ttl, TimePoint now) {
  SimMachine* m = lookup(app, id);
  if (m == nullptr) return false;
  m->lease = SimLease{new_hex(32), std::move(owner), "held by another client", now + ttl};
  return true;
}

SimMachine* FlyWorld::lookup(std::string_view app, std::string_view id) {
  auto a = apps_.find(app);
  if (a == apps_.end()) return nullptr;
  auto it = a->second.find(std::string(id));
  return it == a->second.end() ? nullptr : &it->second;
}

const SimMachine* FlyWorld::find(std::string_view app, std::string_view id) const {
  return const_cast<FlyWorld*>(this)->lookup(app, id);
}

WorldResult<SimMachine*> FlyWorld::writable(std::string_view app, std::string_view id,
                                            std::string_view nonce, TimePoint now) {
  if (!has_app(app)) return make_err(err(404, "app not found"));
  SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  if (lease_active(*m, now) && nonce != m->lease->nonce) {
    return make_err(err(409, "machine ID " + m->id + " lease currently held by " + m->lease->owner +
                                 ", expires at " + format_rfc3339(m->lease->expires_at)));
  }
  return m;
}

json::object FlyWorld::machine_json(const SimMachine& m, bool summary, bool include_lease) {
  json::object o{{"id", m.id},
                 {"name", m.name},
                 {"state", m.state},
                 {"region", m.region},
                 {"instance_id", m.instance_id},
                 {"version", m.instance_id},
                 {"private_ip", m.private_ip},
                 {"image_ref", m.image_ref},
                 {"created_at", format_rfc3339(m.created_at)},
                 {"updated_at", format_rfc3339(m.updated_at)}};
  if (m.cordoned) o["cordoned"] = true;
  if (!summary) {
    // A machine on an unhealthy host cannot report its full config; Fly returns what it has
    // as incomplete_config instead.
    if (m.host_status == "ok")
      o["config"] = m.config;
    else
      o["incomplete_config"] = m.config;
    o["host_status"] = m.host_status;
    json::array events;
    for (const auto& e : m.events) events.push_back(e);
    o["events"] = std::move(events);
    o["checks"] = json::array{};
  }
  if (include_lease && m.lease) {
    o["lease"] = json::object{{"owner", m.lease->owner},
                              {"description", m.lease->description},
                              {"expires_at", unix_s(m.lease->expires_at)}};
  }
  return o;
}

int FlyWorld::used_capacity(std::string_view region) const {
  int n = 0;
  for (const auto& [app, ms] : apps_)
    for (const auto& [id, m] : ms)
      if (m.region == region && m.state != "destroyed" && m.state != "destroying") ++n;
  return n;
}

std::optional<std::vector<std::string>> FlyWorld::resolve_regions(std::string_view spec) const {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kAliases{
      {"eu", {"ams", "arn", "cdg", "fra", "lhr"}},
      {"us", {"dfw", "ewr", "iad", "lax", "ord", "sjc"}},
      {"na", {"dfw", "ewr", "iad", "lax", "ord", "sjc", "yyz"}},
      {"sa", {"gru"}},
      {"ap", {"bom", "nrt", "sin", "syd"}},
      {"af", {"jnb"}}};
  std::vector<std::string> out;
  for (const auto& part : split(spec, ',')) {
    if (auto a = kAliases.find(part); a != kAliases.end()) {
      out.insert(out.end(), a->second.begin(), a->second.end());
    } else if (regions_->hostable(part)) {
      out.push_back(part);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

WorldResult<ListPage> FlyWorld::list(std::string_view app, const ListQuery& q, TimePoint now) {
  (void)now;
  auto a = apps_.find(app);
  if (a == apps_.end()) return make_err(err(404, "app not found"));
  if (q.limit && (*q.limit < 1 || *q.limit > 1000))
    return make_err(err(400, "limit must be between 1 and 1000"));
  if (!q.cursor.empty() && !q.limit) return make_err(err(400, "cursor requires limit"));
  // The cursor is the id of the last machine of the previous page (ids order the listing).
  std::string after;
  if (!q.cursor.empty()) {
    if (q.cursor.rfind("c1.", 0) != 0) return make_err(err(400, "invalid cursor"));
    after = q.cursor.substr(3);
  }
  ListPage page;
  std::string last;
  bool more = false;
  for (const auto& [id, m] : a->second) {  // std::map: sorted by id
    if (!after.empty() && id <= after) continue;
    if (!q.region.empty() && m.region != q.region) continue;
    if (q.states.empty()) {
      if (m.state == "destroyed" && !q.include_deleted) continue;
    } else if (std::find(q.states.begin(), q.states.end(), m.state) == q.states.end()) {
      continue;
    }
    bool meta_ok = true;
    const json::value* md = m.config.if_contains("metadata");
    for (const auto& [k, v] : q.metadata) {
      const json::value* have = md && md->is_object() ? md->get_object().if_contains(k) : nullptr;
      if (have == nullptr || !have->is_string() || have->get_string() != v) meta_ok = false;
    }
    if (!meta_ok) continue;
    if (q.limit && static_cast<int>(page.machines.size()) >= *q.limit) {
      more = true;
      break;
    }
    page.machines.push_back(machine_json(m, q.summary, q.include_leases));
    last = id;
  }
  if (more) page.next_cursor = "c1." + last;
  return page;
}

WorldResult<json::value> FlyWorld::get(std::string_view app, std::string_view id,
                                       bool include_leases, TimePoint now) {
  (void)now;
  if (!has_app(app)) return make_err(err(404, "app not found"));
  const SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  return json::value(machine_json(*m, false, include_leases));
}

WorldResult<json::value> FlyWorld::create(std::string_view app, const json::value& body,
                                          TimePoint now) {
  if (!has_app(app)) return make_err(err(404, "app not found"));
  if (!body.is_object()) return make_err(err(400, "request body must be a JSON object"));
  const auto& o = body.get_object();
  const json::value* config = o.if_contains("config");
  if (config == nullptr || !config->is_object()) return make_err(err(400, "config is required"));
  const json::value* image = config->get_object().if_contains("image");
  if (image == nullptr || !image->is_string() || image->get_string().empty())
    return make_err(err(400, "invalid config.image: an image is required"));
  const json::value* md = config->get_object().if_contains("metadata");
  if (md != nullptr && !md->is_null()) {
    if (!md->is_object()) return make_err(err(400, "config.metadata must be an object"));
    for (const auto& kv : md->get_object())
      if (!kv.value().is_string())
        return make_err(err(400, "config.metadata values must be strings"));
  }
  std::string name;
  if (const auto* n = o.if_contains("name"); n && n->is_string()) name = n->get_string();
  if (!name.empty()) {
    for (const auto& [id, m] : apps_.find(app)->second) {
      if (m.name == name && m.state != "destroyed") {
        return make_err(
            err(422, "machine name '" + name + "' is already taken by " + m.id, "name_taken"));
      }
    }
  }
  std::string region_spec = "iad";  // Fly picks "near you"; flysim's "near" is iad
  if (const auto* r = o.if_contains("region"); r && r->is_string() && !r->get_string().empty())
    region_spec = r->get_string();
  auto candidates = resolve_regions(region_spec);
  if (!candidates || candidates->empty())
    return make_err(err(400, "invalid region '" + region_spec + "'"));
  std::string region;
  for (const auto& c : *candidates) {
    auto cap = options_.capacity.find(c);
    if (cap == options_.capacity.end() || used_capacity(c) < cap->second) {
      region = c;
      break;
    }
  }
  if (region.empty()) {
    return make_err(err(412,
                        "insufficient resources available to fulfill request: could not "
                        "reserve resource for machine: insufficient memory available to "
                        "fulfill request (region " +
                            region_spec + ")",
                        "insufficient_capacity"));
  }
  bool skip_launch = false;
  if (const auto* s = o.if_contains("skip_launch"); s && s->is_bool()) skip_launch = s->get_bool();
  std::int64_t lease_ttl = 0;
  if (const auto* l = o.if_contains("lease_ttl"); l && l->is_int64()) lease_ttl = l->get_int64();

  SeedMachine s;
  s.app = std::string(app);
  s.name = name;
  s.region = region;
  s.state = "creating";
  s.image = std::string(image->get_string());
  SimMachine& m = seed(s, now);
  m.events.clear();  // schedule() records the launch event
  m.config = config->get_object();
  if (!m.config.contains("metadata") || m.config["metadata"].is_null())
    m.config["metadata"] = json::object{};
  std::vector<std::pair<std::string, Duration>> then{{"created", options_.delays.create}};
  if (!skip_launch) {
    then.push_back({"starting", 0ms});
    then.push_back({"started", options_.delays.start});
  }
  schedule(m, "creating", now, std::move(then), "launch");
  json::object out = machine_json(m, false, false);
  if (lease_ttl > 0) {
    m.lease =
        SimLease{new_hex(32), options_.lease_owner, "", now + std::chrono::seconds(lease_ttl)};
    out["nonce"] = m.lease->nonce;
  }
  return json::value(std::move(out));
}

WorldResult<json::value> FlyWorld::start(std::string_view app, std::string_view id,
                                         std::string_view nonce, TimePoint now) {
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  SimMachine& x = **m;
  const std::string previous = x.state;
  if (x.state == "started" || x.state == "starting") {
    return json::value(json::object{{"previous_state", previous}});
  }
  if (x.state != "stopped" && x.state != "suspended" && x.state != "created" &&
      x.state != "failed") {
    return make_err(err(412, "unable to start machine from current state: '" + x.state + "'"));
  }
  schedule(x, "starting", now, {{"started", options_.delays.start}}, "start");
  return json::value(json::object{{"previous_state", previous}});
}

WorldResult<json::value> FlyWorld::stop(std::string_view app, std::string_view id,
                                        const json::value& body, std::string_view nonce,
                                        TimePoint now) {
  if (body.is_object()) {
    if (const auto* sig = body.get_object().if_contains("signal"); sig && !sig->is_null()) {
      static const std::set<std::string_view> kSignals{"SIGHUP",  "SIGINT",  "SIGQUIT", "SIGKILL",
                                                       "SIGUSR1", "SIGUSR2", "SIGTERM"};
      if (!sig->is_string() || kSignals.count(sig->get_string()) == 0)
        return make_err(err(400, "invalid signal"));
    }
  } else if (!body.is_null()) {
    return make_err(err(400, "request body must be a JSON object"));
  }
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  SimMachine& x = **m;
  if (x.state == "stopped" || x.state == "stopping" || x.state == "created") return ok_body();
  if (x.state != "started" && x.state != "starting" && x.state != "suspended") {
    return make_err(err(412, "unable to stop machine from current state: '" + x.state + "'"));
  }
  schedule(x, "stopping", now, {{"stopped", options_.delays.stop}}, "stop");
  return ok_body();
}

WorldResult<json::value> FlyWorld::suspend(std::string_view app, std::string_view id,
                                           std::string_view nonce, TimePoint now) {
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  SimMachine& x = **m;
  if (x.state == "suspended" || x.state == "suspending") return ok_body();
  if (x.state != "started") {
    return make_err(err(412, "unable to suspend machine from current state: '" + x.state + "'"));
  }
  schedule(x, "suspending", now, {{"suspended", options_.delays.suspend}}, "suspend");
  return ok_body();
}

WorldResult<json::value> FlyWorld::cordon(std::string_view app, std::string_view id, bool on,
                                          std::string_view nonce, TimePoint now) {
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  (*m)->cordoned = on;
  (*m)->updated_at = now;
  return ok_body();
}

WorldResult<json::value> FlyWorld::destroy(std::string_view app, std::string_view id, bool force,
                                           std::string_view nonce, TimePoint now) {
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  SimMachine& x = **m;
  if (x.state == "destroyed" || x.state == "destroying")
    return make_err(err(404, "machine not found (already destroyed)"));
  const bool stopped_like =
      x.state == "stopped" || x.state == "suspended" || x.state == "created" || x.state == "failed";
  if (!stopped_like && !force) {
    return make_err(err(412,
                        "failed to destroy VM: unable to destroy machine, not currently "
                        "stopped or suspended; use force"));
  }
  schedule(x, "destroying", now, {{"destroyed", options_.delays.destroy}}, "destroy");
  return ok_body();
}

WorldResult<std::optional<json::value>> FlyWorld::wait_check(std::string_view app,
                                                             std::string_view id,
                                                             const std::vector<std::string>& states,
                                                             std::string_view version,
                                                             TimePoint now) {
  (void)now;
  if (!has_app(app)) return make_err(err(404, "app not found"));
  const SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  static const std::set<std::string_view> kWaitable{"started",   "stopped", "suspended",
                                                    "destroyed", "failed",  "settled"};
  for (const auto& s : states)
    if (kWaitable.count(s) == 0) return make_err(err(400, "invalid state '" + s + "'"));
  if (!version.empty() && version != m->instance_id)
    return make_err(err(400, "machine version " + std::string(version) + " not found"));
  bool hit = false;
  for (const auto& s : states) {
    if (s == m->state || (s == "settled" && !is_transient(m->state))) hit = true;
  }
  if (!hit) return std::optional<json::value>{};
  return std::optional<json::value>{json::value(json::object{
      {"ok", true},
      {"state", m->state},
      {"version", m->instance_id},
      {"event_id", m->events.empty() ? "" : m->events.front().at("id").as_string().c_str()}})};
}

WorldResult<json::value> FlyWorld::lease_get(std::string_view app, std::string_view id,
                                             TimePoint now) {
  if (!has_app(app)) return make_err(err(404, "app not found"));
  const SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  if (!lease_active(*m, now)) return make_err(err(404, "lease not found"));
  return json::value(lease_json(*m->lease, *m, true));
}

WorldResult<json::value> FlyWorld::lease_acquire(std::string_view app, std::string_view id,
                                                 const json::value& body, std::string_view nonce,
                                                 TimePoint now) {
  if (!body.is_object()) return make_err(err(400, "request body must be a JSON object"));
  std::int64_t ttl = 30;
  if (const auto* t = body.get_object().if_contains("ttl"); t && !t->is_null()) {
    if (!t->is_int64() || t->get_int64() <= 0) return make_err(err(400, "invalid ttl"));
    ttl = t->get_int64();
  }
  std::string description;
  if (const auto* d = body.get_object().if_contains("description"); d && d->is_string())
    description = d->get_string();
  if (!has_app(app)) return make_err(err(404, "app not found"));
  SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  if (m->state == "destroyed") return make_err(err(404, "machine not found (destroyed)"));
  if (lease_active(*m, now)) {
    if (nonce.empty() || nonce != m->lease->nonce) {
      return make_err(err(409, "machine ID " + m->id + " lease currently held by " +
                                   m->lease->owner + ", expires at " +
                                   format_rfc3339(m->lease->expires_at)));
    }
    // The holder refreshes its lease: same nonce, new expiry.
    m->lease->expires_at = now + std::chrono::seconds(ttl);
    if (!description.empty()) m->lease->description = description;
  } else {
    m->lease =
        SimLease{new_hex(32), options_.lease_owner, description, now + std::chrono::seconds(ttl)};
  }
  return json::value(lease_json(*m->lease, *m, true));
}

WorldResult<json::value> FlyWorld::lease_release(std::string_view app, std::string_view id,
                                                 std::string_view nonce, TimePoint now) {
  if (!has_app(app)) return make_err(err(404, "app not found"));
  SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  if (!lease_active(*m, now)) {
    m->lease.reset();
    return ok_body();  // releasing nothing is fine: safe to repeat
  }
  if (nonce != m->lease->nonce) {
    return make_err(err(409, "machine ID " + m->id + " lease currently held by " + m->lease->owner +
                                 "; the nonce does not match"));
  }
  m->lease.reset();
  return ok_body();
}

WorldResult<json::value> FlyWorld::metadata_get(std::string_view app, std::string_view id) {
  if (!has_app(app)) return make_err(err(404, "app not found"));
  const SimMachine* m = lookup(app, id);
  if (m == nullptr) return make_err(err(404, "machine not found"));
  const json::value* md = m->config.if_contains("metadata");
  return md && md->is_object() ? *md : json::value(json::object{});
}

WorldResult<json::value> FlyWorld::metadata_update(std::string_view app, std::string_view id,
                                                   const json::value& body, bool replace,
                                                   std::string_view nonce, TimePoint now) {
  if (!body.is_object()) return make_err(err(400, "request body must be a JSON object"));
  const auto& o = body.get_object();
  const json::value* md = o.if_contains("metadata");
  if (md == nullptr || !md->is_object()) return make_err(err(400, "metadata is required"));
  for (const auto& kv : md->get_object())
    if (!kv.value().is_string()) return make_err(err(400, "metadata values must be strings"));
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  SimMachine& x = **m;
  if (const auto* v = o.if_contains("machine_version");
      v && v->is_string() && !v->get_string().empty() && v->get_string() != x.instance_id) {
    return make_err(err(412, "machine_version does not match the current version"));
  }
  json::object& cur = x.config["metadata"].is_object() ? x.config["metadata"].get_object()
                                                       : x.config["metadata"].emplace_object();
  if (replace) cur.clear();
  for (const auto& kv : md->get_object()) cur[kv.key()] = kv.value();
  x.updated_at = now;
  return json::value(nullptr);
}

WorldResult<json::value> FlyWorld::metadata_get_key(std::string_view app, std::string_view id,
                                                    std::string_view key) {
  auto md = metadata_get(app, id);
  if (!md) return md;
  const json::value* v = md->get_object().if_contains(key);
  if (v == nullptr) return make_err(err(404, "metadata key not found"));
  return json::value(json::object{{"value", *v}});
}

WorldResult<json::value> FlyWorld::metadata_set_key(std::string_view app, std::string_view id,
                                                    std::string_view key, const json::value& body,
                                                    std::string_view nonce, TimePoint now) {
  if (!body.is_object()) return make_err(err(400, "request body must be a JSON object"));
  const json::value* v = body.get_object().if_contains("value");
  if (v == nullptr || !v->is_string()) return make_err(err(400, "value must be a string"));
  if (key.empty()) return make_err(err(400, "key is required"));
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  json::value& md = (*m)->config["metadata"];
  if (!md.is_object()) md.emplace_object();
  md.get_object()[key] = *v;
  (*m)->updated_at = now;
  return json::value(nullptr);
}

WorldResult<json::value> FlyWorld::metadata_delete_key(std::string_view app, std::string_view id,
                                                       std::string_view key, std::string_view nonce,
                                                       TimePoint now) {
  auto m = writable(app, id, nonce, now);
  if (!m) return make_err(m.error());
  json::value& md = (*m)->config["metadata"];
  if (md.is_object()) md.get_object().erase(key);
  (*m)->updated_at = now;
  return json::value(nullptr);
}

json::value FlyWorld::regions_json() const {
  json::array rows;
  for (const auto& r : regions_->regions()) {
    if (!r.hostable) continue;
    rows.push_back(json::object{{"code", r.code},
                                {"name", r.name},
                                {"latitude", r.latitude},
                                {"longitude", r.longitude},
                                {"deprecated", r.deprecated},
                                {"gateway_available", true},
                                {"requires_paid_plan", false}});
  }
  return json::object{{"regions", std::move(rows)}, {"nearest", "iad"}};
}

std::vector<const SimMachine*> FlyWorld::machines(std::string_view app) const {
  std::vector<const SimMachine*> out;
  auto a = apps_.find(app);
  if (a == apps_.end()) return out;
  for (const auto& [id, m] : a->second) out.push_back(&m);
  std::sort(out.begin(), out.end(), [](auto* x, auto* y) { return x->seq < y->seq; });
  return out;
}

std::vector<std::string> FlyWorld::serving_regions(std::string_view app) const {
  std::set<std::string> out;
  for (const auto* m : machines(app))
    if (m->serving()) out.insert(m->region);
  return {out.begin(), out.end()};
}

std::map<std::pair<std::string, std::string>, int> FlyWorld::counts(std::string_view app) const {
  std::map<std::pair<std::string, std::string>, int> out;
  for (const auto* m : machines(app))
    if (m->state != "destroyed") ++out[{m->region, m->state}];
  return out;
}

}  // namespace autoplacer::sim
