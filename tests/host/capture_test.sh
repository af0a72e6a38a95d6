#!/usr/bin/env bash
# etwlua capture: record a command's events into an ETL file, the exit
# status, --duration, Ctrl+C, `etwlua stop`, circular and rotating files, a
# SIGKILLed capture leaving a readable file, usage errors. Uses a private
# session runtime directory; every wait is bounded.
#   capture_test.sh PATH_TO_ETWLUA PATH_TO_NATIVE_PROVIDER
set -u
exe=$(realpath "$1") native=$(realpath "$2")
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$(realpath "$0")")/check.sh"
cd "$tmp" || exit 1

# count FILE...: EtwLua.Native events in the files, then "errors=N" (N: corrupt records)
count() {
  local list=""
  for f in "$@"; do list="$list'$f',"; done
  "$exe" -e "
    local etw = require 'etw'
    local c = assert(etw.Consumer { files = { $list } })
    local n, e = 0, 0
    c:on({ provider = 'EtwLua.Native' }, function() n = n + 1 end)
    c:on_corrupt(function() e = e + 1 end)
    c:run()
    print(n .. ' errors=' .. e)"
}

# u32/i64 of the logfile header (buffer 0, record at 0x48, fields at 0x68)
lfh() { # FILE OFFSET SIZE
  python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); o=0x68+int(sys.argv[2],0); print(struct.unpack_from("<Q" if sys.argv[3]=="8" else "<I", d, o)[0])' "$1" "$2" "$3"
}

wait_session() { # NAME: until it runs with one provider enabled (5 s at most)
  for _ in $(seq 100); do
    "$exe" sessions 2>/dev/null | grep -Eq "^$1 +[0-9]+ +running +[a-z]+ +1 " && return 0
    sleep 0.05
  done
  return 1
}

# help and usage
out=$("$exe" help 2>&1); expect "help lists capture" "$out" '^  capture +record providers'
out=$("$exe" capture --help 2>&1); status "capture --help" $? 0 "$out"
expect "--help shows usage" "$out" '^usage: etwlua capture -p NAME'
out=$("$exe" capture -o x.etl 2>&1); status "no provider" $? 2 "$out"
expect "no provider: message" "$out" 'give at least one provider with -p NAME'
out=$("$exe" capture -p A 2>&1); status "no output" $? 2 "$out"
expect "no output: message" "$out" 'give the output file with -o FILE'
out=$("$exe" capture -p A -o x.etl --mode disk 2>&1); status "bad mode" $? 2 "$out"
expect "bad mode: message" "$out" '--mode must be file or circular'
out=$("$exe" capture -p A -o x.etl stray 2>&1); status "stray argument" $? 2 "$out"
expect "stray argument: message" "$out" "unexpected argument 'stray' \(put the command after --\)"
out=$("$exe" capture -p A -o x.etl --bogus 2>&1); status "unknown option" $? 2 "$out"
out=$("$exe" capture -p A:nonsense -o x.etl 2>&1); status "bad level" $? 2 "$out"
out=$("$exe" capture -p A -o nodir/x.etl -- true 2>&1); status "unwritable file" $? 1 "$out"
expect "unwritable file: message" "$out" 'nodir/x.etl: No such file or directory'
[[ ! -e x.etl ]] && ok || bad "no file is made on usage errors"

# a command's events: all in the file, counts printed, exit status kept
out=$("$exe" capture -p EtwLua.Native:info -o run.etl -- "$native" 500 2>&1); st=$?
status "capture -- command" $st 0 "$out"
expect "summary line" "$out" '^etwlua capture: 500 events, 0 lost, [0-9.]+ KB, run\.etl$'
expect "the command ran" "$out" 'native_provider: 500 of 500 events written'
got=$(count run.etl); expect "the file holds the 500 events" "$got" '^500 errors=0$'
[[ $(lfh run.etl 0x10 8) != 0 && $(lfh run.etl 0x24 4) -eq $(( $(stat -c %s run.etl) / 65536 )) ]] \
  && ok || bad "header patched at the end (EndTime, BuffersWritten)"
[[ $("$exe" sessions 2>&1) == "no sessions" ]] && ok || bad "no session left behind" "$("$exe" sessions 2>&1)"
out=$("$exe" capture -p EtwLua.Native -o st.etl -- sh -c 'exit 3' 2>&1); status "exit status kept" $? 3 "$out"
out=$("$exe" capture -p EtwLua.Native -o st.etl -- sh -c 'kill -9 $$' 2>&1)
status "killed command: 128 + 9" $? 137 "$out"
out=$("$exe" capture -p EtwLua.Native:5:0x2 -o kw.etl -- "$native" 20 2>&1)
expect "keywords filter: none of keyword 0x1" "$out" '^etwlua capture: 0 events'

# --duration, with a producer in another process
"$exe" capture -p EtwLua.Native -o dur.etl --duration 1.5 --session cap-dur >dur.out 2>&1 &
cap=$!
wait_session cap-dur && "$native" 40 >/dev/null
wait $cap; st=$?
status "--duration" $st 0 "$(cat dur.out)"
expect "--duration: counts" "$(cat dur.out)" '^etwlua capture: 40 events, 0 lost'
got=$(count dur.etl); expect "--duration: file" "$got" '^40 errors=0$'

# Ctrl+C (SIGINT) and SIGTERM end a capture cleanly
for sig in INT TERM; do
  "$exe" capture -p EtwLua.Native -o sig.etl --session cap-sig >sig.out 2>&1 &
  cap=$!
  wait_session cap-sig && "$native" 7 >/dev/null
  kill -$sig $cap
  for _ in $(seq 100); do kill -0 $cap 2>/dev/null || break; sleep 0.05; done
  wait $cap; st=$?
  status "SIG$sig stops the capture" $st 0 "$(cat sig.out)"
  expect "SIG$sig: counts" "$(cat sig.out)" '^etwlua capture: 7 events, 0 lost'
  [[ $(lfh sig.etl 0x10 8) != 0 ]] && ok || bad "SIG$sig: header patched"
done

# `etwlua stop NAME` ends a capture from another terminal
"$exe" capture -p EtwLua.Native -o stop.etl --session cap-stop >stop.out 2>&1 &
cap=$!
wait_session cap-stop && "$native" 3 >/dev/null
out=$("$exe" stop cap-stop 2>&1); expect "etwlua stop" "$out" '^stopped cap-stop$'
for _ in $(seq 100); do kill -0 $cap 2>/dev/null || break; sleep 0.05; done
wait $cap; st=$?
status "stopped elsewhere" $st 0 "$(cat stop.out)"
expect "stopped elsewhere: counts" "$(cat stop.out)" '^etwlua capture: 3 events'
got=$(count stop.etl); expect "stopped elsewhere: file" "$got" '^3 errors=0$'

# SIGKILL of the capture: the file stays readable up to the last flush
# (partial buffers are flushed at least once a second)
"$exe" capture -p EtwLua.Native -o kill.etl --session cap-kill >/dev/null 2>&1 &
cap=$!
wait_session cap-kill && "$native" 25 >/dev/null
sleep 1.6
kill -9 $cap; wait $cap 2>/dev/null
got=$(count kill.etl); expect "SIGKILL: the flushed events read back" "$got" '^25 errors=0$'
[[ $(lfh kill.etl 0x10 8) != 0 && $(lfh kill.etl 0x24 4) -eq $(( $(stat -c %s kill.etl) / 65536 )) ]] \
  && ok || bad "SIGKILL: the header says the last flush (EndTime, BuffersWritten)"
out=$("$exe" sessions 2>&1); expect "SIGKILL: the session is stale" "$out" '^cap-kill +[0-9]+ +stale'
"$exe" stop cap-kill >/dev/null 2>&1

# SIGKILL with a slow producer (10 events a second, never 64 in a row): the
# file lacks at most one flush interval (1 s = 10 events; +6 for a loaded
# machine) of what the session counted. The producer is killed first, so
# the session's count is final when the capture dies right after it.
"$exe" capture -p EtwLua.Native -o slow.etl --session cap-slow >/dev/null 2>&1 &
cap=$!
if wait_session cap-slow; then
  "$native" 1000 100 >/dev/null &
  prod=$!
  sleep 3.5
  kill -9 $prod; wait $prod 2>/dev/null
  kill -9 $cap; wait $cap 2>/dev/null
  counted=$("$exe" sessions --json | python3 -c 'import json,sys; print(next(s["events"] for s in json.load(sys.stdin) if s["name"]=="cap-slow"))')
  got=$(count slow.etl); n=${got%% *}
  [[ $got == *errors=0 && $counted -ge 20 && $((counted - n)) -le 16 ]] \
    && ok || bad "SIGKILL, slow producer: the file lacks at most a second" "file: $got, session counted $counted"
  [[ $(lfh slow.etl 0x24 4) -eq $(( $(stat -c %s slow.etl) / 65536 )) ]] \
    && ok || bad "SIGKILL, slow producer: BuffersWritten = the buffers in the file"
else
  bad "cap-slow did not start"
fi
"$exe" stop cap-slow >/dev/null 2>&1

# circular: only the newest --max-mb, written at the end
printf '#!/bin/sh\nfor i in 1 2 3 4; do "%s" 8000 >/dev/null; done\n' "$native" >four.sh
chmod +x four.sh                  # 4 x 8000 events, each burst fits a producer ring
out=$("$exe" capture -p EtwLua.Native -o circ.etl --mode circular --max-mb 1 -- ./four.sh 2>&1)
status "circular" $? 0 "$out"
expect "circular: all written" "$out" '^etwlua capture: 32000 events, 0 lost'
got=$(count circ.etl)
n=${got%% *}
[[ $n -gt 1000 && $n -lt 32000 && $got == *errors=0 && $(stat -c %s circ.etl) -le 1048576 ]] \
  && ok || bad "circular: the file keeps the newest buffers within --max-mb 1" "$got $(stat -c %s circ.etl)"
[[ $(lfh circ.etl 0x20 4) -eq 2 ]] && ok || bad "circular: LogFileMode 2 (EVENT_TRACE_FILE_MODE_CIRCULAR)"
[[ $(stat -c %a circ.etl) == 600 && $(stat -c %a run.etl) == 600 ]] \
  && ok || bad "files are made 0600" "$(stat -c '%a %n' circ.etl run.etl)"
out=$("$exe" capture -p EtwLua.Native -o fm.etl --file-mode 0640 -- true 2>&1)
[[ $(stat -c %a fm.etl 2>/dev/null) == 640 ]] && ok || bad "--file-mode 0640" "$out"
out=$("$exe" capture -p EtwLua.Native -o fm.etl --file-mode 999 -- true 2>&1); status "bad --file-mode: usage error" $? 2 "$out"
expect "bad --file-mode: message" "$out" '--file-mode must be octal permission bits'
out=$("$exe" capture -p EtwLua.Native -o c2.etl --mode circular --max-mb 1 --buffer-kb 1024 -- true 2>&1)
status "circular --max-mb under 2 buffers: usage error" $? 2 "$out"
expect "circular too small: message" "$out" '--max-mb must hold at least 2 buffers'

# a planted symbolic link under the circular copy's name is not followed
echo "keep me" >target.txt
ln -s target.txt planted.etl.tmp
out=$("$exe" capture -p EtwLua.Native -o planted.etl --mode circular -- true 2>&1)
status "planted link: error" $? 1 "$out"
expect "planted link: message names the copy" "$out" 'planted\.etl\.tmp, the circular copy being written: File exists'
[[ $(cat target.txt) == "keep me" && -L planted.etl.tmp && ! -e planted.etl ]] \
  && ok || bad "planted link: its target untouched, no file made" "$(ls -l)"
rm -f planted.etl.tmp target.txt

# rotation: out.etl, out_1.etl, ... each at most --max-mb
out=$("$exe" capture -p EtwLua.Native -o rot.etl --max-mb 2 -- ./four.sh 2>&1)
status "rotation" $? 0 "$out"
expect "rotation: summary names the extra files" "$out" '^etwlua capture: 32000 events, 0 lost, [0-9.]+ MB, rot\.etl and [0-9]+ more$'
files=(rot.etl rot_*.etl)
big=0; for f in "${files[@]}"; do [[ $(stat -c %s "$f") -gt 2097152 ]] && big=1; done
[[ ${#files[@]} -ge 3 && $big -eq 0 ]] && ok || bad "rotation: ${#files[@]} files of <= 2 MB" "$(ls -l)"
got=$(count "${files[@]}"); expect "rotation: every event in some file" "$got" '^32000 errors=0$'

# disk full, on a 256 KB tmpfs (root may mount one; otherwise reported skipped)
full=$tmp/full
mkdir -p "$full"
if mount -t tmpfs -o size=256k tmpfs "$full" 2>/dev/null; then
  trap 'umount "$full" 2>/dev/null; kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
  out=$("$exe" capture -p EtwLua.Native -o "$full/full.etl" -- "$native" 20000 2>&1)
  status "disk full: exit status 1" $? 1 "$out"
  expect "disk full: the message names the file and the error" "$out" \
    "writing $full/full\.etl failed: No space left on device"
  w=$(sed -n 's/^etwlua capture: \([0-9]*\) events, \([0-9]*\) lost.*/\1 \2/p' <<<"$out")
  got=$(count "$full/full.etl"); n=${got%% *}
  size=$(stat -c %s "$full/full.etl")
  [[ $got == *errors=0 && ${w% *} == "$n" && $(( ${w% *} + ${w#* } )) -eq 20000 && $n -gt 0 ]] \
    && ok || bad "disk full: the summary's counts are what the file holds" "$out / file: $got"
  [[ $((size % 65536)) -eq 0 && $(lfh "$full/full.etl" 0x24 4) -eq $((size / 65536)) && \
     $(lfh "$full/full.etl" 0x30 4) -eq ${w#* } && $(lfh "$full/full.etl" 0x10 8) != 0 ]] \
    && ok || bad "disk full: whole buffers, the header patched (BuffersWritten, EventsLost, EndTime)"
  rm -f "$full"/*
  out=$("$exe" capture -p EtwLua.Native -o "$full/c.etl" --mode circular --max-mb 1 -- "$native" 20000 2>&1)
  status "disk full, circular: exit status 1" $? 1 "$out"
  expect "disk full, circular: message" "$out" "writing $full/c\.etl failed: No space left on device"
  got=$(count "$full/c.etl"); n=${got%% *}
  expect "disk full, circular: never 0 lost for what the file lacks" "$out" \
    "^etwlua capture: $n events, $((20000 - n)) lost"
  [[ ! -e $full/c.etl.tmp ]] && ok || bad "disk full, circular: no copy left behind"
  rm -f "$full"/*
  head -c 250000 /dev/zero >"$full/filler" 2>/dev/null
  out=$("$exe" capture -p EtwLua.Native -o "$full/none.etl" -- true 2>&1)
  status "disk full at start" $? 1 "$out"
  expect "disk full at start: message" "$out" "file $full/none\.etl: No space left on device"
  [[ ! -e $full/none.etl ]] && ok || bad "disk full at start: no broken file left"
  umount "$full"
  # rotation: 1 MB files on a 1.5 MB disk; the message names the last file
  if mount -t tmpfs -o size=1536k tmpfs "$full" 2>/dev/null; then
    out=$("$exe" capture -p EtwLua.Native -o "$full/rot.etl" --max-mb 1 -- "$native" 40000 2>&1)
    status "disk full, rotation: exit status 1" $? 1 "$out"
    expect "disk full, rotation: message" "$out" \
      "writing $full/rot\.etl and the files after it \(the last one written: $full/rot_1\.etl\) failed: No space left on device"
    w=$(sed -n 's/^etwlua capture: \([0-9]*\) events.*/\1/p' <<<"$out")
    got=$(count "$full/rot.etl" "$full/rot_1.etl")
    expect "disk full, rotation: the files hold the events counted" "$got" "^$w errors=0$"
    umount "$full"
  else
    bad "second tmpfs mount failed"
  fi
else
  skip "disk-full checks" "cannot mount a tmpfs here"
fi

finish
