#pragma once
// The controller's state (placement history, operation records) kept in etcd, so a new leader
// continues where the old one stopped. Keys live under a prefix ("/autoplacer/<app>/state/").
//
// Fencing: every write is one etcd transaction whose compare includes
// "create_revision(leader key) == our leadership revision". A deposed leader (frozen, cut off, or
// simply slow) holds an old revision: its write fails as kNotLeader even if it still believes it
// leads, so it can never overwrite a newer leader's state. Reads need no fence.
//
// Compare-and-put: `expected` is the key's revision (etcd mod_revision) as last read; 0 means
// "the key must not exist". A stale `expected` fails as kConflict.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "controller/etcd_client.h"

namespace autoplacer::etcd {

struct StateStoreError {
  enum class Kind {
    kNotLeader,    // we do not (or no longer) hold the leader key: nothing was written
    kConflict,     // the key's revision is not the expected one
    kUnavailable,  // etcd did not answer; a write may or may not have happened
    kOther,
  };
  Kind kind = Kind::kOther;
  std::string message;
};
const char* to_string(StateStoreError::Kind kind);

template <class T>
using StoreResult = Result<T, StateStoreError>;

struct StoredValue {
  std::string key;  // without the store's prefix
  std::string value;
  Revision revision = 0;  // etcd mod_revision: pass it back as `expected`
};

// Where the fence comes from: the leader key and our leadership revision (nullopt when we do
// not lead). LeaderElector::leadership_revision() fits.
struct LeaderFence {
  std::string leader_key;
  std::function<std::optional<Revision>()> revision;
};

class EtcdStateStore {
 public:
  EtcdStateStore(Etcd& etcd, std::string prefix, LeaderFence fence);

  boost::asio::awaitable<StoreResult<std::optional<StoredValue>>> get(std::string key);
  // Every key under the store's prefix that starts with `key_prefix`, in key order.
  boost::asio::awaitable<StoreResult<std::vector<StoredValue>>> list(std::string key_prefix);
  // expected: nullopt = unconditional (still fenced), 0 = create only, else the revision read.
  // Returns the new revision.
  boost::asio::awaitable<StoreResult<Revision>> put(std::string key, std::string value,
                                                    std::optional<Revision> expected = {});
  // Deleting a missing key succeeds when expected is nullopt.
  boost::asio::awaitable<StoreResult<Unit>> remove(std::string key,
                                                   std::optional<Revision> expected = {});

  const std::string& prefix() const { return prefix_; }

 private:
  // Runs a fenced transaction; `guards` are extra compares. On failure reads back the leader key
  // to tell kNotLeader from kConflict.
  boost::asio::awaitable<StoreResult<TxnResponse>> fenced(std::vector<Compare> guards,
                                                          RequestOp op);

  Etcd& etcd_;
  std::string prefix_;
  LeaderFence fence_;
};

}  // namespace autoplacer::etcd
