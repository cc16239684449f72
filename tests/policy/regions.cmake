ap_add_test(NAME policy_regions_tests LABEL unit SOURCES regions_test.cpp LIBS ap_policy)
