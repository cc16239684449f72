#!/usr/bin/env bash
# Checks that every tracked C++ file is as clang-format (the repository's .clang-format) would
# write it; prints the offending places and exits 1 otherwise. With --fix, rewrites them instead.
# Usage: scripts/check_format.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check_format.sh: clang-format missing (scripts/setup.sh installs it)" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.hpp' '*.cc')
[ ${#files[@]} -gt 0 ] || { echo "check_format.sh: no C++ files tracked" >&2; exit 2; }
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if clang-format --dry-run -Werror "${files[@]}"; then
  echo "check_format.sh: ${#files[@]} files formatted as .clang-format says"
else
  echo "check_format.sh: run scripts/check_format.sh --fix" >&2
  exit 1
fi
