# Diff and idempotent executor (owner: executor). Unit: the pure diff and the executor against
# FakeMachinesApi. Integration: the executor through the real MachinesClient against flysim on
# loopback sockets.

ap_add_test(NAME controller_diff_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/diff_test.cpp
            LIBS ap_controller)
ap_add_test(NAME controller_executor_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/executor_test.cpp
            LIBS ap_controller)
ap_add_test(NAME controller_executor_flysim_test LABEL integration TIMEOUT 90
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/executor_flysim_test.cpp
            LIBS ap_controller ap_sim)
