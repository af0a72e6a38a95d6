/*
** lwhere.h: the payload parts of a consumer's table filter (lwhere.c):
** `where = {Field = condition, ...}` compiled to src/filter conditions and
** `fields = {"A", "B"}` (a projection), both read from Lua and checked,
** for lconsumer.c.
*/
#ifndef LWHERE_H
#define LWHERE_H

#include <stddef.h>

#include <lua.h>

#include "flt.h"

typedef struct etwL_payload {
  flt_cond *where;        /* all must hold */
  size_t nwhere;
  char **names;           /* projection: field names, NUL-terminated copies */
  size_t *name_lens;
  flt_slot *slots;        /* where each name was last found (etwL_event_fields) */
  size_t nnames;
} etwL_payload;

/* Read the value at -1 as the filter field `where` into p; raises
** "on: filter field 'where' ..." naming the rule on misuse. Whatever was
** allocated before an error stays in p (etwL_payload_free frees it). */
void etwL_where_read(lua_State *L, etwL_payload *p);

/* Read the value at -1 as the filter field `fields` (a list of names). */
void etwL_fields_read(lua_State *L, etwL_payload *p);

void etwL_payload_free(etwL_payload *p);

#endif
