#!/usr/bin/env bash
# cmake --install into a temporary prefix: the tree; libetwlua.so (soname,
# only the API exported) and libetwlua.a (carries the engine, ETL and codec
# layers, no Lua); the installed etwlua; etwlua.pc and find_package(etwlua),
# each building examples/native_provider.c, which then runs under the
# installed etwlua's capture. Private runtime directory; all in a temp dir.
#   install_test.sh BUILD_DIR SOURCE_DIR VERSION LIBDIR CC [FLAGS...]
set -u
build=$(realpath "$1") src=$(realpath "$2") version=$3 libdir=$4 cc=$5; shift 5
flags="$*"
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../host/check.sh"
source "$here/use_lib.sh"
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
P=$tmp/prefix L=$tmp/prefix/$libdir
major=${version%%.*} minor=$(cut -d. -f2 <<<"$version")
if [[ $major == 0 ]]; then so=libetwlua.so.0.$minor; else so=libetwlua.so.$major; fi

check "cmake --install --prefix" 0 '' cmake --install "$build" --prefix "$P"

# --- the tree ---
for f in bin/etwlua include/etwlua.h include/etwlua_version.h "$libdir/libetwlua.a" \
         "$libdir/pkgconfig/etwlua.pc" "$libdir/cmake/etwlua/etwluaConfig.cmake" \
         "$libdir/cmake/etwlua/etwluaConfigVersion.cmake" "$libdir/cmake/etwlua/etwluaTargets.cmake"; do
  check "installed: $f" 0 '' test -f "$P/$f"
done
check "bin/etwlua runs from the prefix" 0 "^etwlua ${version//./\\.} \\(Lua 5\\.4" "$P/bin/etwlua" -v
check "etwlua_version.h: the project version" 0 \
  "^#define ETWLUA_VERSION_STRING \"${version//./\\.}\"$ && ^#define ETWLUA_VERSION_MAJOR $major$" \
  cat "$P/include/etwlua_version.h"
check "libetwlua.so -> $so -> libetwlua.so.$version" 0 '' \
  test "$(readlink "$L/libetwlua.so")" = "$so" -a "$(readlink "$L/$so")" = "libetwlua.so.$version" \
       -a -f "$L/libetwlua.so.$version" -a ! -L "$L/libetwlua.so.$version"
check "soname $so" 0 "\(SONAME\) +Library soname: \[${so//./\\.}\]" readelf -d "$L/libetwlua.so"

# exported: exactly the functions etwlua.h declares (not the layers inside)
# (static inline functions such as etwlua_enabled are not library symbols)
api=$(sed -n '/^static /!s/^[a-z].*[ *]\(etwlua_[a-z0-9_]*\)(.*/\1/p' "$P/include/etwlua.h" | sort)
dyn=$(nm -D --defined-only "$L/libetwlua.so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
check "the .so exports exactly etwlua.h's functions" 0 '' test "$api" = "$dyn" -a -n "$api"
[[ "$api" == "$dyn" ]] || diff <(echo "$api") <(echo "$dyn")

# the static archive is self-contained: no reference to an etwlua symbol it
# does not define, and no Lua inside
nm "$L/libetwlua.a" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRC]$/ {print $3}' | sort -u >defined
nm "$L/libetwlua.a" 2>/dev/null | awk '$1 == "U" {print $2}' | sort -u >undefined
check "libetwlua.a defines the engine, ETL and codec layers" 0 '' \
  grep -qE '^(eng_provider_register|etl_.*|tlg_build_init|etwlua_write)$' defined
check "libetwlua.a: every etwlua-internal reference resolved inside" 1 '' \
  grep -E '^(eng|etl|tlg|etwlua|shm|winp)_' <(comm -23 undefined defined)
check "libetwlua.a holds no Lua" 1 '' grep -E '^(lua|luaL)_' defined

# --- pkg-config (PKG_CONFIG_PATH into the prefix) ---
export PKG_CONFIG_PATH=$L/pkgconfig
check "pkg-config --modversion" 0 "^${version//./\\.}$" pkg-config --modversion etwlua
check "pkg-config --cflags: the installed include dir" 0 '' test -f "$(pkg-config --cflags-only-I etwlua | sed 's/^ *-I//; s/ *$//')/etwlua.h"
check "installed etwlua.h compiles as C++11" 0 '' header_as_cxx "$P/include"
check "cc native_provider.c \$(pkg-config ...)" 0 '' with_pkgconfig np_pc
check "np_pc links $so" 0 "^$so$" needed np_pc
run_checks pkgconfig "$P/bin/etwlua" ./np_pc LD_LIBRARY_PATH="$L"
unset PKG_CONFIG_PATH

# --- find_package(etwlua) (CMAKE_PREFIX_PATH into the prefix) ---
check "find_package(etwlua): configure and build" 0 \
  "etwlua ${version//./\\.} from ${P//./\\.}/$libdir/cmake/etwlua" \
  with_find_package "$tmp/fp" -DCMAKE_PREFIX_PATH="$P"
check "etwlua::etwlua links $so" 0 "^$so$" needed fp/np_shared
check "etwlua::etwlua_static needs no libetwlua" 1 '' grep -q libetwlua <(needed fp/np_static)
run_checks find_package_shared "$P/bin/etwlua" fp/np_shared
run_checks find_package_static "$P/bin/etwlua" fp/np_static
check "find_package(etwlua 99.0) refused" 1 'etwlua.*version|version.*etwlua' \
  cmake -S "$src/tests/install/consumer" -B "$tmp/fp99" -DCMAKE_PREFIX_PATH="$P" \
  -DETWLUA_WANT_VERSION=99.0 -DNATIVE_PROVIDER_C="$src/examples/native_provider.c"

finish
