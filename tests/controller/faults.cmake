# Reliability under faults and crashes (owner: faults; issue 9; docs/reliability.md).
# Unit: the reconcile loop against the simulated Fly in process (sim::WorldMachinesApi wrapped
# in sim::FaultyMachinesApi, on a ManualClock): 500 seeded fault schedules, failure at every
# call, corrupt and truncated state files. One executable: each link costs CI time.
# Under the sanitizers (several times slower) CI runs 100 seeds; the plain build runs all 500.
set(fault_seed_env)
if(AUTOPLACER_SANITIZE OR AUTOPLACER_TSAN)
  set(fault_seed_env ENV AP_FAULT_SEEDS=100)
endif()
ap_add_test(NAME controller_faults_tests LABEL unit TIMEOUT 120 ${fault_seed_env}
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/faults_schedule_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/faults_every_call_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/crash_state_file_test.cpp
            LIBS ap_controller ap_sim)
# Integration: a few schedules through the real Machines client against flysim on loopback.
ap_add_test(NAME controller_faults_flysim_tests LABEL integration TIMEOUT 120
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/faults_flysim_test.cpp
            LIBS ap_controller ap_sim ap_fly)
# E2E: SIGKILL the autoplacer binary at random moments, restart, converge.
ap_add_test(NAME controller_crash_tests LABEL e2e TIMEOUT 300
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/crash_anywhere_test.cpp
            LIBS ap_controller ap_sim)
add_dependencies(controller_crash_tests autoplacer)
