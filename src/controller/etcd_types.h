#pragma once
// The etcd v3 messages we use, as plain structs. They mirror etcdserverpb (rpc.proto, kv.proto)
// field for field, so the JSON gateway codec and the in-memory fake speak the same language.
// Only the fields the controller needs are here; everything else keeps etcd's defaults.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"

namespace autoplacer::etcd {

using Revision = std::int64_t;
using LeaseId = std::int64_t;

struct EtcdError {
  enum class Kind {
    kUnavailable,       // no endpoint answered, or the cluster has no leader / no quorum
    kTimeout,           // the request deadline passed; a write may or may not have happened
    kUnauthenticated,   // bad credentials or an expired/invalid token
    kPermissionDenied,  // the user lacks a role for this key
    kLeaseNotFound,     // the lease expired or was revoked
    kInvalidArgument,   // etcd rejected the request as malformed
    kCompacted,         // asked for a revision that was compacted away
    kProtocol,          // the answer was not what the gateway should send
    kOther,
  };
  Kind kind = Kind::kOther;
  std::string message;
  int grpc_code = 0;  // the gRPC status code the gateway reported, 0 if none

  // True for errors that another attempt (possibly on another endpoint) may cure.
  bool transient() const { return kind == Kind::kUnavailable || kind == Kind::kTimeout; }
};

const char* to_string(EtcdError::Kind kind);

template <class T>
using EtcdResult = Result<T, EtcdError>;

struct ResponseHeader {
  std::uint64_t cluster_id = 0;
  std::uint64_t member_id = 0;
  Revision revision = 0;  // the store's revision when the request was served
  std::uint64_t raft_term = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  std::int64_t version = 0;
  LeaseId lease = 0;
};

// The smallest key greater than every key that starts with `prefix` (etcd's "range_end" for a
// prefix). "\0" (a single NUL) means "every key" when the prefix is empty.
std::string prefix_range_end(std::string_view prefix);

struct RangeRequest {
  std::string key;
  std::string range_end;  // empty: just `key`
  std::int64_t limit = 0;
  Revision revision = 0;  // 0: the latest
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;

  static RangeRequest single(std::string key) {
    RangeRequest r;
    r.key = std::move(key);
    return r;
  }
  static RangeRequest prefix(std::string prefix) {
    RangeRequest r;
    r.range_end = prefix_range_end(prefix);
    r.key = std::move(prefix);
    return r;
  }
};

struct RangeResponse {
  ResponseHeader header;
  std::vector<KeyValue> kvs;
  bool more = false;
  std::int64_t count = 0;
};

struct PutRequest {
  std::string key;
  std::string value;
  LeaseId lease = 0;
  bool prev_kv = false;

  static PutRequest of(std::string key, std::string value, LeaseId lease = 0) {
    PutRequest p;
    p.key = std::move(key);
    p.value = std::move(value);
    p.lease = lease;
    return p;
  }
};

struct PutResponse {
  ResponseHeader header;
  std::optional<KeyValue> prev_kv;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;

  static DeleteRangeRequest single(std::string key) {
    DeleteRangeRequest d;
    d.key = std::move(key);
    return d;
  }
};

struct DeleteRangeResponse {
  ResponseHeader header;
  std::int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

struct Compare {
  enum class Result { kEqual, kGreater, kLess, kNotEqual };
  enum class Target { kVersion, kCreate, kMod, kValue, kLease };
  Result result = Result::kEqual;
  Target target = Target::kCreate;
  std::string key;
  std::int64_t number = 0;  // version, create/mod revision or lease, per `target`
  std::string value;        // for kValue

  static Compare create_revision(std::string key, Result r, Revision rev) {
    return make(std::move(key), Target::kCreate, r, rev, {});
  }
  static Compare mod_revision(std::string key, Result r, Revision rev) {
    return make(std::move(key), Target::kMod, r, rev, {});
  }
  static Compare version(std::string key, Result r, std::int64_t v) {
    return make(std::move(key), Target::kVersion, r, v, {});
  }
  static Compare lease(std::string key, Result r, LeaseId id) {
    return make(std::move(key), Target::kLease, r, id, {});
  }
  static Compare value_is(std::string key, Result r, std::string v) {
    return make(std::move(key), Target::kValue, r, 0, std::move(v));
  }
  static Compare make(std::string key, Target t, Result r, std::int64_t number, std::string v) {
    Compare c;
    c.result = r;
    c.target = t;
    c.key = std::move(key);
    c.number = number;
    c.value = std::move(v);
    return c;
  }
};

using RequestOp = std::variant<RangeRequest, PutRequest, DeleteRangeRequest>;
using ResponseOp = std::variant<RangeResponse, PutResponse, DeleteRangeResponse>;

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};

struct TxnResponse {
  ResponseHeader header;
  bool succeeded = false;
  std::vector<ResponseOp> responses;
};

struct LeaseGrantResponse {
  ResponseHeader header;
  LeaseId id = 0;
  std::int64_t ttl = 0;  // seconds
};

// TTL <= 0 means the lease no longer exists: it expired or was revoked.
struct LeaseKeepAliveResponse {
  ResponseHeader header;
  LeaseId id = 0;
  std::int64_t ttl = 0;
};

struct LeaseTimeToLiveResponse {
  ResponseHeader header;
  LeaseId id = 0;
  std::int64_t ttl = -1;  // remaining seconds, -1 if the lease does not exist
  std::int64_t granted_ttl = 0;
};

struct LeaseRevokeResponse {
  ResponseHeader header;
};

struct AuthenticateResponse {
  ResponseHeader header;
  std::string token;
};

}  // namespace autoplacer::etcd
