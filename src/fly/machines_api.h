#pragma once
// The Machines API as the controller sees it: one app, awaitable operations, errors as values.
// Implementations: MachinesClient (HTTP, fly/machines_client.h) and FakeMachinesApi (in memory,
// fly/fake_machines_api.h).
//
// Every mutating call takes the lease nonce (empty = no lease held); it is sent as the
// `fly-machine-lease-nonce` header, which Fly requires while a lease is held on the machine.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fly/errors.h"
#include "fly/models.h"
#include "policy/regions.h"

namespace autoplacer::fly {

struct ListOptions {
  std::string region;                           // "" = all
  std::vector<std::string> states;              // sent comma-joined; empty = Fly's default
  std::map<std::string, std::string> metadata;  // metadata.{key}=value, all must match
  bool summary = false;         // omit config, events, ... (cheaper; no clone source)
  bool include_leases = false;  // fill Machine::lease
};

struct StopOptions {
  std::string signal;                           // "" = the machine's default (SIGINT)
  std::optional<std::chrono::seconds> timeout;  // "" = default
};

class MachinesApi {
 public:
  virtual ~MachinesApi() = default;

  virtual const std::string& app() const = 0;

  // All pages (fly-next-cursor), in the order the API returned them.
  virtual boost::asio::awaitable<FlyResult<std::vector<Machine>>> list_machines(
      ListOptions options) = 0;
  virtual boost::asio::awaitable<FlyResult<Machine>> get_machine(std::string id,
                                                                 bool include_leases = false) = 0;
  // Not idempotent: on outcome_unknown, re-list (by ownership metadata) before creating again.
  virtual boost::asio::awaitable<FlyResult<Machine>> create_machine(
      CreateMachineRequest request) = 0;

  virtual boost::asio::awaitable<FlyResult<Unit>> start_machine(std::string id,
                                                                std::string nonce = {}) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> stop_machine(std::string id,
                                                               StopOptions options = {},
                                                               std::string nonce = {}) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> suspend_machine(std::string id,
                                                                  std::string nonce = {}) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> cordon_machine(std::string id,
                                                                 std::string nonce = {}) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> uncordon_machine(std::string id,
                                                                   std::string nonce = {}) = 0;
  // force: kill it if running (DELETE ...?force=true).
  virtual boost::asio::awaitable<FlyResult<Unit>> delete_machine(std::string id, bool force = true,
                                                                 std::string nonce = {}) = 0;

  // One /wait call: at most 60 s server-side. A 408 comes back as kWaitTimeout; wait_for_state()
  // below loops it. state: started|stopped|suspended|destroyed|failed|settled.
  virtual boost::asio::awaitable<FlyResult<WaitResult>> wait_machine(std::string id,
                                                                     std::string state,
                                                                     std::chrono::seconds timeout,
                                                                     std::string version = {}) = 0;

  // POST /lease without a nonce: a new lease (409 kConflict if someone else holds one).
  virtual boost::asio::awaitable<FlyResult<LeaseInfo>> acquire_lease(std::string id,
                                                                     std::chrono::seconds ttl,
                                                                     std::string description) = 0;
  // POST /lease with our nonce: extend it.
  virtual boost::asio::awaitable<FlyResult<LeaseInfo>> refresh_lease(std::string id,
                                                                     std::string nonce,
                                                                     std::chrono::seconds ttl) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> release_lease(std::string id,
                                                                std::string nonce) = 0;

  virtual boost::asio::awaitable<FlyResult<std::map<std::string, std::string>>> get_metadata(
      std::string id) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> set_metadata(std::string id, std::string key,
                                                               std::string value,
                                                               std::string nonce = {}) = 0;
  virtual boost::asio::awaitable<FlyResult<Unit>> delete_metadata(std::string id, std::string key,
                                                                  std::string nonce = {}) = 0;

  // GET /v1/platform/regions, for RegionCatalog::merge_platform_regions.
  virtual boost::asio::awaitable<FlyResult<std::vector<Region>>> list_regions() = 0;
};

// Loops /wait (each call <= 60 s) on 408 until `state` is reached or `overall` has passed
// (then kWaitTimeout). Needs nothing but the interface, so the fake gets it too.
boost::asio::awaitable<FlyResult<WaitResult>> wait_for_state(MachinesApi& api, std::string id,
                                                             std::string state,
                                                             std::chrono::seconds overall,
                                                             std::string version = {});

// The clone recipe (fly/models.h make_clone_request) followed by create. The caller decides
// whether to wait for `started` (wait_for_state) before counting the clone as serving.
boost::asio::awaitable<FlyResult<Machine>> clone_machine(MachinesApi& api, const Machine& source,
                                                         CloneOptions options);

}  // namespace autoplacer::fly
