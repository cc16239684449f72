# Work queue, state store, status (engineer "queue").
#
# These sources are also compiled into a library of their own here, so the tests build and run
# without the rest of ap_controller (being written in parallel) having to compile.
add_library(ap_queue_for_tests STATIC
            ${CMAKE_SOURCE_DIR}/src/controller/work_queue.cpp
            ${CMAKE_SOURCE_DIR}/src/controller/state_store.cpp
            ${CMAKE_SOURCE_DIR}/src/controller/status.cpp)
target_link_libraries(ap_queue_for_tests PUBLIC ap_ha_for_tests ap_fly ap_metrics ap_common
                      Boost::json)

ap_add_test(NAME controller_work_queue_tests LABEL unit
            SOURCES work_queue_test.cpp work_queue_async_test.cpp work_queue_prometheus_test.cpp
            LIBS ap_queue_for_tests)
ap_add_test(NAME controller_state_store_tests LABEL unit
            SOURCES state_store_test.cpp LIBS ap_queue_for_tests)
# A real directory (temp files, fsync, rename) and a forked child that "crashes" mid-save.
ap_add_test(NAME controller_local_state_store_tests LABEL integration
            SOURCES local_state_store_test.cpp LIBS ap_queue_for_tests)
ap_add_test(NAME controller_status_tests LABEL unit
            SOURCES status_test.cpp LIBS ap_queue_for_tests)
