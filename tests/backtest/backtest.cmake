# The backtest: scorer, simulated fleet, baselines, replay model, reports (unit), and
# `autoplacer simulate` on a shipped fixture scenario (e2e).
ap_add_test(NAME backtest_unit_tests LABEL unit
  SOURCES scorer_test.cpp sim_fleet_test.cpp backtest_run_test.cpp
  LIBS ap_backtest)
