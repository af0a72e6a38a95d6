/*
** win_tdh_cache.c: TDH schemas of manifest and MOF events (spec
** windows-etw §5.3): TdhGetEventInformation on a cache miss, inside the
** ProcessTrace callback (its input is the record as handed to it), keyed by
** (provider, id, version, opcode, level, classic) — never by id alone.
** Failures are cached too. Entries are immutable and live until the
** consumer closes, so queued records and Events can point at them. One
** cache per consumer worker: no lock. Never used under Wine (TDH kills the
** process there).
*/
#ifdef _WIN32

#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define SLOTS 8192u          /* power of two; entries beyond 3/4 of it are not cached */

typedef struct entry {
  winp_schema_key key;
  int used;
  uint32_t len;              /* 0: no schema (TDH said no, or failed) */
  uint8_t *blob;
} entry;

struct win_tdh_cache {
  entry slot[SLOTS];
  uint32_t count;
};

win_tdh_cache *win_tdh_cache_new(void) { return calloc(1, sizeof(win_tdh_cache)); }

void win_tdh_cache_free(win_tdh_cache *c) {
  if (!c) return;
  for (uint32_t i = 0; i < SLOTS; i++) free(c->slot[i].blob);
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

static int key_eq(const winp_schema_key *a, const winp_schema_key *b) {
  return memcmp(a->provider, b->provider, 16) == 0 && a->id == b->id &&
         a->version == b->version && a->opcode == b->opcode && a->level == b->level &&
         a->classic == b->classic;
}

/* TdhGetEventInformation's two-call pattern; NULL on any failure. */
static uint8_t *fetch(PEVENT_RECORD er, uint32_t *len) {
  ULONG size = 0;
  ULONG rc = TdhGetEventInformation(er, 0, NULL, NULL, &size);
  if (rc != ERROR_INSUFFICIENT_BUFFER || size == 0) return NULL;  /* 1168: no schema */
  uint8_t *b = malloc(size);
  if (!b) return NULL;
  rc = TdhGetEventInformation(er, 0, NULL, (PTRACE_EVENT_INFO)(void *)b, &size);
  if (rc != ERROR_SUCCESS) { free(b); return NULL; }
  *len = size;
  return b;
}

const uint8_t *win_tdh_cache_get(win_tdh_cache *c, PEVENT_RECORD er, uint32_t *len) {
  *len = 0;
  if (!c || win_is_wine()) return NULL;
  winp_schema_key k;
  make_key(er, &k);
  uint32_t i = (uint32_t)winp_schema_key_hash(&k) & (SLOTS - 1);
  for (uint32_t probe = 0; probe < SLOTS; probe++, i = (i + 1) & (SLOTS - 1)) {
    entry *e = &c->slot[i];
    if (e->used && key_eq(&e->key, &k)) {
      *len = e->len;
      return e->len ? e->blob : NULL;
    }
    if (!e->used) break;
  }
  uint32_t n = 0;
  uint8_t *blob = fetch(er, &n);
  if (c->count >= SLOTS / 4 * 3) {
    /* full (6,144 distinct event kinds): a schema must outlive the records
    ** that point at it, so later kinds go up undecoded (raw payload) */
    free(blob);
    return NULL;
  }
  entry *e = &c->slot[i];
  e->used = 1;
  e->key = k;
  e->blob = blob;
  e->len = blob ? n : 0;
  c->count++;
  *len = e->len;
  return blob;
}

#endif
