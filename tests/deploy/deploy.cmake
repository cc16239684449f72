# Deployment and observability artifacts, checked by the real tools (owner: deploy).
#   unit:        the Grafana dashboard, the alert rules (promtool check + unit tests), their
#                runbook, fly.toml (python3 with python3-yaml; promtool from the prometheus package)
#   integration: the Dockerfile, linted (dockerfile-utils from npm, into the build dir) and checked
#                against Debian's packages and this build (scripts/check_dockerfile.sh)
find_program(AP_PYTHON3 python3)
find_program(AP_PROMTOOL promtool)
if(NOT AP_PYTHON3)
  set(AP_PYTHON3 python3)  # ctest then reports it missing
endif()
if(NOT AP_PROMTOOL)
  set(AP_PROMTOOL promtool)
endif()
set(AP_DEPLOY_CHECK ${CMAKE_SOURCE_DIR}/tests/deploy/check_observability.py)

add_test(NAME deploy_grafana_dashboard COMMAND ${AP_PYTHON3} ${AP_DEPLOY_CHECK} dashboard)
add_test(NAME deploy_alerts_runbook COMMAND ${AP_PYTHON3} ${AP_DEPLOY_CHECK} alerts)
add_test(NAME deploy_fly_toml COMMAND ${AP_PYTHON3} ${AP_DEPLOY_CHECK} fly-toml)
add_test(NAME deploy_promtool_check_rules
         COMMAND ${AP_PROMTOOL} check rules ${CMAKE_SOURCE_DIR}/deploy/prometheus/alerts.yml)
# promtool resolves rule_files relative to the working directory.
add_test(NAME deploy_promtool_test_rules COMMAND ${AP_PROMTOOL} test rules alerts_test.yml
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/deploy/prometheus)
set_tests_properties(deploy_grafana_dashboard deploy_alerts_runbook deploy_fly_toml
                     deploy_promtool_check_rules deploy_promtool_test_rules
                     PROPERTIES LABELS unit TIMEOUT 60)

add_test(NAME deploy_dockerfile_lint
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/lint_dockerfile.sh --tools-dir ${CMAKE_BINARY_DIR}/tools)
set_tests_properties(deploy_dockerfile_lint PROPERTIES LABELS integration TIMEOUT 300)
# The check compares the binary's shared libraries with the runtime image's packages; a
# sanitizer build links libasan/libtsan and Debug-only Boost libraries the image never has, so
# it runs in the plain build only (the one the Dockerfile makes).
if(NOT AUTOPLACER_SANITIZE AND NOT AUTOPLACER_TSAN)
  add_test(NAME deploy_dockerfile_check
           COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check_dockerfile.sh --build-dir ${CMAKE_BINARY_DIR})
  set_tests_properties(deploy_dockerfile_check PROPERTIES LABELS integration TIMEOUT 300
                       REQUIRED_FILES ${CMAKE_BINARY_DIR}/src/cli/autoplacer)
endif()
