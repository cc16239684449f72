# PlacementPolicy loader and validation (owner: loader): rules with exact messages, the fixture
# table under tests/fixtures/policies, and the shipped examples and docs kept complete.
ap_add_test(NAME policy_loader_tests LABEL unit
            SOURCES loader_test.cpp loader_table_test.cpp policy_examples_test.cpp
            LIBS ap_policy)
