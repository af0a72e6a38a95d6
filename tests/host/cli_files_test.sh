#!/usr/bin/env bash
# `etwlua dump` and `etwlua info` over the ETL samples in SHARED/etl-samples:
# formats, filters, exit statuses, damaged and missing files.
#   cli_files_test.sh PATH_TO_ETWLUA SHARED_DIR
# Exits 77 (skipped) when SHARED_DIR has no etl-samples.
set -u
exe=$1
shared=${2:-${ETWLUA_SHARED:-}}
samples=$shared/etl-samples
if [[ -z $shared || ! -f $samples/perfview/primitive-types.etl ]]; then
  echo "SKIP: no ETL samples (pass the shared dir, or set ETWLUA_SHARED)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/check.sh"

# count NAME EXPECTED_LINES command...: stdout has exactly that many lines, status 0
count() {
  local name=$1 want=$2; shift 2
  local n rc
  n=$("$@" 2>/dev/null </dev/null | wc -l); rc=${PIPESTATUS[0]}
  if [[ $n -eq $want ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: $n lines (want $want)"
  fi
}

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
check "dump json lines parse" 0 '^7 PrimitiveTypesTest 5$' bash -c \
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
  '^etwlua dump: --filter failed \(taken as false\): filter:1: attempt to compare nil with number$' \
  "$exe" dump --filter 'fields.int32_type < 0' "$pt"
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
python3 - "$wu" "$tmp" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
struct.pack_into('<H', d, 0x2000 + 664, 0xFFFF)          # a bad record size in buffer 2
open(sys.argv[2] + '/badsize.etl', 'wb').write(d)
open(sys.argv[2] + '/trunc.etl', 'wb').write(bytes(d[:0x3000 + 2000]))
EOF
check "record error: reported with file and offset, dump goes on, status 3" 3 \
  "^etwlua dump: $tmp/badsize\.etl: offset 0x2298: record size 65535 outside .*record skipped|rest of the buffer skipped$" \
  "$exe" dump "$tmp/badsize.etl"
count "record error: the other events are printed" 72 "$exe" dump "$tmp/badsize.etl"
check "truncated file" 3 "^etwlua dump: $tmp/trunc\.etl: offset 0x3000: file ends inside the buffer" \
  "$exe" dump "$tmp/trunc.etl"
count "two files merge" 14 "$exe" dump "$pt" "$pt"
check "two files merge by time (later file first on the command line)" 0 \
  $'^2021-09-09T14:59:37\.4845027Z .*Jupiter.*\n2022-04-20T21:27:15\.2722435Z ' "$exe" dump "$sd" "$pt"

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

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
