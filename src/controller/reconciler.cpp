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
      lines.push_back(r.policy + ": " + region + " " + std::to_string(rd.current) + " -> " +
                      std::to_string(rd.desired) + " (" + autoplacer::to_string(rd.direction) +
                      ", " + autoplacer::to_string(rd.reason) + "): " + rd.message);
    }
  }
  if (r.report) {
    for (const auto& a : r.report->results) {
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
      executor_(*api_, *env_.catalog),
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
    if (auto* g = o.if_contains("generation"); g && g->is_number())
      generation_ = g->to_number<std::uint64_t>();
    if (auto* pg = o.if_contains("policyGeneration"); pg && pg->is_number())
      policy_generation_ = pg->to_number<std::int64_t>();
    if (auto* h = o.if_contains("specHash"); h && h->is_string()) {
      std::uint64_t saved = 0;
      const std::string text(h->as_string());
      std::from_chars(text.data(), text.data() + text.size(), saved, 16);
      if (saved != spec_hash_) ++policy_generation_;  // the file changed while we were down
    }
  } else if (!controller_blob) {
    spdlog::warn("{}: could not load controller state: {}", name, controller_blob.error().message);
  }
  auto decision_blob = co_await env_.store->load(name, kStateDecision);
  if (decision_blob && *decision_blob) {
    auto restored = decision_state_from_json(**decision_blob);
    if (restored) {
      state_ = std::move(*restored);
      spdlog::info(
          "{}: resumed decision state (history, windows and cooldowns) from the state store", name);
    } else {
      spdlog::warn("{}: saved decision state unusable, starting cold: {}", name, restored.error());
    }
  } else if (!decision_blob) {
    spdlog::warn("{}: could not load decision state, starting cold: {}", name,
                 decision_blob.error().message);
  }
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
  const std::vector<fly::Machine>& machines = *listed;
  for (const auto& settled : executor_.settle(machines))
    spdlog::info("{}: settled: {}", name(), settled);
  point("pass.listed");
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
  Decision decision = decide(input, state);
  const std::uint64_t generation = generation_ + 1;
  Plan plan = diff(decision, machines, policy_, *env_.catalog, generation);
  plan.generation = generation;
  r.generation = generation;
  r.decision = decision;
  r.plan = plan;

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
  ApplyReport report = co_await executor_.apply(plan, policy_);
  point("pass.applied");
  r.report = report;
  r.result = "success";
  r.reason = plan.empty() ? "NoChanges" : (report.dryRun ? "DryRun" : "Applied");
  r.message = plan.empty() ? "placement matches the decision"
                           : std::to_string(report.count(Outcome::kOk)) + " ok, " +
                                 std::to_string(report.count(Outcome::kFailed)) + " failed, " +
                                 std::to_string(report.count(Outcome::kUnknown)) + " unknown, " +
                                 std::to_string(report.count(Outcome::kSkipped)) + " skipped";
  r.finished = env_.clock->now();

  // 8. Status, metrics, log, save.
  update_status(r, fleet, demand, now);
  export_metrics(decision, demand);
  if (env_.metrics) {
    for (const auto& a : report.results) {
      if (a.outcome == Outcome::kSkipped) continue;
      const char* result = a.outcome == Outcome::kOk        ? "ok"
                           : a.outcome == Outcome::kUnknown ? "unknown"
                                                            : "error";
      env_.metrics->action(name(), a.region, controller::to_string(a.action.kind), result);
    }
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
  status_.set_placement(std::move(current), d.desired);

  for (const auto& [region, rd] : d.regions) {
    if (rd.desired == rd.current && rd.direction == Direction::kNone) continue;
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
  const ApplyReport& rep = *r.report;
  const int failed = rep.count(Outcome::kFailed);
  const int unknown = rep.count(Outcome::kUnknown);
  if (policy_.spec.mode == Mode::kDryRun) {
    status_.set_condition(ConditionType::kAbleToScale, false, "DryRun",
                          "mode dryRun: the plan is logged, nothing is changed", now);
  } else if (policy_.spec.mode == Mode::kForecastOnly) {
    status_.set_condition(ConditionType::kAbleToScale, false, "ForecastOnly",
                          "mode forecastOnly: the placement is exported as metrics only", now);
  } else if (failed > 0) {
    status_.set_condition(ConditionType::kAbleToScale, false, "ActionsFailed",
                          std::to_string(failed) + " action(s) failed this pass", now);
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
                              " unknown action outcome(s) this pass",
                          now);
  } else {
    status_.set_condition(ConditionType::kDegraded, false, "AsExpected", "nothing is wrong", now);
  }
}

void PolicyReconciler::export_metrics(const Decision& d, const DemandReading& demand) {
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
    if (rd.direction != Direction::kNone || rd.desired != rd.current)
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
