#!/usr/bin/env bash
# The session commands: etwlua sessions / stop / watch, with producers in
# other processes. Uses a private session runtime directory.
#   cli_session_test.sh PATH_TO_ETWLUA PATH_TO_NATIVE_PROVIDER SOURCE_DIR
set -u
exe=$1 native=$2 src=$3
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [[ -n ${2:-} ]] && echo "$2" | head -20; }
expect() { # NAME OUTPUT REGEX
  if grep -Eq -- "$3" <<<"$2"; then ok; else bad "$1" "$2"; fi
}

out=$("$exe" sessions 2>&1); expect "sessions: none" "$out" '^no sessions$'
out=$("$exe" sessions --bogus 2>&1); [[ $? -eq 1 ]] && expect "sessions: bad option" "$out" "unknown option '--bogus'" || bad "sessions: bad option status" "$out"

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

# watch: events of a C producer and a Lua producer, text and JSON
"$exe" watch -p EtwLua.Native:info --max-events 5 --session cli-watch >"$tmp/watch.out" 2>"$tmp/watch.err" &
w=$!
for _ in $(seq 100); do "$exe" sessions | grep -q cli-watch && break; sleep 0.05; done
"$native" 5 >/dev/null
wait $w; st=$?
out=$(cat "$tmp/watch.out")
[[ $st -eq 0 ]] && ok || bad "watch: status $st" "$(cat "$tmp/watch.err")"
[[ $(grep -c '^EtwLua.Native/Tick(level=4 keyword=0x1) i=' <<<"$out") -eq 5 ]] && ok || bad "watch: 5 text lines" "$out"
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

out=$("$exe" watch 2>&1); [[ $? -eq 1 ]] && expect "watch: needs -p" "$out" 'give at least one provider' || bad "watch usage" "$out"
out=$("$exe" watch -p X:loud 2>&1); expect "watch: bad level" "$out" "bad level 'loud'"
out=$("$exe" watch -p X --format xml 2>&1); expect "watch: bad format" "$out" 'format must be text or json'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
