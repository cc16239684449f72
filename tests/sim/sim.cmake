# flysim tests (owner: flysim). The world model, limits, faults and traffic are pure (unit); the
# HTTP surface runs on loopback sockets (integration) and is checked against the OpenAPI subset.
ap_add_test(NAME sim_world_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_world_test.cpp LIBS ap_sim)
if(TARGET ap_test_openapi AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/sim_flysim_http_test.cpp)
  ap_add_test(NAME sim_flysim_http_test LABEL integration TIMEOUT 90
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/sim_flysim_http_test.cpp
              LIBS ap_sim ap_test_openapi)
endif()
