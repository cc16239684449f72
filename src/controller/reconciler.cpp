#include "controller/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

#include "controller/diff.h"
#include "controller/work_queue.h"
#include "metrics/self_metrics.h"

namespace autoplacer::controller {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr const char* kStateDecision = "decision_state";
constexpr const char* kStateStatus = "status";
constexpr const char* kStateController = "controller";

std::string fmt_rps(double v) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(v < 10 ? 1 : 0);
  o << v;
  return o.str();
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

double seconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

// ---- PassResult --------------------------------------------------------------------------------

json::value PassResult::to_json() const {
  json::object o{{"policy", policy},
                 {"result", result},
                 {"reason", reason},
                 {"message", message},
                 {"generation", generation},
                 {"started", format_rfc3339(started)},
                 {"durationSeconds", seconds_between(started, finished)},
                 {"changes", has_changes()}};
  if (decision) {
    json::object regions;
    for (const auto& [region, rd] : decision->regions) {
      regions[region] = json::object{{"current", rd.current},
                                     {"desired", rd.desired},
                                     {"demandRps", rd.demandRps},
                                     {"forecastRps", rd.forecastRps},
                                     {"direction", autoplacer::to_string(rd.direction)},
                                     {"reason", autoplacer::to_string(rd.reason)},
                                     {"message", rd.message}};
    }
    o["decision"] = json::object{{"heldAll", decision->heldAll},
                                 {"heldReason", decision->heldReason},
                                 {"limited", decision->limited},
                                 {"expectedMeanRttMs", decision->expectedMeanRttMs},
                                 {"regions", std::move(regions)}};
  }
  if (plan) o["plan"] = format_plan(*plan);
  if (!held.empty()) {
    json::object h;
    for (const auto& [region, why] : held) h[region] = why;
    o["held"] = std::move(h);
  }
  if (!dispatched.empty()) {
    json::array d;
    for (const auto& region : dispatched) d.push_back(json::value(region));
    o["dispatched"] = std::move(d);
  }
  if (report) {
    json::array actions;
    for (const auto& r : report->results) {
      actions.push_back(json::object{{"action", controller::to_string(r.action.kind)},
                                     {"region", r.region},
                                     {"machine", r.machineId},
                                     {"outcome", controller::to_string(r.outcome)},
                                     {"reason", r.reason}});
    }
    o["dryRun"] = report->dryRun;
    o["actions"] = std::move(actions);
  }
  return o;
}

std::vector<std::string> describe_pass(const PassResult& r) {
  std::vector<std::string> lines;
  if (r.result != "success") {
    lines.push_back(r.policy + ": pass " + r.result + " (" + r.reason + "): " + r.message);
    return lines;
  }
  if (r.decision) {
    if (r.decision->heldAll)
      lines.push_back(r.policy + ": holding placement: " + r.decision->heldReason);
    for (const auto& [region, rd] : r.decision->regions) {
      if (rd.desired == rd.current && rd.direction == Direction::kNone) continue;
      if (r.held.contains(region)) continue;  // not a change: logged once by note_held()
      lines.push_back(r.policy + ": " + region + " " + std::to_string(rd.current) + " -> " +
                      std::to_string(rd.desired) + " (" + autoplacer::to_string(rd.direction) +
                      ", " + autoplacer::to_string(rd.reason) + "): " + rd.message);
    }
  }
  if (r.report) {
    for (const auto& a : r.report->results) {
      if (a.outcome == Outcome::kSkipped && a.reason.rfind("queued under key", 0) == 0) {
        lines.push_back(r.policy + ":   " + format_action(a.action) + " (" + a.reason + ")");
        continue;
      }
      std::string line =
          r.policy + ":   " + format_action(a.action) + " -> " + controller::to_string(a.outcome);
      if (!a.reason.empty()) line += " (" + a.reason + ")";
      lines.push_back(std::move(line));
    }
  } else if (r.plan) {
    for (const auto& a : r.plan->actions) lines.push_back(r.policy + ":   " + format_action(a));
  }
  return lines;
}

// ---- PolicyReconciler --------------------------------------------------------------------------

PolicyReconciler::PolicyReconciler(PlacementPolicy policy, std::shared_ptr<fly::MachinesApi> api,
                                   ReconcilerEnv env)
    : policy_(std::move(policy)),
      api_(std::move(api)),
      env_(std::move(env)),
      // faults: with the clock, re-lists forget expired leases (forget_expired_leases).
      executor_(*api_, *env_.catalog, ExecutorOptions{.clock = env_.clock}),
      status_(policy_.metadata.name) {
  spec_hash_ = policy_.specHash;
  status_.set_mode(autoplacer::to_string(policy_.spec.mode));
}

void PolicyReconciler::set_policy(PlacementPolicy policy) {
  if (policy.specHash != spec_hash_) {
    ++policy_generation_;
    spec_hash_ = policy.specHash;
  }
  policy_ = std::move(policy);
  status_.set_mode(autoplacer::to_string(policy_.spec.mode));
  invalid_change_.reset();
}

void PolicyReconciler::set_invalid_change(std::optional<std::string> error) {
  invalid_change_ = std::move(error);
  const TimePoint now = env_.clock->now();
  if (invalid_change_) {
    status_.set_condition(ConditionType::kDegraded, true, "InvalidPolicyChange",
                          "the policy files changed but are invalid; the last good policy keeps "
                          "running: " +
                              *invalid_change_,
                          now);
  }
}

void PolicyReconciler::point(std::string_view name) const {
  if (env_.on_point) env_.on_point(name);
}

asio::awaitable<void> PolicyReconciler::load_state() {
  if (loaded_) co_return;
  loaded_ = true;
  const std::string& name = policy_.metadata.name;
  auto controller_blob = co_await env_.store->load(name, kStateController);
  if (controller_blob && *controller_blob && (*controller_blob)->is_object()) {
    const auto& o = (*controller_blob)->as_object();
    // faults: a corrupt file may hold 1e400 or -1: to_number() without an error_code throws,
    // which crashed the pass; such a number is ignored like a missing one.
    boost::system::error_code number_ec;
    if (auto* g = o.if_contains("generation"); g && g->is_number()) {
      const auto v = g->to_number<std::uint64_t>(number_ec);
      if (!number_ec) generation_ = v;
    }
    if (auto* pg = o.if_contains("policyGeneration"); pg && pg->is_number()) {
      const auto v = pg->to_number<std::int64_t>(number_ec);
      if (!number_ec) policy_generation_ = v;
    }
    if (auto* h = o.if_contains("specHash"); h && h->is_string()) {
      std::uint64_t saved = 0;
      const std::string text(h->as_string());
      std::from_chars(text.data(), text.data() + text.size(), saved, 16);
      if (saved != spec_hash_) ++policy_generation_;  // the file changed while we were down
    }
    if (auto* t = o.if_contains("timeToServe")) {
      auto restored = TimeToServe::from_json(*t);
      if (restored) {
        tts_ = std::move(*restored);
      } else {
        spdlog::warn("{}: saved time-to-serve unusable, measuring afresh: {}", name,
                     restored.error());
      }
    }
  } else if (!controller_blob) {
    spdlog::warn("{}: could not load controller state: {}", name, controller_blob.error().message);
  }
  auto decision_blob = co_await env_.store->load(name, kStateDecision);
  bool resumed = false;
  if (decision_blob && *decision_blob) {
    auto restored = decision_state_from_json(**decision_blob);
    if (restored) {
      state_ = std::move(*restored);
      resumed = true;
      spdlog::info(
          "{}: resumed decision state (history, windows and cooldowns) from the state store", name);
    } else {
      spdlog::warn("{}: saved decision state unusable, starting cold: {}", name, restored.error());
    }
  } else if (!decision_blob) {
    spdlog::warn("{}: could not load decision state, starting cold: {}", name,
                 decision_blob.error().message);
  }
  // A cold start learns the demand history from the traffic source (query_range), so the
  // forecast is warm from the first pass instead of after a day.
  if (!resumed) co_await backfill_history();
  auto status_blob = co_await env_.store->load(name, kStateStatus);
  if (status_blob && *status_blob) {
    auto restored = PolicyStatus::from_json(**status_blob);
    if (restored) {
      status_ = std::move(*restored);
      status_.set_mode(autoplacer::to_string(policy_.spec.mode));
    }
  }
}

asio::awaitable<StateResult<Unit>> PolicyReconciler::save_write_ahead() {
  const std::string& name = policy_.metadata.name;
  auto saved = co_await env_.store->save(name, kStateDecision, autoplacer::to_json(state_));
  if (!saved) co_return saved;
  std::ostringstream hash;
  hash << std::hex << spec_hash_;
  json::object blob;  // built outside the co_await (g++ 12 rejects brace-init lists there)
  blob["generation"] = generation_;
  blob["policyGeneration"] = policy_generation_;
  blob["specHash"] = hash.str();
  blob["timeToServe"] = tts_.to_json();
  co_return co_await env_.store->save(name, kStateController, std::move(blob));
}

asio::awaitable<StateResult<Unit>> PolicyReconciler::save_state() {
  if (!loaded_) co_return Unit{};  // nothing learned yet: keep what is stored
  auto saved = co_await save_write_ahead();
  if (!saved) co_return saved;
  co_return co_await env_.store->save(policy_.metadata.name, kStateStatus, status_.to_json());
}

PassResult PolicyReconciler::fail(PassResult r, std::string reason, std::string message,
                                  TimePoint now) {
  r.result = "error";
  r.reason = std::move(reason);
  r.message = std::move(message);
  r.finished = env_.clock->now();
  status_.set_error(ErrorRecord{now, r.reason, r.message});
  status_.set_condition(ConditionType::kReady, false, r.reason, r.message, now);
  status_.set_last_reconcile(now, false);
  if (env_.metrics) {
    env_.metrics->reconcile_error(name(), r.reason);
    env_.metrics->reconcile_finished(name(), "error", seconds_between(r.started, r.finished),
                                     r.finished);
  }
  return r;
}

asio::awaitable<PassResult> PolicyReconciler::reconcile(PassOptions options) {
  PassResult r;
  r.policy = name();
  r.started = env_.clock->now();
  const TimePoint now = r.started;

  if (!options.plan_only && env_.leader && !env_.leader->may_act()) {
    r.result = "skipped";
    r.reason = "NotLeader";
    r.message = env_.leader->why_not();
    r.finished = env_.clock->now();
    if (env_.metrics)
      env_.metrics->reconcile_finished(name(), "skipped", seconds_between(r.started, r.finished),
                                       r.finished);
    co_return r;
  }
  // HA: a new leadership (term) may follow another leader's passes: read the state again.
  if (env_.leader && env_.leader->term() != loaded_term_) {
    loaded_term_ = env_.leader->term();
    loaded_ = false;
  }
  co_await load_state();

  // 3. Observe machines: one list of the whole app, with config (clone source) and leases.
  auto listed = co_await list_fleet(*api_);
  if (!listed) {
    r = fail(std::move(r), "MachinesApiError",
             "listing machines of " + policy_.spec.app + " failed: " + listed.error().message, now);
    status_.set_condition(ConditionType::kAbleToScale, false, "MachinesApiError", r.message, now);
    if (!options.plan_only)
      (void)co_await env_.store->save(name(), kStateStatus, status_.to_json());
    log_pass(r);
    last_ = r;
    co_return r;
  }
  // faults: an expired lease (ours, its release lost) does not hold a machine (ownership.h).
  forget_expired_leases(*listed, env_.clock->now());
  const std::vector<fly::Machine>& machines = *listed;
  for (const auto& settled : executor_.settle(machines))
    spdlog::info("{}: settled: {}", name(), settled);
  point("pass.listed");
  observe_time_to_serve(machines, now);
  FleetObservation fleet = build_fleet_observation(machines, policy_, now);

  // 4. Demand (never throws; unknown is a reading with known == false).
  DemandReading demand = co_await env_.traffic->read(policy_, now);

  // 5. Decide on a copy when only planning, so `plan` changes no window or cooldown.
  DecisionState plan_state;
  DecisionState& state = options.plan_only ? (plan_state = state_, plan_state) : state_;
  DecisionInput input;
  input.policy = &policy_;
  input.catalog = env_.catalog;
  input.fleet = fleet;
  input.demand = demand;
  input.now = now;
  input.measuredTimeToServe = tts_.horizon();  // used when forecast.horizon is auto
  Decision decision = decide(input, state);
  const std::uint64_t generation = generation_ + 1;
  Plan plan = diff(decision, machines, policy_, *env_.catalog, generation);
  plan.generation = generation;
  r.generation = generation;
  r.decision = decision;
  r.plan = plan;
  note_held(r, !options.plan_only);

  if (options.plan_only) {
    r.result = "success";
    r.reason = "Planned";
    r.message = plan.empty() ? "no changes" : std::to_string(plan.actions.size()) + " action(s)";
    r.finished = env_.clock->now();
    co_return r;
  }

  // 6. Write-ahead: the state that this pass's actions start (cooldowns, windows, the pass
  // counter in operation ids) is on disk before the first action.
  generation_ = generation;
  if (auto saved = co_await save_write_ahead(); !saved) {
    r = fail(std::move(r), "StateSaveFailed",
             "could not save state before acting, so nothing was applied: " + saved.error().message,
             now);
    status_.set_condition(ConditionType::kDegraded, true, "StateSaveFailed", r.message, now);
    log_pass(r);
    last_ = r;
    co_return r;
  }
  point("pass.state_saved");

  // 7. Apply (the executor touches nothing in dryRun and forecastOnly). Leadership may have been
  // lost while we listed and decided; ask again right before acting.
  if (env_.leader && !env_.leader->may_act()) {
    r.result = "skipped";
    r.reason = "NotLeader";
    r.message = "lost leadership before applying: " + env_.leader->why_not();
    r.finished = env_.clock->now();
    co_return r;
  }
  // The controller applies each region under its own queue key (defer_apply); dryRun and
  // forecastOnly are reported by the executor without a call, so they need no key.
  const bool defer = options.defer_apply && policy_.spec.mode == Mode::kEnforce && !plan.empty();
  ApplyReport report;
  if (defer) {
    report.policy = plan.policy;
    report.generation = plan.generation;
    report.plan = plan;
    std::set<std::string> regions_with_actions;
    for (const auto& region : plan.regions()) {
      region_plans_[region] = region_plan(plan, region);
      regions_with_actions.insert(region);
      r.dispatched.push_back(region);
    }
    // Level-triggered: a region the newest plan leaves alone has nothing left to retry.
    std::erase_if(region_plans_,
                  [&](const auto& kv) { return !regions_with_actions.contains(kv.first); });
    std::erase_if(region_errors_,
                  [&](const auto& kv) { return !regions_with_actions.contains(kv.first); });
    for (const auto& a : plan.actions) {
      ActionResult q;
      q.action = a;
      q.machineId = a.machineId;
      q.region = a.machineRegion.empty() ? a.region : a.machineRegion;
      q.outcome = Outcome::kSkipped;
      q.reason = "queued under key " + queue_key(name(), a.region);
      report.results.push_back(std::move(q));
    }
  } else {
    region_plans_.clear();
    const TimePoint apply_started = env_.clock->now();
    report = co_await executor_.apply(plan, policy_);
    point("pass.applied");
    record_apply(report, true, apply_started, env_.clock->now());
  }
  r.report = report;
  r.result = "success";
  if (plan.empty()) {
    r.reason = "NoChanges";
    r.message = "placement matches the decision";
  } else if (defer) {
    r.reason = "Dispatched";
    r.message = std::to_string(plan.actions.size()) + " action(s) queued for " +
                std::to_string(r.dispatched.size()) + " region(s)";
  } else {
    r.reason = report.dryRun ? "DryRun" : "Applied";
    r.message = std::to_string(report.count(Outcome::kOk)) + " ok, " +
                std::to_string(report.count(Outcome::kFailed)) + " failed, " +
                std::to_string(report.count(Outcome::kUnknown)) + " unknown, " +
                std::to_string(report.count(Outcome::kSkipped)) + " skipped";
  }
  r.finished = env_.clock->now();

  // 8. Status, metrics, log, save.
  update_status(r, fleet, demand, now);
  export_metrics(decision, demand, r.held);
  if (env_.metrics) {
    env_.metrics->reconcile_finished(name(), "success", seconds_between(r.started, r.finished),
                                     r.finished);
  }
  baseline_rps_ = demand.known ? demand.rps : baseline_rps_;
  first_success_ = true;
  log_pass(r);
  if (auto saved = co_await env_.store->save(name(), kStateStatus, status_.to_json()); !saved)
    spdlog::warn("{}: could not save status: {}", name(), saved.error().message);
  point("pass.status_saved");
  last_ = r;
  co_return r;
}

void PolicyReconciler::update_status(const PassResult& r, const FleetObservation& fleet,
                                     const DemandReading& demand, TimePoint now) {
  const Decision& d = *r.decision;
  status_.set_observed_generation(policy_generation_);
  status_.set_mode(autoplacer::to_string(policy_.spec.mode));
  status_.set_last_reconcile(now, true);
  status_.clear_error();

  std::map<std::string, int> current;
  for (const auto& [region, m] : fleet.regions)
    if (m.active() > 0) current[region] = m.active();
  status_.set_placement(std::move(current), {d.desired.begin(), d.desired.end()});

  for (const auto& [region, rd] : d.regions) {
    if (rd.desired == rd.current && rd.direction == Direction::kNone) continue;
    if (r.held.contains(region)) continue;  // recorded once by note_held()
    status_.record_decision(DecisionRecord{now, region, rd.current, rd.desired,
                                           autoplacer::to_string(rd.direction),
                                           autoplacer::to_string(rd.reason), rd.message});
  }

  status_.set_condition(ConditionType::kReady, true, "ReconcileSucceeded", r.message, now);
  if (demand.known) {
    std::string msg = "demand read for " + std::to_string(demand.rps.size()) + " origin region(s)";
    if (!demand.unknown.empty()) msg += ", " + std::to_string(demand.unknown.size()) + " unknown";
    status_.set_condition(ConditionType::kMetricsAvailable, true, "DemandKnown", msg, now);
  } else {
    status_.set_condition(ConditionType::kMetricsAvailable, false, "MetricsUnavailable",
                          demand.reason.empty() ? "demand unknown" : demand.reason, now);
  }
  if (d.heldAll) {
    status_.set_condition(ConditionType::kScalingActive, false, "PlacementHeld", d.heldReason, now);
  } else {
    status_.set_condition(ConditionType::kScalingActive, true, "ValidPlacement",
                          "the placement follows demand", now);
  }
  if (d.limited) {
    status_.set_condition(ConditionType::kScalingLimited, true, "Limited",
                          "limited by " + join(d.limitedBy, ", "), now);
  } else {
    status_.set_condition(ConditionType::kScalingLimited, false, "WithinBounds",
                          "the desired placement is within every bound", now);
  }
  refresh_action_conditions(now);
}

void PolicyReconciler::refresh_action_conditions(TimePoint now) {
  int failed = 0;
  int unknown = 0;
  std::vector<std::string> failing;
  for (const auto& [region, e] : region_errors_) {
    failed += e.failed;
    unknown += e.unknown;
    if (e.failed > 0) failing.push_back(region);
  }
  if (policy_.spec.mode == Mode::kDryRun) {
    status_.set_condition(ConditionType::kAbleToScale, false, "DryRun",
                          "mode dryRun: the plan is logged, nothing is changed", now);
  } else if (policy_.spec.mode == Mode::kForecastOnly) {
    status_.set_condition(ConditionType::kAbleToScale, false, "ForecastOnly",
                          "mode forecastOnly: the placement is exported as metrics only", now);
  } else if (failed > 0) {
    status_.set_condition(
        ConditionType::kAbleToScale, false, "ActionsFailed",
        std::to_string(failed) + " action(s) failed in the last apply of " + join(failing, ", "),
        now);
  } else {
    status_.set_condition(ConditionType::kAbleToScale, true, "SucceededActions",
                          "the controller can change machines", now);
  }
  if (invalid_change_) {
    status_.set_condition(ConditionType::kDegraded, true, "InvalidPolicyChange",
                          "the policy files changed but are invalid; the last good policy keeps "
                          "running: " +
                              *invalid_change_,
                          now);
  } else if (failed > 0 || unknown > 0) {
    status_.set_condition(ConditionType::kDegraded, true, "ActionErrors",
                          std::to_string(failed) + " failed and " + std::to_string(unknown) +
                              " unknown action outcome(s) in the last apply",
                          now);
  } else {
    status_.set_condition(ConditionType::kDegraded, false, "AsExpected", "nothing is wrong", now);
  }
}

void PolicyReconciler::record_apply(const ApplyReport& report, bool whole_plan, TimePoint started,
                                    TimePoint now) {
  if (whole_plan) region_errors_.clear();
  std::map<std::string, RegionErrors> errors;
  for (const auto& region : report.plan.regions()) errors[region];
  for (const auto& a : report.results) {
    if (a.outcome == Outcome::kFailed) ++errors[a.action.region].failed;
    if (a.outcome == Outcome::kUnknown) ++errors[a.action.region].unknown;
  }
  for (const auto& [region, e] : errors) {
    if (e.failed + e.unknown > 0) {
      region_errors_[region] = e;
    } else {
      region_errors_.erase(region);
    }
  }
  for (const auto& a : report.results) {
    if (a.outcome != Outcome::kOk) continue;
    if (a.action.kind == ActionKind::kCreate || a.action.kind == ActionKind::kStart)
      tts_.watch(a.machineId, a.region, started);
  }
  if (env_.metrics) {
    for (const auto& a : report.results) {
      if (a.outcome == Outcome::kSkipped) continue;
      const char* result = a.outcome == Outcome::kOk        ? "ok"
                           : a.outcome == Outcome::kUnknown ? "unknown"
                                                            : "error";
      env_.metrics->action(name(), a.region, controller::to_string(a.action.kind), result);
    }
  }
  if (!whole_plan) {  // a region applied under its own key: its lines now (log_pass did the rest)
    for (const auto& a : report.results) {
      std::string line =
          name() + ":   " + format_action(a.action) + " -> " + controller::to_string(a.outcome);
      if (!a.reason.empty()) line += " (" + a.reason + ")";
      if (a.outcome == Outcome::kFailed || a.outcome == Outcome::kUnknown) {
        spdlog::warn("{}", line);
      } else {
        spdlog::info("{}", line);
      }
    }
  }
  refresh_action_conditions(now);
}

asio::awaitable<std::optional<ApplyReport>> PolicyReconciler::apply_region(
    const std::string& region) {
  auto it = region_plans_.find(region);
  if (it == region_plans_.end()) co_return std::nullopt;
  Plan plan = std::move(it->second);
  region_plans_.erase(it);
  if (env_.leader && !env_.leader->may_act()) co_return std::nullopt;  // a follower acts on nothing
  const TimePoint started = env_.clock->now();
  ApplyReport report = co_await executor_.apply(plan, policy_);
  point("pass.applied");
  record_apply(report, false, started, env_.clock->now());
  // Failed actions are retried (after the key's backoff) from the same plan unless a newer pass
  // replaced it meanwhile; the executor re-lists and re-checks every action before acting.
  if (report.count(Outcome::kFailed) > 0 && !region_plans_.contains(region))
    region_plans_.emplace(region, std::move(plan));
  if (auto saved = co_await env_.store->save(name(), kStateStatus, status_.to_json()); !saved)
    spdlog::warn("{}: could not save status: {}", name(), saved.error().message);
  co_return report;
}

void PolicyReconciler::note_held(PassResult& r, bool report) {
  r.held.clear();
  const Plan& plan = *r.plan;
  const Decision& d = *r.decision;
  std::set<std::string> acting;
  for (const auto& a : plan.actions) acting.insert(a.region);
  for (const auto& [region, hs] : plan.heldSurplus) {
    if (acting.contains(region)) continue;  // part of the surplus goes: that is a change
    r.held[region] = hs.reason();
  }
  if (!report) return;
  const TimePoint now = r.started;
  for (auto it = held_logged_.begin(); it != held_logged_.end();) {
    if (r.held.contains(it->first)) {
      ++it;
    } else {
      it = held_logged_.erase(it);
    }
  }
  for (const auto& [region, why] : r.held) {
    auto rd = d.regions.find(region);
    const int current = rd == d.regions.end() ? plan.active.at(region) : rd->second.current;
    const int desired = rd == d.regions.end() ? plan.desired.at(region) : rd->second.desired;
    const std::string key = std::to_string(current) + "->" + std::to_string(desired) + " " + why;
    if (held_logged_[region] == key) continue;  // already said; not news every pass
    held_logged_[region] = key;
    const int surplus = current - desired;
    const std::string message = std::to_string(surplus) + " surplus machine(s) " +
                                (why == "held" ? "held (deploy, lease or host)"
                                               : "not ours to retire (adoptExisting off)") +
                                "; left running and counted as capacity";
    spdlog::info("{}: {} held at {} (desired {}, {}): {}", name(), region, current, desired, why,
                 message);
    status_.record_decision(DecisionRecord{now, region, current, desired, "none",
                                           why == "held" ? "Held" : "NotOwned", message});
  }
}

void PolicyReconciler::observe_time_to_serve(const std::vector<fly::Machine>& machines,
                                             TimePoint now) {
  for (const auto& s : tts_.observe(machines, now)) {
    spdlog::info("{}: machine {} in {} served {} after its {} (estimate for {}: {})", name(),
                 s.machineId, s.region, format_duration(s.duration),
                 s.fromEvents ? "request (Fly's events)" : "request (seen by a list)", s.region,
                 format_duration(tts_.estimate(s.region).value_or(s.duration)));
  }
  if (env_.metrics)
    for (const auto& [region, d] : tts_.estimates())
      env_.metrics->set_time_to_serve(name(), region, std::chrono::duration<double>(d).count());
}

asio::awaitable<void> PolicyReconciler::backfill_history() {
  const TimePoint to = env_.clock->now();
  const Duration window = policy_.spec.traffic.historyWindow;
  if (window <= Duration::zero()) co_return;
  const Duration step = metrics::default_backfill_step(policy_);
  auto history = co_await env_.traffic->backfill(policy_, to - window, to, step);
  if (!history) {
    spdlog::warn("{}: no demand history to start from (starting cold): {}", name(),
                 history.error());
    co_return;
  }
  std::size_t known = 0;
  for (const auto& reading : *history) {
    if (!reading.known) continue;
    observe(policy_, reading, state_);
    ++known;
  }
  if (known > 0)
    spdlog::info("{}: warm start: {} demand reading(s) over the last {} from the traffic source",
                 name(), known, format_duration(window));
}

void PolicyReconciler::export_metrics(const Decision& d, const DemandReading& demand,
                                      const std::map<std::string, std::string>& held) {
  if (!env_.metrics) return;
  auto& m = *env_.metrics;
  m.set_metrics_available(name(), demand.known);
  m.set_policy_valid(name(), !invalid_change_.has_value());
  std::vector<std::string> regions;
  for (const auto& [region, rd] : d.regions) {
    regions.push_back(region);
    m.set_demand_rps(name(), region, rd.demandRps);
    m.set_forecast_rps(name(), region, rd.forecastRps);
    m.set_desired_machines(name(), region, rd.desired);
    m.set_running_machines(name(), region, rd.current);
    if ((rd.direction != Direction::kNone || rd.desired != rd.current) && !held.contains(region))
      m.decision(name(), region, autoplacer::to_string(rd.direction),
                 autoplacer::to_string(rd.reason));
  }
  for (const auto& old : exported_regions_)
    if (!d.regions.contains(old)) m.forget_region(name(), old);
  exported_regions_ = std::move(regions);
}

void PolicyReconciler::log_pass(const PassResult& r) const {
  const auto lines = describe_pass(r);
  const bool interesting =
      r.result != "success" || r.has_changes() || (r.decision && r.decision->heldAll);
  for (const auto& line : lines) {
    if (interesting)
      spdlog::info("{}", line);
    else
      spdlog::debug("{}", line);
  }
  if (r.result == "success" && !r.has_changes()) {
    spdlog::debug("{}: pass {}: no changes ({:.3f}s)", r.policy, r.generation,
                  seconds_between(r.started, r.finished));
  }
}

asio::awaitable<std::optional<std::string>> PolicyReconciler::sample_spike() {
  const FastPathSpec& fast = policy_.spec.fastPath;
  if (!fast.enabled || !first_success_) co_return std::nullopt;
  DemandReading reading = co_await env_.traffic->read(policy_, env_.clock->now());
  if (!reading.known) co_return std::nullopt;  // unknown is not a spike either
  std::optional<std::string> spike;
  for (const auto& [origin, rps] : reading.rps) {
    if (reading.unknown.contains(origin) || !std::isfinite(rps)) continue;
    auto it = baseline_rps_.find(origin);
    const double base = it == baseline_rps_.end() ? 0.0 : it->second;
    if (rps >= fast.minDemand && rps > base * fast.spikeFactor) {
      spike = origin + " " + fmt_rps(base) + " -> " + fmt_rps(rps) + " req/s";
      break;
    }
  }
  // The next sample compares with this one's level only after the pass it triggers reads it;
  // meanwhile keep the spike from firing again and again.
  if (spike)
    for (const auto& [origin, rps] : reading.rps)
      baseline_rps_[origin] = std::max(baseline_rps_[origin], rps);
  co_return spike;
}

json::value PolicyReconciler::status_json() const {
  json::value v = status_.to_json();
  if (v.is_object()) {
    auto& o = v.as_object();
    o["app"] = policy_.spec.app;
    o["generation"] = policy_generation_;
    o["passes"] = generation_;
    o["source"] = policy_.sourceFile;
    if (last_) {
      o["lastPass"] = json::object{{"result", last_->result},
                                   {"reason", last_->reason},
                                   {"message", last_->message},
                                   {"changes", last_->has_changes()}};
    }
  }
  return v;
}

}  // namespace autoplacer::controller
