/*
** levent_tdh.h: ev.fields of manifest / MOF events from their TDH schema,
** for levent.c (levent_tdh.c); names, text and errors come from
** src/schema/sch_tdh.h.
*/
#ifndef LEVENT_TDH_H
#define LEVENT_TDH_H

#include <lua.h>

#include "sch_tdh.h"

/* Push the fields table (same shape as TraceLogging fields: sequence,
** record, ordered pairs). Returns SCH_TDH_*; what decoded before an error
** is kept. stable: t->tei is a loaded schema that lives as long as the Lua
** state (its address then keys the shape cache; else its bytes do).
** into: an empty table (stack index) to fill and push instead of a new
** one (the lazy ev.fields, which then needs no copy), or 0. */
int etwL_tdh_push_fields(lua_State *L, const sch_tdh_event *t, uint32_t *prop, int stable,
                         int into);

/* From levent.c: push one decoded value as ev.fields holds it; set the
** __pairs / __name of a fields metatable (on top). */
void etwL_push_value(lua_State *L, const tlg_item *it);
void etwL_fields_mt_finish(lua_State *L);

#endif
