# Traffic source tests (engineer "traffic"). Unit tests need no sockets; the fault tests run the
# real client against a loopback fake; the integration tests start a real Prometheus (Debian
# package `prometheus`) on a loopback port, scraping flysim.
ap_add_test(NAME metrics_traffic_unit_tests LABEL unit
            SOURCES prometheus_response_test.cpp query_template_test.cpp
                    prometheus_traffic_source_test.cpp traffic_source_test.cpp
                    region_catalog_refresh_test.cpp
            LIBS ap_metrics)

# A real Prometheus for tests (tests/support/prometheus_server.h); the e2e tests reuse it.
add_library(ap_test_prometheus STATIC ${CMAKE_SOURCE_DIR}/tests/support/prometheus_server.cpp)
target_include_directories(ap_test_prometheus PUBLIC ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(ap_test_prometheus PUBLIC ap_common Boost::headers Boost::json Boost::system
                      Threads::Threads)

# A loopback HTTP server with scripted answers (a fake Prometheus for the fault tests).
add_library(ap_test_metrics_http STATIC test_http_server.cpp)
target_include_directories(ap_test_metrics_http PUBLIC ${CMAKE_SOURCE_DIR}/tests)
target_link_libraries(ap_test_metrics_http PUBLIC ap_net Boost::headers Threads::Threads)

ap_add_test(NAME metrics_prometheus_fault_tests LABEL integration
            SOURCES prometheus_fault_test.cpp
            LIBS ap_metrics ap_test_metrics_http ap_test_prometheus TIMEOUT 60)
# A real Prometheus scraping flysim replaying a scenario (about 25 s for the longest test).
ap_add_test(NAME metrics_prometheus_integration_tests LABEL integration
            SOURCES prometheus_integration_test.cpp
            LIBS ap_metrics ap_sim ap_test_prometheus TIMEOUT 120)
