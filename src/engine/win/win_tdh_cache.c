/*
** win_tdh_cache.c: TDH schemas of manifest and MOF events (spec
** windows-etw §5.3): TdhGetEventInformation on a cache miss, inside the
** ProcessTrace callback (its input is the record as handed to it), keyed by
** (provider, id, version, opcode, level, classic) -- never by id alone.
** Lasting failures (no schema) are cached; transient ones (WMI service
** down, memory, a size that kept growing) are asked again next time. The
** table (pure/win_schema_cache.c) grows up to MAX_ENTRIES event kinds;
** past that, schemas are fetched per record and handed to the caller to
** copy (owned), so decoding never stops. Cached blobs live until the
** consumer closes, so queued records can point at them. Value maps are
** fetched with the schema (TdhGetEventMapInformation) and carried in the
** blob. One cache per
** consumer worker: no lock. Never used under Wine (TDH kills the process).
*/
#ifdef _WIN32

#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define MAX_ENTRIES (1u << 16)       /* distinct event kinds kept */
#define TRIES 4                      /* rounds of the two-call size pattern */

struct win_tdh_cache {
  winp_schema_cache *t;
};

win_tdh_cache *win_tdh_cache_new(void) {
  win_tdh_cache *c = calloc(1, sizeof *c);
  if (c && !(c->t = winp_schema_cache_new(MAX_ENTRIES))) { free(c); return NULL; }
  return c;
}

void win_tdh_cache_free(win_tdh_cache *c) {
  if (!c) return;
  winp_schema_cache_free(c->t);
  free(c);
}

static void make_key(const EVENT_RECORD *er, winp_schema_key *k) {
  const EVENT_HEADER *h = &er->EventHeader;
  memset(k, 0, sizeof *k);
  memcpy(k->provider, &h->ProviderId, 16);
  k->id = h->EventDescriptor.Id;
  k->version = h->EventDescriptor.Version;
  k->opcode = h->EventDescriptor.Opcode;
  k->level = h->EventDescriptor.Level;
  k->classic = (h->Flags & EVENT_HEADER_FLAG_CLASSIC_HEADER) != 0;
}

static uint32_t tdh_call(void *ctx, uint8_t *buf, uint32_t *size) {
  ULONG sz = *size;
  ULONG rc = TdhGetEventInformation((PEVENT_RECORD)ctx, 0, NULL, (PTRACE_EVENT_INFO)(void *)buf, &sz);
  *size = sz;
  return rc;
}

/* TdhGetEventMapInformation for one map name, by the two-call pattern. */
typedef struct map_ask {
  PEVENT_RECORD er;
  WCHAR name[256];
} map_ask;

static uint32_t map_call(void *ctx, uint8_t *buf, uint32_t *size) {
  map_ask *a = ctx;
  ULONG sz = *size;
  ULONG rc = TdhGetEventMapInformation(a->er, a->name, (PEVENT_MAP_INFO)(void *)buf, &sz);
  *size = sz;
  return rc;
}

static uint32_t map_fetch(void *ctx, const uint8_t *name, uint8_t **info, uint32_t *len) {
  map_ask a;
  size_t i = 0;
  a.er = ctx;
  for (; i + 1 < sizeof a.name / sizeof a.name[0]; i++)   /* NUL-terminated in the TEI */
    if (!(a.name[i] = (WCHAR)tlg_le16(name + 2 * i))) break;
  a.name[i] = 0;
  return winp_two_call(map_call, &a, TRIES, info, len);
}

/* The TEI with its value maps appended (pure/win_tdh_maps.c), so mapped
** names show on Windows as for manifests read off Windows; the TEI alone
** when it has no maps or memory runs out. */
static uint8_t *with_maps(PEVENT_RECORD er, uint8_t *blob, uint32_t *n) {
  uint8_t *out = NULL;
  uint32_t out_len = 0;
  if (!blob || winp_tdh_add_maps(blob, *n, map_fetch, er, &out, &out_len) != 0 || !out) return blob;
  free(blob);
  *n = out_len;
  return out;
}

const uint8_t *win_tdh_cache_get(win_tdh_cache *c, PEVENT_RECORD er, uint32_t *len, int *owned) {
  *len = 0;
  *owned = 0;
  if (!c || win_is_wine()) return NULL;
  winp_schema_key k;
  make_key(er, &k);
  const uint8_t *hit;
  if (winp_schema_cache_find(c->t, &k, &hit, len)) return hit;
  uint8_t *blob = NULL;
  uint32_t n = 0;
  uint32_t rc = winp_two_call(tdh_call, er, TRIES, &blob, &n);
  if (rc != ERROR_SUCCESS && !winp_tdh_failure_cacheable(rc)) return NULL;  /* ask again later */
  blob = with_maps(er, blob, &n);
  if (winp_schema_cache_put(c->t, &k, blob, n) < 0) {
    /* full: this record gets its own copy, later ones of the kind too */
    *owned = blob != NULL;
    *len = blob ? n : 0;
    return blob;
  }
  *len = blob ? n : 0;
  return blob;
}

#endif
