#!/usr/bin/env bash
# The session commands: etwlua sessions / stop / watch, with producers in
# other processes. Uses a private session runtime directory.
#   cli_session_test.sh PATH_TO_ETWLUA PATH_TO_NATIVE_PROVIDER SOURCE_DIR
set -u
exe=$1 native=$2 src=$3
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"

out=$("$exe" sessions 2>&1); expect "sessions: none" "$out" '^no sessions$'
out=$("$exe" sessions --bogus 2>&1); [[ $? -eq 2 ]] && expect "sessions: bad option" "$out" "unknown option '--bogus'" || bad "sessions: bad option status" "$out"

# a session owned by a process that is then killed: listed, stale, stopped by name
"$exe" -e 'local etw = require "etw"; local s = etw.Session("cli-stale"); assert(s:start()); s:enable("A.B"); io.stdout:write("up\n"); io.stdout:flush(); while true do end' >"$tmp/owner.out" 2>&1 &
owner=$!
for _ in $(seq 100); do grep -q up "$tmp/owner.out" && break; sleep 0.05; done
out=$("$exe" sessions 2>&1)
expect "sessions: columns" "$out" '^NAME +OWNER +STATE +MODE +PROVIDERS +EVENTS +LOST$'
expect "sessions: running row" "$out" "^cli-stale +$owner +running +realtime +1 +0 +0$"
out=$("$exe" sessions --json 2>&1)
expect "sessions --json" "$out" '"name":"cli-stale"'
kill -9 $owner; wait $owner 2>/dev/null
out=$("$exe" sessions 2>&1); expect "sessions: stale after kill" "$out" "^cli-stale +$owner +stale"
out=$("$exe" stop cli-stale 2>&1); [[ $? -eq 0 ]] && expect "stop: stale" "$out" '^stopped cli-stale$' || bad "stop status" "$out"
out=$("$exe" sessions 2>&1); expect "sessions: gone" "$out" '^no sessions$'
out=$("$exe" stop cli-stale 2>&1); [[ $? -eq 1 ]] && expect "stop: unknown" "$out" 'NOTFOUND' || bad "stop unknown status" "$out"
out=$("$exe" stop 2>&1); [[ $? -eq 2 ]] && expect "stop: usage" "$out" 'usage: etwlua stop NAME' || bad "stop usage status" "$out"

# stale cleanup: sessions --stale lists only sessions whose owner died;
# stop --stale (alias --clean-stale) stops those and leaves live ones alone.
# Owners wait on a FIFO (no busy loop); writing a line to it ends them.
mkfifo "$tmp/hold"
exec 3<>"$tmp/hold"
owner_up() { # NAME OUTFILE: start a session owner in the background; $! is its pid
  "$exe" -e 'local etw = require "etw"; local s = etw.Session("'"$1"'"); assert(s:start()); s:enable("A.B"); io.stdout:write("up\n"); io.stdout:flush(); io.read(); s:stop()' <"$tmp/hold" >"$2" 2>&1 &
}
wait_up() { for _ in $(seq 100); do grep -q up "$1" && return 0; sleep 0.05; done; return 1; }

out=$("$exe" sessions --stale 2>&1); [[ $? -eq 0 ]] && expect "sessions --stale: none at first" "$out" '^no stale sessions$' || bad "sessions --stale status" "$out"
# the note is not a row: stdout empty when there is nothing to list
out=$("$exe" sessions --stale 2>/dev/null); [[ -z $out ]] && ok || bad "sessions --stale: stdout empty when none" "$out"
out=$("$exe" sessions 2>/dev/null); [[ -z $out ]] && ok || bad "sessions: stdout empty when none" "$out"
out=$("$exe" stop --stale 2>/dev/null); [[ -z $out ]] && ok || bad "stop --stale: stdout empty when none" "$out"
out=$("$exe" sessions --stale --json 2>&1); expect "sessions --stale --json: empty array" "$out" '^\[\]$'
out=$("$exe" stop --stale 2>&1); [[ $? -eq 0 ]] && expect "stop --stale: nothing to do" "$out" '^no stale sessions$' || bad "stop --stale (none) status" "$out"

owner_up cli-live "$tmp/live.out"; live=$!
owner_up cli-dead1 "$tmp/dead1.out"; dead1=$!
owner_up cli-dead2 "$tmp/dead2.out"; dead2=$!
owner_up cli-dead3 "$tmp/dead3.out"; dead3=$!
wait_up "$tmp/live.out" && wait_up "$tmp/dead1.out" && wait_up "$tmp/dead2.out" && wait_up "$tmp/dead3.out" && ok ||
  bad "stale: owners up" "$(cat "$tmp"/live.out "$tmp"/dead*.out)"
out=$("$exe" sessions --stale 2>&1); expect "sessions --stale: none while owners live" "$out" '^no stale sessions$'
kill -9 $dead1 $dead2 $dead3; wait $dead1 $dead2 $dead3 2>/dev/null

out=$("$exe" sessions --stale 2>&1)
expect "sessions --stale: columns" "$out" '^NAME +OWNER +STATE +MODE +PROVIDERS +EVENTS +LOST$'
expect "sessions --stale: lists the dead owner's session" "$out" "^cli-dead1 +$dead1 +stale +realtime +1 +0 +0$"
[[ $(grep -c ' stale ' <<<"$out") -eq 3 ]] && ok || bad "sessions --stale: 3 stale rows" "$out"
grep -q cli-live <<<"$out" && bad "sessions --stale: leaves out the live session" "$out" || ok
out=$("$exe" sessions 2>&1); expect "sessions: live one still running" "$out" "^cli-live +$live +running"
out=$("$exe" sessions --stale --json 2>&1)
expect "sessions --stale --json: stale entry" "$out" '"name":"cli-dead1"'
grep -q '"cli-live"' <<<"$out" && bad "sessions --stale --json: no live entry" "$out" || ok
grep -q '"state":"running"' <<<"$out" && bad "sessions --stale --json: only stale states" "$out" || ok

# --stale combined with a name: the name is stopped once, the other stale one too
out=$("$exe" stop --stale cli-dead1 2>&1); st=$?
[[ $st -eq 0 ]] && ok || bad "stop --stale NAME: status $st" "$out"
[[ $(grep -c '^stopped cli-dead1$' <<<"$out") -eq 1 ]] && ok || bad "stop --stale NAME: named one stopped once" "$out"
expect "stop --stale NAME: other stale ones stopped" "$out" '^stopped cli-dead2$'
expect "stop --stale NAME: other stale ones stopped (2)" "$out" '^stopped cli-dead3$'
grep -q cli-live <<<"$out" && bad "stop --stale NAME: live session untouched" "$out" || ok
[[ $(wc -l <<<"$out") -eq 3 ]] && ok || bad "stop --stale NAME: exactly 3 lines" "$out"
out=$("$exe" sessions 2>&1)
grep -q cli-dead <<<"$out" && bad "stop --stale: stale sessions gone" "$out" || ok
expect "stop --stale: live session still running" "$out" "^cli-live +$live +running"
kill -0 $live 2>/dev/null && ok || bad "stop --stale: live owner still alive"
out=$("$exe" sessions --stale 2>&1); expect "sessions --stale: none after stop --stale" "$out" '^no stale sessions$'

# the --clean-stale alias, alone
owner_up cli-dead4 "$tmp/dead4.out"; dead4=$!
wait_up "$tmp/dead4.out" && ok || bad "clean-stale: owner up" "$(cat "$tmp/dead4.out")"
kill -9 $dead4; wait $dead4 2>/dev/null
out=$("$exe" stop --clean-stale 2>&1); st=$?
[[ $st -eq 0 && $out == "stopped cli-dead4" ]] && ok || bad "stop --clean-stale: status $st" "$out"
out=$("$exe" sessions 2>&1)
grep -q cli-dead4 <<<"$out" && bad "stop --clean-stale: stale session gone" "$out" || ok
expect "stop --clean-stale: live session still running" "$out" "^cli-live +$live +running"
out=$("$exe" stop --stale 2>&1); [[ $? -eq 0 ]] && expect "stop --stale: none left" "$out" '^no stale sessions$' || bad "stop --stale (none left) status" "$out"

# a failing named stop with --stale: exit 1, stale cleanup still reported
out=$("$exe" stop --stale cli-nosuch 2>&1); [[ $? -eq 1 ]] && expect "stop --stale unknown NAME" "$out" 'cli-nosuch: .*NOTFOUND' || bad "stop --stale unknown NAME status" "$out"
out=$("$exe" stop --bogus 2>&1); [[ $? -eq 2 ]] && expect "stop: bad option" "$out" "unknown option '--bogus'" || bad "stop: bad option status" "$out"
out=$("$exe" sessions --stale extra 2>&1); [[ $? -eq 2 ]] && expect "sessions --stale: extra argument" "$out" "unexpected argument 'extra'" || bad "sessions --stale extra status" "$out"

# the live owner ends normally and its session goes with it
echo >&3; wait $live; st=$?
[[ $st -eq 0 ]] && ok || bad "live owner: exit status $st" "$(cat "$tmp/live.out")"
exec 3>&-
out=$("$exe" sessions 2>&1); expect "live owner's session gone" "$out" '^no sessions$'

# watch: events of a C producer and a Lua producer, text and JSON
"$exe" watch -p EtwLua.Native:info --max-events 5 --session cli-watch >"$tmp/watch.out" 2>"$tmp/watch.err" &
w=$!
for _ in $(seq 100); do "$exe" sessions | grep -q cli-watch && break; sleep 0.05; done
"$native" 5 >/dev/null
wait $w; st=$?
out=$(cat "$tmp/watch.out")
[[ $st -eq 0 ]] && ok || bad "watch: status $st" "$(cat "$tmp/watch.err")"
[[ $(grep -Ec '^[0-9T:.-]+Z [0-9]+/[0-9]+ EtwLua.Native/Tick\(level=4 keyword=0x1\) i=' <<<"$out") -eq 5 ]] && ok || bad "watch: 5 text lines" "$out"
expect "watch: values" "$out" 'i=4 square=16 pid_low=4 big=9223372036854775812 msg="hello-etw"'

"$exe" watch -p Test.Producer:5:0x1 --format json --max-events 3 --session cli-watch-json >"$tmp/wj.out" 2>&1 &
w=$!
for _ in $(seq 100); do "$exe" sessions | grep -q cli-watch-json && break; sleep 0.05; done
"$exe" "$src/tests/spec/fixtures/producer.lua" Test.Producer 3 >/dev/null
wait $w
out=$(cat "$tmp/wj.out")
[[ $(grep -c '^{"provider":"Test.Producer".*"name":"Seq"' <<<"$out") -eq 3 ]] && ok || bad "watch json: 3 lines" "$out"
expect "watch json: fields" "$out" '"fields":\{"n":3,"text":"event 3","half":1.5\}'
out=$("$exe" sessions 2>&1); expect "watch stops its session" "$out" '^no sessions$'

out=$("$exe" watch 2>&1); [[ $? -eq 2 ]] && expect "watch: needs -p" "$out" 'give at least one provider' || bad "watch usage" "$out"
out=$("$exe" watch -p X:loud 2>&1); expect "watch: bad level" "$out" "bad level 'loud'"
out=$("$exe" watch -p X --format xml 2>&1); expect "watch: bad format" "$out" 'format must be text, json or csv'

finish
