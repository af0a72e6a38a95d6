/*
** lconsumer.h: the record source behind an etw.Consumer (STYLE: an ops
** struct only where the implementation varies at run time).
*/
#ifndef LCONSUMER_H
#define LCONSUMER_H

#include <lua.h>

#include "../engine/record.h"

typedef struct etwL_source {
  /* Next record; returns ENG_OK, ENG_E_TIMEOUT, ENG_E_STOPPED (no more),
  ** ENG_E_INTERRUPTED (stop was called) or another eng_status. */
  int (*next)(void *ctx, eng_record *rec, int timeout_ms);
  void (*stop)(void *ctx);   /* async-signal-safe */
  void (*close)(void *ctx);
  void *ctx;
} etwL_source;

/* Source over the .etl files listed in the table at idx (lfiles.c).
** Returns ENG_OK or an eng_status. */
int etwL_open_files(lua_State *L, int idx, etwL_source *src);

#endif
