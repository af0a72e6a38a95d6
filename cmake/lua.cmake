# Lua 5.4 and lua-cjson as static libraries, so `etwlua` is one file.
# Linux: Debian's liblua5.4-dev and lua-cjson-dev. Windows cross build: built
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
  find_path(LUA_INCLUDE_DIR lua.h PATH_SUFFIXES lua5.4 REQUIRED NO_DEFAULT_PATH
            PATHS /usr/include /usr/local/include)
  find_library(LUA_STATIC NAMES liblua5.4.a REQUIRED)
  find_library(CJSON_STATIC NAMES liblua5.4-cjson.a REQUIRED)
  add_library(etwlua::lua STATIC IMPORTED)
  set_target_properties(etwlua::lua PROPERTIES IMPORTED_LOCATION ${LUA_STATIC}
    INTERFACE_INCLUDE_DIRECTORIES ${LUA_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES "m;dl")
  add_library(etwlua::cjson STATIC IMPORTED)
  set_target_properties(etwlua::cjson PROPERTIES IMPORTED_LOCATION ${CJSON_STATIC}
    INTERFACE_LINK_LIBRARIES etwlua::lua)
endif()
