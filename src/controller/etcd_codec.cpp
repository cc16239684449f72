#include "controller/etcd_codec.h"

#include <array>
#include <boost/json.hpp>
#include <charconv>

namespace autoplacer::etcd {
namespace json = boost::json;

const char* to_string(EtcdError::Kind kind) {
  switch (kind) {
    case EtcdError::Kind::kUnavailable:
      return "unavailable";
    case EtcdError::Kind::kTimeout:
      return "timeout";
    case EtcdError::Kind::kUnauthenticated:
      return "unauthenticated";
    case EtcdError::Kind::kPermissionDenied:
      return "permission_denied";
    case EtcdError::Kind::kLeaseNotFound:
      return "lease_not_found";
    case EtcdError::Kind::kInvalidArgument:
      return "invalid_argument";
    case EtcdError::Kind::kCompacted:
      return "compacted";
    case EtcdError::Kind::kProtocol:
      return "protocol";
    case EtcdError::Kind::kOther:
      return "other";
  }
  return "unknown";
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// ---------------------------------------------------------------------------------------------
// base64 (RFC 4648, with padding), as protobuf's JSON mapping writes `bytes` fields.

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // also accept the URL-safe alphabet
  if (c == '/' || c == '_') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t n = byte(i) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = b64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding. 64-bit numbers go as strings: protobuf's JSON mapping, and JavaScript-safe.

namespace {

std::string i64(std::int64_t v) {
  return std::to_string(v);
}

json::object range_object(const RangeRequest& r) {
  json::object o;
  o["key"] = base64_encode(r.key);
  if (!r.range_end.empty()) o["range_end"] = base64_encode(r.range_end);
  if (r.limit != 0) o["limit"] = i64(r.limit);
  if (r.revision != 0) o["revision"] = i64(r.revision);
  if (r.serializable) o["serializable"] = true;
  if (r.keys_only) o["keys_only"] = true;
  if (r.count_only) o["count_only"] = true;
  return o;
}

json::object put_object(const PutRequest& r) {
  json::object o;
  o["key"] = base64_encode(r.key);
  o["value"] = base64_encode(r.value);
  if (r.lease != 0) o["lease"] = i64(r.lease);
  if (r.prev_kv) o["prev_kv"] = true;
  return o;
}

json::object delete_object(const DeleteRangeRequest& r) {
  json::object o;
  o["key"] = base64_encode(r.key);
  if (!r.range_end.empty()) o["range_end"] = base64_encode(r.range_end);
  if (r.prev_kv) o["prev_kv"] = true;
  return o;
}

const char* compare_result_name(Compare::Result r) {
  switch (r) {
    case Compare::Result::kEqual:
      return "EQUAL";
    case Compare::Result::kGreater:
      return "GREATER";
    case Compare::Result::kLess:
      return "LESS";
    case Compare::Result::kNotEqual:
      return "NOT_EQUAL";
  }
  return "EQUAL";
}

json::object compare_object(const Compare& c) {
  json::object o;
  o["key"] = base64_encode(c.key);
  o["result"] = compare_result_name(c.result);
  switch (c.target) {
    case Compare::Target::kVersion:
      o["target"] = "VERSION";
      o["version"] = i64(c.number);
      break;
    case Compare::Target::kCreate:
      o["target"] = "CREATE";
      o["create_revision"] = i64(c.number);
      break;
    case Compare::Target::kMod:
      o["target"] = "MOD";
      o["mod_revision"] = i64(c.number);
      break;
    case Compare::Target::kValue:
      o["target"] = "VALUE";
      o["value"] = base64_encode(c.value);
      break;
    case Compare::Target::kLease:
      o["target"] = "LEASE";
      o["lease"] = i64(c.number);
      break;
  }
  return o;
}

json::array ops_array(const std::vector<RequestOp>& ops) {
  json::array a;
  for (const auto& op : ops) {
    json::object o;
    if (const auto* r = std::get_if<RangeRequest>(&op)) {
      o["request_range"] = range_object(*r);
    } else if (const auto* p = std::get_if<PutRequest>(&op)) {
      o["request_put"] = put_object(*p);
    } else {
      o["request_delete_range"] = delete_object(std::get<DeleteRangeRequest>(op));
    }
    a.push_back(std::move(o));
  }
  return a;
}

}  // namespace

std::string encode_range(const RangeRequest& r) {
  return json::serialize(range_object(r));
}
std::string encode_put(const PutRequest& r) {
  return json::serialize(put_object(r));
}
std::string encode_delete_range(const DeleteRangeRequest& r) {
  return json::serialize(delete_object(r));
}

std::string encode_txn(const TxnRequest& r) {
  json::object o;
  json::array cmp;
  for (const auto& c : r.compare) cmp.push_back(compare_object(c));
  o["compare"] = std::move(cmp);
  o["success"] = ops_array(r.success);
  o["failure"] = ops_array(r.failure);
  return json::serialize(o);
}

std::string encode_lease_grant(std::int64_t ttl_seconds, LeaseId id) {
  json::object o;
  o["TTL"] = i64(ttl_seconds);
  if (id != 0) o["ID"] = i64(id);
  return json::serialize(o);
}

std::string encode_lease_id(LeaseId id) {
  json::object o;
  o["ID"] = i64(id);
  return json::serialize(o);
}

std::string encode_lease_time_to_live(LeaseId id) {
  return encode_lease_id(id);
}

std::string encode_authenticate(std::string_view name, std::string_view password) {
  json::object o;
  o["name"] = name;
  o["password"] = password;
  return json::serialize(o);
}

// ---------------------------------------------------------------------------------------------
// Decoding. Missing fields mean their default; a field of the wrong type is a protocol error.

namespace {

struct DecodeFailure {
  std::string what;
};

EtcdError protocol(std::string what) {
  return EtcdError{EtcdError::Kind::kProtocol, "etcd gateway answer: " + std::move(what), 0};
}

template <class Int>
Int integer_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return 0;
  if (v->is_int64()) return static_cast<Int>(v->get_int64());
  if (v->is_uint64()) return static_cast<Int>(v->get_uint64());
  if (v->is_string()) {
    const auto& s = v->get_string();
    Int out{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc{} && ptr == s.data() + s.size()) return out;
  }
  throw DecodeFailure{"field '" + std::string(name) + "' is not an integer"};
}

bool bool_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return false;
  if (v->is_bool()) return v->get_bool();
  throw DecodeFailure{"field '" + std::string(name) + "' is not a boolean"};
}

std::string string_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  throw DecodeFailure{"field '" + std::string(name) + "' is not a string"};
}

std::string bytes_field(const json::object& o, std::string_view name) {
  auto text = string_field(o, name);
  auto bytes = base64_decode(text);
  if (!bytes) throw DecodeFailure{"field '" + std::string(name) + "' is not base64"};
  return std::move(*bytes);
}

const json::object& object_of(const json::value& v, std::string_view what) {
  if (!v.is_object()) throw DecodeFailure{std::string(what) + " is not an object"};
  return v.get_object();
}

const json::object* object_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return nullptr;
  return &object_of(*v, name);
}

const json::array* array_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_array()) throw DecodeFailure{"field '" + std::string(name) + "' is not an array"};
  return &v->get_array();
}

ResponseHeader header_of(const json::object& o) {
  ResponseHeader h;
  if (const auto* ho = object_field(o, "header")) {
    h.cluster_id = integer_field<std::uint64_t>(*ho, "cluster_id");
    h.member_id = integer_field<std::uint64_t>(*ho, "member_id");
    h.revision = integer_field<Revision>(*ho, "revision");
    h.raft_term = integer_field<std::uint64_t>(*ho, "raft_term");
  }
  return h;
}

KeyValue kv_of(const json::object& o) {
  KeyValue kv;
  kv.key = bytes_field(o, "key");
  kv.value = bytes_field(o, "value");
  kv.create_revision = integer_field<Revision>(o, "create_revision");
  kv.mod_revision = integer_field<Revision>(o, "mod_revision");
  kv.version = integer_field<std::int64_t>(o, "version");
  kv.lease = integer_field<LeaseId>(o, "lease");
  return kv;
}

std::vector<KeyValue> kvs_of(const json::object& o, std::string_view name) {
  std::vector<KeyValue> out;
  if (const auto* a = array_field(o, name)) {
    for (const auto& v : *a) out.push_back(kv_of(object_of(v, "kv")));
  }
  return out;
}

RangeResponse range_of(const json::object& o) {
  RangeResponse r;
  r.header = header_of(o);
  r.kvs = kvs_of(o, "kvs");
  r.more = bool_field(o, "more");
  r.count = integer_field<std::int64_t>(o, "count");
  return r;
}

PutResponse put_of(const json::object& o) {
  PutResponse r;
  r.header = header_of(o);
  if (const auto* p = object_field(o, "prev_kv")) r.prev_kv = kv_of(*p);
  return r;
}

DeleteRangeResponse delete_of(const json::object& o) {
  DeleteRangeResponse r;
  r.header = header_of(o);
  r.deleted = integer_field<std::int64_t>(o, "deleted");
  r.prev_kvs = kvs_of(o, "prev_kvs");
  return r;
}

// Parses `body` as a JSON object and applies `fn` to it, turning every failure into kProtocol.
template <class Fn>
auto decode_with(std::string_view body, Fn fn) -> EtcdResult<decltype(fn(json::object{}))> {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return make_err(protocol("not JSON: " + ec.message()));
  if (!v.is_object()) return make_err(protocol("not a JSON object"));
  try {
    return fn(v.get_object());
  } catch (const DecodeFailure& f) {
    return make_err(protocol(f.what));
  }
}

}  // namespace

EtcdResult<RangeResponse> decode_range(std::string_view body) {
  return decode_with(body, [](const json::object& o) { return range_of(o); });
}

EtcdResult<PutResponse> decode_put(std::string_view body) {
  return decode_with(body, [](const json::object& o) { return put_of(o); });
}

EtcdResult<DeleteRangeResponse> decode_delete_range(std::string_view body) {
  return decode_with(body, [](const json::object& o) { return delete_of(o); });
}

EtcdResult<TxnResponse> decode_txn(std::string_view body) {
  return decode_with(body, [](const json::object& o) {
    TxnResponse r;
    r.header = header_of(o);
    r.succeeded = bool_field(o, "succeeded");
    if (const auto* a = array_field(o, "responses")) {
      for (const auto& v : *a) {
        const auto& op = object_of(v, "response op");
        if (const auto* x = object_field(op, "response_range")) {
          r.responses.emplace_back(range_of(*x));
        } else if (const auto* y = object_field(op, "response_put")) {
          r.responses.emplace_back(put_of(*y));
        } else if (const auto* z = object_field(op, "response_delete_range")) {
          r.responses.emplace_back(delete_of(*z));
        } else {
          throw DecodeFailure{"unknown txn response op"};
        }
      }
    }
    return r;
  });
}

EtcdResult<LeaseGrantResponse> decode_lease_grant(std::string_view body) {
  auto r = decode_with(body, [](const json::object& o) {
    LeaseGrantResponse g;
    g.header = header_of(o);
    g.id = integer_field<LeaseId>(o, "ID");
    g.ttl = integer_field<std::int64_t>(o, "TTL");
    // LeaseGrantResponse carries its own error string (etcd fills it on failure).
    auto error = string_field(o, "error");
    if (!error.empty()) throw DecodeFailure{"lease grant refused: " + error};
    if (g.id == 0) throw DecodeFailure{"lease grant without an ID"};
    return g;
  });
  return r;
}

EtcdResult<LeaseKeepAliveResponse> decode_lease_keep_alive(std::string_view body) {
  // A stream answer may carry several newline-separated messages; one request gives one answer,
  // so the first line is the one we want.
  auto line = body.substr(0, body.find('\n'));
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return make_err(protocol("keepalive answer is not a JSON object"));
  const auto& o = v.get_object();
  try {
    if (const auto* err = object_field(o, "error")) {
      auto code = integer_field<int>(*err, "grpc_code");
      if (code == 0) code = integer_field<int>(*err, "code");
      auto message = string_field(*err, "message");
      return make_err(EtcdError{kind_from_grpc(code, message), message, code});
    }
    const auto* result = object_field(o, "result");
    if (result == nullptr) return make_err(protocol("keepalive answer without 'result'"));
    LeaseKeepAliveResponse k;
    k.header = header_of(*result);
    k.id = integer_field<LeaseId>(*result, "ID");
    k.ttl = integer_field<std::int64_t>(*result, "TTL");
    return k;
  } catch (const DecodeFailure& f) {
    return make_err(protocol(f.what));
  }
}

EtcdResult<LeaseTimeToLiveResponse> decode_lease_time_to_live(std::string_view body) {
  return decode_with(body, [](const json::object& o) {
    LeaseTimeToLiveResponse t;
    t.header = header_of(o);
    t.id = integer_field<LeaseId>(o, "ID");
    t.ttl = o.contains("TTL") ? integer_field<std::int64_t>(o, "TTL") : 0;
    t.granted_ttl = integer_field<std::int64_t>(o, "grantedTTL");
    return t;
  });
}

EtcdResult<LeaseRevokeResponse> decode_lease_revoke(std::string_view body) {
  return decode_with(body, [](const json::object& o) { return LeaseRevokeResponse{header_of(o)}; });
}

EtcdResult<AuthenticateResponse> decode_authenticate(std::string_view body) {
  return decode_with(body, [](const json::object& o) {
    AuthenticateResponse a;
    a.header = header_of(o);
    a.token = string_field(o, "token");
    if (a.token.empty()) throw DecodeFailure{"authenticate answer without a token"};
    return a;
  });
}

EtcdError::Kind kind_from_grpc(int grpc_code, std::string_view message) {
  switch (grpc_code) {
    case 4:  // DEADLINE_EXCEEDED
      return EtcdError::Kind::kTimeout;
    case 5:  // NOT_FOUND: for our calls, only leases are "not found"
      return EtcdError::Kind::kLeaseNotFound;
    case 3:  // INVALID_ARGUMENT (etcd also reports bad passwords this way)
      if (message.find("authentication failed") != std::string_view::npos) {
        return EtcdError::Kind::kUnauthenticated;
      }
      return EtcdError::Kind::kInvalidArgument;
    case 7:  // PERMISSION_DENIED
      return EtcdError::Kind::kPermissionDenied;
    case 11:  // OUT_OF_RANGE: "mvcc: required revision has been compacted"
      return EtcdError::Kind::kCompacted;
    case 14:  // UNAVAILABLE: no leader, request timed out inside raft, stopping
    case 1:   // CANCELLED
      return EtcdError::Kind::kUnavailable;
    case 16:  // UNAUTHENTICATED: invalid or expired token
      return EtcdError::Kind::kUnauthenticated;
    default:
      break;
  }
  if (message.find("no leader") != std::string_view::npos ||
      message.find("timed out") != std::string_view::npos) {
    return EtcdError::Kind::kUnavailable;
  }
  return EtcdError::Kind::kOther;
}

EtcdError decode_error(unsigned http_status, std::string_view body) {
  boost::system::error_code ec;
  // The gateway may append HTTP trailers as text after a chunked body; parse up to the end of
  // the first JSON value only.
  json::stream_parser p;
  p.write_some(body.data(), body.size(), ec);
  if (!ec && p.done()) {
    json::value v = p.release();
    if (v.is_object()) {
      const auto& o = v.get_object();
      int code = 0;
      std::string message;
      try {
        code = integer_field<int>(o, "code");
        message = string_field(o, "error");
        if (message.empty()) message = string_field(o, "message");
      } catch (const DecodeFailure&) {
      }
      if (code != 0 || !message.empty()) {
        return EtcdError{kind_from_grpc(code, message), message, code};
      }
    }
  }
  EtcdError e;
  e.message = "HTTP " + std::to_string(http_status);
  if (http_status == 401)
    e.kind = EtcdError::Kind::kUnauthenticated;
  else if (http_status == 403)
    e.kind = EtcdError::Kind::kPermissionDenied;
  else if (http_status == 503 || http_status == 502 || http_status == 504) {
    e.kind = EtcdError::Kind::kUnavailable;
  } else if (http_status == 408) {
    e.kind = EtcdError::Kind::kTimeout;
  } else if (http_status >= 400 && http_status < 500) {
    e.kind = EtcdError::Kind::kInvalidArgument;
  } else {
    e.kind = EtcdError::Kind::kOther;
  }
  return e;
}

}  // namespace autoplacer::etcd
