#pragma once
// The controller as a process: what `autoplacer run` and `autoplacer plan` assemble from flags
// and environment variables.
//
//   Fly mode (FLY_API_TOKEN set): the Machines API at --fly-api-url / FLY_API_URL (default
//     https://api.machines.dev) and demand from Prometheus at --prometheus-url /
//     FLY_PROMETHEUS_URL (default https://api.fly.io/prometheus/<FLY_ORG>).
//   Demo mode (no token, no --fly-api-url): an embedded flysim on a loopback port replays a
//     traffic scenario (--scenario, default deploy/scenarios/follow-the-sun.csv, at --speed);
//     the controller talks to it over real HTTP like it would to Fly, and reads demand from the
//     replay (or from --prometheus-url when given).
//   An external Fly-compatible API without a token (--fly-api-url, e.g. a flysim started by a
//     test) works too.
//
// run(): serves HTTP on --listen, watches the policy files, reconciles until SIGTERM/SIGINT,
// then stops taking work, lets passes in flight finish (--shutdown-grace), saves state and
// returns 0. With --etcd-endpoints (HA mode, docs/ha.md) the state is on etcd, the replica acts
// only while it leads (controller/ha_runtime.h), and on SIGTERM it resigns after saving.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "controller/ha_options.h"
#include "controller/reconciler.h"

namespace autoplacer::controller {

struct ServiceOptions {
  std::string policy_path;
  std::string listen = "127.0.0.1:8080";
  std::string fly_api_url;     // "" = FLY_API_URL or the default
  std::string prometheus_url;  // "" = FLY_PROMETHEUS_URL or the default
  std::string org;             // FLY_ORG, for the default Prometheus URL
  std::string state_dir;       // "" = in memory in demo mode and for plan, else ./.autoplacer-state
  std::string scenario_path;   // demo traffic
  double speed = 0;            // 0 = the scenario's own default (one day per minute)
  bool loop = true;            // replay the scenario again after its end
  std::string trigger_token;   // AUTOPLACER_TRIGGER_TOKEN
  int workers = 4;
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(20)};
  std::chrono::milliseconds policy_poll{std::chrono::seconds(2)};
  std::string log_level = "info";
  bool json_logs = false;
  bool demo_summary = true;  // demo mode: a line per few seconds with demand and machines
  // High availability (`run` only): with etcd endpoints, state on etcd and leader election;
  // without, local state and this replica always leads. See controller/ha_options.h.
  HaOptions ha;

  // Filled by resolve(): where things really are.
  bool demo = false;  // embedded flysim
  std::string token;  // Fly token (never logged)
};

// Parses `run`/`plan` arguments (argv[0] is the command) and the environment. Errors are
// one-line messages for the user.
Result<ServiceOptions, std::string> parse_service_args(int argc, char** argv);
// The usage text shared by both commands.
const char* service_options_help();

class Service {
 public:
  explicit Service(ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Serves until SIGTERM/SIGINT; the process exit code (0 after a clean shutdown, 1 when start-up
  // failed).
  int run();
  // One plan-only pass of every policy; prints the plans to stdout. Exit code: 0 no changes,
  // 2 changes, 1 error.
  int plan();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The demo scenario shipped with the project, found relative to the executable or the working
// directory ("" when not found).
std::string find_default_scenario();
std::string find_default_policy();

}  // namespace autoplacer::controller
