# check.sh: the harness of the command-line tests (tests/host/*_test.sh),
# sourced. Counters; check (run a command, match status and output); ok,
# bad, expect and status for results taken by hand; skip; and finish, which
# prints the closing "N passed, N failed, N skipped" line and exits 1 if a
# case failed, else 77 (ctest's SKIP_RETURN_CODE: listed as Skipped, never
# Passed) if a case was skipped, else 0. A script that ran nothing fails.
# While SKIP_REASON is set, check and expect count their case as skipped
# (with the reason) instead of running it: whole sections that need
# ../shared are skipped case by case, so the counts stay exact.
pass=0 fail=0 skipped=0
SKIP_REASON=

ok() { pass=$((pass + 1)); }
bad() { # NAME [OUTPUT]
  fail=$((fail + 1))
  echo "FAIL $1"
  if [[ -n ${2:-} ]]; then echo "$2" | head -20; fi
}
skip() { # NAME [WHY]
  skipped=$((skipped + 1))
  echo "SKIP $1${2:+: $2}"
}

# matches OUTPUT REGEXES: every regex (separated by " && ") matches OUTPUT.
# A one-line regex is an ERE matched line by line (grep -E); a regex with a
# newline in it is matched across lines (Perl, ^ and $ at every line), so
# $'^a\nb' means a line starting with "a" followed by a line starting "b".
matches() {
  local out=$1 rest=$2 re
  while [[ -n $rest ]]; do
    re=${rest%% && *}
    if [[ $re == "$rest" ]]; then rest=; else rest=${rest#* && }; fi
    [[ -z $re ]] && continue
    if [[ $re == *$'\n'* ]]; then
      RE=$re perl -0777 -ne 'exit(/$ENV{RE}/m ? 0 : 1)' <<<"$out" || return 1
    else
      grep -Eq -- "$re" <<<"$out" || return 1
    fi
  done
  return 0
}

expect() { # NAME OUTPUT REGEXES
  if [[ -n $SKIP_REASON ]]; then skip "$1" "$SKIP_REASON"; return; fi
  if matches "$2" "$3"; then ok; else bad "$1" "$2"; fi
}

status() { # NAME GOT WANT [OUTPUT]
  if [[ $2 -eq $3 ]]; then ok; else bad "$1: status $2 (want $3)" "${4:-}"; fi
}

# check NAME EXPECTED_STATUS REGEXES command...: runs the command (stdin
# /dev/null); its status must be EXPECTED_STATUS and its stdout+stderr must
# match REGEXES (see matches).
check() {
  local name=$1 want_rc=$2 want=$3; shift 3
  if [[ -n $SKIP_REASON ]]; then skip "$name" "$SKIP_REASON"; return; fi
  local out rc
  out=$("$@" 2>&1 </dev/null); rc=$?
  if [[ $rc -eq $want_rc ]] && matches "$out" "$want"; then
    ok
  else
    bad "$name: status $rc (want $want_rc), output:" "$out"
  fi
}

finish() {
  echo "$pass passed, $fail failed, $skipped skipped"
  if [[ $fail -gt 0 || $((pass + skipped)) -eq 0 ]]; then exit 1; fi
  if [[ $skipped -gt 0 ]]; then exit 77; fi
  exit 0
}
