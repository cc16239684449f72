#include "controller/etcd_fake.h"

namespace autoplacer::etcd {
namespace asio = boost::asio;

namespace {
EtcdError unavailable() {
  return EtcdError{EtcdError::Kind::kUnavailable, "fake etcd: unavailable", 14};
}
EtcdError lease_not_found() {
  return EtcdError{EtcdError::Kind::kLeaseNotFound, "etcdserver: requested lease not found", 5};
}
}  // namespace

void FakeEtcd::set_available(bool available) {
  std::lock_guard lock(mu_);
  available_ = available;
}

void FakeEtcd::fail_next(int n) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
}

std::uint64_t FakeEtcd::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::optional<KeyValue> FakeEtcd::get(const std::string& key) {
  std::lock_guard lock(mu_);
  expire_leases();
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return std::nullopt;
  return it->second;
}

Revision FakeEtcd::revision() {
  std::lock_guard lock(mu_);
  expire_leases();
  return revision_;
}

std::size_t FakeEtcd::lease_count() {
  std::lock_guard lock(mu_);
  expire_leases();
  return leases_.size();
}

std::optional<EtcdError> FakeEtcd::gate() {
  ++calls_;
  expire_leases();
  if (!available_) return unavailable();
  if (fail_next_ > 0) {
    --fail_next_;
    return unavailable();
  }
  return std::nullopt;
}

void FakeEtcd::expire_leases() {
  const auto now = clock_.now();
  bool deleted = false;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.expires_at <= now) {
      for (auto kv = kvs_.begin(); kv != kvs_.end();) {
        if (kv->second.lease == it->first) {
          kv = kvs_.erase(kv);
          deleted = true;
        } else {
          ++kv;
        }
      }
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  // etcd deletes all of an expired lease's keys in one revision.
  if (deleted) ++revision_;
}

ResponseHeader FakeEtcd::header() const {
  return ResponseHeader{.cluster_id = 1, .member_id = 1, .revision = revision_, .raft_term = 2};
}

bool FakeEtcd::in_range(const std::string& key, const std::string& start,
                        const std::string& end) const {
  if (end.empty()) return key == start;
  if (end == std::string(1, '\0')) return key >= start;
  return key >= start && key < end;
}

RangeResponse FakeEtcd::do_range(const RangeRequest& r) const {
  RangeResponse out;
  out.header = header();
  for (auto it = kvs_.lower_bound(r.key); it != kvs_.end(); ++it) {
    if (!in_range(it->first, r.key, r.range_end)) break;
    ++out.count;
    if (r.count_only) continue;
    if (r.limit > 0 && static_cast<std::int64_t>(out.kvs.size()) >= r.limit) {
      out.more = true;
      continue;
    }
    KeyValue kv = it->second;
    if (r.keys_only) kv.value.clear();
    out.kvs.push_back(std::move(kv));
  }
  return out;
}

PutResponse FakeEtcd::do_put(const PutRequest& r) {
  PutResponse out;
  auto it = kvs_.find(r.key);
  if (r.prev_kv && it != kvs_.end()) out.prev_kv = it->second;
  KeyValue& kv = kvs_[r.key];
  if (kv.create_revision == 0) {
    kv.key = r.key;
    kv.create_revision = revision_;
    kv.version = 0;
  }
  kv.value = r.value;
  kv.mod_revision = revision_;
  kv.version += 1;
  kv.lease = r.lease;
  out.header = header();
  return out;
}

DeleteRangeResponse FakeEtcd::do_delete(const DeleteRangeRequest& r) {
  DeleteRangeResponse out;
  for (auto it = kvs_.lower_bound(r.key); it != kvs_.end();) {
    if (!in_range(it->first, r.key, r.range_end)) break;
    if (r.prev_kv) out.prev_kvs.push_back(it->second);
    ++out.deleted;
    it = kvs_.erase(it);
  }
  out.header = header();
  return out;
}

bool FakeEtcd::compare_holds(const Compare& c) const {
  auto it = kvs_.find(c.key);
  // etcd: comparing the value of a missing key always fails; other targets compare against a
  // zero KeyValue (so "create_revision == 0" means "absent").
  if (it == kvs_.end() && c.target == Compare::Target::kValue) return false;
  static const KeyValue kAbsent;
  const KeyValue& kv = it == kvs_.end() ? kAbsent : it->second;
  int cmp = 0;
  auto three_way = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
  switch (c.target) {
    case Compare::Target::kVersion:
      cmp = three_way(kv.version, c.number);
      break;
    case Compare::Target::kCreate:
      cmp = three_way(kv.create_revision, c.number);
      break;
    case Compare::Target::kMod:
      cmp = three_way(kv.mod_revision, c.number);
      break;
    case Compare::Target::kLease:
      cmp = three_way(kv.lease, c.number);
      break;
    case Compare::Target::kValue:
      cmp = kv.value.compare(c.value) < 0 ? -1 : (kv.value == c.value ? 0 : 1);
      break;
  }
  switch (c.result) {
    case Compare::Result::kEqual:
      return cmp == 0;
    case Compare::Result::kNotEqual:
      return cmp != 0;
    case Compare::Result::kGreater:
      return cmp > 0;
    case Compare::Result::kLess:
      return cmp < 0;
  }
  return false;
}

std::optional<EtcdError> FakeEtcd::check_ops(const std::vector<RequestOp>& ops) const {
  for (const auto& op : ops) {
    if (const auto* p = std::get_if<PutRequest>(&op)) {
      if (p->lease != 0 && !leases_.contains(p->lease)) return lease_not_found();
    }
  }
  return std::nullopt;
}

asio::awaitable<EtcdResult<RangeResponse>> FakeEtcd::range(RangeRequest r) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  co_return do_range(r);
}

asio::awaitable<EtcdResult<PutResponse>> FakeEtcd::put(PutRequest r) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  if (r.lease != 0 && !leases_.contains(r.lease)) co_return make_err(lease_not_found());
  ++revision_;
  co_return do_put(r);
}

asio::awaitable<EtcdResult<DeleteRangeResponse>> FakeEtcd::delete_range(DeleteRangeRequest r) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  ++revision_;
  auto out = do_delete(r);
  if (out.deleted == 0) --revision_;  // nothing changed: no new revision
  out.header = header();
  co_return out;
}

asio::awaitable<EtcdResult<TxnResponse>> FakeEtcd::txn(TxnRequest r) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  TxnResponse out;
  out.succeeded = true;
  for (const auto& c : r.compare) {
    if (!compare_holds(c)) {
      out.succeeded = false;
      break;
    }
  }
  const auto& ops = out.succeeded ? r.success : r.failure;
  if (auto e = check_ops(ops)) co_return make_err(*e);
  // A transaction is one revision, however many writes it holds.
  const Revision before = revision_;
  ++revision_;
  bool wrote = false;
  for (const auto& op : ops) {
    if (const auto* g = std::get_if<RangeRequest>(&op)) {
      out.responses.emplace_back(do_range(*g));
    } else if (const auto* p = std::get_if<PutRequest>(&op)) {
      out.responses.emplace_back(do_put(*p));
      wrote = true;
    } else {
      auto d = do_delete(std::get<DeleteRangeRequest>(op));
      wrote = wrote || d.deleted > 0;
      out.responses.emplace_back(std::move(d));
    }
  }
  if (!wrote) revision_ = before;
  out.header = header();
  co_return out;
}

asio::awaitable<EtcdResult<LeaseGrantResponse>> FakeEtcd::lease_grant(std::int64_t ttl_seconds,
                                                                      LeaseId id) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  if (id == 0) id = next_lease_++;
  if (leases_.contains(id)) {
    co_return make_err(EtcdError{EtcdError::Kind::kOther, "etcdserver: lease already exists", 9});
  }
  leases_[id] = Lease{ttl_seconds, clock_.now() + std::chrono::seconds(ttl_seconds)};
  co_return LeaseGrantResponse{header(), id, ttl_seconds};
}

asio::awaitable<EtcdResult<LeaseKeepAliveResponse>> FakeEtcd::lease_keep_alive(LeaseId id) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  auto it = leases_.find(id);
  if (it == leases_.end()) co_return LeaseKeepAliveResponse{header(), id, 0};  // as etcd does
  it->second.expires_at = clock_.now() + std::chrono::seconds(it->second.ttl_seconds);
  co_return LeaseKeepAliveResponse{header(), id, it->second.ttl_seconds};
}

asio::awaitable<EtcdResult<LeaseRevokeResponse>> FakeEtcd::lease_revoke(LeaseId id) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  auto it = leases_.find(id);
  if (it == leases_.end()) co_return make_err(lease_not_found());
  it->second.expires_at = TimePoint{};  // expire now, deleting its keys in one revision
  expire_leases();
  co_return LeaseRevokeResponse{header()};
}

asio::awaitable<EtcdResult<LeaseTimeToLiveResponse>> FakeEtcd::lease_time_to_live(LeaseId id) {
  std::lock_guard lock(mu_);
  if (auto e = gate()) co_return make_err(*e);
  auto it = leases_.find(id);
  if (it == leases_.end()) co_return LeaseTimeToLiveResponse{header(), id, -1, 0};
  auto left =
      std::chrono::duration_cast<std::chrono::seconds>(it->second.expires_at - clock_.now());
  co_return LeaseTimeToLiveResponse{header(), id, left.count(), it->second.ttl_seconds};
}

}  // namespace autoplacer::etcd
