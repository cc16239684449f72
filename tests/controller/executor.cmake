# Diff and idempotent executor (owner: executor). Unit: the pure diff and the executor against
# FakeMachinesApi. Integration: the executor through the real MachinesClient against flysim on
# loopback sockets.
#
# The tests build the four sources they test on their own (they are in ap_controller too), so
# they need only ap_fly and ap_policy and not the rest of the controller.
set(AP_EXECUTOR_SOURCES
    ${CMAKE_SOURCE_DIR}/src/controller/ownership.cpp
    ${CMAKE_SOURCE_DIR}/src/controller/plan.cpp
    ${CMAKE_SOURCE_DIR}/src/controller/diff.cpp
    ${CMAKE_SOURCE_DIR}/src/controller/executor.cpp)
add_library(ap_test_executor STATIC ${AP_EXECUTOR_SOURCES})
target_link_libraries(ap_test_executor PUBLIC ap_fly ap_policy)
target_include_directories(ap_test_executor PUBLIC ${CMAKE_SOURCE_DIR}/src)

ap_add_test(NAME controller_diff_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/diff_test.cpp
            LIBS ap_test_executor)
ap_add_test(NAME controller_executor_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/executor_test.cpp
            LIBS ap_test_executor)
ap_add_test(NAME controller_executor_flysim_test LABEL integration TIMEOUT 90
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/executor_flysim_test.cpp
            LIBS ap_test_executor ap_sim)
