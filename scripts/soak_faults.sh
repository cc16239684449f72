#!/usr/bin/env bash
# Nightly-style soak of the fault and crash tests (issue 9; docs/reliability.md): many more
# seeded fault schedules than CI's 500, the failure-at-every-call sweep, and many SIGKILL
# restarts of the binary. Builds the three test binaries first.
#
# Usage: scripts/soak_faults.sh [SEEDS] [CRASH_RUNS]
#   SEEDS        fault schedules to run (default 20000), in chunks of 2000 seeds, 2 at a time
#   CRASH_RUNS   SIGKILL restarts of the binary (default 100)
# Environment: BUILD_DIR (default build), SEED_BASE (default 1000; CI runs seeds 1..500),
#   JOBS (parallel chunks, default 2).
# Exits non-zero on the first failing chunk; the failing seed is printed with its violations and
# reproduces alone with: AP_FAULT_SEEDS=1 AP_FAULT_SEED_BASE=<seed> <build>/tests/controller/
#   controller_faults_tests --gtest_filter='FaultSchedules.*'
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${1:-20000}
CRASH_RUNS=${2:-100}
BUILD_DIR=${BUILD_DIR:-build}
SEED_BASE=${SEED_BASE:-1000}
JOBS=${JOBS:-2}
CHUNK=2000

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DAUTOPLACER_BENCH=OFF
fi
cmake --build "$BUILD_DIR" --target controller_faults_tests controller_faults_flysim_tests \
  controller_crash_tests autoplacer -j "$JOBS"
BIN="$BUILD_DIR/tests/controller"
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

start=$(date +%s)
echo "== fault schedules: $SEEDS seeds from $SEED_BASE, $JOBS chunks at a time"
pids=()
failed=0
for ((first = SEED_BASE; first < SEED_BASE + SEEDS; first += CHUNK)); do
  n=$((SEED_BASE + SEEDS - first))
  [ "$n" -gt "$CHUNK" ] && n=$CHUNK
  (AP_FAULT_SEEDS=$n AP_FAULT_SEED_BASE=$first "$BIN/controller_faults_tests" \
     --gtest_filter='FaultSchedules.*' >"$LOGS/seeds-$first.log" 2>&1) &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$JOBS" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
grep -h "fault schedules:" "$LOGS"/seeds-*.log || true
if [ "$failed" -ne 0 ]; then
  grep -h -A12 "seed [0-9]*:" "$LOGS"/seeds-*.log | head -80
  echo "FAILED: fault schedules" >&2
  exit 1
fi

echo "== failure at every call, corrupt state files"
"$BIN/controller_faults_tests" --gtest_filter='FailAtEveryCall.*:StateFiles.*' | grep -E "failure at|PASSED|FAILED"

echo "== fault schedules over loopback (flysim)"
"$BIN/controller_faults_flysim_tests" | grep -E "over loopback|PASSED|FAILED"

CRASH_SEED=${CRASH_SEED:-$(date +%s)}
echo "== crash anywhere: $CRASH_RUNS SIGKILL restarts, seed $CRASH_SEED (CRASH_SEED=... to replay)"
AP_CRASH_RUNS=$CRASH_RUNS AP_CRASH_SEED=$CRASH_SEED "$BIN/controller_crash_tests" \
  | grep -E "crash anywhere|PASSED|FAILED|Failure"

echo "soak passed in $(( $(date +%s) - start )) s"
