# High availability: etcd client, leader election, etcd state store (engineer "ha").

# A real etcd on loopback ports for integration tests (Debian package etcd-server).
add_library(ap_test_etcd STATIC ${CMAKE_SOURCE_DIR}/tests/support/etcd_server.cpp)
target_include_directories(ap_test_etcd PUBLIC ${CMAKE_SOURCE_DIR}/tests)

ap_add_test(NAME controller_etcd_unit_tests LABEL unit
            SOURCES etcd_codec_test.cpp etcd_client_test.cpp etcd_state_store_test.cpp
            LIBS ap_controller)
ap_add_test(NAME controller_leader_election_tests LABEL unit
            SOURCES leader_election_test.cpp LIBS ap_controller)
ap_add_test(NAME controller_etcd_integration_tests LABEL integration
            SOURCES etcd_integration_test.cpp LIBS ap_controller ap_test_etcd TIMEOUT 300)

# Take-over time with real processes and a real etcd (figures in docs/performance.md).
# Not a test: run build/tests/controller/leader_takeover_bench by hand.
add_executable(leader_takeover_bench ${CMAKE_SOURCE_DIR}/bench/leader_takeover_main.cpp)
target_link_libraries(leader_takeover_bench PRIVATE ap_controller ap_test_etcd)

# The HA wiring of `autoplacer run`: flags, roles in /readyz and /status, gated writes (unit), and
# 2-3 autoplacer processes against one flysim and a real etcd: kill, pause, etcd down (e2e).
ap_add_test(NAME controller_ha_unit_tests LABEL unit
            SOURCES ha_unit_test.cpp LIBS ap_controller ap_fly)
ap_add_test(NAME controller_ha_e2e_tests LABEL e2e TIMEOUT 180
            SOURCES ha_e2e_test.cpp LIBS ap_sim ap_test_etcd)
add_dependencies(controller_ha_e2e_tests autoplacer)
