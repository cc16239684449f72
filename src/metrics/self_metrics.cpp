#include "metrics/self_metrics.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace autoplacer::metrics {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Seconds a pass may take: from a no-op pass (tens of ms) to one slowed by rate limits.
const prometheus::Histogram::BucketBoundaries kReconcileBuckets = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120};
// One Machines API request.
const prometheus::Histogram::BucketBoundaries kApiBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1,    2.5,   5,    10,  30};
// client-go's workqueue buckets: ExponentialBuckets(10e-9, 10, 10).
const prometheus::Histogram::BucketBoundaries kWorkQueueBuckets = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
                                                                   1e-3, 1e-2, 1e-1, 1,    10};

std::string str(std::string_view s) {
  return std::string(s);
}

}  // namespace

SelfMetrics::SelfMetrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      build_info_(BuildGauge()
                      .Name("autoplacer_build_info")
                      .Help("Always 1; the version label says which build runs.")
                      .Register(*registry_)),
      reconcile_total_(BuildCounter()
                           .Name("autoplacer_reconcile_total")
                           .Help("Reconcile passes by policy and result (success, error, skipped).")
                           .Register(*registry_)),
      reconcile_errors_total_(BuildCounter()
                                  .Name("autoplacer_reconcile_errors_total")
                                  .Help("Failed reconcile passes by policy and reason.")
                                  .Register(*registry_)),
      reconcile_duration_(BuildHistogram()
                              .Name("autoplacer_reconcile_duration_seconds")
                              .Help("Duration of a reconcile pass.")
                              .Register(*registry_)),
      last_successful_reconcile_(
          BuildGauge()
              .Name("autoplacer_last_successful_reconcile_timestamp_seconds")
              .Help("Unix time of the policy's last successful reconcile pass.")
              .Register(*registry_)),
      actions_total_(BuildCounter()
                         .Name("autoplacer_actions_total")
                         .Help("Machine actions by policy, region, action and result (ok, error, "
                               "unknown).")
                         .Register(*registry_)),
      api_requests_total_(BuildCounter()
                              .Name("autoplacer_machines_api_requests_total")
                              .Help("Machines API request attempts by operation and HTTP status "
                                    "(or error kind without a response).")
                              .Register(*registry_)),
      api_request_duration_(BuildHistogram()
                                .Name("autoplacer_machines_api_request_duration_seconds")
                                .Help("Duration of one Machines API request attempt.")
                                .Register(*registry_)),
      rate_limiter_waits_total_(BuildCounter()
                                    .Name("autoplacer_rate_limiter_waits_total")
                                    .Help("Machines API requests the client-side rate limiter held "
                                          "back.")
                                    .Register(*registry_)),
      rate_limiter_wait_seconds_total_(BuildCounter()
                                           .Name("autoplacer_rate_limiter_wait_seconds_total")
                                           .Help("Time Machines API requests spent waiting for the "
                                                 "client-side rate limiter.")
                                           .Register(*registry_)),
      demand_rps_(BuildGauge()
                      .Name("autoplacer_demand_rps")
                      .Help("Observed demand the region serves, in requests per second.")
                      .Register(*registry_)),
      forecast_rps_(BuildGauge()
                        .Name("autoplacer_forecast_rps")
                        .Help("Demand the region is sized for (forecast at the horizon), in "
                              "requests per second.")
                        .Register(*registry_)),
      desired_machines_(BuildGauge()
                            .Name("autoplacer_desired_machines")
                            .Help("Machines the policy wants in the region.")
                            .Register(*registry_)),
      running_machines_(BuildGauge()
                            .Name("autoplacer_running_machines")
                            .Help("Active machines observed in the region.")
                            .Register(*registry_)),
      time_to_serve_(BuildGauge()
                         .Name("autoplacer_time_to_serve_seconds")
                         .Help("Measured time from a create or start request to the machine "
                               "serving (started), per region: the median of recent samples.")
                         .Register(*registry_)),
      metrics_available_(BuildGauge()
                             .Name("autoplacer_metrics_available")
                             .Help("1 when the policy's last traffic read was known, else 0.")
                             .Register(*registry_)),
      policy_valid_(BuildGauge()
                        .Name("autoplacer_policy_valid")
                        .Help("1 when the policy file on disk is valid, 0 when the last change "
                              "was rejected (the last good policy keeps running).")
                        .Register(*registry_)),
      policy_load_errors_total_(BuildCounter()
                                    .Name("autoplacer_policy_load_errors_total")
                                    .Help("Policy files that could not be read or parsed.")
                                    .Register(*registry_)),
      decisions_total_(BuildCounter()
                           .Name("autoplacer_decisions_total")
                           .Help("Placement decisions by policy, region, direction and reason.")
                           .Register(*registry_)),
      leader_(BuildGauge()
                  .Name("autoplacer_leader")
                  .Help("1 while this replica leads (reconciles), else 0.")
                  .Register(*registry_)),
      leader_transitions_total_(BuildCounter()
                                    .Name("autoplacer_leader_transitions_total")
                                    .Help("Times this replica started or stopped leading.")
                                    .Register(*registry_)),
      workqueue_depth_(BuildGauge()
                           .Name("workqueue_depth")
                           .Help("Current depth of the work queue.")
                           .Register(*registry_)),
      workqueue_adds_total_(BuildCounter()
                                .Name("workqueue_adds_total")
                                .Help("Total number of adds handled by the work queue.")
                                .Register(*registry_)),
      workqueue_queue_duration_(BuildHistogram()
                                    .Name("workqueue_queue_duration_seconds")
                                    .Help("How long an item stays in the work queue before being "
                                          "requested.")
                                    .Register(*registry_)),
      workqueue_work_duration_(BuildHistogram()
                                   .Name("workqueue_work_duration_seconds")
                                   .Help("How long processing an item from the work queue takes.")
                                   .Register(*registry_)),
      workqueue_unfinished_work_(BuildGauge()
                                     .Name("workqueue_unfinished_work_seconds")
                                     .Help("Seconds of work in progress not yet observed by "
                                           "work_duration; large values mean stuck work.")
                                     .Register(*registry_)),
      workqueue_longest_running_(BuildGauge()
                                     .Name("workqueue_longest_running_processor_seconds")
                                     .Help("Seconds the longest running item has been processed.")
                                     .Register(*registry_)),
      workqueue_retries_total_(BuildCounter()
                                   .Name("workqueue_retries_total")
                                   .Help("Total number of retries handled by the work queue.")
                                   .Register(*registry_)) {
  build_info_.Add({{"version", str(version)}}).Set(1);
  // Label-less series exist from the start: alerts use absent() and sum() on them.
  policy_load_errors_total_.Add({});
  leader_.Add({}).Set(0);
  leader_transitions_total_.Add({});
}

std::string SelfMetrics::serialize() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

template <class T>
T& SelfMetrics::with_policy(prometheus::Family<T>& family, Labels labels) {
  auto policy_it = labels.find("policy");
  T& metric = family.Add(labels);
  if (policy_it != labels.end()) {
    std::lock_guard lock(mu_);
    auto& series = by_policy_[policy_it->second];
    SeriesId id{&family, labels};
    if (!series.contains(id)) {
      series.emplace(std::move(id), [&family, &metric] { family.Remove(&metric); });
    }
  }
  return metric;
}

prometheus::Histogram& SelfMetrics::histogram_with_policy(
    prometheus::Family<prometheus::Histogram>& family, Labels labels,
    const prometheus::Histogram::BucketBoundaries& buckets) {
  auto policy_it = labels.find("policy");
  prometheus::Histogram& metric = family.Add(labels, buckets);
  if (policy_it != labels.end()) {
    std::lock_guard lock(mu_);
    auto& series = by_policy_[policy_it->second];
    SeriesId id{&family, labels};
    if (!series.contains(id)) {
      series.emplace(std::move(id), [&family, &metric] { family.Remove(&metric); });
    }
  }
  return metric;
}

void SelfMetrics::reconcile_finished(std::string_view policy, std::string_view result,
                                     double seconds, TimePoint finished_at) {
  with_policy(reconcile_total_, {{"policy", str(policy)}, {"result", str(result)}}).Increment();
  histogram_with_policy(reconcile_duration_, {{"policy", str(policy)}}, kReconcileBuckets)
      .Observe(seconds);
  if (result == "success") {
    with_policy(last_successful_reconcile_, {{"policy", str(policy)}})
        .Set(to_unix_seconds(finished_at));
  }
}

void SelfMetrics::reconcile_error(std::string_view policy, std::string_view reason) {
  with_policy(reconcile_errors_total_, {{"policy", str(policy)}, {"reason", str(reason)}})
      .Increment();
}

void SelfMetrics::action(std::string_view policy, std::string_view region, std::string_view action,
                         std::string_view result) {
  with_policy(actions_total_, {{"policy", str(policy)},
                               {"region", str(region)},
                               {"action", str(action)},
                               {"result", str(result)}})
      .Increment();
}

void SelfMetrics::decision(std::string_view policy, std::string_view region,
                           std::string_view direction, std::string_view reason) {
  with_policy(decisions_total_, {{"policy", str(policy)},
                                 {"region", str(region)},
                                 {"direction", str(direction)},
                                 {"reason", str(reason)}})
      .Increment();
}

void SelfMetrics::set_demand_rps(std::string_view policy, std::string_view region, double rps) {
  with_policy(demand_rps_, {{"policy", str(policy)}, {"region", str(region)}}).Set(rps);
}
void SelfMetrics::set_forecast_rps(std::string_view policy, std::string_view region, double rps) {
  with_policy(forecast_rps_, {{"policy", str(policy)}, {"region", str(region)}}).Set(rps);
}
void SelfMetrics::set_desired_machines(std::string_view policy, std::string_view region,
                                       double machines) {
  with_policy(desired_machines_, {{"policy", str(policy)}, {"region", str(region)}}).Set(machines);
}
void SelfMetrics::set_running_machines(std::string_view policy, std::string_view region,
                                       double machines) {
  with_policy(running_machines_, {{"policy", str(policy)}, {"region", str(region)}}).Set(machines);
}
void SelfMetrics::set_time_to_serve(std::string_view policy, std::string_view region,
                                    double seconds) {
  with_policy(time_to_serve_, {{"policy", str(policy)}, {"region", str(region)}}).Set(seconds);
}
void SelfMetrics::set_metrics_available(std::string_view policy, bool available) {
  with_policy(metrics_available_, {{"policy", str(policy)}}).Set(available ? 1 : 0);
}
void SelfMetrics::set_policy_valid(std::string_view policy, bool valid) {
  with_policy(policy_valid_, {{"policy", str(policy)}}).Set(valid ? 1 : 0);
}
void SelfMetrics::policy_load_error() {
  policy_load_errors_total_.Add({}).Increment();
}

void SelfMetrics::forget_region(std::string_view policy, std::string_view region) {
  std::lock_guard lock(mu_);
  auto it = by_policy_.find(policy);
  if (it == by_policy_.end()) return;
  auto& series = it->second;
  for (auto s = series.begin(); s != series.end();) {
    auto region_label = s->first.second.find("region");
    if (region_label != s->first.second.end() && region_label->second == region) {
      s->second();
      s = series.erase(s);
    } else {
      ++s;
    }
  }
}

void SelfMetrics::forget_policy(std::string_view policy) {
  std::lock_guard lock(mu_);
  auto it = by_policy_.find(policy);
  if (it == by_policy_.end()) return;
  for (auto& [id, remove] : it->second) remove();
  by_policy_.erase(it);
}

void SelfMetrics::machines_api_request(std::string_view operation, std::string_view status,
                                       double seconds) {
  api_requests_total_.Add({{"operation", str(operation)}, {"status", str(status)}}).Increment();
  api_request_duration_.Add({{"operation", str(operation)}}, kApiBuckets).Observe(seconds);
}

void SelfMetrics::rate_limiter_wait(std::string_view operation, double seconds) {
  rate_limiter_waits_total_.Add({{"operation", str(operation)}}).Increment();
  rate_limiter_wait_seconds_total_.Add({{"operation", str(operation)}})
      .Increment(std::max(0.0, seconds));
}

void SelfMetrics::set_leader(bool leader) {
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    changed = leader != leader_value_;
    leader_value_ = leader;
  }
  leader_.Add({}).Set(leader ? 1 : 0);
  if (changed) leader_transitions_total_.Add({}).Increment();
}

void SelfMetrics::set_workqueue_depth(std::string_view name, double depth) {
  workqueue_depth_.Add({{"name", str(name)}}).Set(depth);
}
void SelfMetrics::workqueue_add(std::string_view name) {
  workqueue_adds_total_.Add({{"name", str(name)}}).Increment();
}
void SelfMetrics::workqueue_retry(std::string_view name) {
  workqueue_retries_total_.Add({{"name", str(name)}}).Increment();
}
void SelfMetrics::observe_workqueue_queue_duration(std::string_view name, double seconds) {
  workqueue_queue_duration_.Add({{"name", str(name)}}, kWorkQueueBuckets)
      .Observe(std::max(0.0, seconds));
}
void SelfMetrics::observe_workqueue_work_duration(std::string_view name, double seconds) {
  workqueue_work_duration_.Add({{"name", str(name)}}, kWorkQueueBuckets)
      .Observe(std::max(0.0, seconds));
}
void SelfMetrics::set_workqueue_unfinished_work(std::string_view name, double seconds) {
  workqueue_unfinished_work_.Add({{"name", str(name)}}).Set(seconds);
}
void SelfMetrics::set_workqueue_longest_running_processor(std::string_view name, double seconds) {
  workqueue_longest_running_.Add({{"name", str(name)}}).Set(seconds);
}

std::shared_ptr<fly::ApiObserver> SelfMetrics::api_observer() {
  std::lock_guard lock(mu_);
  if (!api_observer_) api_observer_ = std::make_shared<SelfMetricsApiObserver>(*this);
  return api_observer_;
}

void SelfMetricsApiObserver::on_request(std::string_view operation, std::string_view status,
                                        std::chrono::duration<double> elapsed) {
  metrics_.machines_api_request(operation, status, elapsed.count());
}

void SelfMetricsApiObserver::on_rate_limit_wait(std::string_view operation,
                                                std::chrono::duration<double> waited) {
  metrics_.rate_limiter_wait(operation, waited.count());
}

}  // namespace autoplacer::metrics
