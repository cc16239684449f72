#pragma once
// The controller's own metrics: one prometheus-cpp registry served by GET /metrics. The names and
// labels are a contract with deploy/ (the Grafana dashboard and the alert rules) and are listed
// in tests/deploy/metric_names.txt; self_metrics_test checks the exposition against that list.
//
// Label values the alerts rely on:
//   autoplacer_reconcile_total{result}: "success", "error", or "skipped" (not leader, paused).
//   autoplacer_actions_total{result}: "ok", "error", "unknown" (timed out, settled by next list).
//   autoplacer_machines_api_requests_total{status}: the HTTP status ("200", "429") or, without a
//     response, the error kind ("transport", "timeout").
//   autoplacer_decisions_total{direction}: "up", "down", "none".
// workqueue_* carry name=<queue name>.
//
// Thread-safe (prometheus-cpp metrics are). Adapters: SelfMetricsApiObserver feeds the Machines
// API series from fly::ApiObserver hooks; the work queue's sink is
// controller/work_queue_prometheus.h.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/clock.h"
#include "fly/observer.h"

namespace autoplacer::metrics {

class SelfMetrics {
 public:
  // version: autoplacer_build_info{version} (set to 1).
  explicit SelfMetrics(std::string_view version);
  SelfMetrics(const SelfMetrics&) = delete;
  SelfMetrics& operator=(const SelfMetrics&) = delete;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The Prometheus text exposition format (version 0.0.4) of everything registered.
  std::string serialize() const;
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // ---- Reconcile passes ----
  // One pass finished. result: "success" | "error" | "skipped". Observes the duration histogram
  // and, on success, sets the last-successful timestamp to `finished_at`.
  void reconcile_finished(std::string_view policy, std::string_view result, double seconds,
                          TimePoint finished_at);
  void reconcile_error(std::string_view policy, std::string_view reason);
  void action(std::string_view policy, std::string_view region, std::string_view action,
              std::string_view result);
  void decision(std::string_view policy, std::string_view region, std::string_view direction,
                std::string_view reason);

  // ---- Per policy and region ----
  void set_demand_rps(std::string_view policy, std::string_view region, double rps);
  void set_forecast_rps(std::string_view policy, std::string_view region, double rps);
  void set_desired_machines(std::string_view policy, std::string_view region, double machines);
  void set_running_machines(std::string_view policy, std::string_view region, double machines);
  // The controller's measured time from create/start to serving in the region (its estimate).
  void set_time_to_serve(std::string_view policy, std::string_view region, double seconds);
  void set_metrics_available(std::string_view policy, bool available);
  void set_policy_valid(std::string_view policy, bool valid);
  void policy_load_error();
  // Drops every series of the region (it left the placement) or of the policy (it was removed),
  // so dashboards do not show stale values. Counters of the policy are dropped too.
  void forget_region(std::string_view policy, std::string_view region);
  void forget_policy(std::string_view policy);

  // ---- Machines API (also through api_observer()) ----
  void machines_api_request(std::string_view operation, std::string_view status, double seconds);
  void rate_limiter_wait(std::string_view operation, double seconds);

  // ---- Leadership ----
  // Sets autoplacer_leader; a change of value counts one autoplacer_leader_transitions_total.
  void set_leader(bool leader);

  // ---- Work queues (name = queue name) ----
  void set_workqueue_depth(std::string_view name, double depth);
  void workqueue_add(std::string_view name);
  void workqueue_retry(std::string_view name);
  void observe_workqueue_queue_duration(std::string_view name, double seconds);
  void observe_workqueue_work_duration(std::string_view name, double seconds);
  void set_workqueue_unfinished_work(std::string_view name, double seconds);
  void set_workqueue_longest_running_processor(std::string_view name, double seconds);

  // A fly::ApiObserver that counts into this registry (keep SelfMetrics alive as long).
  std::shared_ptr<fly::ApiObserver> api_observer();

 private:
  using Labels = std::map<std::string, std::string>;
  // Remembers which label sets were created per policy, so forget_* can remove them.
  template <class T>
  T& with_policy(prometheus::Family<T>& family, Labels labels);
  prometheus::Histogram& histogram_with_policy(
      prometheus::Family<prometheus::Histogram>& family, Labels labels,
      const prometheus::Histogram::BucketBoundaries& buckets);

  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Family<prometheus::Counter>& reconcile_total_;
  prometheus::Family<prometheus::Counter>& reconcile_errors_total_;
  prometheus::Family<prometheus::Histogram>& reconcile_duration_;
  prometheus::Family<prometheus::Gauge>& last_successful_reconcile_;
  prometheus::Family<prometheus::Counter>& actions_total_;
  prometheus::Family<prometheus::Counter>& api_requests_total_;
  prometheus::Family<prometheus::Histogram>& api_request_duration_;
  prometheus::Family<prometheus::Counter>& rate_limiter_waits_total_;
  prometheus::Family<prometheus::Counter>& rate_limiter_wait_seconds_total_;
  prometheus::Family<prometheus::Gauge>& demand_rps_;
  prometheus::Family<prometheus::Gauge>& forecast_rps_;
  prometheus::Family<prometheus::Gauge>& desired_machines_;
  prometheus::Family<prometheus::Gauge>& running_machines_;
  prometheus::Family<prometheus::Gauge>& time_to_serve_;
  prometheus::Family<prometheus::Gauge>& metrics_available_;
  prometheus::Family<prometheus::Gauge>& policy_valid_;
  prometheus::Family<prometheus::Counter>& policy_load_errors_total_;
  prometheus::Family<prometheus::Counter>& decisions_total_;
  prometheus::Family<prometheus::Gauge>& leader_;
  prometheus::Family<prometheus::Counter>& leader_transitions_total_;
  prometheus::Family<prometheus::Gauge>& workqueue_depth_;
  prometheus::Family<prometheus::Counter>& workqueue_adds_total_;
  prometheus::Family<prometheus::Histogram>& workqueue_queue_duration_;
  prometheus::Family<prometheus::Histogram>& workqueue_work_duration_;
  prometheus::Family<prometheus::Gauge>& workqueue_unfinished_work_;
  prometheus::Family<prometheus::Gauge>& workqueue_longest_running_;
  prometheus::Family<prometheus::Counter>& workqueue_retries_total_;

  std::mutex mu_;  // guards the bookkeeping below (the metrics themselves are thread-safe)
  bool leader_value_ = false;
  // policy -> every series carrying that policy label: (family, labels) -> how to remove it.
  using SeriesId = std::pair<const void*, Labels>;
  std::map<std::string, std::map<SeriesId, std::function<void()>>, std::less<>> by_policy_;
  std::shared_ptr<fly::ApiObserver> api_observer_;
};

// fly::ApiObserver -> autoplacer_machines_api_requests_total / _request_duration_seconds and
// autoplacer_rate_limiter_waits_total / _wait_seconds_total.
class SelfMetricsApiObserver final : public fly::ApiObserver {
 public:
  explicit SelfMetricsApiObserver(SelfMetrics& metrics) : metrics_(metrics) {}
  void on_request(std::string_view operation, std::string_view status,
                  std::chrono::duration<double> elapsed) override;
  void on_rate_limit_wait(std::string_view operation,
                          std::chrono::duration<double> waited) override;

 private:
  SelfMetrics& metrics_;
};

}  // namespace autoplacer::metrics
