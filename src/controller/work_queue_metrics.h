#pragma once
// Where a WorkQueue reports its client-go style metrics (workqueue_* with label name=<queue>).
// An interface apart from Prometheus so unit tests need no registry: the default methods do
// nothing, RecordingWorkQueueMetrics below keeps what it was told, and
// controller/work_queue_prometheus.h feeds the controller's own registry.
// Implementations must be thread-safe and quick (called with the queue's lock held).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace autoplacer::controller {

class WorkQueueMetrics {
 public:
  virtual ~WorkQueueMetrics() = default;
  // workqueue_depth: items ready to be handed out (not the delayed ones, not in processing).
  virtual void set_depth(std::string_view queue, std::int64_t depth) { (void)queue, (void)depth; }
  // workqueue_adds_total: every add() accepted (a coalesced add counts too, as in client-go).
  virtual void on_add(std::string_view queue) { (void)queue; }
  // workqueue_queue_duration_seconds: from the add that made the item ready to its get().
  virtual void observe_queue_duration(std::string_view queue, double seconds) {
    (void)queue, (void)seconds;
  }
  // workqueue_work_duration_seconds: from get() to done().
  virtual void observe_work_duration(std::string_view queue, double seconds) {
    (void)queue, (void)seconds;
  }
  // workqueue_retries_total: every add_rate_limited().
  virtual void on_retry(std::string_view queue) { (void)queue; }
  // workqueue_unfinished_work_seconds: the sum of the ages of items in processing.
  virtual void set_unfinished_work(std::string_view queue, double seconds) {
    (void)queue, (void)seconds;
  }
  // workqueue_longest_running_processor_seconds: the age of the oldest item in processing.
  virtual void set_longest_running_processor(std::string_view queue, double seconds) {
    (void)queue, (void)seconds;
  }
};

// A sink for tests: keeps the last gauges and the counts and observations, per queue name.
class RecordingWorkQueueMetrics final : public WorkQueueMetrics {
 public:
  struct Series {
    std::int64_t depth = 0;
    std::int64_t adds = 0;
    std::int64_t retries = 0;
    std::vector<double> queue_durations;
    std::vector<double> work_durations;
    double unfinished_work = 0;
    double longest_running = 0;
  };

  void set_depth(std::string_view queue, std::int64_t depth) override {
    std::lock_guard lock(mu_);
    series_[std::string(queue)].depth = depth;
  }
  void on_add(std::string_view queue) override {
    std::lock_guard lock(mu_);
    ++series_[std::string(queue)].adds;
  }
  void observe_queue_duration(std::string_view queue, double seconds) override {
    std::lock_guard lock(mu_);
    series_[std::string(queue)].queue_durations.push_back(seconds);
  }
  void observe_work_duration(std::string_view queue, double seconds) override {
    std::lock_guard lock(mu_);
    series_[std::string(queue)].work_durations.push_back(seconds);
  }
  void on_retry(std::string_view queue) override {
    std::lock_guard lock(mu_);
    ++series_[std::string(queue)].retries;
  }
  void set_unfinished_work(std::string_view queue, double seconds) override {
    std::lock_guard lock(mu_);
    series_[std::string(queue)].unfinished_work = seconds;
  }
  void set_longest_running_processor(std::string_view queue, double seconds) override {
    std::lock_guard lock(mu_);
    series_[std::string(queue)].longest_running = seconds;
  }

  Series get(std::string_view queue) const {
    std::lock_guard lock(mu_);
    auto it = series_.find(queue);
    return it == series_.end() ? Series{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Series, std::less<>> series_;
};

}  // namespace autoplacer::controller
