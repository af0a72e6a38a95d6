# cmake --install BUILD --prefix P, and the .deb (cpack -G DEB):
#   P/bin/etwlua
#   P/include/etwlua.h, etwlua_version.h
#   P/LIBDIR/libetwlua.a, libetwlua.so (+ soname links)
#   P/LIBDIR/pkgconfig/etwlua.pc                       cc app.c $(pkg-config --cflags --libs etwlua)
#   P/LIBDIR/cmake/etwlua/etwlua{Config,ConfigVersion,Targets}.cmake   find_package(etwlua)
# LIBDIR is GNUInstallDirs' (lib, or Debian's lib/<triplet> for prefix /usr).
# Tested by tests/install/*.sh.
include(CMakePackageConfigHelpers)

set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/etwlua)
set(_libs etwlua_static)
if(TARGET etwlua_shared)
  list(APPEND _libs etwlua_shared)
endif()

install(TARGETS etwlua RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${_libs} EXPORT etwluaTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Unspecified
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${ETWLUA_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# CMake package: relocatable (paths relative to the installed config file)
install(EXPORT etwluaTargets NAMESPACE etwlua:: DESTINATION ${_cmakedir})
configure_package_config_file(cmake/etwluaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/etwluaConfig.cmake INSTALL_DESTINATION ${_cmakedir})
# same compatibility rule as the soname (cmake/capi.cmake)
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_compat SameMinorVersion)
else()
  set(_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/etwluaConfigVersion.cmake
  COMPATIBILITY ${_compat})
install(FILES ${PROJECT_BINARY_DIR}/etwluaConfig.cmake
  ${PROJECT_BINARY_DIR}/etwluaConfigVersion.cmake DESTINATION ${_cmakedir})

# pkg-config: relocatable too, every path relative to the .pc file's folder
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "etwlua: CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR must be "
                      "relative to the prefix (etwlua.pc is relocatable)")
endif()
file(RELATIVE_PATH ETWLUA_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" ETWLUA_PC_TO_PREFIX "${ETWLUA_PC_TO_PREFIX}")
set(ETWLUA_PC_LIBS_PRIVATE "")
if(NOT WIN32)
  set(ETWLUA_PC_LIBS_PRIVATE "-pthread")
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    string(APPEND ETWLUA_PC_LIBS_PRIVATE " -lrt")
  endif()
endif()
configure_file(cmake/etwlua.pc.in ${PROJECT_BINARY_DIR}/etwlua.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/etwlua.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

include(cmake/package.cmake)
