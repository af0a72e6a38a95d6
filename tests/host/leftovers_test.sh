#!/usr/bin/env bash
# leftovers_test.sh begin|end ETWLUA BUILD_DIR: the first and last test of
# every ctest run (a fixture). "begin" stamps the start and empties
# BUILD_DIR/tmp, the TMPDIR of every test (the specs' os.tmpname writes
# there too: tests/spec/helper.lua); "end" fails when the run left behind
# what a test must clean up: anything in BUILD_DIR/tmp, sessions in the
# tests' private runtime dirs, providers.PID files there of processes that
# died during the run, a stale session new since "begin" in the user's own
# runtime dir (ETWLUA_RUNTIME_DIR unset), or a process of this build's
# etwlua still running.
set -u
mode=$1 exe=$2 build=$3
stamp=$build/leftovers.stamp
# The stale sessions of the user's own runtime dir (no test may touch it):
# "NAME OWNER" lines of `etwlua sessions --stale`.
default_stale() {
  env -u ETWLUA_RUNTIME_DIR "$exe" sessions --stale 2>/dev/null | awk 'NR > 1 && $2 ~ /^[0-9]+$/ {print $1, $2}'
}
if [[ $mode == begin ]]; then
  rm -rf "$build/tmp" && mkdir -p "$build/tmp" && touch "$stamp" || exit 1
  default_stale >"$stamp"
  exit 0
fi
source "$(dirname "$0")/check.sh"
if [[ ! -e $stamp ]]; then
  bad "the begin stamp $stamp is missing"
  finish
fi

# none NAME FOUND: passes when FOUND is empty, else fails listing it.
none() { if [[ -z $2 ]]; then ok; else bad "$1" "$2"; fi; }

files=$(find "$build/tmp" -mindepth 1 -maxdepth 1 2>&1)
none "no scratch file left in $build/tmp (TMPDIR)" "$files"

sessions= dead=
for dir in "$build"/rt-*; do
  [[ -d $dir ]] || continue
  out=$(ETWLUA_RUNTIME_DIR=$dir "$exe" sessions --json 2>&1)
  [[ $out == "[]" ]] || sessions+="$dir: $out"$'\n'
  for f in $(find "$dir" -maxdepth 1 -name 'providers.*' -newer "$stamp"); do
    pid=${f##*.}
    kill -0 "$pid" 2>/dev/null || dead+="$f"$'\n'
  done
done
none "no session left in a test's runtime dir" "$sessions"
none "no providers.PID file of a dead process left" "$dead"
new_stale=$(default_stale | grep -vxF -f "$stamp")
none "no new stale session in the user's runtime dir (a test used it)" "$new_stale"

procs=$(pgrep -a -f "^$exe( |$)" 2>/dev/null)
none "no process of this build's etwlua left running" "$procs"
finish
