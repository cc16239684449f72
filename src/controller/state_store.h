#pragma once
// Where the controller keeps what must survive a restart (decision history, stabilisation
// windows, cooldowns, last actions, status): one named JSON blob per policy, e.g.
// ("web", "decision_state") or ("web", "status").
//
// Implementations:
//  - LocalStateStore: files in a state directory, <dir>/<policy>/<name>.json, written atomically
//    (temp file, fsync, rename, fsync of the directory): after a crash a blob is either the old
//    or the new content, never a mix. A corrupt file is an error value (kCorrupt), not a crash.
//  - FakeStateStore: in memory, with fault injection, for tests.
//  - EtcdStateStoreAdapter: over etcd::EtcdStateStore (HA mode), keys "<policy>/<name>", every
//    write fenced by leadership.
//
// The interface is asynchronous (etcd is remote); the local and fake stores complete at once and
// also offer the same operations synchronously (*_now) for code that is not a coroutine.
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <compare>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace autoplacer::etcd {
class EtcdStateStore;
}

namespace autoplacer::controller {

struct StateError {
  enum class Kind {
    kInvalidKey,   // a policy or blob name that cannot be stored (empty, '/', leading '.', ...)
    kCorrupt,      // stored bytes are not a JSON value
    kIo,           // the file system refused (message says how)
    kNotLeader,    // etcd: we do not lead, nothing was written
    kConflict,     // etcd: the key changed under us
    kUnavailable,  // etcd did not answer; a write may or may not have happened
  };
  Kind kind = Kind::kIo;
  std::string message;
};
const char* to_string(StateError::Kind kind);

template <class T>
using StateResult = Result<T, StateError>;

struct StateKey {
  std::string policy;
  std::string name;
  auto operator<=>(const StateKey&) const = default;
};

// Policy and blob names: 1..200 characters of [A-Za-z0-9._-], not starting with '.'.
bool valid_state_name(std::string_view name);

class StateStore {
 public:
  virtual ~StateStore() = default;
  // nullopt: nothing saved under that name (not an error).
  virtual boost::asio::awaitable<StateResult<std::optional<boost::json::value>>> load(
      std::string policy, std::string name) = 0;
  virtual boost::asio::awaitable<StateResult<Unit>> save(std::string policy, std::string name,
                                                         boost::json::value value) = 0;
  // Removing a missing blob succeeds.
  virtual boost::asio::awaitable<StateResult<Unit>> remove(std::string policy,
                                                           std::string name) = 0;
  // The blobs of one policy, or of every policy when `policy` is empty; sorted.
  virtual boost::asio::awaitable<StateResult<std::vector<StateKey>>> list(std::string policy) = 0;
};

// ---- Files in a directory -------------------------------------------------------------------

class LocalStateStore final : public StateStore {
 public:
  // Points in save() a test can stop at (to simulate a crash, e.g. _exit in a child process).
  enum class SaveStage { kTempWritten, kRenamed };
  struct Options {
    bool fsync = true;  // off only for benchmarks
    std::function<void(SaveStage)> on_stage;
  };

  // The directory is created if missing; leftover temp files of an interrupted save are removed.
  static StateResult<std::unique_ptr<LocalStateStore>> open(std::filesystem::path dir,
                                                            Options options);
  static StateResult<std::unique_ptr<LocalStateStore>> open(std::filesystem::path dir) {
    return open(std::move(dir), Options{});
  }

  StateResult<std::optional<boost::json::value>> load_now(std::string_view policy,
                                                          std::string_view name) const;
  StateResult<Unit> save_now(std::string_view policy, std::string_view name,
                             const boost::json::value& value);
  StateResult<Unit> remove_now(std::string_view policy, std::string_view name);
  StateResult<std::vector<StateKey>> list_now(std::string_view policy) const;

  boost::asio::awaitable<StateResult<std::optional<boost::json::value>>> load(
      std::string policy, std::string name) override;
  boost::asio::awaitable<StateResult<Unit>> save(std::string policy, std::string name,
                                                 boost::json::value value) override;
  boost::asio::awaitable<StateResult<Unit>> remove(std::string policy, std::string name) override;
  boost::asio::awaitable<StateResult<std::vector<StateKey>>> list(std::string policy) override;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_of(std::string_view policy, std::string_view name) const;

 private:
  LocalStateStore(std::filesystem::path dir, Options options)
      : dir_(std::move(dir)), options_(std::move(options)) {}

  std::filesystem::path dir_;
  Options options_;
  std::mutex save_mu_;  // one writer at a time: temp names and directory fsyncs stay simple
};

// ---- In memory, for tests -------------------------------------------------------------------

class FakeStateStore final : public StateStore {
 public:
  enum class Op { kLoad, kSave, kRemove, kList };

  StateResult<std::optional<boost::json::value>> load_now(std::string_view policy,
                                                          std::string_view name);
  StateResult<Unit> save_now(std::string_view policy, std::string_view name,
                             const boost::json::value& value);
  StateResult<Unit> remove_now(std::string_view policy, std::string_view name);
  StateResult<std::vector<StateKey>> list_now(std::string_view policy);

  boost::asio::awaitable<StateResult<std::optional<boost::json::value>>> load(
      std::string policy, std::string name) override;
  boost::asio::awaitable<StateResult<Unit>> save(std::string policy, std::string name,
                                                 boost::json::value value) override;
  boost::asio::awaitable<StateResult<Unit>> remove(std::string policy, std::string name) override;
  boost::asio::awaitable<StateResult<std::vector<StateKey>>> list(std::string policy) override;

  // Fault injection: the next `times` calls of `op` fail with `error` (FIFO per op).
  void fail_next(Op op, StateError error, int times = 1);
  // Every call of `op` fails with `error` until cleared (nullopt).
  void fail_always(Op op, std::optional<StateError> error);
  // Stores raw bytes as they would be read back (e.g. "{not json" to simulate corruption).
  void put_raw(std::string_view policy, std::string_view name, std::string bytes);
  std::optional<std::string> raw(std::string_view policy, std::string_view name) const;

  int calls(Op op) const;
  std::size_t size() const;

 private:
  std::optional<StateError> injected(Op op);  // mu_ held; counts the call

  mutable std::mutex mu_;
  std::map<StateKey, std::string> blobs_;
  std::map<Op, std::vector<StateError>> next_failures_;
  std::map<Op, StateError> always_failures_;
  std::map<Op, int> calls_;
};

// ---- etcd (HA mode) -------------------------------------------------------------------------

class EtcdStateStoreAdapter final : public StateStore {
 public:
  explicit EtcdStateStoreAdapter(etcd::EtcdStateStore& store) : store_(store) {}

  boost::asio::awaitable<StateResult<std::optional<boost::json::value>>> load(
      std::string policy, std::string name) override;
  boost::asio::awaitable<StateResult<Unit>> save(std::string policy, std::string name,
                                                 boost::json::value value) override;
  boost::asio::awaitable<StateResult<Unit>> remove(std::string policy, std::string name) override;
  boost::asio::awaitable<StateResult<std::vector<StateKey>>> list(std::string policy) override;

 private:
  etcd::EtcdStateStore& store_;
};

// Parses stored bytes; kCorrupt (with `where` in the message) when they are not JSON.
StateResult<boost::json::value> parse_state_blob(std::string_view bytes, std::string_view where);

}  // namespace autoplacer::controller
