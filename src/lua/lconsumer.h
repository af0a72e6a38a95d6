/*
** lconsumer.h: what lconsumer.c (etw.Consumer) takes from lfiles.c: the
** checking of a files= argument and the Lua form of c:info(). The record
** source itself is the engine's (engine.h eng_source).
*/
#ifndef LCONSUMER_H
#define LCONSUMER_H

#include <stddef.h>

#include <lua.h>

#include "engine.h"

/* The .etl paths at idx, a path or a list of paths: pushes a userdata
** holding the array (the strings stay alive while the list at idx does)
** and returns it with *n. Raises a Lua error for misuse (not a path or a
** list of paths, an empty list). */
const char **etwL_check_paths(lua_State *L, int idx, size_t *n);

/* c:info() of a files source: one table per file; returns 1. */
int etwL_push_files_info(lua_State *L, eng_source *s);

#endif
