/*
** lconsumer.h: the record source behind an etw.Consumer (STYLE: an ops
** struct only where the implementation varies at run time).
*/
#ifndef LCONSUMER_H
#define LCONSUMER_H

#include <lua.h>

#include "rec_record.h"

typedef struct etwL_source {
  /* Next record; returns ENG_OK, ENG_E_TIMEOUT, ENG_E_STOPPED (no more),
  ** ENG_E_INTERRUPTED (stop was called) or another eng_status. An ENG_OK
  ** record may be an REC_KIND_LOST or REC_KIND_CORRUPT notice. */
  int (*next)(void *ctx, rec_record *rec, int timeout_ms);
  void (*stop)(void *ctx);   /* async-signal-safe */
  void (*close)(void *ctx);
  void *ctx;
  /* Optional (NULL when the source has nothing to say):
  ** the REC_KIND_CORRUPT record next() just returned: message (names the
  ** offset), *file (or NULL) and *offset; pointers valid until next(). */
  const char *(*corrupt_detail)(void *ctx, const char **file, uint64_t *offset);
  /* push the value of c:info(); returns the number of values pushed */
  int (*info)(void *ctx, lua_State *L);
} etwL_source;

/* Source over the .etl files at idx, a path or a list of paths, read by
** etwlua's own reader (lfiles.c over engine/eng_files). Returns ENG_OK, or
** an eng_status with the reason ("path: why") pushed and *src untouched.
** Raises a Lua error for misuse (not a path or list of paths). */
int etwL_open_files(lua_State *L, int idx, etwL_source *src);

#endif
