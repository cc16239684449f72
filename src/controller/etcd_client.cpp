#include "controller/etcd_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log.h"
#include "controller/etcd_codec.h"

namespace autoplacer::etcd {
namespace asio = boost::asio;

namespace {

EtcdError from_http(const net::HttpError& e) {
  // A timeout may hide a write that happened; every write we send is guarded by a compare or
  // idempotent, so the caller may retry it. Everything else means "this endpoint is not there".
  auto kind = e.kind == net::HttpError::Kind::kTimeout ? EtcdError::Kind::kTimeout
                                                       : EtcdError::Kind::kUnavailable;
  return EtcdError{kind, std::string(net::to_string(e.kind)) + ": " + e.message, 0};
}

}  // namespace

EtcdGatewayClient::EtcdGatewayClient(EtcdClientOptions options,
                                     std::shared_ptr<EtcdTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {
  if (!options_.password.empty()) log::register_secret(options_.password);
}

std::string EtcdGatewayClient::current_endpoint() const {
  std::lock_guard lock(mu_);
  return options_.endpoints.empty() ? std::string() : options_.endpoints[current_];
}

asio::awaitable<EtcdResult<std::string>> EtcdGatewayClient::authenticate(
    const std::string& endpoint) {
  auto reply = co_await transport_->post(endpoint, "/v3/auth/authenticate",
                                         encode_authenticate(options_.username, options_.password),
                                         "", options_.request_timeout);
  if (!reply) co_return make_err(from_http(reply.error()));
  if (reply->status != 200) co_return make_err(decode_error(reply->status, reply->body));
  auto auth = decode_authenticate(reply->body);
  if (!auth) co_return make_err(auth.error());
  log::register_secret(auth->token);
  co_return std::move(auth->token);
}

asio::awaitable<EtcdResult<std::string>> EtcdGatewayClient::call(std::string path,
                                                                 std::string body) {
  const std::size_t n = options_.endpoints.size();
  if (n == 0) {
    co_return make_err(EtcdError{EtcdError::Kind::kUnavailable, "no etcd endpoints configured"});
  }
  EtcdError last{EtcdError::Kind::kUnavailable, "no endpoint tried"};
  bool reauthenticated = false;
  // Each endpoint gets one try (two if its token had to be renewed), starting at the one that
  // answered last, so a dead first endpoint costs one timeout once rather than on every call.
  for (std::size_t tried = 0; tried < n; ++tried) {
    std::string endpoint;
    std::string token;
    {
      std::lock_guard lock(mu_);
      endpoint = options_.endpoints[current_];
      token = token_;
    }
    auto advance = [&] {
      std::lock_guard lock(mu_);
      if (options_.endpoints[current_] == endpoint) current_ = (current_ + 1) % n;
    };
    if (!options_.username.empty() && token.empty()) {
      auto t = co_await authenticate(endpoint);
      if (!t) {
        last = t.error();
        if (!last.transient()) co_return make_err(std::move(last));
        advance();
        continue;
      }
      token = std::move(t.value());
      std::lock_guard lock(mu_);
      token_ = token;
    }
    auto reply = co_await transport_->post(endpoint, path, body, token, options_.request_timeout);
    if (!reply) {
      last = from_http(reply.error());
      advance();
      continue;
    }
    if (reply->status == 200) co_return std::move(reply->body);
    last = decode_error(reply->status, reply->body);
    if (last.kind == EtcdError::Kind::kUnauthenticated && !options_.username.empty() &&
        !reauthenticated) {
      // Tokens expire (simple tokens after 5 minutes idle); get a new one and retry here.
      reauthenticated = true;
      {
        std::lock_guard lock(mu_);
        if (token_ == token) token_.clear();
      }
      --tried;
      continue;
    }
    if (!last.transient()) co_return make_err(std::move(last));
    advance();
  }
  co_return make_err(std::move(last));
}

namespace {
template <class T, class Decode>
asio::awaitable<EtcdResult<T>> decoded(asio::awaitable<EtcdResult<std::string>> call,
                                       Decode decode) {
  auto body = co_await std::move(call);
  if (!body) co_return make_err(body.error());
  co_return decode(body.value());
}
}  // namespace

asio::awaitable<EtcdResult<RangeResponse>> EtcdGatewayClient::range(RangeRequest r) {
  return decoded<RangeResponse>(call("/v3/kv/range", encode_range(r)), decode_range);
}

asio::awaitable<EtcdResult<PutResponse>> EtcdGatewayClient::put(PutRequest r) {
  return decoded<PutResponse>(call("/v3/kv/put", encode_put(r)), decode_put);
}

asio::awaitable<EtcdResult<DeleteRangeResponse>> EtcdGatewayClient::delete_range(
    DeleteRangeRequest r) {
  return decoded<DeleteRangeResponse>(call("/v3/kv/deleterange", encode_delete_range(r)),
                                      decode_delete_range);
}

asio::awaitable<EtcdResult<TxnResponse>> EtcdGatewayClient::txn(TxnRequest r) {
  return decoded<TxnResponse>(call("/v3/kv/txn", encode_txn(r)), decode_txn);
}

asio::awaitable<EtcdResult<LeaseGrantResponse>> EtcdGatewayClient::lease_grant(
    std::int64_t ttl_seconds, LeaseId id) {
  return decoded<LeaseGrantResponse>(call("/v3/lease/grant", encode_lease_grant(ttl_seconds, id)),
                                     decode_lease_grant);
}

asio::awaitable<EtcdResult<LeaseKeepAliveResponse>> EtcdGatewayClient::lease_keep_alive(
    LeaseId id) {
  return decoded<LeaseKeepAliveResponse>(call("/v3/lease/keepalive", encode_lease_id(id)),
                                         decode_lease_keep_alive);
}

asio::awaitable<EtcdResult<LeaseRevokeResponse>> EtcdGatewayClient::lease_revoke(LeaseId id) {
  // etcd 3.4 serves both /v3/lease/revoke and the older /v3/kv/lease/revoke.
  return decoded<LeaseRevokeResponse>(call("/v3/lease/revoke", encode_lease_id(id)),
                                      decode_lease_revoke);
}

asio::awaitable<EtcdResult<LeaseTimeToLiveResponse>> EtcdGatewayClient::lease_time_to_live(
    LeaseId id) {
  return decoded<LeaseTimeToLiveResponse>(
      call("/v3/lease/timetolive", encode_lease_time_to_live(id)), decode_lease_time_to_live);
}

// ---------------------------------------------------------------------------------------------

Result<EtcdClientOptions, std::string> etcd_options_from(
    const EtcdFlagValues& flags, const std::function<const char*(const char*)>& getenv_fn) {
  // Each setting has a short environment name (ETCD_ENDPOINTS, as etcd's own tools spell it) and
  // the older AUTOPLACER_ETCD_* one; the short one wins when both are set.
  auto env = [&](const char* name) -> const char* {
    if (!getenv_fn) return nullptr;
    const std::string prefixed = name;
    const std::string bare = prefixed.substr(std::string("AUTOPLACER_").size());
    const char* v = getenv_fn(bare.c_str());
    if (v != nullptr && *v != '\0') return v;
    v = getenv_fn(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  auto pick = [&](const std::string& flag, const char* name) -> std::string {
    if (!flag.empty()) return flag;
    const char* v = env(name);
    return v != nullptr ? std::string(v) : std::string();
  };
  EtcdClientOptions o;
  std::string endpoints = pick(flags.endpoints, "AUTOPLACER_ETCD_ENDPOINTS");
  std::size_t start = 0;
  while (start <= endpoints.size() && !endpoints.empty()) {
    auto comma = endpoints.find(',', start);
    auto item =
        endpoints.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      if (item.rfind("http://", 0) != 0 && item.rfind("https://", 0) != 0) {
        return make_err("--etcd-endpoints: '" + item + "' must start with http:// or https://");
      }
      o.endpoints.push_back(item);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  o.tls.ca_file = pick(flags.ca, "AUTOPLACER_ETCD_CA");
  o.tls.cert_file = pick(flags.cert, "AUTOPLACER_ETCD_CERT");
  o.tls.key_file = pick(flags.key, "AUTOPLACER_ETCD_KEY");
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    return make_err(std::string("--etcd-cert and --etcd-key go together"));
  }
  o.username = pick(flags.username, "AUTOPLACER_ETCD_USERNAME");
  const char* pw = env("AUTOPLACER_ETCD_PASSWORD");
  if (pw != nullptr) o.password = pw;
  if (!o.username.empty() && o.password.empty()) {
    return make_err(std::string(
        "--etcd-user needs ETCD_PASSWORD (or AUTOPLACER_ETCD_PASSWORD) in the environment"));
  }
  auto timeout = pick(flags.request_timeout, "AUTOPLACER_ETCD_REQUEST_TIMEOUT");
  if (!timeout.empty()) {
    auto d = parse_duration(timeout);
    if (!d || d->count() == 0) {
      return make_err("--etcd-request-timeout: '" + timeout + "' is not a positive duration");
    }
    o.request_timeout = *d;
  }
  return o;
}

}  // namespace autoplacer::etcd
