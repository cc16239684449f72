#pragma once
// etcd v3, spoken through its JSON gateway (/v3/...) so we need no gRPC. `Etcd` is the interface
// the leader election and the etcd state store use; `EtcdGatewayClient` is the real one (over an
// `EtcdTransport`), `FakeEtcd` (etcd_fake.h) the in-memory one for tests.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/etcd_types.h"
#include "net/http_types.h"

namespace autoplacer::etcd {

class Etcd {
 public:
  virtual ~Etcd() = default;
  virtual boost::asio::awaitable<EtcdResult<RangeResponse>> range(RangeRequest r) = 0;
  virtual boost::asio::awaitable<EtcdResult<PutResponse>> put(PutRequest r) = 0;
  virtual boost::asio::awaitable<EtcdResult<DeleteRangeResponse>> delete_range(
      DeleteRangeRequest r) = 0;
  virtual boost::asio::awaitable<EtcdResult<TxnResponse>> txn(TxnRequest r) = 0;
  // id 0: etcd picks the lease id.
  virtual boost::asio::awaitable<EtcdResult<LeaseGrantResponse>> lease_grant(
      std::int64_t ttl_seconds, LeaseId id = 0) = 0;
  // One keep-alive round trip. A TTL <= 0 in the answer means the lease is gone.
  virtual boost::asio::awaitable<EtcdResult<LeaseKeepAliveResponse>> lease_keep_alive(
      LeaseId id) = 0;
  virtual boost::asio::awaitable<EtcdResult<LeaseRevokeResponse>> lease_revoke(LeaseId id) = 0;
  virtual boost::asio::awaitable<EtcdResult<LeaseTimeToLiveResponse>> lease_time_to_live(
      LeaseId id) = 0;
};

// TLS material for https:// endpoints. Empty ca_file: the system's trust store.
struct EtcdTlsOptions {
  std::string ca_file;
  std::string cert_file;  // client certificate (etcd --client-cert-auth), with key_file
  std::string key_file;
  bool insecure_skip_verify = false;  // tests only
};

struct EtcdClientOptions {
  // "http://10.0.0.1:2379", "https://etcd.internal:2379", ... Tried in order; on a transport
  // failure or an "unavailable" answer the client moves to the next one.
  std::vector<std::string> endpoints;
  Duration request_timeout{5000};  // per attempt on one endpoint
  std::string username;            // empty: etcd without auth
  std::string password;
  EtcdTlsOptions tls;
};

// One HTTP POST of a JSON body to an endpoint. Separate from the client so the failover and
// auth logic can be tested against a scripted transport, and so the real one can be swapped.
class EtcdTransport {
 public:
  struct Reply {
    unsigned status = 0;
    std::string body;
  };
  virtual ~EtcdTransport() = default;
  // auth_token empty: no Authorization header. Finishes within about `timeout`.
  virtual boost::asio::awaitable<net::HttpResult<Reply>> post(std::string endpoint,
                                                              std::string path, std::string body,
                                                              std::string auth_token,
                                                              Duration timeout) = 0;
};

// The transport to use: the project's net::HttpClient (one per endpoint, pooled keep-alive
// connections) for http:// and https:// endpoints. net::HttpClient has no client certificates
// yet, so when tls.cert_file is set the Beast transport below is used instead.
std::shared_ptr<EtcdTransport> make_etcd_transport(boost::asio::any_io_executor executor,
                                                   const EtcdTlsOptions& tls,
                                                   Duration connect_timeout = Duration{5000});

// A fresh Beast connection per request, plain or TLS with an optional client certificate
// (etcd --client-cert-auth). Fails with kTls at the first request if the TLS files cannot be
// loaded.
std::shared_ptr<EtcdTransport> make_beast_transport(boost::asio::any_io_executor executor,
                                                    const EtcdTlsOptions& tls);

class EtcdGatewayClient final : public Etcd {
 public:
  EtcdGatewayClient(EtcdClientOptions options, std::shared_ptr<EtcdTransport> transport);

  boost::asio::awaitable<EtcdResult<RangeResponse>> range(RangeRequest r) override;
  boost::asio::awaitable<EtcdResult<PutResponse>> put(PutRequest r) override;
  boost::asio::awaitable<EtcdResult<DeleteRangeResponse>> delete_range(
      DeleteRangeRequest r) override;
  boost::asio::awaitable<EtcdResult<TxnResponse>> txn(TxnRequest r) override;
  boost::asio::awaitable<EtcdResult<LeaseGrantResponse>> lease_grant(std::int64_t ttl_seconds,
                                                                     LeaseId id = 0) override;
  boost::asio::awaitable<EtcdResult<LeaseKeepAliveResponse>> lease_keep_alive(LeaseId id) override;
  boost::asio::awaitable<EtcdResult<LeaseRevokeResponse>> lease_revoke(LeaseId id) override;
  boost::asio::awaitable<EtcdResult<LeaseTimeToLiveResponse>> lease_time_to_live(
      LeaseId id) override;

  // The endpoint the next request goes to first (for /status and tests).
  std::string current_endpoint() const;

 private:
  // POSTs `body` to `path`, failing over across endpoints and (re)authenticating as needed.
  // Returns the body of a 200 answer.
  boost::asio::awaitable<EtcdResult<std::string>> call(std::string path, std::string body);
  boost::asio::awaitable<EtcdResult<std::string>> authenticate(const std::string& endpoint);

  EtcdClientOptions options_;
  std::shared_ptr<EtcdTransport> transport_;
  mutable std::mutex mu_;
  std::size_t current_ = 0;  // index into options_.endpoints
  std::string token_;        // auth token, empty until authenticated
};

// Reads client options from flags already split into name/value pairs and from the environment:
// --etcd-endpoints (comma list) / ETCD_ENDPOINTS, --etcd-ca / ETCD_CA, --etcd-cert / ETCD_CERT,
// --etcd-key / ETCD_KEY, --etcd-user / ETCD_USERNAME, and the password only from ETCD_PASSWORD
// (a flag would show it in `ps`). Each variable may also be spelled AUTOPLACER_ETCD_*. Flags win
// over the environment. `getenv` is injectable for tests. Empty endpoints: the caller uses the
// local state directory.
struct EtcdFlagValues {
  std::string endpoints;
  std::string ca;
  std::string cert;
  std::string key;
  std::string username;
  std::string request_timeout;  // a duration, e.g. "5s"
};
Result<EtcdClientOptions, std::string> etcd_options_from(
    const EtcdFlagValues& flags, const std::function<const char*(const char*)>& getenv_fn);

}  // namespace autoplacer::etcd
