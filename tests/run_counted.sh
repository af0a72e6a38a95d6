#!/usr/bin/env bash
# run_counted.sh COMMAND...: runs a test program that cannot follow the exit
# rule of the other tests itself (busted; etwlua --selftest, whose status is
# the command's own) and applies it: a status other than 0 stays; 0 becomes
# 77 (ctest's SKIP_RETURN_CODE: listed as Skipped, never Passed) when the
# program's closing line counts skipped cases, "N passed, N failed, N
# skipped" or busted's "N successes / N failures / N errors / N pending".
# The output passes through unchanged for ctest and scripts/test to read.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[[ $rc -ne 0 ]] && exit "$rc"
# the last closing line (Windows programs end lines with CR)
line=$(tr -d '\r' <"$log" | grep -E '^[0-9]+ (passed, [0-9]+ failed, [0-9]+ skipped|success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending)' | tail -1)
skips=$(sed -E 's/.* ([0-9]+) (skipped|pending).*/\1/' <<<"$line")
[[ -n $line && $skips -gt 0 ]] && exit 77
exit 0
