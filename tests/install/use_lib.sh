# use_lib.sh: sourced by install_test.sh and deb_test.sh (after
# tests/host/check.sh). Builds examples/native_provider.c against an
# installed etwlua the two ways the README shows, and runs the programs.
# Needs: src (source tree), cc (C compiler), flags (the build's
# instrumentation, e.g. -fsanitize=...: programs linking its libraries need
# it too), version (X.Y.Z), tmp (scratch directory).

# with_pkgconfig OUT: cc native_provider.c $(pkg-config --cflags --libs etwlua),
# strict C99 so the header stays clean for users' warning flags
with_pkgconfig() {
  local cflags libs
  cflags=$(pkg-config --cflags etwlua) && libs=$(pkg-config --libs etwlua) || return 1
  # shellcheck disable=SC2086  # word splitting of the flag lists is wanted
  "$cc" -std=c99 -pedantic -Wall -Wextra -Werror $flags $cflags \
    "$src/examples/native_provider.c" -o "$1" $libs
}

# header_as_cxx DIR: the installed etwlua.h compiles as strict C++11
header_as_cxx() {
  printf '#include <etwlua.h>\nint f(const etwlua_provider *p) { return etwlua_enabled(p, 4, 1); }\n' |
    c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -I"$1" -x c++ -
}

# with_find_package BUILD_DIR [cmake args...]: tests/install/consumer
with_find_package() {
  local dir=$1 mm; shift
  mm=$(cut -d. -f1,2 <<<"$version")
  cmake -S "$src/tests/install/consumer" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" -DETWLUA_WANT_VERSION="$mm" \
    -DNATIVE_PROVIDER_C="$src/examples/native_provider.c" "$@" &&
    cmake --build "$dir" -j2
}

# run_checks NAME ETWLUA PROGRAM [env assignments...]: the program exits 0
# with no session (nothing written), and under a capture of the installed
# etwlua writes all its events into the file
run_checks() {
  local name=$1 etwlua=$2 prog=$3; shift 3
  check "$name: no session" 0 '^native_provider: 0 of 5 events written$' env "$@" "$prog" 5
  check "$name: under etwlua capture" 0 \
    '^native_provider: 40 of 40 events written$ && ^etwlua capture: 40 events, 0 lost, ' \
    "$etwlua" capture -p EtwLua.Native:info -o "$tmp/$name.etl" -- env "$@" "$prog" 40
  rm -f "$tmp/$name.etl"
}

# needed FILE: the DT_NEEDED sonames of an ELF file
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
