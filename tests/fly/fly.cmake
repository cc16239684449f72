# Machines API client tests (owner: client).

# The OpenAPI contract checker, shared with flysim's tests: link ap_test_openapi and use
# AP_TEST_FIXTURES "/openapi/machines-subset.json".
add_library(ap_test_openapi STATIC ${CMAKE_SOURCE_DIR}/tests/support/openapi_contract.cpp)
target_link_libraries(ap_test_openapi PUBLIC ap_net ap_common Boost::json)
target_include_directories(ap_test_openapi PUBLIC ${CMAKE_SOURCE_DIR}/tests)

ap_add_test(NAME fly_unit_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/fly_models_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/fly_rate_limiter_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/fly_fake_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/fly_contract_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/fly_retry_after_test.cpp
            LIBS ap_fly ap_test_openapi ap_common)
ap_add_test(NAME fly_client_test LABEL integration TIMEOUT 60
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/fly_client_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/fly_hostile_test.cpp
                    ${CMAKE_CURRENT_LIST_DIR}/mini_fly_server.cpp
            LIBS ap_fly ap_test_openapi ap_test_http_server)
# The client against flysim over loopback sockets (owner: client + flysim).
if(TARGET ap_sim)
  ap_add_test(NAME fly_flysim_test LABEL integration TIMEOUT 120
              SOURCES ${CMAKE_CURRENT_LIST_DIR}/fly_flysim_test.cpp
              LIBS ap_fly ap_sim ap_test_openapi ap_test_http_server)
endif()
