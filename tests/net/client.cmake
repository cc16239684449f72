# HTTP client tests (owner: client). ap_test_http_server is also used by tests/fly.
add_library(ap_test_http_server STATIC ${CMAKE_CURRENT_LIST_DIR}/client_test_server.cpp)
target_link_libraries(ap_test_http_server PUBLIC ap_net)
target_include_directories(ap_test_http_server PUBLIC ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(ap_test_http_server PRIVATE AP_TEST_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures")

ap_add_test(NAME client_url_test LABEL unit SOURCES ${CMAKE_CURRENT_LIST_DIR}/client_url_test.cpp
            LIBS ap_net)
ap_add_test(NAME client_http_test LABEL integration TIMEOUT 60
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/client_http_test.cpp LIBS ap_test_http_server ap_net)
