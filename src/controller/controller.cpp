#include "controller/controller.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <set>

#include "controller/work_queue_prometheus.h"
#include "metrics/self_metrics.h"

namespace autoplacer::controller {
namespace asio = boost::asio;
namespace json = boost::json;

struct Controller::Entry {
  std::shared_ptr<PolicyReconciler> reconciler;
  bool removed = false;
  bool fast_path_running = false;
};

// A /trigger request waiting for the next pass of a policy. Everything runs on the controller's
// one thread, so cancelling the timer from the worker needs no lock.
struct Controller::Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<PassResult> result;
};

// Triggers answered once the region applies of their pass are done: the pass's result, with
// each region's action results merged in as they come.
struct Controller::PendingAnswer {
  PassResult result;
  std::set<std::string> outstanding;  // regions whose apply has not reported yet
  std::vector<std::shared_ptr<Waiter>> waiters;
};

namespace {

std::shared_ptr<WorkQueueMetrics> queue_metrics(metrics::SelfMetrics* m) {
  if (!m) return nullptr;
  return make_prometheus_work_queue_metrics(*m);
}

}  // namespace

Controller::Controller(asio::any_io_executor executor, ReconcilerEnv env, MachinesApiFactory apis,
                       ControllerOptions options)
    : executor_(std::move(executor)),
      env_(std::move(env)),
      apis_(std::move(apis)),
      options_(std::move(options)),
      queue_(*env_.clock, WorkQueueOptions{"reconcile", options_.queue_limits},
             queue_metrics(env_.metrics)) {}

Controller::~Controller() {
  queue_.shut_down();
}

void Controller::set_policies(const std::vector<PlacementPolicy>& policies) {
  std::map<std::string, const PlacementPolicy*> wanted;
  for (const auto& p : policies) wanted[p.metadata.name] = &p;

  for (auto it = entries_.begin(); it != entries_.end();) {
    if (wanted.contains(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("{}: policy removed; its machines are left as they are", it->first);
    it->second->removed = true;
    if (env_.metrics) env_.metrics->forget_policy(it->first);
    it = entries_.erase(it);
  }
  for (const auto& [name, policy] : wanted) {
    if (auto it = entries_.find(name); it != entries_.end()) {
      auto& rec = *it->second->reconciler;
      const bool changed =
          rec.policy().specHash != policy->specHash || rec.policy().spec.app != policy->spec.app;
      if (policy->spec.app != rec.policy().spec.app) {
        // Another app means other machines: start over with a fresh reconciler.
        it->second->removed = true;
        entries_.erase(it);
      } else {
        rec.set_policy(*policy);
        if (changed) {
          spdlog::info("{}: policy changed (generation {}); reconciling now", name,
                       rec.policy_generation());
          queue_.add(queue_key(name));
        }
        continue;
      }
    }
    auto& api = api_by_app_[policy->spec.app];
    if (!api) api = apis_(policy->spec.app);
    auto entry = std::make_shared<Entry>();
    entry->reconciler = std::make_shared<PolicyReconciler>(*policy, api, env_);
    if (invalid_change_) entry->reconciler->set_invalid_change(invalid_change_);
    entries_[name] = entry;
    spdlog::info(
        "{}: policy for app {} (mode {}, every {}, {} region(s) allowed)", name, policy->spec.app,
        autoplacer::to_string(policy->spec.mode), format_duration(policy->spec.traffic.interval),
        policy->spec.regions.allowed.empty() ? std::string("all")
                                             : std::to_string(policy->spec.regions.allowed.size()));
    if (env_.metrics) env_.metrics->set_policy_valid(name, true);
    queue_.add(queue_key(name));
    if (running_) start_fast_path(entry);
  }
}

void Controller::set_invalid_change(std::optional<std::string> error) {
  invalid_change_ = error;
  if (error) {
    spdlog::error("policy files changed but are invalid; the last good policies keep running:\n{}",
                  *error);
    if (env_.metrics) env_.metrics->policy_load_error();
  }
  for (auto& [name, entry] : entries_) {
    entry->reconciler->set_invalid_change(error);
    if (env_.metrics) env_.metrics->set_policy_valid(name, !error.has_value());
  }
}

PolicyReconciler* Controller::find(const std::string& policy) {
  auto it = entries_.find(policy);
  return it == entries_.end() ? nullptr : it->second->reconciler.get();
}

std::vector<std::string> Controller::policy_names() const {
  std::vector<std::string> out;
  for (const auto& [name, entry] : entries_) out.push_back(name);
  return out;
}

void Controller::start_fast_path(const std::shared_ptr<Entry>& entry) {
  if (!options_.fast_path || entry->fast_path_running) return;
  entry->fast_path_running = true;
  asio::co_spawn(executor_, fast_path_loop(entry), asio::detached);
}

asio::awaitable<void> Controller::run() {
  running_ = true;
  if (env_.metrics) env_.metrics->set_leader(!env_.leader || env_.leader->may_act());
  for (auto& [name, entry] : entries_) start_fast_path(entry);
  const int n = std::max(1, options_.workers);
  for (int i = 0; i < n; ++i) {
    ++workers_running_;
    asio::co_spawn(executor_, worker(i), asio::detached);
  }
  // Publish the queue's in-processing gauges every 500 ms, as client-go does, until shutdown.
  asio::steady_timer tick(executor_);
  while (!stopping_) {
    tick.expires_after(std::chrono::milliseconds(500));
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    queue_.report_unfinished_work();
    if (env_.metrics) env_.metrics->set_leader(!env_.leader || env_.leader->may_act());
  }
}

asio::awaitable<void> Controller::worker(int id) {
  (void)id;
  for (;;) {
    std::optional<std::string> key = co_await queue_.async_get();
    if (!key) break;
    const QueueKeyParts parts = split_queue_key(*key);
    auto it = entries_.find(parts.policy);
    if (it == entries_.end()) {  // removed while queued
      queue_.forget(*key);
      queue_.done(*key);
      continue;
    }
    std::shared_ptr<Entry> entry = it->second;
    ++in_flight_;
    if (parts.region.empty()) {
      co_await run_pass(entry, *key);
    } else {
      co_await run_region(entry, *key, parts.region);
    }
    --in_flight_;
    if (stopping_ && in_flight_ == 0 && idle_) idle_->cancel();
  }
  --workers_running_;
  if (stopping_ && workers_running_ == 0 && idle_) idle_->cancel();
}

void Controller::answer(const std::vector<std::shared_ptr<Waiter>>& waiters, const PassResult& r) {
  for (const auto& w : waiters) {
    w->result = r;
    w->timer.cancel();
  }
}

asio::awaitable<void> Controller::run_pass(std::shared_ptr<Entry> entry, const std::string& key) {
  const std::string policy = entry->reconciler->name();
  // Triggers registered before this pass starts are answered by it; later ones by the re-run
  // the queue makes after done() (an add while processing).
  std::vector<std::shared_ptr<Waiter>> waiting;
  if (auto w = waiters_.find(policy); w != waiters_.end()) {
    waiting = std::move(w->second);
    waiters_.erase(w);
  }
  PassResult result;
  try {
    PassOptions options;
    options.defer_apply = true;
    result = co_await entry->reconciler->reconcile(options);
  } catch (const std::exception& e) {
    // A bug, not bad data (errors are values): keep the controller alive and back off.
    spdlog::error("{}: pass threw: {}", policy, e.what());
    result.policy = policy;
    result.result = "error";
    result.reason = "InternalError";
    result.message = e.what();
  }
  std::set<std::string> outstanding;
  if (!entry->removed && !stopping_) {
    if (result.result == "error") {
      const Duration backoff = queue_.add_rate_limited(key);
      spdlog::debug("{}: retry in {}", policy, format_duration(backoff));
    } else {
      queue_.forget(key);
    }
    queue_.add_after(key, entry->reconciler->policy().spec.traffic.interval);
    // Each region's actions go through the region's own key.
    for (const auto& region : result.dispatched) {
      const std::string region_key = queue_key(policy, region);
      if (queue_.num_requeues(region_key) > 0 && !queue_.is_processing(region_key)) {
        // Backing off after a failure: the retry (when its backoff ends) applies this newer plan.
        if (result.report)
          for (auto& a : result.report->results)
            if (a.action.region == region)
              a.reason = region +
                         " is backing off after a failed apply; this plan is applied "
                         "when its retry comes";
        continue;
      }
      queue_.add(region_key);
      outstanding.insert(region);
    }
  }
  queue_.done(key);
  // A trigger still waiting for an older pass's regions gets this newer answer instead.
  if (auto old = pending_answers_.find(policy); old != pending_answers_.end()) {
    waiting.insert(waiting.end(), old->second->waiters.begin(), old->second->waiters.end());
    pending_answers_.erase(old);
  }
  if (outstanding.empty() || waiting.empty()) {
    answer(waiting, result);
  } else {
    auto pending = std::make_shared<PendingAnswer>();
    pending->result = std::move(result);
    pending->outstanding = std::move(outstanding);
    pending->waiters = std::move(waiting);
    pending_answers_[policy] = std::move(pending);
  }
}

asio::awaitable<void> Controller::run_region(std::shared_ptr<Entry> entry, const std::string& key,
                                             const std::string& region) {
  const std::string policy = entry->reconciler->name();
  std::optional<ApplyReport> report;
  try {
    report = co_await entry->reconciler->apply_region(region);
  } catch (const std::exception& e) {
    spdlog::error("{}: apply of {} threw: {}", policy, region, e.what());
    ApplyReport failed;
    ActionResult r;
    r.outcome = Outcome::kFailed;
    r.reason = e.what();
    failed.results.push_back(std::move(r));
    report = std::move(failed);
  }
  if (!entry->removed && !stopping_) {
    if (report && report->count(Outcome::kFailed) > 0 &&
        entry->reconciler->has_region_work(region)) {
      const Duration backoff = queue_.add_rate_limited(key);
      spdlog::info("{}: {} had {} failed action(s); retrying the region alone in {}", policy,
                   region, report->count(Outcome::kFailed), format_duration(backoff));
    } else {
      queue_.forget(key);
    }
  }
  queue_.done(key);

  auto it = pending_answers_.find(policy);
  if (it == pending_answers_.end() || !it->second->outstanding.contains(region)) co_return;
  PendingAnswer& pending = *it->second;
  pending.outstanding.erase(region);
  if (report && pending.result.report) {
    auto& results = pending.result.report->results;
    const bool same_plan = report->generation == pending.result.generation;
    std::size_t next = 0;
    for (auto& a : results) {
      if (a.action.region != region) continue;
      if (same_plan && next < report->results.size()) {
        a = report->results[next++];
      } else {
        a.reason = "superseded by pass " + std::to_string(report->generation);
      }
    }
  }
  if (pending.outstanding.empty()) {
    auto done = it->second;
    pending_answers_.erase(it);
    answer(done->waiters, done->result);
  }
}

asio::awaitable<void> Controller::fast_path_loop(std::shared_ptr<Entry> entry) {
  asio::steady_timer timer(executor_);
  while (!stopping_ && !entry->removed) {
    const FastPathSpec& fast = entry->reconciler->policy().spec.fastPath;
    // Sleep the interval in short slices so shutdown never waits for a whole interval.
    const auto wake = std::chrono::steady_clock::now() +
                      std::max(fast.interval, Duration(std::chrono::milliseconds(100)));
    while (!stopping_ && !entry->removed && std::chrono::steady_clock::now() < wake) {
      timer.expires_at(
          std::min(wake, std::chrono::steady_clock::now() + std::chrono::milliseconds(250)));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (stopping_ || entry->removed) break;
    if (!entry->reconciler->policy().spec.fastPath.enabled) continue;
    const std::string key = queue_key(entry->reconciler->name());
    if (queue_.is_processing(key)) continue;  // a pass is reading demand right now anyway
    if (env_.leader && !env_.leader->may_act()) continue;
    auto spike = co_await entry->reconciler->sample_spike();
    if (spike && !entry->removed && !stopping_) {
      spdlog::info("{}: demand spike ({}): reconciling now", entry->reconciler->name(), *spike);
      queue_.add(key);
    }
  }
  entry->fast_path_running = false;
}

asio::awaitable<std::optional<PassResult>> Controller::reconcile_now(const std::string& policy,
                                                                     PassOptions options) {
  auto it = entries_.find(policy);
  if (it == entries_.end()) co_return std::nullopt;
  auto rec = it->second->reconciler;  // kept alive across the pass
  co_return co_await rec->reconcile(options);
}

asio::awaitable<void> Controller::shutdown(std::chrono::milliseconds grace) {
  if (stopping_) co_return;
  stopping_ = true;
  spdlog::info("shutting down: no new passes; waiting up to {} for {} pass(es) in flight",
               format_duration(std::chrono::duration_cast<Duration>(grace)), in_flight_);
  queue_.shut_down();
  for (auto& [policy, list] : waiters_)
    for (auto& w : list) w->timer.cancel();
  for (auto& [policy, pending] : pending_answers_)
    for (auto& w : pending->waiters) w->timer.cancel();
  pending_answers_.clear();
  if (in_flight_ > 0 || workers_running_ > 0) {
    idle_ = std::make_unique<asio::steady_timer>(executor_);
    idle_->expires_after(grace);
    boost::system::error_code ec;
    co_await idle_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (in_flight_ > 0)
      spdlog::warn(
          "{} pass(es) still in flight after {}; abandoning them (state was saved before "
          "acting, the next start re-lists and settles them)",
          in_flight_, format_duration(std::chrono::duration_cast<Duration>(grace)));
  }
  for (auto& [name, entry] : entries_) {
    auto saved = co_await entry->reconciler->save_state();
    if (!saved) spdlog::warn("{}: could not save state: {}", name, saved.error().message);
  }
  spdlog::info("state saved; stopped");
}

// ---- ControllerView --------------------------------------------------------------------------

std::string Controller::metrics_text() {
  if (!env_.metrics) return {};
  queue_.report_unfinished_work();
  return env_.metrics->serialize();
}

Readiness Controller::readiness() {
  Readiness r;
  if (stopping_) {
    r.reason = "shutting down";
    return r;
  }
  if (env_.leader && !env_.leader->may_act()) {
    // A follower is ready to take over: it serves /status and waits.
    r.ready = true;
    r.reason = "standby: " + env_.leader->why_not();
    return r;
  }
  json::object detail;
  int pending = 0;
  for (const auto& [name, entry] : entries_) {
    const bool ok = entry->reconciler->first_pass_succeeded();
    detail[name] = ok ? "ready" : "first pass pending";
    if (!ok) ++pending;
  }
  if (entries_.empty()) {
    r.reason = "no policy loaded";
  } else if (pending > 0) {
    r.reason = std::to_string(pending) + " of " + std::to_string(entries_.size()) +
               " policies have not completed a first pass";
  } else {
    r.ready = true;
    r.reason = "ok";
  }
  r.detail = json::object{{"policies", std::move(detail)}};
  return r;
}

json::value Controller::status_json() {
  json::array policies;
  for (const auto& [name, entry] : entries_) policies.push_back(entry->reconciler->status_json());
  json::object o{{"leader", !env_.leader || env_.leader->may_act()},
                 {"stopping", stopping_},
                 {"passesInFlight", in_flight_},
                 {"queueDepth", queue_.len()},
                 {"policies", std::move(policies)}};
  if (invalid_change_) o["policyError"] = *invalid_change_;
  if (env_.leader && !env_.leader->may_act()) o["leaderStatus"] = env_.leader->why_not();
  return o;
}

asio::awaitable<TriggerOutcome> Controller::trigger(std::optional<std::string> policy) {
  TriggerOutcome out;
  if (stopping_ || !running_) {
    out.http_status = 503;
    out.body = json::object{{"error", stopping_ ? "shutting down" : "not running yet"}};
    co_return out;
  }
  if (env_.leader && !env_.leader->may_act()) {
    out.http_status = 503;
    out.body = json::object{{"error", "not the leader: " + env_.leader->why_not()}};
    co_return out;
  }
  std::vector<std::string> names;
  if (policy) {
    if (!entries_.contains(*policy)) {
      out.http_status = 404;
      out.body = json::object{{"error", "no policy named " + *policy}};
      co_return out;
    }
    names.push_back(*policy);
  } else {
    names = policy_names();
  }
  spdlog::info("trigger: reconciling {} now", policy ? *policy : std::string("every policy"));
  // Queue them all first so they run side by side, then collect.
  std::vector<std::shared_ptr<Waiter>> mine;
  for (const auto& name : names) {
    auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    waiter->timer.expires_after(options_.trigger_timeout);
    waiters_[name].push_back(waiter);
    mine.push_back(waiter);
    queue_.add(queue_key(name));
  }
  json::array results;
  bool timed_out = false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto& waiter = mine[i];
    if (!waiter->result) {
      boost::system::error_code ec;
      co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (waiter->result) {
      results.push_back(waiter->result->to_json());
    } else {
      timed_out = true;
      auto& list = waiters_[names[i]];
      std::erase(list, waiter);
      if (list.empty()) waiters_.erase(names[i]);
      results.push_back(json::object{{"policy", names[i]},
                                     {"result", "error"},
                                     {"reason", stopping_ ? "ShuttingDown" : "TriggerTimeout"}});
    }
  }
  out.http_status = timed_out ? (stopping_ ? 503 : 504) : 200;
  if (policy && results.size() == 1) {
    out.body = results.front();
  } else {
    out.body = json::object{{"results", std::move(results)}};
  }
  co_return out;
}

}  // namespace autoplacer::controller
