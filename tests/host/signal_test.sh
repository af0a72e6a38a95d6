#!/usr/bin/env bash
# SIGINT, SIGTERM and SIGHUP sent to `etwlua watch` and `etwlua capture`:
# each stops cleanly (session removed, file finalized), exits with the
# documented status, and capture forwards the signal to its command's
# process group and waits for it. Also: watch --duration ends on time while
# events keep coming. Private runtime directory; every wait is bounded;
# every process started here is killed by pid on exit.
#   signal_test.sh PATH_TO_ETWLUA PATH_TO_NATIVE_PROVIDER
set -u
exe=$(realpath "$1") native=$(realpath "$2")
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  # commands of capture and their groups (each command leads its own group)
  for f in "$tmp"/*.pid; do [[ -s $f ]] && kill -9 -- "-$(cat "$f")" "$(cat "$f")" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
here=$(dirname "$(realpath "$0")")
cd "$tmp" || exit 1
source "$here/check.sh"

wait_running() { # NAME: until the session runs with a provider (10 s at most)
  for _ in $(seq 200); do
    "$exe" sessions 2>/dev/null | grep -Eq "^$1 +[0-9]+ +running +[a-z]+ +1 " && return 0
    sleep 0.05
  done
  return 1
}
ended() { # PID: wait up to 15 s for it to end; then its status ($?), 255 if it did not
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; wait "$1" 2>/dev/null; return 255; fi
  wait "$1"
}
no_session() { # NAME CASE: neither running nor stale
  local out; out=$("$exe" sessions 2>&1)
  grep -Eq "^$1 " <<<"$out" && bad "$2: session $1 left behind" "$out" || ok
  out=$("$exe" sessions --stale 2>&1)
  [[ $out == "no stale sessions" ]] && ok || bad "$2: stale sessions" "$out"
}
finalized() { # FILE CASE: the header was patched at the stop
  local out; out=$("$exe" info "$1" 2>&1)
  grep -q "still logging" <<<"$out" && bad "$2: $1 still says 'still logging'" "$out" || ok
  grep -Eq '^session end: +[0-9]{4}-' <<<"$out" && ok || bad "$2: $1 has an end time" "$out"
}
num() { case $1 in INT) echo 2 ;; TERM) echo 15 ;; HUP) echo 1 ;; esac; }

for sig in INT TERM HUP; do
  # watch: a signal is its normal end (status 0), the session goes
  "$exe" watch -p EtwLua.Native --session w-$sig >w.out 2>&1 &
  w=$!; pids+=($w)
  wait_running w-$sig && "$native" 3 >/dev/null || bad "watch SIG$sig: session up" "$(cat w.out)"
  for _ in $(seq 100); do [[ $(grep -c Tick w.out) -ge 3 ]] && break; sleep 0.05; done
  kill -$sig $w; ended $w; st=$?
  status "watch SIG$sig" $st 0 "$(cat w.out)"
  [[ $(grep -c 'EtwLua.Native/Tick' w.out) -eq 3 ]] && ok || bad "watch SIG$sig: 3 events shown" "$(cat w.out)"
  no_session w-$sig "watch SIG$sig"

  # capture until a signal: status 0, file finalized with every event
  "$exe" capture -p EtwLua.Native -o c-$sig.etl --session c-$sig >c.out 2>&1 &
  c=$!; pids+=($c)
  wait_running c-$sig && "$native" 4 >/dev/null || bad "capture SIG$sig: session up" "$(cat c.out)"
  kill -$sig $c; ended $c; st=$?
  status "capture SIG$sig" $st 0 "$(cat c.out)"
  grep -Eq '^etwlua capture: 4 events, 0 lost' c.out && ok || bad "capture SIG$sig: counts" "$(cat c.out)"
  no_session c-$sig "capture SIG$sig"
  finalized c-$sig.etl "capture SIG$sig"

  # capture -- command: the signal goes to the command, capture waits for
  # it, then finalizes; the status is the command's (128 + signal)
  "$exe" capture -p EtwLua.Native -o k-$sig.etl --session k-$sig -- "$native" 100000000 5 >k.out 2>&1 &
  c=$!; pids+=($c)
  wait_running k-$sig || bad "capture -- cmd SIG$sig: session up" "$(cat k.out)"
  child=""
  for _ in $(seq 100); do child=$(ps -o pid= --ppid $c | tr -d ' '); [[ -n $child ]] && break; sleep 0.05; done
  echo "$child" >k-$sig.pid
  sleep 0.3                                   # some events reach the file
  kill -$sig $c; ended $c; st=$?
  status "capture -- cmd SIG$sig: the command's status" $st $((128 + $(num $sig))) "$(cat k.out)"
  [[ -n $child ]] && ! kill -0 "$child" 2>/dev/null && ok || bad "capture -- cmd SIG$sig: command $child gone"
  grep -Eq '^etwlua capture: [1-9][0-9]* events, 0 lost' k.out && ok || bad "capture -- cmd SIG$sig: counts" "$(cat k.out)"
  no_session k-$sig "capture -- cmd SIG$sig"
  finalized k-$sig.etl "capture -- cmd SIG$sig"
done

# the whole process group of the command gets the signal: a grandchild too
cat >tree.sh <<EOF
#!/bin/sh
sleep 60 &
echo \$! >"$tmp/grand.pid"
wait
EOF
chmod +x tree.sh
"$exe" capture -p EtwLua.Native -o t.etl --session t-tree -- ./tree.sh >t.out 2>&1 &
c=$!; pids+=($c)
for _ in $(seq 200); do [[ -s grand.pid ]] && break; sleep 0.05; done
grand=$(cat grand.pid 2>/dev/null)
kill -TERM $c; ended $c; st=$?
status "capture -- tree SIGTERM" $st 143 "$(cat t.out)"
sleep 0.2
[[ -n $grand && -z $(ps -o stat= -p "$grand" | grep -v Z) ]] && ok || bad "capture -- tree: grandchild $grand gone" "$(ps -o pid,stat,cmd -p "$grand")"
no_session t-tree "capture -- tree"

# on a terminal the command gets it: it reads it, and Ctrl+C goes to it
# (script(1) gives the capture a pseudo-terminal)
out=$( (sleep 1; echo hello; sleep 1) | timeout 20 script -qec \
  "'$exe' capture -p X -o pty.etl --session c-pty -- sh -c 'read x; echo got \$x'" /dev/null 2>&1)
grep -q "got hello" <<<"$out" && ok || bad "capture on a terminal: the command reads it" "$out"
out=$( (sleep 1; printf '\003'; sleep 2) | timeout 20 script -qec \
  "'$exe' capture -p X -o pty2.etl --session c-pty2 -- sleep 30; echo status=\$?" /dev/null 2>&1)
grep -q "status=130" <<<"$out" && ok || bad "capture on a terminal: Ctrl+C ends the command (130)" "$out"
no_session c-pty2 "capture on a terminal"
finalized pty2.etl "capture on a terminal"

# watch --duration ends on time while a producer never pauses (at most 20 s)
timeout 20 "$native" 100000000000 >/dev/null 2>&1 &
prod=$!; pids+=($prod)
SECONDS=0
"$exe" watch -p EtwLua.Native --duration 2 --session w-busy >/dev/null 2>w-busy.err &
w=$!; pids+=($w)
ended $w; st=$?
took=$SECONDS
kill $prod 2>/dev/null; wait $prod 2>/dev/null
status "watch --duration under load" $st 0 "$(cat w-busy.err)"
[[ $took -le 8 ]] && ok || bad "watch --duration 2 took $took s"
no_session w-busy "watch --duration under load"

finish
