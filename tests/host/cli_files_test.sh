#!/usr/bin/env bash
# `etwlua dump` and `etwlua info`: first on a file this test records with
# `etwlua capture` and a Lua producer (exact text, JSON, CSV and counts;
# needs nothing but the build), then over the ETL samples in
# SHARED/etl-samples: formats, filters, exit statuses, damaged and missing
# files. Without the samples those cases are counted as skipped (exit 77).
#   cli_files_test.sh PATH_TO_ETWLUA SHARED_DIR
set -u
exe=$(realpath "$1")
shared=${2:-${ETWLUA_SHARED:-}}
samples=$shared/etl-samples
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/check.sh"

# count NAME LINES[:STATUS] command...: stdout has exactly LINES lines and the
# status is STATUS (default 0)
count() {
  local name=$1 want=${2%%:*} want_rc=0 n rc
  [[ $2 == *:* ]] && want_rc=${2#*:}
  shift 2
  if [[ -n $SKIP_REASON ]]; then skip "$name" "$SKIP_REASON"; return; fi
  "$@" >"$tmp/count.out" 2>/dev/null </dev/null; rc=$?
  n=$(wc -l <"$tmp/count.out")
  if [[ $n -eq $want && $rc -eq $want_rc ]]; then ok
  else bad "$name: $n lines, status $rc (want $want lines, status $want_rc)"; fi
}

# ---------------------------------------- a file recorded here (no ../shared)
# own.lua writes 5 Test.Own.A/Tick {n, text} then 2 Test.Own.B/Done {half};
# bash prints its pid and execs etwlua, so the producer's pid (= its main
# thread's tid) is known. The file also holds the session's header event
# (EventTraceGuid 68fdd900-..., first; decoded by the built-in kernel table as
# MSNT_SystemTrace/EventTrace/Header): 8 records in all.
cat >"$tmp/own.lua" <<'EOF'
local etw = require "etw"
local a <close> = etw.Provider("Test.Own.A")
local b <close> = etw.Provider("Test.Own.B")
local eb = etw.EventBuilder()
for n = 1, 5 do
  eb:reset("Tick", { level = 4, keyword = 1 }):add_int64("n", n):add_str8("text", "tick " .. n)
  assert(a:write(eb) == 0, "Tick not written")
end
for n = 1, 2 do
  eb:reset("Done", { level = 2, keyword = 6, id = 9 }):add_float64("half", n / 2)
  assert(b:write(eb) == 0, "Done not written")
end
EOF
own=$tmp/own.etl
out=$(cd "$tmp" && "$exe" capture -p Test.Own.A -p Test.Own.B -o own.etl --session own-cap -- \
        bash -c "echo pid \$\$; exec '$exe' own.lua" 2>&1)
status "own: capture" $? 0 "$out"
expect "own: capture summary" "$out" '^etwlua capture: 7 events, 0 lost, '
pid=$(sed -n 's/^pid //p' <<<"$out")
T='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{7}Z'
# whole outputs, line by line (\A and \z: nothing before or after)
text="\\A$T [0-9]+/[0-9]+ MSNT_SystemTrace/EventTrace/Header\\(level=0 keyword=0x0\\) BufferSize=65536 [^\n]* SessionNameString=\"own-cap\" LogFileNameString=\"own\\.etl\""
for n in 1 2 3 4 5; do
  text+=$'\n'"$T $pid/$pid Test\\.Own\\.A/Tick\\(level=4 keyword=0x1\\) n=$n text=\"tick $n\""
done
text+=$'\n'"$T $pid/$pid Test\\.Own\\.B/Done\\(level=2 keyword=0x6\\) half=0\\.5"
text+=$'\n'"$T $pid/$pid Test\\.Own\\.B/Done\\(level=2 keyword=0x6\\) half=1\\n\\z"
check "own: dump text, every line in order" 0 "$text" "$exe" dump "$own"
count "own: dump text, 8 lines" 8 "$exe" dump "$own"
# JSON Lines: each line parsed (cjson); names, fields, ids, levels and pids in order
cat >"$tmp/json.lua" <<'EOF'
local cjson = require "cjson"
local function s(v) return type(v) == "number" and string.format("%.17g", v) or tostring(v) end
local got = {}
for line in io.lines() do
  local e = cjson.decode(line)
  local f = {}
  for _, k in ipairs { "n", "text", "half" } do
    if e.fields[k] ~= nil then f[#f + 1] = k .. "=" .. s(e.fields[k]) end
  end
  got[#got + 1] = table.concat({ s(e.provider), s(e.name), s(e.id), s(e.level), s(e.keyword),
                                 s(e.pid), s(e.tid), table.concat(f, ",") }, " ")
end
print(#got)
print(table.concat(got, "\n"))
EOF
json="\\A8"$'\n'"MSNT_SystemTrace EventTrace/Header 0 0 0 [0-9]+ [0-9]+ "
for n in 1 2 3 4 5; do json+=$'\n'"Test\\.Own\\.A Tick 0 4 1 $pid $pid n=$n,text=tick $n"; done
json+=$'\n'"Test\\.Own\\.B Done 9 2 6 $pid $pid half=0\\.5"$'\n'"Test\\.Own\\.B Done 9 2 6 $pid $pid half=1\\n\\z"
check "own: dump json, every line parsed" 0 "$json" \
  bash -c "'$exe' dump -f json '$own' | '$exe' '$tmp/json.lua'"
csv='\Atimestamp,provider,event,id,level,opcode,pid,tid,cpu,fields'
csv+=$'\n'"$T,MSNT_SystemTrace,EventTrace/Header,0,0,0,[0-9]+,[0-9]+,[0-9]+,\"\\{\"\"BufferSize\"\":65536,[^\n]*\"\"SessionNameString\"\":\"\"own-cap\"\",\"\"LogFileNameString\"\":\"\"own\\.etl\"\"\\}\""
for n in 1 2 3 4 5; do
  csv+=$'\n'"$T,Test\\.Own\\.A,Tick,0,4,0,$pid,$pid,[0-9]+,\"\\{\"\"n\"\":$n,\"\"text\"\":\"\"tick $n\"\"\\}\""
done
csv+=$'\n'"$T,Test\\.Own\\.B,Done,9,2,0,$pid,$pid,[0-9]+,\"\\{\"\"half\"\":0\\.5\\}\""
csv+=$'\n'"$T,Test\\.Own\\.B,Done,9,2,0,$pid,$pid,[0-9]+,\"\\{\"\"half\"\":1\\}\"\\n\\z"
check "own: dump csv, header and every row" 0 "$csv" "$exe" dump -f csv "$own"
count "own: dump -p one provider" 5 "$exe" dump -p Test.Own.A "$own"
count "own: dump -e NAME" 2 "$exe" dump -e Done "$own"
count "own: dump --filter" 2 "$exe" dump --filter 'fields.n and fields.n > 3' "$own"
by_provider=$'^events by provider:\n +5  Test\\.Own\\.A \\{[0-9a-f-]{36}\\}\n +2  Test\\.Own\\.B \\{[0-9a-f-]{36}\\}\n +1  MSNT_SystemTrace \\{68fdd900-4a3e-11d1-84f4-0000f80464e3\\}\n\n'
by_event=$'^events by provider / event:\n +5  Test\\.Own\\.A / Tick\n +2  Test\\.Own\\.B / Done\n +1  MSNT_SystemTrace / EventTrace/Header\n\\z'
check "own: info counts" 0 \
  "^session: +own-cap\$ && ^events: +8\$ && ^events lost: +0 \\(header\\), buffers lost: 0, buffers flagged with loss: 0\$ && ^corrupt records: +0\$ && $by_provider && $by_event" \
  "$exe" info "$own"
check "own: info --top 1" 0 $'^events by provider / event:\n +5  Test\\.Own\\.A / Tick\n +\\.\\.\\.  \\(2 more\\)\n\\z' \
  "$exe" info --top 1 "$own"
cat >"$tmp/info.lua" <<'EOF'
local d = require("cjson").decode(io.read("a"))
local function s(v) return type(v) == "number" and string.format("%.17g", v) or tostring(v) end
local c = {}
for _, x in ipairs(d.event_counts) do c[#c + 1] = s(x.provider) .. "/" .. x.event .. "=" .. s(x.count) end
print(s(d.events), s(d.events_lost), s(d.corrupt), d.header.logger_name, table.concat(c, " "))
EOF
check "own: info json counts" 0 $'^8\t0\t0\town-cap\tTest\\.Own\\.A/Tick=5 Test\\.Own\\.B/Done=2 MSNT_SystemTrace/EventTrace/Header=1$' \
  bash -c "'$exe' info -f json '$own' | '$exe' '$tmp/info.lua'"

# ---------------------------------------- the ETL samples of ../shared
if [[ -z $shared || ! -f $shared/DESIGN.md ]]; then
  SKIP_REASON="../shared absent (pass the shared dir or set ETWLUA_SHARED)"
fi

pt=$samples/perfview/primitive-types.etl
sd=$samples/perfview/SelfDescribingSingleEvent.etl
wu=$samples/s4/WindowsUpdate.20251008.140245.443.8.etl
ts='2021-09-09T14:59:35\.8001567Z'

# --- dump: formats
check "dump text: time pid/tid event fields" 0 \
  "^$ts 33984/21768 solar_system/PrimitiveTypesTest\(level=5 keyword=0x0\) string_type=\"Mercury\" boolean_type=false char_type=77 int16_type=-51" \
  "$exe" dump "$pt"
count "dump prints every record" 7 "$exe" dump "$pt"
check "dump json: one object per line" 0 \
  "^\{\"provider\":\"solar_system\",\"provider_id\":\"d3dd3dd4-aac2-4e2a-8dd4-a8fb61b77615\",\"name\":\"PrimitiveTypesTest\".*\"timestamp\":\"$ts\".*\"fields\":\{\"string_type\":\"Mercury\"" \
  "$exe" dump --format json "$pt"
# named: the 5 TraceLogging events and the log header (built-in kernel table)
check "dump json lines parse" 0 '^7 PrimitiveTypesTest 6$' bash -c \
  "'$exe' dump -f json '$pt' | python3 -c 'import json,sys; e=[json.loads(l) for l in sys.stdin]; print(len(e), e[-1][\"name\"], sum(1 for x in e if x.get(\"name\")))'"
check "dump csv: header and quoted JSON fields" 0 \
  "^timestamp,provider,event,id,level,opcode,pid,tid,cpu,fields$ && ^$ts,solar_system,PrimitiveTypesTest,0,5,0,33984,21768,2,\"\{\"\"string_type\"\":\"\"Mercury\"\",\"\"boolean_type\"\":false," \
  "$exe" dump --format=csv "$pt"
check "dump csv parses as CSV" 0 "^24 10 \{'a': \{'b': 'Hello', 'c': 'World!'\}\}$" bash -c \
  "'$exe' dump -f csv '$sd' | python3 -c 'import csv,json,sys; r=list(csv.reader(sys.stdin)); t=[x for x in r if x[2]==\"TestEvent\"][0]; print(len(r), len(r[0]), json.loads(t[9]))'"
check "dump struct field in text" 0 'MySource/TestEvent\(level=5 keyword=0x0\) a=\{b="Hello" c="World!"\}' "$exe" dump "$sd"

# --- dump: filters
count "--provider by name" 5 "$exe" dump -p solar_system "$pt"
count "--provider by GUID" 5 "$exe" dump --provider d3dd3dd4-aac2-4e2a-8dd4-a8fb61b77615 "$pt"
count "--provider twice (name and GUID of one provider) prints each event once" 5 \
  "$exe" dump -p solar_system -p '{D3DD3DD4-AAC2-4E2A-8DD4-A8FB61B77615}' "$pt"
count "--provider other" 0 "$exe" dump -p Other.Provider "$pt"
count "--event NAME" 1 "$exe" dump --event TestEvent "$sd"
count "--event NAME repeated" 49 "$exe" dump -e Agent -e ComApi "$wu"
count "--event ID" 22 "$exe" dump --event 0 "$sd"
count "--event ID (TraceLogging)" 1 "$exe" dump --event 3 "$sd"
count "--filter on fields" 4 "$exe" dump --filter 'fields.int32_type and fields.int32_type < -100' "$pt"
count "--filter on plain header names" 2 "$exe" dump --filter 'level == 0 and pid == 39096' "$pt"
count "--filter with helpers" 2 "$exe" dump --filter 'name and string.find(fields.string_type or "", "^M")' "$pt"
count "--filter and --provider together" 2 "$exe" dump -p solar_system --filter 'fields.boolean_type' "$pt"
count "--max-events" 3 "$exe" dump --max-events 3 "$wu"
check "--filter error inside: reported once, taken as false" 0 \
  '^etwlua dump: --filter failed \(taken as false\): filter:1: attempt to perform arithmetic on a nil value \(field .int32_type.\)$' \
  "$exe" dump --filter 'fields.int32_type + 0 < 0' "$pt"
# the same test on the fast path (a where= in C): a missing field is false there too, silently
check "--filter fast path: missing field false, no message" 0 '^$' \
  bash -c "'$exe' dump --filter 'fields.int32_type < 0' '$pt' 2>&1 >/dev/null"
count "--filter fast path and Lua path print the same" 4 "$exe" dump --filter 'fields.int32_type < -100' "$pt"
check "--filter error counted once" 0 '^1$' bash -c "'$exe' dump --filter 'fields.x.y' '$pt' 2>&1 >/dev/null | wc -l"
check "bad --filter expression fails before reading" 2 \
  "^etwlua dump: bad --filter expression: filter:1: .*near <eof>$" "$exe" dump --filter 'level ==' "$pt"
check "--filter has no io/os" 0 "attempt to index a nil value \(global 'os'\)" "$exe" dump --filter 'os.exit(3)' "$pt"

# --- dump: errors and statuses
check "missing file: status 1, named" 1 "^etwlua dump: NOTFOUND: $tmp/nope\.etl: No such file or directory$" \
  "$exe" dump "$tmp/nope.etl"
check "not an ETL file" 1 "^etwlua dump: CORRUPT: .*README\.md: offset 0x[0-9a-f]+: not an ETL file" \
  "$exe" dump "$samples/README.md"
check "no file: usage" 2 '^etwlua dump: give at least one \.etl file && usage: etwlua dump' "$exe" dump
check "bad --format" 2 '--format must be text, json or csv' "$exe" dump -f xml "$pt"
check "dump --help" 0 '^usage: etwlua dump FILE\.\.\. && Exit status: 0' "$exe" dump --help
[[ -z $SKIP_REASON ]] && python3 - "$wu" "$tmp" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<H', d, 0x2000 + 664, 0xFFFF)          # a bad record size in buffer 2
open(sys.argv[2] + '/badsize.etl', 'wb').write(d)
open(sys.argv[2] + '/trunc.etl', 'wb').write(bytes(d[:0x3000 + 2000]))
EOF
check "record error: reported with file and offset, dump goes on, status 3" 3 \
  "^etwlua dump: $tmp/badsize\.etl: offset 0x2298: record size 65535 outside .*record skipped|rest of the buffer skipped$" \
  "$exe" dump "$tmp/badsize.etl"
count "record error: the other events are printed" 72:3 "$exe" dump "$tmp/badsize.etl"
check "truncated file" 3 "^etwlua dump: $tmp/trunc\.etl: offset 0x3000: file ends inside the buffer" \
  "$exe" dump "$tmp/trunc.etl"
count "two files merge" 14 "$exe" dump "$pt" "$pt"
check "two files merge by time (later file first on the command line)" 0 \
  $'^2021-09-09T14:59:37\.4845027Z .*Jupiter.*\n2022-04-20T21:27:15\.2722435Z ' "$exe" dump "$sd" "$pt"

# --- dump: output that cannot be written (the lines are written from C)
net=$samples/perfview/net.4.5.2.x64.etl
for f in text json csv; do
  check "dump -f $f into a full disk: status 1, says why" 1 \
    '^etwlua dump: cannot write the output: IO: No space left on device$' \
    bash -c "'$exe' dump -f $f '$pt' >/dev/full"
done
# a reader that goes away: killed by SIGPIPE as any filter is (status 141)...
check "dump into a pipe closed early: SIGPIPE" 0 '^141$' \
  bash -c "'$exe' dump -f json '$net' | head -1 >/dev/null; echo \${PIPESTATUS[0]}"
# ... and with SIGPIPE ignored it stops at the first failed write (EPIPE)
check "dump into a pipe closed early, SIGPIPE ignored: status 1, says why" 0 \
  '^1 etwlua dump: cannot write the output: IO: Broken pipe$' \
  bash -c "trap '' PIPE; '$exe' dump -f json '$net' 2>'$tmp/epipe.err' | head -1 >/dev/null; echo \${PIPESTATUS[0]} \$(cat '$tmp/epipe.err')"

# --- info
check "info: header, span, counts" 0 \
  '^file: .*primitive-types\.etl$ && ^system: +Windows 10\.0\.19043, 64-bit pointers, 8 CPUs && ^session: +solar_system$ && ^first event: +2021-09-09T14:59:32\.8578510Z$ && ^last event: +2021-09-09T14:59:37\.4845027Z$ && ^span: +4\.627 s$ && ^events: +7$ && ^events lost: +0 && ^corrupt records: +0$ && ^ +5  solar_system \{d3dd3dd4-aac2-4e2a-8dd4-a8fb61b77615\}$ && ^ +5  solar_system / PrimitiveTypesTest$' \
  "$exe" info "$pt"
check "info: events lost from the header" 0 '^events lost: +41 \(header\)' "$exe" info "$wu"
check "info json" 0 '^82 41 0 Agent$' bash -c \
  "'$exe' info --format json '$wu' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"events\"], d[\"events_lost\"], d[\"corrupt\"], d[\"event_counts\"][0][\"event\"])'"
check "info json: header fields" 0 '^solar_system 8 2021-09-09T14:59:32.8578510Z 132756731728578510$' bash -c \
  "'$exe' info -f json '$pt' | python3 -c 'import json,sys; h=json.load(sys.stdin)[\"header\"]; print(h[\"logger_name\"], h[\"pointer_size\"], h[\"start_time\"], h[\"start_filetime\"])'"
check "info --top" 0 $'^ +5  solar_system / PrimitiveTypesTest\n +\\.\\.\\.  \\(2 more\\)$' "$exe" info --top 1 "$pt"
check "info: record errors" 3 '^corrupt records: 1$ && ^  offset 0x2298: record size 65535' "$exe" info "$tmp/badsize.etl"
check "info: missing file" 1 '^etwlua info: NOTFOUND: ' "$exe" info "$tmp/nope.etl"
check "info --help" 0 '^usage: etwlua info FILE' "$exe" info --help
check "help lists dump and info" 0 '^  dump  && ^  info  ' "$exe" help

finish
