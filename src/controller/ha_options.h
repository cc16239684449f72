#pragma once
// The flags and environment of high-availability mode (several replicas, one leader, state on
// etcd), parsed apart from the rest of `autoplacer run` so they can be tested on their own.
//
//   --etcd-endpoints URLS   comma list (env ETCD_ENDPOINTS); none: local state, no election
//   --etcd-ca/--etcd-cert/--etcd-key FILE   TLS (env ETCD_CA, ETCD_CERT, ETCD_KEY)
//   --etcd-user NAME        etcd auth (env ETCD_USERNAME); the password only from ETCD_PASSWORD
//   --etcd-request-timeout D  per attempt on one endpoint (default 5s)
//   --etcd-prefix KEY       where this controller's keys live (default /autoplacer/<app>)
//   --replica-id ID         this replica's name in the election (default FLY_MACHINE_ID@FLY_REGION,
//                           else the host name)
//   --lease-duration D      15s   (Kubernetes' defaults)
//   --renew-deadline D      10s
//   --retry-period D        2s
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "controller/etcd_client.h"
#include "controller/leader_election.h"

namespace autoplacer::controller {

struct HaOptions {
  etcd::EtcdFlagValues etcd;  // as given on the command line
  std::string replica_id;
  std::string prefix;
  Duration lease_duration{15000};
  Duration renew_deadline{10000};
  Duration retry_period{2000};

  // Filled by resolve_ha_options().
  etcd::EtcdClientOptions client;  // no endpoints: HA mode is off

  bool enabled() const { return !client.endpoints.empty(); }
};

// Reads the value of an option ("--name VALUE" or "--name=VALUE"); an error when missing.
using FlagValue = std::function<Result<std::string, std::string>()>;

// Handles one HA flag. nullopt: `name` is not an HA flag (the caller tries its own); otherwise
// the outcome (an error message names the flag).
std::optional<Result<Unit, std::string>> parse_ha_flag(const std::string& name,
                                                       const FlagValue& value, HaOptions& options);

using GetEnv = std::function<const char*(const char*)>;

// Reads the environment (flags win), checks the lease settings, and fills `client`, the default
// replica id and the default prefix (`default_app`: the app of the first policy; when empty the
// prefix is left for the caller to fill with default_prefix_for() once the policies are loaded).
Result<Unit, std::string> resolve_ha_options(HaOptions& options, const GetEnv& getenv_fn,
                                             const std::string& hostname,
                                             const std::string& default_app);

// FLY_MACHINE_ID@FLY_REGION on Fly (unique per machine, and says where it runs), else the host
// name, else "autoplacer".
std::string default_replica_id(const GetEnv& getenv_fn, const std::string& hostname);

// "/autoplacer/<app>": the default --etcd-prefix.
std::string default_prefix_for(const std::string& app);

// The election settings for these options (key <prefix>/leader).
etcd::LeaderElectionConfig election_config(const HaOptions& options);
// Where state blobs live: <prefix>/state/.
std::string state_prefix(const HaOptions& options);

// The usage text of the flags above.
const char* ha_options_help();

}  // namespace autoplacer::controller
