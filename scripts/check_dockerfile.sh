#!/usr/bin/env bash
# Checks the Dockerfile against this machine's Debian and a local build, without a Docker engine:
# it mirrors what `docker build .` would do and fails on what would break the image.
#  - the build stage is Debian bookworm and builds with scripts/setup.sh, like the README;
#  - the runtime stage is debian:bookworm-slim; every package it apt-get installs exists in Debian
#    (apt-cache show) and installs without recommends, with the apt lists removed;
#  - every file it COPYs exists (from the build stage: in the build dir) and is not excluded by
#    .dockerignore; the sources configure needs are not excluded either;
#  - every shared library `ldd` lists for a copied executable belongs (dpkg -S) to a runtime
#    package or one of their dependencies (apt-cache depends --recurse);
#  - the binary runs; its `run` command takes the --policy/--listen the CMD passes (once `run`
#    exists); the baked-in policies validate (once `validate` exists);
#  - the final user is non-root and created in the image; no ARG/ENV names a secret;
#  - HEALTHCHECK is in exec form, its program is installed, its port is the one the CMD listens on
#    and EXPOSE declares.
# Usage: scripts/check_dockerfile.sh [--build-dir DIR] [--dockerfile FILE]
#   DIR is the build tree the build stage's /src/build stands for (default: build).
# ok/fail always succeed, so `test && ok || fail` is if-then-else here; .dockerignore patterns are
# matched as globs on purpose; package lists are split on purpose.
# shellcheck disable=SC2015,SC2053,SC2086
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="$ROOT/build"
DOCKERFILE="$ROOT/Dockerfile"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(cd "$2" && pwd)"; shift ;;
    --dockerfile) DOCKERFILE="$2"; shift ;;
    *) echo "check_dockerfile.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

failures=0
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }
note() { echo "note: $*"; }

# --- Parse: one logical instruction per line (continuations joined, comment lines dropped, as
# Docker does inside continuations too), "STAGE<TAB>KEYWORD<TAB>ARGS".
parsed="$(awk '
  /^[[:space:]]*#/ { next }
  {
    line = $0
    if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); buf = buf line " "; next }
    buf = buf line
    gsub(/[[:space:]]+/, " ", buf); sub(/^ /, "", buf); sub(/ $/, "", buf)
    if (buf != "") {
      kw = toupper(buf); sub(/ .*/, "", kw)
      args = buf; sub(/^[^ ]+ ?/, "", args)
      if (kw == "FROM") stage++
      printf "%d\t%s\t%s\n", stage, kw, args
    }
    buf = ""
  }' "$DOCKERFILE")"

nstages="$(printf '%s\n' "$parsed" | awk -F'\t' '$2 == "FROM"' | wc -l)"
stage_lines() { printf '%s\n' "$parsed" | awk -F'\t' -v s="$1" '$1 == s { print $2 "\t" $3 }'; }
args_of() { printf '%s\n' "$2" | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }

if [ "$nstages" -lt 2 ]; then
  fail "expected a multi-stage Dockerfile (build + runtime), found $nstages stage(s)"
  echo "$checks checks, $failures failed"
  exit 1
fi
build_stage="$(stage_lines 1)"
runtime="$(stage_lines "$nstages")"

# --- Build stage.
read -r build_image _ build_alias <<<"$(args_of FROM "$build_stage")"
[[ "$build_image" == debian:bookworm* ]] && ok "build stage is $build_image" ||
  fail "build stage should be Debian bookworm (the packages setup.sh installs), is $build_image"
[ -n "${build_alias:-}" ] || fail "build stage has no name (FROM ... AS build)"
build_workdir="$(args_of WORKDIR "$build_stage" | tail -n1)"
args_of RUN "$build_stage" | grep -q 'scripts/setup.sh' && ok "build stage runs scripts/setup.sh" ||
  fail "build stage does not run scripts/setup.sh"
[ -x "$ROOT/scripts/setup.sh" ] || fail "scripts/setup.sh is missing or not executable"

# --- Runtime stage: base image, packages.
runtime_image="$(args_of FROM "$runtime" | awk '{print $1}')"
[ "$runtime_image" = "debian:bookworm-slim" ] && ok "runtime stage is $runtime_image" ||
  fail "runtime stage should be debian:bookworm-slim, is $runtime_image"

runtime_runs="$(args_of RUN "$runtime")"
packages="$(printf '%s\n' "$runtime_runs" | sed 's/&&/\n/g; s/;/\n/g' |
  awk '/apt-get( .*)? install/ {
         seen = 0
         for (i = 1; i <= NF; i++) {
           if ($i == "install") { seen = 1; continue }
           if (seen && $i !~ /^-/) print $i
         }
       }' | sort -u)"
if [ -z "$packages" ]; then
  fail "runtime stage installs no packages"
fi
for p in $packages; do
  if apt-cache show --no-all-versions "$p" >/dev/null 2>&1; then
    ok "runtime package $p exists in Debian ($(apt-cache show --no-all-versions "$p" | awk '/^Version:/ {print $2; exit}'))"
  else
    fail "runtime package $p is not in this machine's apt sources (apt-cache show $p)"
  fi
done
printf '%s\n' "$runtime_runs" | grep -q 'apt-get install.*--no-install-recommends\|apt-get install -y --no-install-recommends' &&
  ok "runtime apt-get install uses --no-install-recommends" ||
  fail "runtime apt-get install should use --no-install-recommends"
printf '%s\n' "$runtime_runs" | grep -q 'rm -rf /var/lib/apt/lists' &&
  ok "runtime stage removes the apt lists" || fail "runtime stage leaves /var/lib/apt/lists in the image"

# Everything the runtime packages bring in (their dependency closure).
closure="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $packages 2>/dev/null | grep -v '^[ <]' | sort -u)"

# --- Secrets: never in ARG or ENV.
secret_re='(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)'
bad_vars="$(printf '%s\n' "$parsed" | awk -F'\t' '$2 == "ARG" || $2 == "ENV" { print $3 }' |
  grep -E -i "$secret_re" || true)"
[ -z "$bad_vars" ] && ok "no ARG/ENV carries a secret" || fail "ARG/ENV names a secret: $bad_vars"

# --- .dockerignore.
ignore_patterns=()
if [ -f "$ROOT/.dockerignore" ]; then
  while IFS= read -r pat; do
    pat="${pat%%#*}"; pat="${pat%"${pat##*[![:space:]]}"}"; pat="${pat#/}"
    [ -z "$pat" ] || [[ "$pat" == !* ]] && continue
    ignore_patterns+=("$pat")
  done <"$ROOT/.dockerignore"
  ok ".dockerignore exists (${#ignore_patterns[@]} patterns)"
else
  fail ".dockerignore is missing: the whole tree (build dirs, .git) would go to the daemon"
fi
# True when PATH (relative to the repo) or one of its parents matches a .dockerignore pattern.
ignored() {
  local path="${1%/}" prefix pat
  prefix="$path"
  while :; do
    for pat in "${ignore_patterns[@]}"; do
      pat="${pat%/}"
      # Docker's ** matches any number of path components; bash's * already crosses slashes.
      [[ "$prefix" == ${pat//\*\*\//} ]] && return 0
      [[ "$prefix" == $pat ]] && return 0
    done
    [[ "$prefix" == */* ]] || return 1
    prefix="${prefix%/*}"
  done
}
for needed in CMakeLists.txt cmake src tests bench scripts/setup.sh; do
  ignored "$needed" && fail ".dockerignore excludes $needed, which the build stage needs" ||
    ok "build context keeps $needed"
done
for junk in .git build build-x node_modules; do
  ignored "$junk" && ok ".dockerignore excludes $junk" || fail ".dockerignore should exclude $junk"
done

# --- COPY steps of the runtime stage.
copied_executables=()
declare -A copy_dest=()
while IFS= read -r copy; do
  [ -n "$copy" ] || continue
  read -r -a words <<<"$copy"
  from=""
  srcs=()
  for w in "${words[@]}"; do
    case "$w" in
      --from=*) from="${w#--from=}" ;;
      --*) ;;
      *) srcs+=("$w") ;;
    esac
  done
  dest="${srcs[-1]}"
  unset 'srcs[-1]'
  for src in "${srcs[@]}"; do
    if [ -n "$from" ]; then
      [ "$from" = "$build_alias" ] || { fail "COPY --from=$from: unknown stage"; continue; }
      rel="${src#"${build_workdir%/}"/}"
      if [ "$rel" = "$src" ]; then
        fail "COPY --from=$from $src is outside the build stage's WORKDIR $build_workdir"
        continue
      fi
      # setup.sh builds into build/; here that is the build dir under test.
      if [[ "$rel" == build/* ]]; then local_path="$BUILD_DIR/${rel#build/}"; else local_path="$ROOT/$rel"; fi
    else
      local_path="$ROOT/$src"
      ignored "$src" && fail "COPY $src: excluded by .dockerignore"
    fi
    if [ -e "$local_path" ]; then
      ok "COPY ${from:+--from=$from }$src exists (${local_path#"$ROOT"/})"
      if [ -f "$local_path" ] && [ -x "$local_path" ] && [ "$(head -c4 "$local_path" | tail -c3)" = ELF ]; then
        copied_executables+=("$local_path")
        if [[ "$dest" == */ ]]; then copy_dest["$dest${src##*/}"]="$local_path"; else copy_dest["$dest"]="$local_path"; fi
      fi
    else
      fail "COPY ${from:+--from=$from }$src: $local_path does not exist (build target autoplacer first?)"
    fi
  done
done <<<"$(args_of COPY "$runtime")"

# --- Shared libraries of every copied executable come from the runtime packages.
package_of() {
  local lib="$1" real alt owner
  real="$(readlink -f "$lib")"
  for candidate in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
    owner="$(dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1)" && [ -n "$owner" ] &&
      { echo "$owner"; return 0; }
  done
  alt="$(dpkg -S "*/$(basename "$lib")" 2>/dev/null | head -n1 | cut -d: -f1)"
  echo "$alt"
}
for exe in "${copied_executables[@]}"; do
  name="${exe#"$BUILD_DIR"/}"
  if ldd "$exe" | grep -q 'not found'; then
    fail "$name: ldd finds missing libraries: $(ldd "$exe" | grep 'not found' | tr -s ' \n' ' ')"
  fi
  used_packages=()
  while read -r lib; do
    [ -n "$lib" ] || continue
    pkg="$(package_of "$lib")"
    pkg="${pkg%%:*}"
    if [ -z "$pkg" ]; then
      fail "$name: $lib belongs to no Debian package (built by hand?); the image cannot provide it"
    elif printf '%s\n' $closure | grep -qx "$pkg"; then
      ok "$name: $(basename "$lib") <- $pkg (in the runtime packages)"
      used_packages+=("$pkg")
    else
      fail "$name: $(basename "$lib") comes from $pkg, which the runtime stage does not install"
    fi
  done <<<"$(ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')"
  for p in $packages; do
    case "$p" in ca-certificates | curl) continue ;; esac
    if ! printf '%s\n' "${used_packages[@]}" | grep -qx "$p"; then
      note "$name does not link $p (yet); the runtime stage installs it for the parts to come"
    fi
  done
done

# --- Entry point, command, port, health check.
entrypoint="$(args_of ENTRYPOINT "$runtime" | tail -n1)"
cmd="$(args_of CMD "$runtime" | tail -n1)"
json_words() { printf '%s' "$1" | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))'; }
if [[ "$entrypoint" == \[* ]] && [[ "$cmd" == \[* ]]; then
  ok "ENTRYPOINT and CMD are in exec form (signals reach the controller, no shell)"
  entry_prog="$(json_words "$entrypoint" | head -n1)"
  mapfile -t cmd_words < <(json_words "$cmd")
else
  fail "ENTRYPOINT and CMD should be JSON arrays (exec form)"
  entry_prog=""
  cmd_words=()
fi
binary="${copy_dest[$entry_prog]:-}"
[ -n "$binary" ] && ok "ENTRYPOINT $entry_prog is the copied ${binary#"$BUILD_DIR"/}" ||
  fail "ENTRYPOINT $entry_prog is not a file the runtime stage copies"
listen=""
for ((i = 0; i < ${#cmd_words[@]}; i++)); do
  [ "${cmd_words[$i]}" = "--listen" ] && listen="${cmd_words[$((i + 1))]:-}"
done
listen_port="${listen##*:}"
[[ "$listen" == 0.0.0.0:* ]] && ok "CMD listens on $listen (all interfaces)" ||
  fail "CMD should pass --listen 0.0.0.0:PORT, passes '${listen}'"
expose="$(args_of EXPOSE "$runtime" | tr ' ' '\n' | sed 's#/tcp##')"
printf '%s\n' "$expose" | grep -qx "$listen_port" && ok "EXPOSE $listen_port" ||
  fail "EXPOSE does not declare the listen port $listen_port"

health="$(args_of HEALTHCHECK "$runtime" | tail -n1)"
if [ -z "$health" ]; then
  fail "runtime stage has no HEALTHCHECK"
else
  health_cmd="${health#*CMD }"
  if [[ "$health_cmd" == \[* ]]; then
    ok "HEALTHCHECK is in exec form (no shell)"
    mapfile -t hwords < <(json_words "$health_cmd")
    hprog="${hwords[0]}"
    if [ "$hprog" = "$entry_prog" ] || printf '%s\n' $packages | grep -qx "$hprog"; then
      ok "HEALTHCHECK program $hprog is in the image"
    else
      fail "HEALTHCHECK runs $hprog, which the runtime stage neither installs nor copies"
    fi
    url="$(printf '%s\n' "${hwords[@]}" | grep -m1 '^http://' || true)"
    [[ "$url" == *":$listen_port/healthz" ]] && ok "HEALTHCHECK probes $url" ||
      fail "HEALTHCHECK should probe http://127.0.0.1:$listen_port/healthz, probes '${url}'"
  else
    fail "HEALTHCHECK should be in exec form: CMD [\"prog\", ...]"
  fi
fi

# --- Non-root user, created in the image.
user="$(args_of USER "$runtime" | tail -n1)"
uid="${user%%:*}"
if [ -z "$user" ] || [ "$uid" = root ] || [ "$uid" = 0 ]; then
  fail "runtime stage runs as root (USER '${user}')"
else
  if [[ "$uid" =~ ^[0-9]+$ ]]; then
    printf '%s\n' "$runtime_runs" | grep -Eq "useradd .*--uid $uid( |$)" &&
      ok "runs as non-root uid $uid, created with useradd" ||
      fail "USER $uid is not created by a useradd --uid $uid in the runtime stage"
  else
    printf '%s\n' "$runtime_runs" | grep -Eq "useradd .* $uid( |$)" &&
      ok "runs as non-root user $uid, created with useradd" ||
      fail "USER $uid is not created by useradd in the runtime stage"
  fi
fi

# --- The binary runs, and takes what the CMD gives it.
if [ -n "$binary" ] && [ -x "$binary" ]; then
  if version="$("$binary" --version 2>&1)"; then ok "$(head -n1 <<<"$version") runs"; else fail "$binary --version failed"; fi
  if run_help="$("$binary" run --help 2>&1)"; then
    for flag in --policy --listen; do
      grep -q -- "$flag" <<<"$run_help" && ok "autoplacer run takes $flag" ||
        fail "the CMD passes $flag but 'autoplacer run --help' does not list it"
    done
  else
    note "the binary has no 'run' command yet; CMD flags not checked"
  fi
  policies_src="$(args_of COPY "$runtime" | awk '$NF ~ /^\/etc\/autoplacer\/policies/ && $1 !~ /^--from/ { print $1 }' | head -n1)"
  if [ -n "$policies_src" ] && compgen -G "$ROOT/${policies_src%/}/*.yaml" >/dev/null; then
    if "$binary" validate --help >/dev/null 2>&1; then
      "$binary" validate "$ROOT/${policies_src%/}" && ok "baked-in policies validate" ||
        fail "autoplacer validate ${policies_src} fails"
    else
      note "the binary has no 'validate' command yet; baked-in policies not validated"
    fi
  else
    note "no policy files under ${policies_src:-deploy/policies/} yet"
  fi
fi

echo "check_dockerfile.sh: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
