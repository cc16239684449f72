#pragma once
// Typed views of the Machines API JSON (field names as in the OpenAPI spec, schema `Machine`,
// `Lease`, `WaitMachineResponse`, `main.regionResponse`). Parsing is defensive: a wrong type or a
// missing required field gives an error value naming the field, never a crash. The machine
// config stays an opaque JSON object so a clone never loses a field we do not model.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/regions.h"

namespace autoplacer::fly {

template <class T>
using ParseResult = Result<T, std::string>;

// Metadata keys the controller writes on what it creates (its ownership marks).
inline constexpr std::string_view kMetaPolicy = "autoplacer_policy";
inline constexpr std::string_view kMetaOpId = "autoplacer_op_id";
inline constexpr std::string_view kMetaSource = "autoplacer_source";  // machine cloned from
// Fly's reserved keys we read.
inline constexpr std::string_view kMetaProcessGroup = "fly_process_group";
inline constexpr std::string_view kMetaBlueGreenTag = "fly_bluegreen_deployment_tag";

struct ImageRef {
  std::string registry;    // "registry.fly.io"
  std::string repository;  // "my-app"
  std::string tag;         // "deployment-01H..."
  std::string digest;      // "sha256:..."
  // registry/repository:tag@digest, leaving out what is empty. Empty if repository is empty.
  std::string to_image() const;
  // The inverse, best effort: "registry.fly.io/app:tag@sha256:..." ("docker.io/x" style too).
  static ImageRef from_image(std::string_view image);
};

struct LeaseInfo {  // Lease (full, from /lease) or StrippedLease (in a Machine, no nonce)
  std::string nonce;
  std::string owner;
  std::string description;
  std::int64_t expires_at = 0;  // unix seconds
  std::string version;
};

struct MachineEvent {
  std::string id;
  std::string type;            // "launch", "start", "exit", ...
  std::string status;          // "created", "started", ...
  std::string source;          // "user", "flyd"
  std::int64_t timestamp = 0;  // unix ms
};

struct Machine {
  std::string id;  // required
  std::string name;
  std::string state;   // required
  std::string region;  // required
  std::string instance_id;
  std::string version;
  std::string private_ip;
  std::string host_status;  // "ok", "unknown", "unreachable" ("" when the API left it out)
  std::string created_at;
  std::string updated_at;
  bool cordoned = false;
  std::optional<ImageRef> image_ref;
  boost::json::object config;                   // opaque; {} with summary=true
  std::map<std::string, std::string> metadata;  // config.metadata (string values only)
  std::vector<MachineEvent> events;
  std::optional<LeaseInfo> lease;  // with include_leases (no nonce: StrippedLease)
  std::string nonce;               // lease nonce, only on a create that asked for lease_ttl

  std::string metadata_value(std::string_view key) const;
  std::string process_group() const { return metadata_value(kMetaProcessGroup); }
};

struct WaitResult {
  bool ok = false;
  std::string state;
  std::string version;
  std::string event_id;
};

ParseResult<Machine> machine_from_json(const boost::json::value& v);
ParseResult<std::vector<Machine>> machines_from_json(std::string_view body);
ParseResult<Machine> machine_from_body(std::string_view body);
ParseResult<LeaseInfo> lease_from_body(std::string_view body);
ParseResult<WaitResult> wait_from_body(std::string_view body);
ParseResult<std::map<std::string, std::string>> metadata_from_body(std::string_view body);
// GET /v1/platform/regions: every listed region is hostable unless deprecated.
ParseResult<std::vector<Region>> regions_from_body(std::string_view body);

boost::json::value machine_to_json(const Machine& m);  // for fakes and test servers

// POST /v1/apps/{app}/machines body (CreateMachineRequest).
struct CreateMachineRequest {
  boost::json::object config;
  std::string region;            // a code, a priority list "lhr,ams" or an alias
  std::string name;              // empty: Fly picks one
  bool skip_launch = false;      // create stopped (warm pool)
  std::optional<int> lease_ttl;  // seconds: create holding a lease (nonce comes back)
};
boost::json::object to_json(const CreateMachineRequest& req);

// What `fly machine clone` does: copy config, pin the image from image_ref, drop mounts (volumes
// are per region), keep metadata.fly_process_group, add our ownership marks, set the region.
struct CloneOptions {
  std::string region;
  std::map<std::string, std::string> metadata;  // ownership marks: autoplacer_policy, ..._op_id
  std::string name;
  bool skip_launch = false;
  std::optional<int> lease_ttl;
};
// Errors: the source has no usable config (host_status != ok, empty config) or no image.
ParseResult<CreateMachineRequest> make_clone_request(const Machine& source, const CloneOptions& o);

}  // namespace autoplacer::fly
