# The reconcile loop, controller, HTTP endpoints and `autoplacer run`/`plan` (owner: loop).
# Unit: fakes only. Integration: flysim and the real Machines client over loopback sockets.
# E2E: the autoplacer binary (run, plan exit codes, SIGKILL restarts).
ap_add_test(NAME controller_loop_unit_tests LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/loop_unit_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/loop_region_test.cpp
            LIBS ap_controller)
ap_add_test(NAME controller_loop_flysim_tests LABEL integration TIMEOUT 120
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/loop_flysim_test.cpp
            LIBS ap_controller ap_sim ap_fly)
ap_add_test(NAME controller_loop_e2e_tests LABEL e2e TIMEOUT 400
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/loop_e2e_test.cpp
            LIBS ap_sim)
add_dependencies(controller_loop_e2e_tests autoplacer)
