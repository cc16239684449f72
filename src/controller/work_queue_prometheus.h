#pragma once
// The work queue's metrics sink over the controller's own registry (workqueue_*{name}).
#include <memory>

#include "controller/work_queue_metrics.h"
#include "metrics/self_metrics.h"

namespace autoplacer::controller {

class PrometheusWorkQueueMetrics final : public WorkQueueMetrics {
 public:
  explicit PrometheusWorkQueueMetrics(metrics::SelfMetrics& metrics) : metrics_(metrics) {}

  void set_depth(std::string_view queue, std::int64_t depth) override {
    metrics_.set_workqueue_depth(queue, static_cast<double>(depth));
  }
  void on_add(std::string_view queue) override { metrics_.workqueue_add(queue); }
  void observe_queue_duration(std::string_view queue, double seconds) override {
    metrics_.observe_workqueue_queue_duration(queue, seconds);
  }
  void observe_work_duration(std::string_view queue, double seconds) override {
    metrics_.observe_workqueue_work_duration(queue, seconds);
  }
  void on_retry(std::string_view queue) override { metrics_.workqueue_retry(queue); }
  void set_unfinished_work(std::string_view queue, double seconds) override {
    metrics_.set_workqueue_unfinished_work(queue, seconds);
  }
  void set_longest_running_processor(std::string_view queue, double seconds) override {
    metrics_.set_workqueue_longest_running_processor(queue, seconds);
  }

 private:
  metrics::SelfMetrics& metrics_;
};

inline std::shared_ptr<WorkQueueMetrics> make_prometheus_work_queue_metrics(
    metrics::SelfMetrics& metrics) {
  return std::make_shared<PrometheusWorkQueueMetrics>(metrics);
}

}  // namespace autoplacer::controller
