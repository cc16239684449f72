#!/usr/bin/env bash
# Builds the work queue and executor tests with ThreadSanitizer (build-tsan) and runs them.
# These are the parts with real concurrency: workers, timers and the token bucket of the work
# queue; the executor's leases and concurrent actions against flysim on loopback sockets.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=(controller_work_queue_tests controller_executor_test controller_executor_flysim_test)
targets=()
for t in "${TESTS[@]}"; do targets+=(--target "$t"); done
scripts/setup.sh --tsan "${targets[@]}"

# halt_on_error: the first race fails the run; second_deadlock_stack: both stacks in reports.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
failed=0
for t in "${TESTS[@]}"; do
  exe=$(find build-tsan/tests -name "$t" -type f -perm -u+x | head -1)
  [ -n "$exe" ] || { echo "tsan.sh: $t was not built" >&2; exit 2; }
  echo "tsan.sh: $t"
  "$exe" --gtest_brief=1 || failed=1
done
exit "$failed"
