# Work queue, state store, status (engineer "queue").

ap_add_test(NAME controller_work_queue_tests LABEL unit
            SOURCES work_queue_test.cpp work_queue_async_test.cpp work_queue_prometheus_test.cpp
            LIBS ap_controller)
ap_add_test(NAME controller_state_store_tests LABEL unit
            SOURCES state_store_test.cpp LIBS ap_controller)
# A real directory (temp files, fsync, rename) and a forked child that "crashes" mid-save.
ap_add_test(NAME controller_local_state_store_tests LABEL integration
            SOURCES local_state_store_test.cpp LIBS ap_controller)
ap_add_test(NAME controller_status_tests LABEL unit
            SOURCES status_test.cpp LIBS ap_controller)
