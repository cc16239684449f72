#pragma once
// The pure model behind flysim: apps, machines and their lifecycle, leases, metadata, regional
// capacity. No I/O and no clock reads: every call gets `now`, and a machine's transient state
// (creating, starting, stopping...) turns into the next state when a later call passes a time at
// or after the transition. Answers are JSON in the Machines API shapes, errors carry the HTTP
// status and Fly's error `status` so the HTTP layer (flysim.h) only has to serialise them.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "policy/regions.h"

namespace autoplacer::sim {

struct ApiError {
  int status = 500;
  std::string message;
  std::string fly_status = "unknown";  // unknown|insufficient_capacity|name_taken|...
};
template <class T>
using WorldResult = Result<T, ApiError>;

// How long each transient state lasts, in the world's clock.
struct LifecycleDelays {
  Duration create{std::chrono::seconds(2)};   // creating -> created
  Duration start{std::chrono::seconds(1)};    // starting -> started
  Duration stop{std::chrono::seconds(1)};     // stopping -> stopped
  Duration suspend{std::chrono::seconds(1)};  // suspending -> suspended
  Duration destroy{std::chrono::seconds(1)};  // destroying -> destroyed
};

struct SimLease {
  std::string nonce;
  std::string owner;
  std::string description;
  TimePoint expires_at{};
};

struct SimMachine {
  struct Stage {
    std::string state;
    TimePoint at;
  };
  std::string id;
  std::string app;
  std::string name;
  std::string region;
  std::string state;
  std::string instance_id;  // = version
  std::string private_ip;
  std::string host_status = "ok";
  boost::json::object config;  // includes metadata, image, guest, services, mounts
  boost::json::object image_ref;
  TimePoint created_at{};
  TimePoint updated_at{};
  bool cordoned = false;
  std::deque<Stage> stages;  // pending transitions, in order
  std::optional<SimLease> lease;
  std::vector<boost::json::object> events;  // newest first
  std::uint64_t seq = 0;                    // creation order

  bool serving() const { return state == "started" && !cordoned && host_status == "ok"; }
};

// A machine placed directly into the world (start-up fleet, test set-up), bypassing the API.
struct SeedMachine {
  std::string app;
  std::string name;  // "" = generated
  std::string region = "iad";
  std::string state = "started";
  std::map<std::string, std::string> metadata;
  std::string host_status = "ok";
  std::string image = "registry.fly.io/demo-app:deployment-01";
  std::string lease_owner;  // non-empty: a lease held by this (foreign) owner
  Duration lease_ttl{std::chrono::hours(1)};
};

struct ListQuery {
  std::string region;               // "" = any
  std::vector<std::string> states;  // empty = any but destroyed
  std::map<std::string, std::string> metadata;
  bool summary = false;
  bool include_leases = false;
  bool include_deleted = false;
  std::optional<int> limit;
  std::string cursor;
};

struct ListPage {
  boost::json::array machines;
  std::string next_cursor;  // "" when no more
};

class FlyWorld {
 public:
  struct Options {
    std::vector<std::string> apps{"demo-app"};
    LifecycleDelays delays;
    // Most machines (not destroyed) a region holds across all apps; absent = unlimited.
    std::map<std::string, int> capacity;
    std::uint64_t seed = 1;
    std::string lease_owner = "flysim-user@example.com";  // owner of leases taken via the API
    const RegionCatalog* regions = nullptr;               // default: RegionCatalog::builtin()
  };

  explicit FlyWorld(Options options);

  // Applies every transition due at or before `now`.
  void advance(TimePoint now);
  // The earliest pending transition, if any.
  std::optional<TimePoint> next_transition() const;

  SimMachine& seed(const SeedMachine& seed, TimePoint now);
  bool has_app(std::string_view app) const;
  void set_capacity(const std::string& region, std::optional<int> limit);
  // Puts a lease held by `owner` on a machine (fault injection, tests).
  bool set_foreign_lease(std::string_view app, std::string_view id, std::string owner, Duration ttl,
                         TimePoint now);

  // --- Machines API operations ---
  WorldResult<ListPage> list(std::string_view app, const ListQuery& q, TimePoint now);
  WorldResult<boost::json::value> get(std::string_view app, std::string_view id,
                                      bool include_leases, TimePoint now);
  WorldResult<boost::json::value> create(std::string_view app, const boost::json::value& body,
                                         TimePoint now);
  WorldResult<boost::json::value> start(std::string_view app, std::string_view id,
                                        std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> stop(std::string_view app, std::string_view id,
                                       const boost::json::value& body, std::string_view nonce,
                                       TimePoint now);
  WorldResult<boost::json::value> suspend(std::string_view app, std::string_view id,
                                          std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> cordon(std::string_view app, std::string_view id, bool on,
                                         std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> destroy(std::string_view app, std::string_view id, bool force,
                                          std::string_view nonce, TimePoint now);
  // nullopt: not there yet (the caller keeps waiting). states: started|stopped|suspended|
  // destroyed|failed|settled.
  WorldResult<std::optional<boost::json::value>> wait_check(std::string_view app,
                                                            std::string_view id,
                                                            const std::vector<std::string>& states,
                                                            std::string_view version,
                                                            TimePoint now);
  WorldResult<boost::json::value> lease_get(std::string_view app, std::string_view id,
                                            TimePoint now);
  WorldResult<boost::json::value> lease_acquire(std::string_view app, std::string_view id,
                                                const boost::json::value& body,
                                                std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> lease_release(std::string_view app, std::string_view id,
                                                std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> metadata_get(std::string_view app, std::string_view id);
  // replace: PUT semantics (the given map becomes the metadata); else PATCH (merge).
  WorldResult<boost::json::value> metadata_update(std::string_view app, std::string_view id,
                                                  const boost::json::value& body, bool replace,
                                                  std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> metadata_get_key(std::string_view app, std::string_view id,
                                                   std::string_view key);
  WorldResult<boost::json::value> metadata_set_key(std::string_view app, std::string_view id,
                                                   std::string_view key,
                                                   const boost::json::value& body,
                                                   std::string_view nonce, TimePoint now);
  WorldResult<boost::json::value> metadata_delete_key(std::string_view app, std::string_view id,
                                                      std::string_view key, std::string_view nonce,
                                                      TimePoint now);
  boost::json::value regions_json() const;

  // --- Introspection (tests, /metrics, /flysim/state) ---
  std::vector<const SimMachine*> machines(std::string_view app) const;
  const SimMachine* find(std::string_view app, std::string_view id) const;
  // Regions with at least one machine serving traffic (started, not cordoned, host ok).
  std::vector<std::string> serving_regions(std::string_view app) const;
  // (region, state) -> count, destroyed excluded.
  std::map<std::pair<std::string, std::string>, int> counts(std::string_view app) const;
  static boost::json::object machine_json(const SimMachine& m, bool summary, bool include_lease);
  const RegionCatalog& regions() const { return *regions_; }
  const Options& options() const { return options_; }

 private:
  SimMachine* lookup(std::string_view app, std::string_view id);
  WorldResult<SimMachine*> writable(std::string_view app, std::string_view id,
                                    std::string_view nonce, TimePoint now);
  void set_state(SimMachine& m, std::string state, TimePoint at, std::string_view event_type,
                 std::string_view source);
  void schedule(SimMachine& m, std::string transient, TimePoint now,
                std::vector<std::pair<std::string, Duration>> then, std::string_view event_type);
  int used_capacity(std::string_view region) const;
  std::optional<std::vector<std::string>> resolve_regions(std::string_view spec) const;
  std::string new_id();
  std::string new_ulid();
  std::string new_hex(int chars);
  std::string new_private_ip();

  Options options_;
  const RegionCatalog* regions_;
  std::mt19937_64 rng_;
  std::map<std::string, std::map<std::string, SimMachine>, std::less<>> apps_;  // app -> id ->
  std::uint64_t next_seq_ = 0;
};

std::string format_rfc3339(TimePoint t);

}  // namespace autoplacer::sim
