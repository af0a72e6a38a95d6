# etwlua_embed(OUT_VAR DIR): every DIR/**/*.lua becomes an entry of
# etwlua_embedded[] (module name, bytes, length) in a generated C file, so the
# binary carries its Lua library. Module names follow require's rules:
# a/b/c.lua -> "a.b.c", a/b/init.lua -> "a.b".
function(etwlua_embed out_var dir)
  file(GLOB_RECURSE _files CONFIGURE_DEPENDS ${dir}/*.lua)
  list(SORT _files)
  set(_out ${CMAKE_BINARY_DIR}/etwlua_embedded.c)
  add_custom_command(OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${_out} -P ${CMAKE_SOURCE_DIR}/cmake/embed_gen.cmake
    DEPENDS ${_files} ${CMAKE_SOURCE_DIR}/cmake/embed_gen.cmake
    COMMENT "Embedding lua/ into etwlua")
  set(${out_var} ${_out} PARENT_SCOPE)
endfunction()
