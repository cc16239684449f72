# The controller's HTTP endpoints under abuse (owner: e2e): slow-loris, oversized heads and
# bodies, many idle connections (cap, reclaim, memory), bearer token on /trigger. Loopback sockets.
ap_add_test(NAME net_server_abuse_test LABEL integration TIMEOUT 60
            SOURCES ${CMAKE_CURRENT_LIST_DIR}/server_abuse_test.cpp LIBS ap_controller)
