#!/usr/bin/env bash
# Builds (installing what is missing) and runs the controller. With no FLY_API_TOKEN it runs against
# the embedded simulated Fly, replaying a traffic scenario the project ships.
# Usage: scripts/run.sh [autoplacer run options]   (default: --policy deploy/policies/demo.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --target autoplacer   # only what `run` needs: a first start is minutes, not the whole suite
if [ $# -eq 0 ]; then
  set -- --policy deploy/policies/demo.yaml
fi
exec build/src/cli/autoplacer run "$@"
