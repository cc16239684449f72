#!/usr/bin/env bash
# Lints the Dockerfile with dockerfile-utils (the linter behind the VS Code Docker extension),
# installed from the npm registry into a project-local tools directory (never globally, never
# committed). Any diagnostic, warning or error, fails.
# Usage: scripts/lint_dockerfile.sh [--tools-dir DIR] [DOCKERFILE]
#   DIR defaults to .cache/tools in the repository; DOCKERFILE to the repository's Dockerfile.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LINTER=dockerfile-utils
LINTER_VERSION=0.16.3

TOOLS_DIR="$ROOT/.cache/tools"
DOCKERFILE="$ROOT/Dockerfile"
while [ $# -gt 0 ]; do
  case "$1" in
    --tools-dir) TOOLS_DIR="$2"; shift ;;
    -*) echo "lint_dockerfile.sh: unknown option $1" >&2; exit 2 ;;
    *) DOCKERFILE="$1" ;;
  esac
  shift
done

BIN="$TOOLS_DIR/node_modules/.bin/$LINTER"
installed_version() {
  node -e "console.log(require(process.argv[1]).version)" \
    "$TOOLS_DIR/node_modules/$LINTER/package.json" 2>/dev/null || true
}
if [ ! -x "$BIN" ] || [ "$(installed_version)" != "$LINTER_VERSION" ]; then
  if ! command -v npm >/dev/null; then
    echo "lint_dockerfile.sh: npm is needed to install $LINTER (Debian: apt-get install npm)" >&2
    exit 1
  fi
  mkdir -p "$TOOLS_DIR"
  echo "lint_dockerfile.sh: installing $LINTER@$LINTER_VERSION into $TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-save --no-audit --no-fund --loglevel=error \
    "$LINTER@$LINTER_VERSION" >&2
fi

# JSON output lists every diagnostic; the plain output only sets a failing exit code on errors.
out="$("$BIN" lint --json "$DOCKERFILE")" || true
# shellcheck disable=SC2016 # JavaScript, not shell, in single quotes
count="$(node -e 'const d = JSON.parse(process.argv[1]);
for (const x of d) console.error(`${process.argv[2]}:${x.range.start.line + 1}:${x.range.start.character + 1}: ${x.severity}: ${x.message}`);
console.log(d.length);' "$out" "$DOCKERFILE")"
if [ "$count" != 0 ]; then
  echo "lint_dockerfile.sh: $count problem(s) in $DOCKERFILE" >&2
  exit 1
fi
echo "lint_dockerfile.sh: $DOCKERFILE: no problems ($LINTER $LINTER_VERSION)"
