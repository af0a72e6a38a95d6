# check.sh: sourced by the command-line tests. check() runs a command and
# matches its output; the counters feed the closing "N passed, N failed".
pass=0 fail=0

# check NAME EXPECTED_STATUS REGEXES command...: stdout+stderr must match every
# regex in REGEXES (separated by " && "); multi-line regexes match across lines.
check() {
  local name=$1 want_rc=$2 want=$3; shift 3
  local out rc ok=1 re
  out=$("$@" 2>&1 </dev/null); rc=$?
  while IFS= read -r re; do
    [[ -z $re ]] && continue
    if [[ $re == *$'\n'* ]]; then
      python3 -c 'import re,sys; sys.exit(0 if re.search(sys.argv[1], sys.stdin.read(), re.M) else 1)' "$re" <<<"$out" || ok=0
    else
      grep -Eq -- "$re" <<<"$out" || ok=0
    fi
  done < <(sed 's/ && /\n/g' <<<"$want")
  if [[ $rc -eq $want_rc && $ok -eq 1 ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: status $rc (want $want_rc), output:"; echo "$out" | head -20
  fi
}
