# End-to-end tests (owner: e2e): the `autoplacer` binary with flysim, a real Prometheus (Debian
# `prometheus`, scraping flysim and the controller, loading deploy/prometheus/alerts.yml) and
# promtool. Placements follow the traffic fixture, alert expressions evaluate as expected on the
# scraped data, and no output of a full run shows the Fly token (about 70 s in all).
ap_add_test(NAME e2e_tests LABEL e2e TIMEOUT 180
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/placement_alerts_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/secrets_test.cpp
            LIBS ap_sim ap_test_prometheus yaml-cpp)
add_dependencies(e2e_tests autoplacer)
