#pragma once
// JSON encoding of etcd v3 messages as the grpc-gateway (/v3/...) speaks them: keys and values
// are base64, 64-bit integers travel as decimal strings, enums by name, and fields holding their
// default value (0, false, "") are left out of answers. Pure functions, no I/O.
#include <optional>
#include <string>
#include <string_view>

#include "controller/etcd_types.h"

namespace autoplacer::etcd {

std::string base64_encode(std::string_view bytes);
// nullopt for text that is not canonical-enough base64 (bad characters, bad length).
std::optional<std::string> base64_decode(std::string_view text);

// Request bodies.
std::string encode_range(const RangeRequest& r);
std::string encode_put(const PutRequest& r);
std::string encode_delete_range(const DeleteRangeRequest& r);
std::string encode_txn(const TxnRequest& r);
std::string encode_lease_grant(std::int64_t ttl_seconds, LeaseId id);
std::string encode_lease_id(LeaseId id);  // keepalive, revoke
std::string encode_lease_time_to_live(LeaseId id);
std::string encode_authenticate(std::string_view name, std::string_view password);

// Answer bodies of a 200 response. kProtocol errors for anything malformed.
EtcdResult<RangeResponse> decode_range(std::string_view body);
EtcdResult<PutResponse> decode_put(std::string_view body);
EtcdResult<DeleteRangeResponse> decode_delete_range(std::string_view body);
EtcdResult<TxnResponse> decode_txn(std::string_view body);
EtcdResult<LeaseGrantResponse> decode_lease_grant(std::string_view body);
// Keep-alive is a streaming RPC: the gateway wraps the one answer in {"result": ...} or reports
// {"error": {...}} inside a 200.
EtcdResult<LeaseKeepAliveResponse> decode_lease_keep_alive(std::string_view body);
EtcdResult<LeaseTimeToLiveResponse> decode_lease_time_to_live(std::string_view body);
EtcdResult<LeaseRevokeResponse> decode_lease_revoke(std::string_view body);
EtcdResult<AuthenticateResponse> decode_authenticate(std::string_view body);

// The error a non-200 answer stands for: the gateway's body is
// {"error": "...", "message": "...", "code": <gRPC code>}. Falls back on the HTTP status.
EtcdError decode_error(unsigned http_status, std::string_view body);

// Maps a gRPC status code and etcd's message to our error kinds.
EtcdError::Kind kind_from_grpc(int grpc_code, std::string_view message);

}  // namespace autoplacer::etcd
