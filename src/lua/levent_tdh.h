/*
** levent_tdh.h: fields of manifest / MOF events from their TDH schema
** (TRACE_EVENT_INFO bytes), for levent.c. See levent_tdh.c.
*/
#ifndef LEVENT_TDH_H
#define LEVENT_TDH_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include "../tlg/tlg_decode.h"
#include "../tlg/tlg_format.h"

typedef struct etwL_tdh {
  const uint8_t *tei;        /* TRACE_EVENT_INFO bytes */
  uint32_t tei_len;
  const uint8_t *data;       /* UserData */
  uint32_t data_len;
  unsigned ptr_size;         /* 4 or 8 */
} etwL_tdh;

enum { ETWL_TDH_OK = 0, ETWL_TDH_SHORT = 1, ETWL_TDH_BAD_SCHEMA = 2 };

/* EventName, else TaskName (MOF: "Task/Opcode"); "" when it has none. */
size_t etwL_tdh_event_name(const etwL_tdh *t, char *out, size_t cap);
size_t etwL_tdh_provider_name(const etwL_tdh *t, char *out, size_t cap);

/* Push the fields table (same shape as TraceLogging fields: sequence,
** record, ordered pairs). Returns ETWL_TDH_*; *prop = the property the
** payload ran out at (ETWL_TDH_SHORT). What decoded before is kept. */
int etwL_tdh_push_fields(lua_State *L, const etwL_tdh *t, uint32_t *prop);

/* Write the fields as JSON or text (TLG_FMT_*), like tlg_fmt_fields. */
int etwL_tdh_fmt_fields(const tlg_sink *o, const etwL_tdh *t, int mode, uint32_t *prop);

/* The ev.decode_error text for a status of the two above. */
void etwL_tdh_error(const etwL_tdh *t, int status, uint32_t prop, char *out, size_t cap);

/* From levent.c: push one decoded value as ev.fields holds it; set the
** __pairs / __name of a fields metatable (on top). */
void etwL_push_value(lua_State *L, const tlg_item *it);
void etwL_fields_mt_finish(lua_State *L);

#endif
