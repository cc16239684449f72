#include "controller/etcd_state_store.h"

namespace autoplacer::etcd {
namespace asio = boost::asio;

const char* to_string(StateStoreError::Kind kind) {
  switch (kind) {
    case StateStoreError::Kind::kNotLeader:
      return "not_leader";
    case StateStoreError::Kind::kConflict:
      return "conflict";
    case StateStoreError::Kind::kUnavailable:
      return "unavailable";
    case StateStoreError::Kind::kOther:
      return "other";
  }
  return "unknown";
}

namespace {
StateStoreError from_etcd(const EtcdError& e) {
  auto kind = e.transient() ? StateStoreError::Kind::kUnavailable : StateStoreError::Kind::kOther;
  return StateStoreError{kind, std::string("etcd ") + to_string(e.kind) + ": " + e.message};
}
}  // namespace

EtcdStateStore::EtcdStateStore(Etcd& etcd, std::string prefix, LeaderFence fence)
    : etcd_(etcd), prefix_(std::move(prefix)), fence_(std::move(fence)) {}

asio::awaitable<StoreResult<std::optional<StoredValue>>> EtcdStateStore::get(std::string key) {
  auto r = co_await etcd_.range(RangeRequest::single(prefix_ + key));
  if (!r) co_return make_err(from_etcd(r.error()));
  if (r->kvs.empty()) co_return std::optional<StoredValue>{};
  auto& kv = r->kvs.front();
  co_return std::optional<StoredValue>{
      StoredValue{std::move(key), std::move(kv.value), kv.mod_revision}};
}

asio::awaitable<StoreResult<std::vector<StoredValue>>> EtcdStateStore::list(
    std::string key_prefix) {
  std::vector<StoredValue> out;
  RangeRequest req = RangeRequest::prefix(prefix_ + key_prefix);
  req.limit = 500;
  // Page through with a fixed revision so the listing is one consistent snapshot.
  Revision at = 0;
  for (;;) {
    req.revision = at;
    auto r = co_await etcd_.range(req);
    if (!r) co_return make_err(from_etcd(r.error()));
    if (at == 0) at = r->header.revision;
    for (auto& kv : r->kvs) {
      out.push_back(
          StoredValue{kv.key.substr(prefix_.size()), std::move(kv.value), kv.mod_revision});
    }
    if (!r->more || r->kvs.empty()) break;
    req.key = r->kvs.back().key + std::string(1, '\0');  // the next key after the last one
  }
  co_return out;
}

asio::awaitable<StoreResult<TxnResponse>> EtcdStateStore::fenced(std::vector<Compare> guards,
                                                                 RequestOp op) {
  const auto mine = fence_.revision ? fence_.revision() : std::nullopt;
  if (!mine) {
    co_return make_err(StateStoreError{StateStoreError::Kind::kNotLeader, "not leading"});
  }
  TxnRequest txn;
  txn.compare.push_back(
      Compare::create_revision(fence_.leader_key, Compare::Result::kEqual, *mine));
  for (auto& g : guards) txn.compare.push_back(std::move(g));
  txn.success.push_back(std::move(op));
  txn.failure.emplace_back(RangeRequest::single(fence_.leader_key));
  auto t = co_await etcd_.txn(std::move(txn));
  if (!t) co_return make_err(from_etcd(t.error()));
  if (t->succeeded) co_return std::move(t.value());

  const KeyValue* leader = nullptr;
  if (!t->responses.empty()) {
    if (const auto* rr = std::get_if<RangeResponse>(&t->responses.front())) {
      if (!rr->kvs.empty()) leader = &rr->kvs.front();
    }
  }
  if (leader == nullptr || leader->create_revision != *mine) {
    std::string who = leader == nullptr ? "nobody"
                                        : "'" + leader->value + "' since revision " +
                                              std::to_string(leader->create_revision);
    co_return make_err(StateStoreError{StateStoreError::Kind::kNotLeader,
                                       "deposed: leadership revision " + std::to_string(*mine) +
                                           " is gone, the leader key is held by " + who});
  }
  co_return make_err(
      StateStoreError{StateStoreError::Kind::kConflict, "the key's revision changed"});
}

asio::awaitable<StoreResult<Revision>> EtcdStateStore::put(std::string key, std::string value,
                                                           std::optional<Revision> expected) {
  std::vector<Compare> guards;
  if (expected)
    guards.push_back(Compare::mod_revision(prefix_ + key, Compare::Result::kEqual, *expected));
  auto t = co_await fenced(std::move(guards), PutRequest::of(prefix_ + key, std::move(value)));
  if (!t) co_return make_err(std::move(t).error());
  co_return t->header.revision;
}

asio::awaitable<StoreResult<Unit>> EtcdStateStore::remove(std::string key,
                                                          std::optional<Revision> expected) {
  std::vector<Compare> guards;
  if (expected)
    guards.push_back(Compare::mod_revision(prefix_ + key, Compare::Result::kEqual, *expected));
  auto t = co_await fenced(std::move(guards), DeleteRangeRequest::single(prefix_ + key));
  if (!t) co_return make_err(std::move(t).error());
  co_return Unit{};
}

}  // namespace autoplacer::etcd
