#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz and fuzzes each for a while,
# starting from its committed corpus in fuzz/corpus/<target>.
#
# Usage: scripts/fuzz.sh [SECONDS] [--merge] [--only TARGET]
#   SECONDS   time per target (default 20)
#   --merge   afterwards, add the inputs that found new coverage to fuzz/corpus (minimised)
#   --only T  fuzz just target T
# Environment: FUZZ_JOBS (targets fuzzed at once, default 2), BUILD_DIR (default build-fuzz).
#
# Exits non-zero when a target crashes, leaks, times out or breaks a property; the crashing input
# is kept in $BUILD_DIR/fuzz-artifacts/<target>/ and its path printed. Reproduce with
#   $BUILD_DIR/fuzz/<target>_fuzz <input>
# and turn it into a test in tests/fuzz_regressions (see docs/reliability.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
merge=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --merge) merge=1 ;;
    --only) only="$2"; shift ;;
    [0-9]*) seconds="$1" ;;
    *) echo "usage: scripts/fuzz.sh [SECONDS] [--merge] [--only TARGET]" >&2; exit 2 ;;
  esac
  shift
done
jobs="${FUZZ_JOBS:-2}"
build="${BUILD_DIR:-build-fuzz}"

for tool in clang clang++ cmake ninja; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done

t0=$(date +%s)
if [ ! -f "$build/build.ninja" ] || ! grep -q '^AUTOPLACER_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DAUTOPLACER_FUZZ=ON -DAUTOPLACER_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
fi
cmake --build "$build" --target fuzz_all -j "$(nproc)"
t1=$(date +%s)
echo "fuzz.sh: build took $((t1 - t0)) s"

dict_for() {
  case "$1" in
    http_*) echo fuzz/dict/http.dict ;;
    scenario_csv) echo fuzz/dict/csv.dict ;;
    duration) echo fuzz/dict/duration.dict ;;
    *) echo fuzz/dict/json.dict ;;
  esac
}

mapfile -t targets < "$build/fuzz_targets.txt"
if [ -n "$only" ]; then targets=("$only"); fi

work="$build/fuzz-work"
artifacts="$build/fuzz-artifacts"
run_one() {
  local t="$1"
  local exe="$build/fuzz/${t}_fuzz"
  local corpus="fuzz/corpus/$t"
  local dict
  dict="$(dict_for "$t")"
  rm -rf "${work:?}/$t" "${artifacts:?}/$t"
  mkdir -p "$work/$t/new" "$artifacts/$t" "$corpus"
  local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1
              -artifact_prefix="$artifacts/$t/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  # New inputs go to the scratch dir (first); the committed corpus (second) is only read.
  if "$exe" "${args[@]}" "$work/$t/new" "$corpus" >"$work/$t/log" 2>&1; then
    echo "ok" >"$work/$t/status"
  else
    echo "FAILED" >"$work/$t/status"
  fi
}

running=0
for t in "${targets[@]}"; do
  [ -x "$build/fuzz/${t}_fuzz" ] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
printf '%-22s %-7s %12s %10s %8s %8s\n' target result execs exec/s cov corpus
for t in "${targets[@]}"; do
  log="$work/$t/log"
  status="$(cat "$work/$t/status" 2>/dev/null || echo FAILED)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
  corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")"
  rate="$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$done_line")"
  printf '%-22s %-7s %12s %10s %8s %8s\n' "$t" "$status" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}"
  if [ "$status" != ok ]; then
    failed=1
    echo "---- $t: last lines of $log" >&2
    grep -E 'ERROR|SUMMARY|runtime error|fuzz property|==[0-9]+==|#[0-9]+ in ' "$log" | head -25 >&2 || true
    for a in "$artifacts/$t"/*; do
      [ -e "$a" ] && echo "crashing input: $a   (reproduce: $build/fuzz/${t}_fuzz $a)" >&2
    done
  fi
done

if [ "$merge" = 1 ] && [ "$failed" = 0 ]; then
  for t in "${targets[@]}"; do
    # Keep the corpus minimal: the seeds, plus what adds coverage to them.
    rm -rf "$work/$t/merged" && mkdir -p "$work/$t/merged"
    "$build/fuzz/${t}_fuzz" -merge=1 -rss_limit_mb=2048 -timeout=5 "$work/$t/merged" \
      "fuzz/corpus/$t" "$work/$t/new" >"$work/$t/merge.log" 2>&1
    for f in "$work/$t/merged"/*; do
      [ -e "$f" ] || continue
      name="$(basename "$f")"
      # libFuzzer names files by content hash; skip those identical to a committed seed.
      cmp -s "$f" "fuzz/corpus/$t/$name" 2>/dev/null && continue
      found=0
      for s in "fuzz/corpus/$t"/*; do cmp -s "$f" "$s" && { found=1; break; }; done
      [ "$found" = 0 ] && cp "$f" "fuzz/corpus/$t/$name"
    done
    echo "fuzz.sh: fuzz/corpus/$t now has $(ls "fuzz/corpus/$t" | wc -l) files"
  done
fi

echo "fuzz.sh: total $(( $(date +%s) - t0 )) s (build $((t1 - t0)) s, ${#targets[@]} targets x ${seconds} s, $jobs at a time)"
exit "$failed"
