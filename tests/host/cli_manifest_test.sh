#!/usr/bin/env bash
# `etwlua dump/info --manifest` and ETWLUA_MANIFEST_PATH over
# SHARED/etl-samples/tx/HTTP_Server.etl (a manifest provider's trace):
# decoded names and fields, NO_SCHEMA reported once per kind, a manifest that
# does not parse stops the command before any event.
#   cli_manifest_test.sh PATH_TO_ETWLUA SHARED_DIR
# Exits 77 (skipped) when SHARED_DIR has no etl-samples.
set -u
exe=$1
shared=${2:-${ETWLUA_SHARED:-}}
tx=$shared/etl-samples/tx
if [[ -z $shared || ! -f $tx/HTTP_Server.etl ]]; then
  echo "SKIP: no ETL samples (pass the shared dir, or set ETWLUA_SHARED)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset ETWLUA_MANIFEST_PATH

. "$(dirname "$0")/check.sh"

etl=$tx/HTTP_Server.etl
man=$tx/HTTP_Server.man
first='^2011-01-23T22:07:27\.2257591Z 0/0 Microsoft-Windows-HttpService/HTTP Connection Trace Task\(level=4 keyword=0x8000000000000010\) ConnectionObj=0xfffffa8003e92010 LocalAddrLength=28 LocalAddr=0x17000050000000002001489800000fff00005efe0a78109d00000000 '

check "dump --manifest: names and fields" 0 "$first" "$exe" dump "$etl" --manifest "$man"
check "dump --manifest: value maps shown" 0 'Type=0\(ResponseLogging\) Group=0\(Site\) Format=0\(W3C\)' \
  "$exe" dump "$etl" --manifest "$man"
# the line count first, then grep: the pipeline's stages run at once, so a
# grep inside it could read the file before dump wrote (or created) it
check "dump --manifest: nothing without a schema" 0 '^0 2042$' bash -c \
  "n=\$('$exe' dump '$etl' --manifest '$man' 2>'$tmp/err' | wc -l); echo \$(grep -c NO_SCHEMA '$tmp/err') \$n"
# without: every HttpService kind reported once (not once per event) on stderr
check "dump: NO_SCHEMA once per provider/id/version" 0 '^1 1 0$' bash -c \
  "'$exe' dump '$etl' 2>'$tmp/err' >/dev/null; k=\$(grep -c 'NO_SCHEMA: dd5ef90a-6398-47a4-ad34-4dcecdef795f/21/0 ' '$tmp/err'); \
   all=\$(grep -c NO_SCHEMA '$tmp/err'); uniq=\$(sort -u '$tmp/err' | grep -c NO_SCHEMA); echo \$k \$(( all == uniq )) \$(( all < 100 ? 0 : 1 ))"
check "dump: NO_SCHEMA text" 0 '^etwlua dump: NO_SCHEMA: dd5ef90a-6398-47a4-ad34-4dcecdef795f/21/0 \(printed undecoded; --manifest gives schemas\)$' \
  "$exe" dump "$etl" --max-events 3
printf '<instrumentationManifest>\n<instrumentation>\n<events><provider name="X" guid="bad"/></events>\n</instrumentation></instrumentationManifest>\n' >"$tmp/bad.man"
# ETWLUA_MANIFEST_PATH: directories (or files), ':'-separated; missing ones skipped
check "ETWLUA_MANIFEST_PATH" 0 "$first" env ETWLUA_MANIFEST_PATH="/nonexistent-never:$tx" "$exe" dump "$etl" 2>/dev/null || true
check "ETWLUA_MANIFEST_PATH: a broken manifest is an error" 1 "^etwlua dump: CORRUPT: ETWLUA_MANIFEST_PATH: $tmp/bad.man:3: " \
  env ETWLUA_MANIFEST_PATH="$tmp/bad.man" "$exe" dump "$etl"
check "ETWLUA_MANIFEST_PATH" 0 "$first" env ETWLUA_MANIFEST_PATH="$tx" "$exe" dump "$etl"
check "ETWLUA_MANIFEST_PATH with --manifest: both used" 0 "$first" \
  env ETWLUA_MANIFEST_PATH="$tx" "$exe" dump "$etl" --manifest "$shared/manifests/ClrEtwAll.man"
# a manifest that does not parse: file, line, rule; no event printed
printf '<instrumentationManifest>\n<instrumentation>\n<events><provider name="X" guid="bad"/></events>\n</instrumentation></instrumentationManifest>\n' >"$tmp/bad.man"
check "dump: bad manifest names file, line, rule" 1 "^etwlua dump: CORRUPT: $tmp/bad.man:3: provider 'X': guid 'bad' is not a GUID$" \
  "$exe" dump "$etl" --manifest "$man" --manifest "$tmp/bad.man"
check "dump: bad manifest, nothing printed" 0 '^0$' bash -c "'$exe' dump '$etl' --manifest '$tmp/bad.man' 2>/dev/null | wc -l"
check "dump: missing manifest" 1 "^etwlua dump: NOTFOUND: $tmp/nope.man: no such manifest file or directory$" \
  "$exe" dump "$etl" --manifest "$tmp/nope.man"
check "info --manifest: counts by provider name and event name" 0 \
  '^ +2041  Microsoft-Windows-HttpService \{dd5ef90a-6398-47a4-ad34-4dcecdef795f\}$ && ^ +1746  Microsoft-Windows-HttpService / HTTP Request Trace Task$' \
  "$exe" info "$etl" --manifest "$tx/"
check "help dump: --manifest" 0 '^  --manifest M  && ETWLUA_MANIFEST_PATH' "$exe" help dump
check "help dump: EventSource manifests in the trace" 0 'EventSource events by the manifest the trace itself' "$exe" help dump
check "help info: --manifest, ETWLUA_MANIFEST_PATH, NO_SCHEMA" 0 '^  --manifest M  && ETWLUA_MANIFEST_PATH && NO_SCHEMA' \
  "$exe" help info
check "info: events without a schema counted by id, marked NO_SCHEMA" 0 \
  '^ +[0-9]+  Microsoft-Windows-HttpService / id=21 opcode=[0-9]+ version=0 NO_SCHEMA$' "$exe" info "$etl"
# an EventSource's manifest carried in the trace: its events named with no manifest given
pv=$shared/etl-samples/perfview/net.4.5.2.x64.etl
check "info: EventSource events named by the trace's own manifest" 0 \
  '^ +53  PerfView / PerfViewLog$ && ^ +2  PerfView / ManifestData$' "$exe" info "$pv"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
