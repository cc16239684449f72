#!/usr/bin/env bash
# The controller's CPU and memory with many policies (docs/performance.md, "Controller").
# Starts a flysim process with one app per policy, then bench/controller_scale_main.cpp (the
# controller alone in its process) against it, and prints the figures.
#
#   scripts/bench_controller_scale.sh [BUILD_DIR] [POLICIES] [REGIONS] [WARMUP_S] [SECONDS]
#   (defaults: build 1000 18 90 60; BUILD_DIR configured with -DAUTOPLACER_BENCH=ON;
#   WORKERS=N sets the controller's --workers, default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
policies=${2:-1000}
regions=${3:-18}
warmup=${4:-90}
seconds=${5:-60}
flysim="$build/src/sim/flysim"
bench="$build/bench/controller_scale_bench"
for f in "$flysim" "$bench"; do
  [[ -x "$f" ]] || { echo "missing $f (cmake --build $build --target flysim controller_scale_bench)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
apps=()
for ((k = 0; k < policies; k++)); do apps+=(--app "app-$k"); done
"$flysim" --listen 127.0.0.1:0 --threads 1 --log-level warn "${apps[@]}" \
  >"$work/flysim.out" 2>"$work/flysim.err" &
sim_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/flysim.out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/flysim.out" | head -1)
[[ -n "$port" ]] || { echo "flysim did not start" >&2; cat "$work/flysim.err" >&2; exit 1; }
"$bench" --fly-api-url "http://127.0.0.1:$port" --state-dir "$work/state" \
  --policies "$policies" --regions "$regions" --warmup "$warmup" --seconds "$seconds" \
  --workers "${WORKERS:-4}"
echo "flysim CPU (its own process, not counted above): $(ps -o times= -p "$sim_pid") s"
