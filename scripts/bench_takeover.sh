#!/usr/bin/env bash
# Leader take-over time with real processes: one etcd (Debian etcd-server) and one flysim on free
# loopback ports, three `autoplacer run` replicas sharing them. Repeatedly SIGKILLs whichever
# replica leads and measures the time from the kill until another replica's /status says
# "leader"; the killed replica is started again (it comes back as a follower) before the next
# kill. Prints every take-over and a summary (figures for docs/performance.md).
#
# Usage: scripts/bench_takeover.sh [--kills 20] [--replicas 3] [--build DIR]
#                                  [--lease 15s] [--renew 10s] [--retry 2s]
# Needs: a built autoplacer and flysim (cmake --build DIR --target autoplacer flysim), etcd, curl.
set -euo pipefail
cd "$(dirname "$0")/.."

kills=20 replicas=3 build=build lease=15s renew=10s retry=2s
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --lease) lease=$2; shift 2 ;;
    --renew) renew=$2; shift 2 ;;
    --retry) retry=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
autoplacer="$build/src/cli/autoplacer"
flysim="$build/src/sim/flysim"
for f in "$autoplacer" "$flysim"; do
  [ -x "$f" ] || { echo "missing $f: cmake --build $build --target autoplacer flysim" >&2; exit 1; }
done
command -v etcd >/dev/null || { echo "etcd not installed (apt-get install etcd-server)" >&2; exit 1; }

work=$(mktemp -d -t ap-takeover-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# etcd, one member.
cport=$(free_port) pport=$(free_port)
etcd --name bench --data-dir "$work/etcd" \
  --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
  --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
  --initial-cluster "bench=http://127.0.0.1:$pport" >"$work/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$cport/health" >/dev/null && break; sleep 0.1; done

# flysim with no machines; the policy asks for a few.
"$flysim" --listen 127.0.0.1:0 --app bench-app --no-rate-limits \
  --create-delay 200ms --start-delay 100ms --log-level warn >"$work/flysim.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "flysim listening on" "$work/flysim.log" && break; sleep 0.1; done
fly_url="http://$(sed -n 's/.*flysim listening on \(.*\)$/\1/p' "$work/flysim.log" | head -1)"

cat >"$work/policy.yaml" <<'EOF'
apiVersion: autoplacer.fly.io/v1alpha1
kind: PlacementPolicy
metadata:
  name: web
spec:
  app: bench-app
  regions:
    allowed: [iad, fra]
  capacity:
    targetPerMachine: 50
    maxPerRegion: 4
    minTotal: 1
    maxTotal: 8
  traffic:
    interval: 2s
    queryTimeout: 1s
  forecast:
    model: ewma
    headroom: 0
  behavior:
    scaleDown:
      stabilizationWindow: 0s
  fastPath:
    enabled: false
EOF
printf 'timestamp,region,rps\n0,iad,140\n0,fra,40\n86400,iad,140\n86400,fra,40\n' >"$work/traffic.csv"

declare -A port pid
start_replica() {
  local id=$1 log="$work/replica-$1.log"
  ETCD_ENDPOINTS="http://127.0.0.1:$cport" "$autoplacer" run --policy "$work/policy.yaml" \
    --listen 127.0.0.1:0 --fly-api-url "$fly_url" --scenario "$work/traffic.csv" --speed 1 \
    --replica-id "$id" --lease-duration "$lease" --renew-deadline "$renew" --retry-period "$retry" \
    --log-level warn >"$log" 2>&1 &
  pid[$id]=$!
  pids+=($!)
  disown "$!"  # its SIGKILL is the point, not news
  for _ in $(seq 200); do grep -qs "autoplacer listening on" "$log" && break; sleep 0.05; done
  port[$id]=$(sed -n 's/.*autoplacer listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  [ -n "${port[$id]}" ] || { echo "replica $id did not start:" >&2; cat "$log" >&2; exit 1; }
}
role_of() {
  curl -s --max-time 0.5 "http://127.0.0.1:${port[$1]}/status" | grep -o '"role":"[a-z_]*"' | head -1 | cut -d'"' -f4 || true
}
leader() {
  local id
  for id in "${!port[@]}"; do [ "$(role_of "$id")" = leader ] && { echo "$id"; return 0; }; done
  return 0
}

generation=0
ids=()
for i in $(seq "$replicas"); do ids+=("r$i-0"); start_replica "r$i-0"; done
for _ in $(seq 600); do [ -n "$(leader)" ] && break; sleep 0.1; done
[ -n "$(leader)" ] || { echo "no leader elected within 60 s" >&2; exit 1; }

echo "take-over after SIGKILL of the leader: $replicas replicas, etcd 1 member, lease $lease," \
  "renew deadline $renew, retry $retry"
results=()
for k in $(seq "$kills"); do
  old=$(leader)
  [ -n "$old" ] || { echo "no leader before kill $k" >&2; exit 1; }
  # Kill at a random point of the retry period, as a crash would.
  sleep "0.$((RANDOM % 10))"
  t0=$(now_ms)
  kill -KILL "${pid[$old]}"
  unset "port[$old]"
  new=""
  while [ -z "$new" ]; do
    new=$(leader)
    [ -n "$new" ] || sleep 0.05
    [ $(( $(now_ms) - t0 )) -lt 120000 ] || { echo "no take-over within 120 s" >&2; exit 1; }
  done
  ms=$(( $(now_ms) - t0 ))
  results+=("$ms")
  printf 'kill %2d: %s -> %s in %d ms\n' "$k" "$old" "$new" "$ms"
  generation=$((generation + 1))
  start_replica "${old%-*}-$generation"
done

printf '%s\n' "${results[@]}" | sort -n | awk -v lease="$lease" '
  { v[NR] = $1; sum += $1 }
  END {
    n = NR
    p50 = v[int((n + 1) * 0.5)]; p90 = v[int(n * 0.9 + 0.5)]
    printf "n=%d  min=%d ms  median=%d ms  p90=%d ms  max=%d ms  mean=%d ms\n",
      n, v[1], p50, p90, v[n], sum / n
  }'
