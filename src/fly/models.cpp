#include "fly/models.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <limits>

namespace autoplacer::fly {
namespace json = boost::json;

namespace {

// Field readers: absent or null leaves `out` untouched (an error only when required); a present
// value of the wrong type is always an error. They return the error text, or "" when fine.
std::string read_string(const json::object& o, std::string_view key, std::string& out,
                        bool required = false) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return required ? "missing required field '" + std::string(key) + "'" : "";
  }
  if (!v->is_string()) return "field '" + std::string(key) + "' is not a string";
  out = std::string(v->get_string());
  return "";
}

std::string read_bool(const json::object& o, std::string_view key, bool& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "";
  if (!v->is_bool()) return "field '" + std::string(key) + "' is not a boolean";
  out = v->get_bool();
  return "";
}

std::string read_int(const json::object& o, std::string_view key, std::int64_t& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "";
  if (v->is_int64()) {
    out = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(
                                                      std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(v->get_uint64());
  } else if (v->is_double() && std::isfinite(v->get_double()) &&
             std::abs(v->get_double()) < 9.0e18) {
    out = static_cast<std::int64_t>(v->get_double());
  } else {
    return "field '" + std::string(key) + "' is not an integer";
  }
  return "";
}

std::string read_number(const json::object& o, std::string_view key, double& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return "";
  if (v->is_double()) {
    out = v->get_double();
  } else if (v->is_int64()) {
    out = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    out = static_cast<double>(v->get_uint64());
  } else {
    return "field '" + std::string(key) + "' is not a number";
  }
  if (!std::isfinite(out)) return "field '" + std::string(key) + "' is not finite";
  return "";
}

// Runs readers in order and stops at the first error (prefixed with the context).
#define AP_READ(ctx, expr)                                            \
  do {                                                                \
    std::string ap_read_err_ = (expr);                                \
    if (!ap_read_err_.empty()) return make_err((ctx) + ap_read_err_); \
  } while (false)

// Boost.JSON reads a number too large for a double ("1e999") as infinity. Such a value cannot be
// written back as JSON (it would serialise as `Infinity`), so a machine config holding one could
// not be cloned faithfully: refuse the whole body instead. Depth is bounded by the parser (32).
bool all_numbers_finite(const json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (const auto* a = v.if_array()) {
    for (const auto& x : *a) {
      if (!all_numbers_finite(x)) return false;
    }
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      if (!all_numbers_finite(kv.value())) return false;
    }
  }
  return true;
}

ParseResult<json::value> parse_body(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);  // default options: max depth 32, strict JSON
  if (ec) return make_err("invalid JSON: " + ec.message());
  if (!all_numbers_finite(v))
    return make_err(std::string("invalid JSON: a number is out of range"));
  return v;
}

ParseResult<ImageRef> image_ref_from(const json::object& o) {
  ImageRef r;
  const std::string ctx = "image_ref: ";
  AP_READ(ctx, read_string(o, "registry", r.registry));
  AP_READ(ctx, read_string(o, "repository", r.repository));
  AP_READ(ctx, read_string(o, "tag", r.tag));
  AP_READ(ctx, read_string(o, "digest", r.digest));
  return r;
}

ParseResult<LeaseInfo> lease_from(const json::object& o) {
  LeaseInfo l;
  const std::string ctx = "lease: ";
  AP_READ(ctx, read_string(o, "nonce", l.nonce));
  AP_READ(ctx, read_string(o, "owner", l.owner));
  AP_READ(ctx, read_string(o, "description", l.description));
  AP_READ(ctx, read_int(o, "expires_at", l.expires_at));
  AP_READ(ctx, read_string(o, "version", l.version));
  return l;
}

ParseResult<MachineEvent> event_from(const json::value& v) {
  if (!v.is_object()) return make_err(std::string("events: entry is not an object"));
  const auto& o = v.get_object();
  MachineEvent e;
  const std::string ctx = "events: ";
  AP_READ(ctx, read_string(o, "id", e.id));
  AP_READ(ctx, read_string(o, "type", e.type));
  AP_READ(ctx, read_string(o, "status", e.status));
  AP_READ(ctx, read_string(o, "source", e.source));
  AP_READ(ctx, read_int(o, "timestamp", e.timestamp));
  return e;
}

}  // namespace

std::string ImageRef::to_image() const {
  if (repository.empty()) return "";
  std::string out = registry.empty() ? repository : registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

ImageRef ImageRef::from_image(std::string_view image) {
  ImageRef r;
  if (auto at = image.find('@'); at != std::string_view::npos) {
    r.digest = std::string(image.substr(at + 1));
    image = image.substr(0, at);
  }
  const auto slash = image.rfind('/');
  if (auto colon = image.rfind(':');
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(image.substr(colon + 1));
    image = image.substr(0, colon);
  }
  // The first segment is a registry when it looks like a host (has a dot or a port).
  if (auto first = image.find('/'); first != std::string_view::npos) {
    const std::string_view head = image.substr(0, first);
    if (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
        head == "localhost") {
      r.registry = std::string(head);
      image = image.substr(first + 1);
    }
  }
  r.repository = std::string(image);
  return r;
}

std::string Machine::metadata_value(std::string_view key) const {
  auto it = metadata.find(std::string(key));
  return it == metadata.end() ? std::string() : it->second;
}

ParseResult<Machine> machine_from_json(const json::value& v) {
  if (!v.is_object()) return make_err(std::string("machine is not a JSON object"));
  const auto& o = v.get_object();
  Machine m;
  std::string ctx = "machine: ";
  AP_READ(ctx, read_string(o, "id", m.id, true));
  ctx = "machine " + m.id + ": ";
  AP_READ(ctx, read_string(o, "state", m.state, true));
  AP_READ(ctx, read_string(o, "region", m.region, true));
  AP_READ(ctx, read_string(o, "name", m.name));
  AP_READ(ctx, read_string(o, "instance_id", m.instance_id));
  AP_READ(ctx, read_string(o, "version", m.version));
  AP_READ(ctx, read_string(o, "private_ip", m.private_ip));
  AP_READ(ctx, read_string(o, "host_status", m.host_status));
  AP_READ(ctx, read_string(o, "created_at", m.created_at));
  AP_READ(ctx, read_string(o, "updated_at", m.updated_at));
  AP_READ(ctx, read_bool(o, "cordoned", m.cordoned));
  AP_READ(ctx, read_string(o, "nonce", m.nonce));
  if (m.id.empty()) return make_err(ctx + "empty id");
  if (const json::value* ir = o.if_contains("image_ref"); ir && !ir->is_null()) {
    if (!ir->is_object()) return make_err(ctx + "field 'image_ref' is not an object");
    auto r = image_ref_from(ir->get_object());
    if (!r) return make_err(ctx + r.error());
    m.image_ref = std::move(r.value());
  }
  if (const json::value* c = o.if_contains("config"); c && !c->is_null()) {
    if (!c->is_object()) return make_err(ctx + "field 'config' is not an object");
    m.config = c->get_object();
    if (const json::value* md = m.config.if_contains("metadata"); md && !md->is_null()) {
      if (!md->is_object()) return make_err(ctx + "field 'config.metadata' is not an object");
      for (const auto& kv : md->get_object()) {
        // Metadata values are strings by schema; anything else is ignored rather than guessed.
        if (kv.value().is_string()) {
          m.metadata.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
        }
      }
    }
  }
  if (const json::value* ev = o.if_contains("events"); ev && !ev->is_null()) {
    if (!ev->is_array()) return make_err(ctx + "field 'events' is not an array");
    for (const auto& e : ev->get_array()) {
      auto r = event_from(e);
      if (!r) return make_err(ctx + r.error());
      m.events.push_back(std::move(r.value()));
    }
  }
  if (const json::value* l = o.if_contains("lease"); l && !l->is_null()) {
    if (!l->is_object()) return make_err(ctx + "field 'lease' is not an object");
    auto r = lease_from(l->get_object());
    if (!r) return make_err(ctx + r.error());
    m.lease = std::move(r.value());
  }
  return m;
}

ParseResult<std::vector<Machine>> machines_from_json(std::string_view body) {
  auto v = parse_body(body);
  if (!v) return make_err(v.error());
  if (!v->is_array()) return make_err(std::string("machine list is not a JSON array"));
  std::vector<Machine> out;
  out.reserve(v->get_array().size());
  std::size_t i = 0;
  for (const auto& item : v->get_array()) {
    auto m = machine_from_json(item);
    // One bad entry fails the whole list: a partial list would look like missing machines.
    if (!m) return make_err("entry " + std::to_string(i) + ": " + m.error());
    out.push_back(std::move(m.value()));
    ++i;
  }
  return out;
}

ParseResult<Machine> machine_from_body(std::string_view body) {
  auto v = parse_body(body);
  if (!v) return make_err(v.error());
  return machine_from_json(*v);
}

ParseResult<LeaseInfo> lease_from_body(std::string_view body) {
  auto v = parse_body(body);
  if (!v) return make_err(v.error());
  const json::object* o = v->if_object();
  // Fly has wrapped the lease as {"status":"success","data":{...}} in some versions.
  if (o != nullptr && o->if_contains("data") && (*o).at("data").is_object()) {
    o = &o->at("data").get_object();
  }
  if (o == nullptr) return make_err(std::string("lease is not a JSON object"));
  auto l = lease_from(*o);
  if (!l) return l;
  if (l->nonce.empty()) return make_err(std::string("lease: missing nonce"));
  return l;
}

ParseResult<WaitResult> wait_from_body(std::string_view body) {
  if (body.empty()) return WaitResult{true, "", "", ""};
  auto v = parse_body(body);
  if (!v) return make_err(v.error());
  if (!v->is_object()) return make_err(std::string("wait response is not a JSON object"));
  const auto& o = v->get_object();
  WaitResult w;
  w.ok = true;
  const std::string ctx = "wait: ";
  AP_READ(ctx, read_bool(o, "ok", w.ok));
  AP_READ(ctx, read_string(o, "state", w.state));
  AP_READ(ctx, read_string(o, "version", w.version));
  AP_READ(ctx, read_string(o, "event_id", w.event_id));
  return w;
}

ParseResult<std::map<std::string, std::string>> metadata_from_body(std::string_view body) {
  auto v = parse_body(body);
  if (!v) return make_err(v.error());
  if (!v->is_object()) return make_err(std::string("metadata is not a JSON object"));
  std::map<std::string, std::string> out;
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_string()) {
      return make_err("metadata '" + std::string(kv.key()) + "' is not a string");
    }
    out.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return out;
}

ParseResult<std::vector<Region>> regions_from_body(std::string_view body) {
  auto v = parse_body(body);
  if (!v) return make_err(v.error());
  if (!v->is_object()) return make_err(std::string("regions response is not a JSON object"));
  const json::value* rows = v->get_object().if_contains("regions");
  if (rows == nullptr || !rows->is_array()) {
    return make_err(std::string("regions response has no 'regions' array"));
  }
  std::vector<Region> out;
  for (const auto& row : rows->get_array()) {
    if (!row.is_object()) return make_err(std::string("regions: entry is not an object"));
    const auto& o = row.get_object();
    Region r;
    const std::string ctx = "regions: ";
    AP_READ(ctx, read_string(o, "code", r.code, true));
    AP_READ(ctx, read_string(o, "name", r.name));
    AP_READ(ctx, read_number(o, "latitude", r.latitude));
    AP_READ(ctx, read_number(o, "longitude", r.longitude));
    AP_READ(ctx, read_bool(o, "deprecated", r.deprecated));
    if (r.code.empty()) return make_err(std::string("regions: empty code"));
    if (r.latitude < -90 || r.latitude > 90 || r.longitude < -180 || r.longitude > 180) {
      return make_err("regions: " + r.code + " has coordinates out of range");
    }
    r.hostable = !r.deprecated;
    out.push_back(std::move(r));
  }
  return out;
}

json::value machine_to_json(const Machine& m) {
  json::object o;
  o["id"] = m.id;
  o["name"] = m.name;
  o["state"] = m.state;
  o["region"] = m.region;
  o["instance_id"] = m.instance_id;
  if (!m.version.empty()) o["version"] = m.version;
  if (!m.private_ip.empty()) o["private_ip"] = m.private_ip;
  if (!m.host_status.empty()) o["host_status"] = m.host_status;
  if (!m.created_at.empty()) o["created_at"] = m.created_at;
  if (!m.updated_at.empty()) o["updated_at"] = m.updated_at;
  if (m.cordoned) o["cordoned"] = true;
  if (!m.nonce.empty()) o["nonce"] = m.nonce;
  if (m.image_ref) {
    o["image_ref"] = json::object{{"registry", m.image_ref->registry},
                                  {"repository", m.image_ref->repository},
                                  {"tag", m.image_ref->tag},
                                  {"digest", m.image_ref->digest}};
  }
  json::object config = m.config;
  json::object md;
  for (const auto& [k, val] : m.metadata) md[k] = val;
  if (!md.empty() || config.contains("metadata")) config["metadata"] = std::move(md);
  o["config"] = std::move(config);
  if (!m.events.empty()) {
    json::array ev;
    for (const auto& e : m.events) {
      ev.push_back(json::object{{"id", e.id},
                                {"type", e.type},
                                {"status", e.status},
                                {"source", e.source},
                                {"timestamp", e.timestamp}});
    }
    o["events"] = std::move(ev);
  }
  if (m.lease) {
    o["lease"] = json::object{{"owner", m.lease->owner},
                              {"description", m.lease->description},
                              {"expires_at", m.lease->expires_at}};
  }
  return o;
}

json::object to_json(const CreateMachineRequest& req) {
  json::object o;
  o["config"] = req.config;
  if (!req.region.empty()) o["region"] = req.region;
  if (!req.name.empty()) o["name"] = req.name;
  if (req.skip_launch) o["skip_launch"] = true;
  if (req.lease_ttl) o["lease_ttl"] = *req.lease_ttl;
  return o;
}

ParseResult<CreateMachineRequest> make_clone_request(const Machine& source, const CloneOptions& o) {
  if (!source.host_status.empty() && source.host_status != "ok") {
    return make_err("machine " + source.id + " has host_status " + source.host_status +
                    ": its config is not usable for cloning");
  }
  if (source.config.empty()) {
    return make_err("machine " + source.id + " has no config (listed with summary=true?)");
  }
  if (o.region.empty()) return make_err(std::string("clone needs a region"));
  CreateMachineRequest req;
  req.config = source.config;
  // Pin exactly the image the source runs (config.image may be a moving tag).
  std::string image = source.image_ref ? source.image_ref->to_image() : std::string();
  if (image.empty()) {
    if (const json::value* i = req.config.if_contains("image"); i && i->is_string()) {
      image = std::string(i->get_string());
    }
  }
  if (image.empty())
    return make_err("machine " + source.id + " has neither image_ref nor config.image");
  req.config["image"] = image;
  // Volumes live in one region; standbys name specific machines. Neither carries over.
  req.config.erase("mounts");
  req.config.erase("standbys");
  // Metadata: keep the app's own keys and Fly's release keys (fly_process_group above all, so
  // deploys update the clone with its group); drop a blue/green tag and the source's ownership
  // marks, then add ours.
  json::object md;
  if (const json::value* src = source.config.if_contains("metadata"); src && src->is_object()) {
    for (const auto& kv : src->get_object()) {
      const std::string_view key = kv.key();
      if (key == kMetaBlueGreenTag || key.rfind("autoplacer_", 0) == 0) continue;
      md[key] = kv.value();
    }
  }
  // Machine::metadata is the parsed config.metadata; it wins where a caller edited it.
  for (const auto& [k, v] : source.metadata) {
    if (k == kMetaBlueGreenTag || k.rfind("autoplacer_", 0) == 0) continue;
    md[k] = v;
  }
  for (const auto& [k, v] : o.metadata) md[k] = v;
  req.config["metadata"] = std::move(md);
  req.region = o.region;
  req.name = o.name;
  req.skip_launch = o.skip_launch;
  req.lease_ttl = o.lease_ttl;
  return req;
}

}  // namespace autoplacer::fly
