#!/usr/bin/env bash
# lttng_anchor.sh BENCH_LTTNG: the LTTng-UST anchor of issue 13, for
# scripts/bench. Makes a session that records to a file (lttng create /
# enable-event / start), runs BENCH_LTTNG (bench/bench_lttng.c) in it, then
# stops and destroys the session. Starts lttng-sessiond when none answers
# and stops it after, by its pid. Everything goes to a temporary directory
# (LTTNG_HOME too), removed at the end.
# Output: the bench's lines; last line "anchor_ns N", or "anchor_none REASON".
set -uo pipefail
bin=$1
none() { echo "anchor_none $*"; exit 0; }
[[ -x $bin ]] || none "bench_lttng not built (liblttng-ust-dev missing: scripts/setup --bench)"
command -v lttng >/dev/null && command -v lttng-sessiond >/dev/null ||
  none "lttng / lttng-sessiond not installed (lttng-tools: scripts/setup --bench)"

tmp=$(mktemp -d)
export LTTNG_HOME=$tmp
session="etwlua-bench-$$"
sessiond_pid=""
# lttng-ust leaves its wait files in /dev/shm; the ones this run made go
# when the sessiond it started goes (others may be another user's)
shm_before=$(ls -d /dev/shm/lttng-ust-wait-* 2>/dev/null)
cleanup() {
  lttng --no-sessiond destroy "$session" >/dev/null 2>&1
  if [[ -n $sessiond_pid ]]; then
    kill "$sessiond_pid" 2>/dev/null
    wait "$sessiond_pid" 2>/dev/null
    for f in /dev/shm/lttng-ust-wait-*; do
      [[ -e $f ]] && ! grep -qxF "$f" <<<"$shm_before" && rm -f "$f"
    done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

ltt() { lttng --no-sessiond "$@" >>"$tmp/lttng.log" 2>&1; }
if ! ltt list; then
  lttng-sessiond --no-kernel >"$tmp/sessiond.log" 2>&1 &
  sessiond_pid=$!
  for _ in $(seq 100); do
    ltt list && break
    kill -0 "$sessiond_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! ltt list; then
    why=$(grep -v "open files limit" "$tmp/sessiond.log" | tail -n 2 | tr '\n' ' ')
    none "lttng-sessiond did not come up (uid $(id -u)): ${why:-no message}"
  fi
fi
ltt create "$session" --output="$tmp/trace" || none "lttng create failed: $(tail -n 1 "$tmp/lttng.log")"
ltt enable-event -u -s "$session" etwlua_bench:ev || none "lttng enable-event failed: $(tail -n 1 "$tmp/lttng.log")"
ltt start "$session" || none "lttng start failed: $(tail -n 1 "$tmp/lttng.log")"
out=$("$bin")
rc=$?
echo "$out" | grep -v '^anchor_ns '
lttng --no-sessiond stop "$session" 2>&1 | grep -i "discarded" # lost events would make it look cheaper
[[ $rc -eq 0 ]] || none "bench_lttng exited with $rc"
size=$(du -sk "$tmp/trace" 2>/dev/null | cut -f1)
echo "LTTng trace written: ${size:-0} KB"
echo "$out" | grep '^anchor_ns '
