# The backtest: scorer (also against pinned score_timeline.py figures), simulated fleet, baselines,
# replay model and reports (unit), and `autoplacer simulate` on a shipped fixture scenario (e2e).
ap_add_test(NAME backtest_unit_tests LABEL unit
  SOURCES scorer_test.cpp scorer_agreement_test.cpp sim_fleet_test.cpp backtest_run_test.cpp
          index_paths_test.cpp
  LIBS ap_backtest)
ap_add_test(NAME backtest_e2e_tests LABEL e2e SOURCES simulate_e2e_test.cpp
  LIBS ap_backtest Boost::json TIMEOUT 300)
add_dependencies(backtest_e2e_tests autoplacer)
