#pragma once
// Many policies side by side: one PolicyReconciler per policy, driven by one work queue
// (controller/work_queue.h: fair, stingy, coalescing, delayed adds, per-key backoff and a global
// token bucket) that `workers` coroutines drain, so at most `workers` passes run at once whatever
// the number of policies.
//
//   - two kinds of keys: "policy" runs the pass (observe, decide, diff, save) and hands each
//     region's actions to the key "policy/region", which applies them (re-list, lease, act).
//     So a slow region (a create that takes long) or a failing one (backed off alone, with the
//     key's exponential backoff, retrying its latest plan) never holds up the other regions or
//     the next decision. A region key that is backing off is not woken by a newer pass: the
//     newer plan replaces the stored one and waits for the retry;
//   - every policy is queued at start, then again `traffic.interval` after each pass
//     (add_after); a failed pass is re-queued with the queue's backoff as well, whichever is
//     sooner;
//   - the fast path: per policy, demand is sampled every fastPath.interval between passes and a
//     spike queues the policy now;
//   - on demand: trigger() (POST /trigger) queues the policy and waits for a pass that started
//     after the request, and for the region applies it dispatched, so the answer reflects the
//     world as it is now (regions backing off are reported as such, not waited for);
//   - policy changes from the watcher: set_policies() adds, updates (a new spec bumps
//     observedGeneration and queues a pass now) and removes reconcilers; an invalid change marks
//     every policy Degraded and keeps the last good ones running;
//   - leadership: every pass asks the LeaderGate; a follower's passes are skipped;
//   - shutdown(): stop taking work (the queue shuts down, triggers answer 503), let passes in
//     flight finish for up to `grace` (each Machines API call has its own deadline; a pass cut
//     off is safe because state is saved before acting and the next list settles what was in
//     flight), save every policy's state.
//
// Threading: the controller, its reconcilers and the HTTP API run on ONE thread (the event loop
// of the io_context passed in). Passes interleave at co_await points, never in parallel, so no
// reconciler needs a lock. Nothing here blocks the thread.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/http_api.h"
#include "controller/reconciler.h"
#include "controller/work_queue.h"

namespace autoplacer::controller {

// The Machines API of one app (the controller keeps one per app, shared by its policies).
using MachinesApiFactory = std::function<std::shared_ptr<fly::MachinesApi>(const std::string& app)>;

struct ControllerOptions {
  int workers = 4;  // passes in flight at most
  bool fast_path = true;
  std::chrono::milliseconds trigger_timeout{std::chrono::seconds(60)};
  RateLimiterConfig queue_limits{std::chrono::milliseconds(500), std::chrono::minutes(5), 10.0,
                                 100.0};
  std::string version = "dev";
};

class Controller final : public ControllerView {
 public:
  Controller(boost::asio::any_io_executor executor, ReconcilerEnv env, MachinesApiFactory apis,
             ControllerOptions options = {});
  ~Controller() override;

  // Adds, updates and removes policies (the watcher's kApplied, and the start-up set).
  void set_policies(const std::vector<PlacementPolicy>& policies);
  // The policy files changed but are invalid (nullopt: valid again).
  void set_invalid_change(std::optional<std::string> error);

  // Runs the workers and the fast path until shutdown(). Spawn it on the controller's executor.
  boost::asio::awaitable<void> run();
  // Stop taking work, wait for passes in flight (at most `grace`), save state. Idempotent.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds grace);
  bool stopping() const { return stopping_; }

  // One pass of one policy now, outside the queue (tests, `plan`). nullopt: no such policy.
  boost::asio::awaitable<std::optional<PassResult>> reconcile_now(const std::string& policy,
                                                                  PassOptions options = {});

  PolicyReconciler* find(const std::string& policy);
  std::vector<std::string> policy_names() const;
  WorkQueue& queue() { return queue_; }
  int passes_in_flight() const { return in_flight_; }

  // ControllerView (HTTP).
  std::string metrics_text() override;
  Readiness readiness() override;
  boost::json::value status_json() override;
  boost::asio::awaitable<TriggerOutcome> trigger(std::optional<std::string> policy) override;

 private:
  struct Entry;
  struct Waiter;
  struct PendingAnswer;
  boost::asio::awaitable<void> worker(int id);
  boost::asio::awaitable<void> run_pass(std::shared_ptr<Entry> entry, const std::string& key);
  boost::asio::awaitable<void> run_region(std::shared_ptr<Entry> entry, const std::string& key,
                                          const std::string& region);
  static void answer(const std::vector<std::shared_ptr<Waiter>>& waiters, const PassResult& r);
  boost::asio::awaitable<void> fast_path_loop(std::shared_ptr<Entry> entry);
  void start_fast_path(const std::shared_ptr<Entry>& entry);

  boost::asio::any_io_executor executor_;
  ReconcilerEnv env_;
  MachinesApiFactory apis_;
  ControllerOptions options_;
  WorkQueue queue_;
  std::map<std::string, std::shared_ptr<fly::MachinesApi>> api_by_app_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::map<std::string, std::vector<std::shared_ptr<Waiter>>> waiters_;
  // policy -> a pass whose triggers wait for the region applies it dispatched.
  std::map<std::string, std::shared_ptr<PendingAnswer>> pending_answers_;
  std::optional<std::string> invalid_change_;
  bool running_ = false;
  bool stopping_ = false;
  int in_flight_ = 0;
  int workers_running_ = 0;
  std::unique_ptr<boost::asio::steady_timer> idle_;  // wakes shutdown() when work drains
};

}  // namespace autoplacer::controller
