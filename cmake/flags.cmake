# Build settings of the project's own targets, as INTERFACE targets that
# etwlua_defaults() links into each one (no directory-wide flags, so a parent
# project that add_subdirectory()s etwlua keeps its own).
#   etwlua_warnings    the warning set (-Werror with ETWLUA_WERROR)
#   etwlua_instrument  sanitizers, libFuzzer coverage, the mingw static link

add_library(etwlua_warnings INTERFACE)
target_compile_options(etwlua_warnings INTERFACE -Wall -Wextra -Wshadow -Wcast-qual -Wundef
                       $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes -Wstrict-prototypes>
                       $<$<BOOL:${ETWLUA_WERROR}>:-Werror>)

add_library(etwlua_instrument INTERFACE)
set(ETWLUA_INSTRUMENT_FLAGS "")  # also handed to tests that build against the install tree
if(ETWLUA_SANITIZE)
  target_compile_options(etwlua_instrument INTERFACE -fsanitize=address,undefined
                         -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(etwlua_instrument INTERFACE -fsanitize=address,undefined)
  list(APPEND ETWLUA_INSTRUMENT_FLAGS -fsanitize=address,undefined)
endif()
if(ETWLUA_FUZZ)
  # coverage feedback from every library, not just the fuzz target's file
  target_compile_options(etwlua_instrument INTERFACE -fsanitize=fuzzer-no-link)
  target_link_options(etwlua_instrument INTERFACE -fsanitize=fuzzer-no-link)
  list(APPEND ETWLUA_INSTRUMENT_FLAGS -fsanitize=fuzzer-no-link)
endif()
if(MINGW)
  # Windows cross build (scripts/win-build): every .exe is self-contained,
  # with no libgcc/libwinpthread DLL next to it; imports system DLLs only.
  target_link_options(etwlua_instrument INTERFACE -static)
endif()

# etwlua_defaults(TARGET): the settings above for one of our targets. Build
# interface only: installed targets carry none of them.
function(etwlua_defaults tgt)
  target_link_libraries(${tgt} PRIVATE $<BUILD_INTERFACE:etwlua_warnings>
                        $<BUILD_INTERFACE:etwlua_instrument>)
endfunction()

# etwlua_layer(NAME SOURCES...): a layer of DESIGN.md §1. Its sources compile
# once, position-independent, into the object library NAME_obj (which holds
# the usage requirements: include directories, lower layers); NAME is the
# static library of those objects that the host and the tests link. The
# installed C library (cmake/capi.cmake) reuses the same objects.
function(etwlua_layer name)
  add_library(${name}_obj OBJECT ${ARGN})
  set_target_properties(${name}_obj PROPERTIES POSITION_INDEPENDENT_CODE ON)
  etwlua_defaults(${name}_obj)
  add_library(${name} STATIC)
  # a directly linked object library puts its objects into the archive;
  # consumers of NAME inherit only its usage requirements
  target_link_libraries(${name} PUBLIC ${name}_obj)
endfunction()
