# `autoplacer validate`, --help and --version through the built binary (owner: loader).
ap_add_test(NAME cli_validate_e2e_tests LABEL e2e SOURCES validate_e2e_test.cpp
            LIBS Threads::Threads)
add_dependencies(cli_validate_e2e_tests autoplacer)
