# The C API: include/etwlua.h over src/capi, and the libraries C programs
# link. The layer etwlua_capi (like the others) serves the in-tree build; the
# installed libraries carry the objects of the API and of every layer below
# it, so a program needs nothing of etwlua but -letwlua:
#   etwlua_static  libetwlua.a    (etwlua::etwlua_static)
#   etwlua_shared  libetwlua.so   (etwlua::etwlua; not built for Windows)

etwlua_layer(etwlua_capi src/capi/etwlua_capi.c src/capi/etwlua_template.c)
target_include_directories(etwlua_capi_obj PUBLIC include ${PROJECT_BINARY_DIR}/include)
target_link_libraries(etwlua_capi_obj PUBLIC etwlua_engine etwlua_tlg)

set(ETWLUA_CAPI_OBJECTS $<TARGET_OBJECTS:etwlua_capi_obj> $<TARGET_OBJECTS:etwlua_engine_obj>
    $<TARGET_OBJECTS:etwlua_etl_obj> $<TARGET_OBJECTS:etwlua_record_obj>
    $<TARGET_OBJECTS:etwlua_schema_obj> $<TARGET_OBJECTS:etwlua_tlg_obj>)
set(ETWLUA_PUBLIC_HEADERS ${PROJECT_SOURCE_DIR}/include/etwlua.h
    ${PROJECT_BINARY_DIR}/include/etwlua_version.h)

# ABI version: the soname changes when programs built against an older
# etwlua.h could break (the header inlines etwlua_enabled's struct reads).
# While the major version is 0, every minor version may break it.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(ETWLUA_SOVERSION 0.${PROJECT_VERSION_MINOR})
else()
  set(ETWLUA_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# etwlua_capi_lib(TARGET TYPE EXPORT_NAME): one installed library
function(etwlua_capi_lib tgt type export_name)
  add_library(${tgt} ${type} ${ETWLUA_CAPI_OBJECTS})
  add_library(etwlua::${export_name} ALIAS ${tgt})
  set_target_properties(${tgt} PROPERTIES OUTPUT_NAME etwlua EXPORT_NAME ${export_name})
  target_include_directories(${tgt} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  etwlua_defaults(${tgt})
endfunction()

etwlua_capi_lib(etwlua_static STATIC etwlua_static)
target_link_libraries(etwlua_static PUBLIC ${ETWLUA_ENGINE_SYSLIBS})

if(NOT WIN32)
  etwlua_capi_lib(etwlua_shared SHARED etwlua)
  target_link_libraries(etwlua_shared PRIVATE ${ETWLUA_ENGINE_SYSLIBS})
  set_target_properties(etwlua_shared PROPERTIES VERSION ${PROJECT_VERSION}
                        SOVERSION ${ETWLUA_SOVERSION})
  # only the etwlua_* API is exported; the layers' symbols stay inside
  set(_map ${PROJECT_SOURCE_DIR}/src/capi/etwlua.map)
  target_link_options(etwlua_shared PRIVATE "LINKER:--version-script=${_map}")
  set_property(TARGET etwlua_shared APPEND PROPERTY LINK_DEPENDS ${_map})
endif()
