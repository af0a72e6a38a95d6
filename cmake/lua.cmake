# Lua 5.4 and lua-cjson, static when available, so `etwlua` is one file.
# Linux: found on the system (Debian's liblua5.4-dev and lua-cjson-dev). Windows cross build: built
# from Debian's source packages (LUA_SRC_DIR / CJSON_SRC_DIR, see
# scripts/win-sources), as shared/spec/windows-build.md §2 measured.
if(WIN32)
  if(NOT LUA_SRC_DIR OR NOT CJSON_SRC_DIR)
    message(FATAL_ERROR "Windows build: set LUA_SRC_DIR and CJSON_SRC_DIR (scripts/win-sources prints them)")
  endif()
  file(GLOB _lua_src ${LUA_SRC_DIR}/src/*.c)
  list(FILTER _lua_src EXCLUDE REGEX "/(lua|luac)\\.c$")
  add_library(lua54 STATIC ${_lua_src})
  target_include_directories(lua54 PUBLIC ${LUA_SRC_DIR}/src)
  target_compile_definitions(lua54 PUBLIC LUA_COMPAT_5_3)
  target_compile_options(lua54 PRIVATE -w)
  add_library(etwlua::lua ALIAS lua54)
  add_library(cjson STATIC ${CJSON_SRC_DIR}/lua_cjson.c ${CJSON_SRC_DIR}/fpconv.c
              ${CJSON_SRC_DIR}/strbuf.c)
  target_link_libraries(cjson PUBLIC lua54)
  target_compile_options(cjson PRIVATE -w)
  add_library(etwlua::cjson ALIAS cjson)
else()
  # The usual search (FindLua; pkg-config's lua5.4 as a hint), preferring the
  # static library so the installed etwlua is one file that needs no Lua
  # package. Debian's liblua5.4-dev and lua-cjson-dev provide both.
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_search_module(PC_LUA QUIET lua5.4 lua-5.4 lua54)
  endif()
  find_library(LUA_LIBRARY NAMES liblua5.4.a liblua54.a liblua-5.4.a lua5.4 lua54 lua-5.4
               HINTS ${PC_LUA_LIBRARY_DIRS})
  find_path(LUA_INCLUDE_DIR lua.h HINTS ${PC_LUA_INCLUDE_DIRS}
            PATH_SUFFIXES lua5.4 lua54 lua-5.4)  # Debian: /usr/include/lua5.4
  find_package(Lua 5.4 EXACT REQUIRED)  # checks lua.h's version
  get_filename_component(_lua_libdir "${LUA_LIBRARY}" DIRECTORY)
  find_library(CJSON_LIBRARY NAMES liblua5.4-cjson.a lua5.4-cjson
               HINTS ${_lua_libdir} ${PC_LUA_LIBRARY_DIRS} REQUIRED)
  if(NOT LUA_LIBRARY MATCHES "\\.a$" OR NOT CJSON_LIBRARY MATCHES "\\.a$")
    message(STATUS "etwlua: linking Lua or cjson as a shared library (${LUA_LIBRARY}, ${CJSON_LIBRARY})")
  endif()
  add_library(etwlua::lua UNKNOWN IMPORTED)
  set_target_properties(etwlua::lua PROPERTIES IMPORTED_LOCATION ${LUA_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${LUA_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES "m;${CMAKE_DL_LIBS}")
  add_library(etwlua::cjson UNKNOWN IMPORTED)
  set_target_properties(etwlua::cjson PROPERTIES IMPORTED_LOCATION ${CJSON_LIBRARY}
    INTERFACE_LINK_LIBRARIES etwlua::lua)
endif()
