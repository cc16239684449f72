#!/usr/bin/env bash
# Runs `autoplacer simulate` on every scenario of a traces directory and checks that every run's
# figures in report.json agree with the independent scorer (score_timeline.py) on the written
# timeline. Prints one line per run; exits 1 on any disagreement.
#
# Usage: scripts/backtest.sh TRACES_DIR SCORER.py [options]
#   --build DIR      build directory holding src/cli/autoplacer (default: build)
#   --out DIR        where each scenario's outputs go (default: BUILD/backtest)
#   --policy FILE    policy to replay (default: deploy/policies/backtest.yaml)
#   --peak N         --target-peak-machines for simulate (default: 10)
#   anything else is passed to `autoplacer simulate` (e.g. --create-delay 30s)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
TRACES=$1
SCORER=$2
shift 2
BUILD=build
OUT=
POLICY=deploy/policies/backtest.yaml
PEAK=10
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift ;;
    --out) OUT=$2; shift ;;
    --policy) POLICY=$2; shift ;;
    --peak) PEAK=$2; shift ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done
OUT=${OUT:-$BUILD/backtest}
BIN=$BUILD/src/cli/autoplacer
[ -x "$BIN" ] || { echo "no $BIN: build the autoplacer target first" >&2; exit 2; }
[ -f "$SCORER" ] || { echo "no scorer at $SCORER" >&2; exit 2; }
shopt -s nullglob
SCENARIOS=("$TRACES"/*.csv)
[ ${#SCENARIOS[@]} -gt 0 ] || { echo "no *.csv in $TRACES" >&2; exit 2; }

status=0
for scenario in "${SCENARIOS[@]}"; do
  name=$(basename "$scenario" .csv)
  dir=$OUT/$name
  echo "== $name"
  start=$(date +%s.%N)
  "$BIN" simulate --policy "$POLICY" --traffic "$scenario" --out "$dir" \
    --target-peak-machines "$PEAK" --baseline all --no-progress "${EXTRA[@]}"
  end=$(date +%s.%N)
  echo "wall time (process): $(python3 -c "print(f'{$end - $start:.2f}')") s"
  # Compare each run's score with the scorer's output on its timeline, field by field.
  python3 - "$scenario" "$dir/report.json" "$SCORER" "$dir" <<'PY' || status=1
import json, subprocess, sys
scenario, report_path, scorer, out_dir = sys.argv[1:5]
report = json.load(open(report_path))
settings = report["settings"]
cap, allowed = settings["scorer_arguments"].split()[2:4]
ok = True
for run in report["runs"]:
    timeline = f"{out_dir}/{run['timeline']}"
    got = json.loads(subprocess.check_output(["python3", scorer, scenario, timeline, cap, allowed]))
    ours = run["score"]
    diff = {k: (ours.get(k), v) for k, v in got.items() if ours.get(k) != v}
    verdict = "agrees" if not diff else f"DIFFERS {diff}"
    ok = ok and not diff
    print(f"  {run['name']:<10} scorer {verdict}")
sys.exit(0 if ok else 1)
PY
done
exit $status
