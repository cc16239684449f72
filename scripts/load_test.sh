#!/usr/bin/env bash
# HTTP load test of the controller's endpoints with wrk (Debian package `wrk`): throughput and
# latency percentiles of GET /healthz, /metrics and /status.
#
#   scripts/load_test.sh                         # starts `autoplacer run` (demo mode) itself
#   scripts/load_test.sh --url http://127.0.0.1:8080   # a controller that is already running
#
# Options:
#   --url URL           test a running controller instead of starting one
#   --binary PATH       the autoplacer binary to start (default build/src/cli/autoplacer)
#   --duration D        per endpoint (wrk syntax, default 10s)
#   --connections N     open connections (default 64)
#   --threads N         wrk threads (default 2)
#   --endpoints LIST    comma list (default /healthz,/metrics,/status)
#
# Prints one line per endpoint: requests/s, p50, p99, errors; and wrk's full output above it.
# Numbers depend on the machine: docs/performance.md ("HTTP server") says where they came from.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
url=""
binary="$here/build/src/cli/autoplacer"
duration="10s"
connections=64
threads=2
endpoints="/healthz,/metrics,/status"

while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --endpoints) endpoints="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "load_test.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { echo "load_test.sh: wrk not found (apt-get install wrk)" >&2; exit 2; }

pid=""
workdir="$(mktemp -d)"
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

if [ -z "$url" ]; then
  [ -x "$binary" ] || { echo "load_test.sh: $binary not built (cmake --build build --target autoplacer)" >&2; exit 2; }
  # Demo mode: an embedded flysim, passes every 5 s; the endpoints serve real controller state.
  # Without FLY_* variables, so it never talks to a real Fly.
  env -u FLY_API_TOKEN -u FLY_API_URL -u FLY_PROMETHEUS_URL -u AUTOPLACER_TRIGGER_TOKEN \
    "$binary" run --listen 127.0.0.1:0 --log-level warn --no-demo-summary \
    --policy "$here/deploy/policies/demo.yaml" \
    --scenario "$here/deploy/scenarios/follow-the-sun.csv" >"$workdir/controller.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    port="$(sed -n 's/.*autoplacer listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$workdir/controller.log" | head -n1)"
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$workdir/controller.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "${port:-}" ] || { echo "load_test.sh: the controller did not start" >&2; cat "$workdir/controller.log" >&2; exit 1; }
  url="http://127.0.0.1:$port"
  # Let the first passes run so /status and /metrics have their usual size.
  sleep 6
fi

echo "# wrk -t$threads -c$connections -d$duration --latency against $url ($(nproc) cores)"
summary=""
IFS=',' read -r -a paths <<<"$endpoints"
for path in "${paths[@]}"; do
  size="$(curl -s "$url$path" | wc -c)"
  out="$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$url$path")"
  echo "## $path ($size bytes)"
  echo "$out"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' <<<"$out")"
  summary+="$(printf '%-10s %10s req/s  p50 %8s  p99 %8s  errors %s' "$path" "$rps" "$p50" "$p99" "$errors")"$'\n'
done
echo "# summary"
printf '%s' "$summary"
