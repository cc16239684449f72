# The decision core: forecasting, placement, damping, threshold strategy, decide() and its state.
ap_add_test(NAME policy_core_tests LABEL unit
            SOURCES damping_test.cpp forecast_test.cpp forecast_rise_test.cpp placement_test.cpp
                    threshold_test.cpp
                    decision_test.cpp decision_property_test.cpp
            LIBS ap_policy)
