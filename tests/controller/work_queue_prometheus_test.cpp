// A WorkQueue feeding the controller's registry through PrometheusWorkQueueMetrics.
#include "controller/work_queue_prometheus.h"

#include <gtest/gtest.h>

#include "controller/work_queue.h"

namespace autoplacer::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(WorkQueuePrometheusTest, QueueMetricsAppearWithTheQueueName) {
  ManualClock clock{TimePoint{seconds(1000)}};
  metrics::SelfMetrics self("dev");
  WorkQueue queue(clock, WorkQueueOptions{"reconcile", {}},
                  make_prometheus_work_queue_metrics(self));
  queue.add("web");
  queue.add("api");
  queue.add("web");
  ASSERT_EQ(queue.try_get(), "web");
  clock.advance(seconds(2));
  queue.report_unfinished_work();
  queue.add_rate_limited("web");
  std::string text = self.serialize();
  EXPECT_NE(text.find("workqueue_depth{name=\"reconcile\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("workqueue_adds_total{name=\"reconcile\"} 3"), std::string::npos);
  EXPECT_NE(text.find("workqueue_retries_total{name=\"reconcile\"} 1"), std::string::npos);
  EXPECT_NE(text.find("workqueue_queue_duration_seconds_count{name=\"reconcile\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("workqueue_unfinished_work_seconds{name=\"reconcile\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("workqueue_longest_running_processor_seconds{name=\"reconcile\"} 2"),
            std::string::npos);
  queue.done("web");
  text = self.serialize();
  EXPECT_NE(text.find("workqueue_work_duration_seconds_count{name=\"reconcile\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("workqueue_unfinished_work_seconds{name=\"reconcile\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace autoplacer::controller
