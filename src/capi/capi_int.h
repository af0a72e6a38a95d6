/*
** capi_int.h: what the C API's files share (not installed).
*/
#ifndef CAPI_INT_H
#define CAPI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "etwlua.h"
#include "engine.h"

/* Codec statuses are shifted past the engine's so one int says both. */
#define CAPI_TLG_BASE 100

typedef struct capi_provider {
  etwlua_provider pub;            /* first: the handle the caller holds */
  eng_provider *eng;
  size_t traits_len;
  uint8_t traits[];
} capi_provider;

/* ETWLUA_OK for TLG_OK, else CAPI_TLG_BASE + st. */
int capi_from_tlg(int st);

#endif
