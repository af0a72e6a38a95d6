#!/usr/bin/env bash
# Configure options of the top-level CMakeLists.txt, each in a scratch
# build directory: BUILD_TESTING=OFF leaves tests/ out (a missing busted is
# then no error), BUILD_TESTING=ON without busted stops with a message
# naming the way out, ETWLUA_BENCH switches the benchmarks on, and
# CMAKE_BUILD_TYPE defaults to RelWithDebInfo without overriding a choice.
#   options_test.sh SOURCE_DIR CC
set -u
src=$(realpath "$1") cc=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../host/check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cfg() { local dir=$1; shift; cmake -S "$src" -B "$tmp/$dir" -DCMAKE_C_COMPILER="$cc" "$@"; }
targets() { cmake --build "$tmp/$1" --target help; }
cache() { sed -n "s/^$2:[A-Z]*=//p" "$tmp/$1/CMakeCache.txt"; }

check "BUILD_TESTING=OFF, no busted: configures" 0 '' cfg off -DBUILD_TESTING=OFF -DBUSTED=BUSTED-NOTFOUND
check "BUILD_TESTING=OFF: no test targets" 1 '' grep -qE 'test_tlg_build|capi_cxx_test|fuzz_' <(targets off)
check "the libraries and the host are still there" 0 \
  '^\.\.\. etwlua$ && ^\.\.\. etwlua_static$ && ^\.\.\. etwlua_shared$' targets off
check "CMAKE_BUILD_TYPE defaults to RelWithDebInfo" 0 '^RelWithDebInfo$' cache off CMAKE_BUILD_TYPE
check "benchmarks off by default" 1 '' grep -q bench_tlg <(targets off)
check "ETWLUA_BENCH=ON: configures" 0 '' cfg off -DETWLUA_BENCH=ON -DCMAKE_BUILD_TYPE=Debug
check "ETWLUA_BENCH=ON: benchmark targets" 0 '^\.\.\. bench_tlg$' targets off
check "an explicit CMAKE_BUILD_TYPE is kept" 0 '^Debug$' cache off CMAKE_BUILD_TYPE
no_busted() { cfg on -DBUSTED=BUSTED-NOTFOUND 2>&1 | tr -d '\n'; return "${PIPESTATUS[0]}"; }
check "tests on, no busted: a configure error naming BUILD_TESTING" 1 \
  'busted not found.*-DBUILD_TESTING=OFF' no_busted

finish
