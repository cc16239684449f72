#include "controller/ha_options.h"

namespace autoplacer::controller {

namespace {

Result<Unit, std::string> duration_flag(const std::string& name, const FlagValue& value,
                                        Duration& target) {
  auto v = value();
  if (!v) return make_err(v.error());
  auto d = parse_duration(*v);
  if (!d || d->count() <= 0)
    return make_err(name + " needs a positive duration such as 15s, got '" + *v + "'");
  target = *d;
  return Unit{};
}

Result<Unit, std::string> string_flag(const FlagValue& value, std::string& target) {
  auto v = value();
  if (!v) return make_err(v.error());
  target = *v;
  return Unit{};
}

}  // namespace

std::optional<Result<Unit, std::string>> parse_ha_flag(const std::string& name,
                                                       const FlagValue& value, HaOptions& o) {
  if (name == "--etcd-endpoints") return string_flag(value, o.etcd.endpoints);
  if (name == "--etcd-ca") return string_flag(value, o.etcd.ca);
  if (name == "--etcd-cert") return string_flag(value, o.etcd.cert);
  if (name == "--etcd-key") return string_flag(value, o.etcd.key);
  if (name == "--etcd-user" || name == "--etcd-username")
    return string_flag(value, o.etcd.username);
  if (name == "--etcd-request-timeout") return string_flag(value, o.etcd.request_timeout);
  if (name == "--etcd-prefix") return string_flag(value, o.prefix);
  if (name == "--replica-id") return string_flag(value, o.replica_id);
  if (name == "--lease-duration") return duration_flag(name, value, o.lease_duration);
  if (name == "--renew-deadline") return duration_flag(name, value, o.renew_deadline);
  if (name == "--retry-period") return duration_flag(name, value, o.retry_period);
  if (name == "--etcd-password") {
    // Refused on purpose: a flag shows in `ps` and in shell history.
    return Result<Unit, std::string>(
        make_err(std::string("--etcd-password is not accepted: set ETCD_PASSWORD in the "
                             "environment (fly secrets set ETCD_PASSWORD=...)")));
  }
  return std::nullopt;
}

std::string default_replica_id(const GetEnv& getenv_fn, const std::string& hostname) {
  auto env = [&](const char* name) -> std::string {
    const char* v = getenv_fn ? getenv_fn(name) : nullptr;
    return v != nullptr ? std::string(v) : std::string();
  };
  const std::string machine = env("FLY_MACHINE_ID");
  if (!machine.empty()) {
    const std::string region = env("FLY_REGION");
    return region.empty() ? machine : machine + "@" + region;
  }
  return hostname.empty() ? std::string("autoplacer") : hostname;
}

Result<Unit, std::string> resolve_ha_options(HaOptions& o, const GetEnv& getenv_fn,
                                             const std::string& hostname,
                                             const std::string& default_app) {
  auto client = etcd::etcd_options_from(o.etcd, getenv_fn);
  if (!client) return make_err(client.error());
  o.client = std::move(*client);
  if (!o.enabled()) return Unit{};
  if (o.replica_id.empty()) o.replica_id = default_replica_id(getenv_fn, hostname);
  // Without a default app (the policies are not loaded yet) the prefix stays empty and the
  // caller calls default_prefix_for() once they are.
  if (o.prefix.empty() && !default_app.empty()) o.prefix = default_prefix_for(default_app);
  while (o.prefix.size() > 1 && o.prefix.back() == '/') o.prefix.pop_back();
  if (!o.prefix.empty() && (o.prefix.front() != '/' || o.prefix == "/"))
    return make_err("--etcd-prefix must start with '/' and name a key, got '" + o.prefix + "'");
  if (auto bad = etcd::validate(election_config(o))) return make_err(*bad);
  // The request timeout must leave room for a renewal inside the renew deadline, or one slow
  // etcd member would cost the leadership every time.
  if (o.client.request_timeout >= o.renew_deadline)
    return make_err(std::string("--etcd-request-timeout must be shorter than --renew-deadline"));
  return Unit{};
}

std::string default_prefix_for(const std::string& app) {
  return "/autoplacer/" + (app.empty() ? std::string("default") : app);
}

etcd::LeaderElectionConfig election_config(const HaOptions& o) {
  etcd::LeaderElectionConfig c;
  c.key = o.prefix + "/leader";
  c.identity = o.replica_id;
  c.lease_duration = o.lease_duration;
  c.renew_deadline = o.renew_deadline;
  c.retry_period = o.retry_period;
  return c;
}

std::string state_prefix(const HaOptions& o) {
  return o.prefix + "/state/";
}

const char* ha_options_help() {
  return R"(high availability (several replicas, one leader, state on etcd):
  --etcd-endpoints URLS  comma list of etcd client URLs (env ETCD_ENDPOINTS); without it the
                         state stays in --state-dir and this replica always leads
  --etcd-ca FILE         CA bundle for https:// endpoints (env ETCD_CA)
  --etcd-cert FILE       client certificate (env ETCD_CERT), with --etcd-key (env ETCD_KEY)
  --etcd-key FILE
  --etcd-user NAME       etcd user (env ETCD_USERNAME); the password only from env ETCD_PASSWORD
  --etcd-request-timeout D  per request and endpoint (default 5s)
  --etcd-prefix KEY      this controller's keys (default /autoplacer/<app of the first policy>)
  --replica-id ID        name in the election (default $FLY_MACHINE_ID@$FLY_REGION, else the
                         host name)
  --lease-duration D     leader lease TTL, whole seconds (default 15s)
  --renew-deadline D     the leader stops acting when it could not renew for this long (10s)
  --retry-period D       campaign / renew period (default 2s)
)";
}

}  // namespace autoplacer::controller
