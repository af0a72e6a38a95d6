#!/usr/bin/env bash
# The C API from C++ (capi_cxx_test.cpp): without a session, and under an
# etwlua capture that enables EtwLua.Cxx at level info, keyword 0x1, whose
# file must then hold the program's 3 events. Private runtime directory.
#   capi_cxx_test.sh PATH_TO_ETWLUA PATH_TO_CAPI_CXX_TEST
set -u
exe=$(realpath "$1") prog=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../host/check.sh"
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

check "C++, no session" 0 '^[1-9][0-9]* passed, 0 failed' "$prog" none
check "C++, under a capture" 0 \
  '^[1-9][0-9]* passed, 0 failed && ^etwlua capture: 3 events, 0 lost, ' \
  "$exe" capture -p EtwLua.Cxx:info:0x1 -o cxx.etl -- "$prog" session
check "the file holds the C++ events" 0 '^3 CxxTick from C\+\+$' "$exe" -e "
  local etw = require 'etw'
  local c = assert(etw.Consumer { files = { 'cxx.etl' } })
  local n, name, msg = 0
  c:on({ provider = 'EtwLua.Cxx' }, function(ev) n = n + 1; name, msg = ev.name, ev.fields.msg end)
  c:run()
  print(n .. ' ' .. name .. ' ' .. msg)"
finish
