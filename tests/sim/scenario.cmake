ap_add_test(NAME sim_scenario_tests LABEL unit SOURCES scenario_test.cpp LIBS ap_sim)
