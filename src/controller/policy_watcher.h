#pragma once
// Watches the policy file or directory the controller was started with. Polling, not inotify:
// it works the same on every filesystem (including a Kubernetes ConfigMap's symlink swaps and a
// Fly volume) and costs a few stat() calls per period.
//
// check() first compares a cheap signature (file names, sizes, modification times); only when
// that moved does it read the files and compare a hash of their content, so `touch` changes
// nothing. A real change is validated by the loader:
//   - valid:   the new set of policies becomes current() (kApplied);
//   - invalid: the error is reported (kInvalid) and current() keeps the last good policies; the
//              same broken content is reported once, not at every poll.
// A file that disappears is a change like any other (a directory left empty is invalid: a
// controller with no policy is a mistake, not a request to stop managing machines).
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "policy/regions.h"
#include "policy/spec.h"

namespace autoplacer::controller {

// Parses and validates a file or a directory of policies; the error names file:line:col.
using PolicyLoadFn =
    std::function<Result<std::vector<PlacementPolicy>, std::string>(const std::string& path)>;

struct PolicyChange {
  enum class Kind { kUnchanged, kApplied, kInvalid };
  Kind kind = Kind::kUnchanged;
  std::vector<PlacementPolicy> policies;  // kApplied: the new set
  std::string error;                      // kInvalid: what is wrong
  std::uint64_t content_hash = 0;         // of the content that was read
};
const char* to_string(PolicyChange::Kind kind);

// The loader (policy/policy_loader.h) as a PolicyLoadFn: any error diagnostic makes the whole
// set invalid (one bad document must not silently drop a policy and retire its machines);
// warnings are logged.
PolicyLoadFn make_policy_loader(const RegionCatalog& catalog);

class PolicyWatcher {
 public:
  PolicyWatcher(std::string path, PolicyLoadFn load);

  // The first load (start-up): an error here is fatal for the caller, there is no last good set.
  Result<std::vector<PlacementPolicy>, std::string> load_initial();

  // One poll. Thread-safe.
  PolicyChange check();

  // The last good set.
  std::vector<PlacementPolicy> current() const;
  const std::string& path() const { return path_; }
  std::uint64_t invalid_total() const;  // invalid changes seen so far (a metric)
  std::string last_error() const;       // "" while the files on disk are valid

  // Polls every `period` (real time) on the current executor until stop(); calls on_change for
  // kApplied and kInvalid.
  boost::asio::awaitable<void> run(Duration period,
                                   std::function<void(const PolicyChange&)> on_change);
  void stop();

 private:
  struct Snapshot {
    std::string signature;  // names, sizes and mtimes
    std::uint64_t content_hash = 0;
    bool readable = true;
  };
  Snapshot signature_only() const;
  Snapshot with_content() const;

  std::string path_;
  PolicyLoadFn load_;
  mutable std::mutex mu_;
  std::vector<PlacementPolicy> current_;
  Snapshot seen_;  // the last content looked at (valid or not)
  std::string last_error_;
  std::uint64_t invalid_total_ = 0;
  bool stop_ = false;
};

}  // namespace autoplacer::controller
