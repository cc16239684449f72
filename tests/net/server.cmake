# HTTP server and router tests (owner: flysim).
ap_add_test(NAME server_router_test LABEL unit
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_router_test.cpp LIBS ap_net)
ap_add_test(NAME server_http_test LABEL integration TIMEOUT 60
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_http_test.cpp LIBS ap_net)
