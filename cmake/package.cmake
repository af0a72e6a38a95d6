# cpack -G DEB (in the build directory): etwlua_VERSION_ARCH.deb, installing
# under /usr. dpkg-shlibdeps computes Depends from the ELF files (the host
# links Lua statically: libc6 only); the shlibs file of libetwlua.so and the
# postinst/postrm that run ldconfig are generated. Tested by tests/install/deb_test.sh.
set(CPACK_PACKAGE_NAME etwlua)
set(CPACK_PACKAGE_VENDOR "etwlua")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Lua-scriptable TraceLogging providers, trace sessions and ETL files")
set(CPACK_PACKAGE_DESCRIPTION
    "etwlua embeds Lua 5.4: scripts define TraceLogging providers and events, \
start and control trace sessions, handle every captured event, and read and \
write .etl files. Includes the C API (etwlua.h, libetwlua) for native providers, \
with pkg-config and CMake package files.")
set(CPACK_PACKAGE_CONTACT "etwlua maintainers <etwlua@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)   # the executable and libetwlua.so; libetwlua.a keeps its symbols
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)           # etwlua_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_GENERATOR DEB)
include(CPack)
