#!/usr/bin/env bash
# The Debian package (cpack -G DEB), in two modes:
#   contents  its control fields, its file list, Depends covering every
#             shared library its ELF files need (dpkg-shlibdeps'), the shlibs
#             file and ldconfig trigger of libetwlua.so
#   apt       installed for real with `apt-get install ./etwlua_*.deb`, used
#             (etwlua on PATH, pkg-config and find_package with no paths
#             given, native_provider without LD_LIBRARY_PATH), then purged
#             by a trap. Needs root: otherwise exit 77 (ctest: skipped). Also
#             skipped when an etwlua package or /usr/bin/etwlua is already
#             there (never replaced); concurrent runs wait on a lock file.
#   deb_test.sh MODE BUILD_DIR SOURCE_DIR VERSION LIBDIR CC [FLAGS...]
set -u
mode=$1 build=$(realpath "$2") src=$(realpath "$3") version=$4 libdir=$5 cc=$6; shift 6
flags="$*"
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../host/check.sh"
source "$here/use_lib.sh"
# skip_all WHY: the whole mode is skipped (closing line, exit 77)
skip_all() { skip "$mode" "$1"; finish; }
command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null ||
  skip_all "no dpkg-deb / dpkg-shlibdeps (Debian's dpkg-dev)"
tmp=$(mktemp -d)
export ETWLUA_RUNTIME_DIR=$tmp/rt
installed=0
cleanup() {
  if [[ $installed == 1 ]]; then dpkg -P etwlua >/dev/null 2>&1 || echo "FAIL could not purge etwlua"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
arch=$(dpkg --print-architecture)
deb=$tmp/pkg/etwlua_${version}_$arch.deb
minor=$(cut -d. -f2 <<<"$version")
if [[ ${version%%.*} == 0 ]]; then sov=0.$minor; else sov=${version%%.*}; fi
so=libetwlua.so.$sov

make_deb() {
  check "cpack -G DEB" 0 '' cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg"
  [[ -f $deb ]] || { echo "FAIL no $deb: $(ls "$tmp/pkg")"; exit 1; }
}

contents() {
  make_deb
  check "control fields" 0 \
    "^Package: etwlua$ && ^Version: ${version//./\\.}$ && ^Architecture: $arch$ && ^Maintainer: .+ && ^Description: .+" \
    dpkg-deb -f "$deb"
  local list; list=$(dpkg-deb -c "$deb" | awk '{print $6}')
  for f in usr/bin/etwlua usr/include/etwlua.h usr/include/etwlua_version.h \
           "usr/$libdir/libetwlua.a" "usr/$libdir/libetwlua.so" "usr/$libdir/$so" \
           "usr/$libdir/libetwlua.so.$version" "usr/$libdir/pkgconfig/etwlua.pc" \
           "usr/$libdir/cmake/etwlua/etwluaConfig.cmake" "usr/$libdir/cmake/etwlua/etwluaConfigVersion.cmake" \
           "usr/$libdir/cmake/etwlua/etwluaTargets.cmake"; do
    check "packaged: /$f" 0 "^\./${f//./\\.}$" echo "$list"
  done
  check "nothing outside /usr/{bin,include,lib,share}, nothing under /usr/local" 1 '' \
    grep -vE '^\./(usr/?|usr/(bin|include|lib|share)(/.*)?)$' <<<"$list"
  check "shlibs names libetwlua for dpkg-shlibdeps" 0 \
    "^libetwlua ${sov//./\\.} etwlua \(>= ${version//./\\.}\)$" dpkg-deb -I "$deb" shlibs
  check "postinst and postrm run ldconfig" 0 '^[[:space:]]*ldconfig$' \
    sh -c 'dpkg-deb -I "$1" postinst && dpkg-deb -I "$1" postrm' _ "$deb"

  # Depends: every library an ELF file of the package needs directly (as
  # the loader resolves it here) belongs to a package Depends names;
  # libetwlua aside
  dpkg-deb -x "$deb" root
  local depends; depends=$(dpkg-deb -f "$deb" Depends)
  check "Depends names libc6" 0 '(^|, )libc6 \(>= [0-9.]+\)' echo "$depends"
  local f lib path pkg
  while IFS= read -r f; do
    while read -r lib path; do
      [[ $lib == libetwlua.so* ]] && continue
      grep -qxF "$lib" <(needed "$f") || continue   # ldd also lists indirect ones
      pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null)
      pkg=$(head -1 <<<"$pkg" | cut -d: -f1)
      check "${f#root/} needs $lib ($path, package ${pkg:-?}): in Depends" 0 \
        "(^|, )$(sed 's/[.+]/\\&/g' <<<"${pkg:-none}")( |,|$)" echo "$depends"
    done < <(LD_LIBRARY_PATH=root/usr/$libdir ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
  done < <(find root -type f -exec sh -c 'head -c4 "$1" | grep -q ELF' _ {} \; -print)
  check "etwlua links Lua statically: no liblua in Depends" 1 '' grep -q liblua <(echo "$depends")
}

apt_install() {
  [[ $(id -u) == 0 ]] || skip_all "installing the .deb needs root"
  command -v apt-get >/dev/null || skip_all "no apt-get"
  exec 9>/var/lock/etwlua-deb-test.lock
  flock -w 600 9 || { echo "FAIL lock /var/lock/etwlua-deb-test.lock"; exit 1; }
  dpkg-query -W -f='${Status}' etwlua 2>/dev/null | grep -q "ok installed" &&
    skip_all "an etwlua package is installed here; left alone"
  for f in /usr/bin/etwlua /usr/include/etwlua.h "/usr/$libdir/libetwlua.so"; do
    [[ -e $f ]] && skip_all "$f exists; left alone"
  done
  make_deb
  installed=1
  check "apt-get install ./etwlua_*.deb" 0 '' env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$deb"
  check "etwlua on PATH" 0 "^/usr/bin/etwlua$" command -v etwlua
  check "etwlua -v" 0 "^etwlua ${version//./\\.} \\(Lua 5\\.4" etwlua -v
  check "ldconfig knows $so" 0 "${so//./\\.} .*=> (/usr)?/$libdir/${so//./\\.}$" ldconfig -p  # /lib: usrmerge
  unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH
  check "pkg-config finds etwlua" 0 "^${version//./\\.}$" pkg-config --modversion etwlua
  check "installed etwlua.h compiles as C++11" 0 '' header_as_cxx /usr/include
  check "cc native_provider.c \$(pkg-config ...)" 0 '' with_pkgconfig np_pc
  run_checks deb_pkgconfig etwlua ./np_pc
  check "find_package(etwlua) from /usr" 0 "etwlua ${version//./\\.} from /usr/$libdir/cmake/etwlua" \
    with_find_package "$tmp/fp"
  run_checks deb_find_package_shared etwlua fp/np_shared
  run_checks deb_find_package_static etwlua fp/np_static
  check "dpkg -P etwlua" 0 '' dpkg -P etwlua
  installed=0
  check "purged: no etwlua, no libetwlua" 0 '' test ! -e /usr/bin/etwlua -a ! -e "/usr/$libdir/$so"
  check "ldconfig forgot $so" 1 '' grep -q "$so" <(ldconfig -p)
}

case $mode in
  contents) contents ;;
  apt) apt_install ;;
  *) echo "deb_test.sh: MODE must be contents or apt"; exit 2 ;;
esac
finish
