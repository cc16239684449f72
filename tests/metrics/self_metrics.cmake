# The controller's own metrics (engineer "queue"): the exposition against the contract in
# tests/deploy/metric_names.txt, the fly::ApiObserver adapter, and the work queue's sink.
ap_add_test(NAME metrics_self_metrics_tests LABEL unit
            SOURCES self_metrics_test.cpp LIBS ap_metrics)
