#pragma once
// An in-memory etcd for tests: one MVCC revision counter, keys with create/mod revisions and
// versions, transactions with etcd's compare rules, and leases that expire by a Clock (so a
// ManualClock drives expiry). Every call completes at once. It can be made unavailable, which
// is how tests play an etcd outage or a network partition.
#include <map>
#include <mutex>

#include "common/clock.h"
#include "controller/etcd_client.h"

namespace autoplacer::etcd {

class FakeEtcd final : public Etcd {
 public:
  explicit FakeEtcd(const Clock& clock) : clock_(clock) {}

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

  // While unavailable every call fails with kUnavailable and leases keep running down (etcd's
  // leases survive a client's partition; they are renewed only by keep-alives that arrive).
  void set_available(bool available);
  // The next `n` calls fail with kUnavailable, then calls succeed again.
  void fail_next(int n);

  // Direct inspection for assertions; they also apply due lease expiries.
  std::optional<KeyValue> get(const std::string& key);
  Revision revision();
  std::size_t lease_count();
  std::uint64_t calls() const;

 private:
  struct Lease {
    std::int64_t ttl_seconds = 0;
    TimePoint expires_at;
  };
  std::optional<EtcdError> gate();  // availability + expiry; call with mu_ held
  void expire_leases();             // with mu_ held
  bool in_range(const std::string& key, const std::string& start, const std::string& end) const;
  RangeResponse do_range(const RangeRequest& r) const;
  PutResponse do_put(const PutRequest& r);
  DeleteRangeResponse do_delete(const DeleteRangeRequest& r);
  bool compare_holds(const Compare& c) const;
  std::optional<EtcdError> check_ops(const std::vector<RequestOp>& ops) const;
  ResponseHeader header() const;

  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, KeyValue> kvs_;
  std::map<LeaseId, Lease> leases_;
  Revision revision_ = 1;  // etcd starts at 1
  LeaseId next_lease_ = 7587880000000000000;
  bool available_ = true;
  int fail_next_ = 0;
  std::uint64_t calls_ = 0;
};

}  // namespace autoplacer::etcd
