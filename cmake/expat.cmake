# expat (the XML parser of src/schema's manifest loader) as a static
# library, so `etwlua` stays one file. Linux: Debian's libexpat1-dev
# (libexpat.a when present). Windows cross build: compiled from Debian's
# source package (EXPAT_SRC_DIR, see scripts/win-sources), as Lua is.
# Defines the target etwlua::expat.
if(WIN32)
  if(NOT EXPAT_SRC_DIR)
    message(FATAL_ERROR "Windows build: set EXPAT_SRC_DIR (scripts/win-sources prints it)")
  endif()
  set(_expat_lib ${EXPAT_SRC_DIR}/expat/lib)
  # what expat's own configure step would write for this target
  set(_expat_cfg ${CMAKE_BINARY_DIR}/expat-config)
  file(WRITE ${_expat_cfg}/expat_config.h
    "#ifndef EXPAT_CONFIG_H\n#define EXPAT_CONFIG_H 1\n"
    "#define BYTEORDER 1234\n#define HAVE_STDINT_H 1\n#define HAVE_STDLIB_H 1\n"
    "#define HAVE_STRING_H 1\n#define HAVE_INTTYPES_H 1\n#define STDC_HEADERS 1\n"
    "#define XML_CONTEXT_BYTES 1024\n#define XML_DTD 1\n#define XML_NS 1\n"
    "#define PACKAGE \"expat\"\n#define PACKAGE_URL \"\"\n#endif\n")
  add_library(expat_static STATIC ${_expat_lib}/xmlparse.c ${_expat_lib}/xmlrole.c
              ${_expat_lib}/xmltok.c)
  target_include_directories(expat_static PUBLIC ${_expat_lib} PRIVATE ${_expat_cfg})
  target_compile_definitions(expat_static PUBLIC XML_STATIC)
  target_compile_options(expat_static PRIVATE -w)
  add_library(etwlua::expat ALIAS expat_static)
else()
  find_package(EXPAT REQUIRED)   # headers; run scripts/setup (libexpat1-dev)
  find_library(EXPAT_STATIC NAMES libexpat.a)
  if(EXPAT_STATIC)
    add_library(etwlua::expat STATIC IMPORTED)
    set_target_properties(etwlua::expat PROPERTIES IMPORTED_LOCATION ${EXPAT_STATIC}
      INTERFACE_INCLUDE_DIRECTORIES "${EXPAT_INCLUDE_DIRS}")
  else()
    add_library(etwlua::expat ALIAS EXPAT::EXPAT)
  endif()
endif()
