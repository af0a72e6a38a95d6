/*
** win_tdh_cache.c: TDH schemas of manifest and MOF events (spec
** windows-etw §5.3): TdhGetEventInformation on a cache miss, inside the
** ProcessTrace callback (its input is the record as handed to it), keyed by
** (provider, id, version, opcode, level, classic) -- never by id alone.
** Lasting failures (no schema) are cached; transient ones (WMI service
** down, memory, a size that kept growing) are asked again next time.
** Entries are immutable and live until the consumer closes, so queued
** records can point at them. The table grows (doubling) up to MAX_ENTRIES
** event kinds; past that, schemas are fetched per record and handed to the
** caller to copy (owned), so decoding never stops. One cache per consumer
** worker: no lock. Never used under Wine (TDH kills the process there).
*/
#ifdef _WIN32

#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define FIRST_SLOTS 1024u            /* power of two */
#define MAX_ENTRIES (1u << 16)       /* distinct event kinds kept */
#define TRIES 4                      /* rounds of the two-call size pattern */

typedef struct entry {
  winp_schema_key key;
  int used;
  uint32_t len;              /* 0: no schema (TDH said it has none) */
  uint8_t *blob;
} entry;

struct win_tdh_cache {
  entry *slot;
  uint32_t nslots, count;
};

win_tdh_cache *win_tdh_cache_new(void) {
  win_tdh_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->slot = calloc(FIRST_SLOTS, sizeof *c->slot);
  if (!c->slot) { free(c); return NULL; }
  c->nslots = FIRST_SLOTS;
  return c;
}

void win_tdh_cache_free(win_tdh_cache *c) {
  if (!c) return;
  for (uint32_t i = 0; i < c->nslots; i++) free(c->slot[i].blob);
  free(c->slot);
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

/* the slot of `k`, or the free slot where it goes */
static entry *find(win_tdh_cache *c, const winp_schema_key *k) {
  uint32_t mask = c->nslots - 1, i = (uint32_t)winp_schema_key_hash(k) & mask;
  for (;;) {
    entry *e = &c->slot[i];
    if (!e->used || key_eq(&e->key, k)) return e;
    i = (i + 1) & mask;   /* never full: grown at 3/4 */
  }
}

/* Double the table; entries (and their blobs) move, blobs stay put. */
static int grow(win_tdh_cache *c) {
  win_tdh_cache big = {calloc((size_t)c->nslots * 2, sizeof(entry)), c->nslots * 2, c->count};
  if (!big.slot) return -1;
  for (uint32_t i = 0; i < c->nslots; i++)
    if (c->slot[i].used) *find(&big, &c->slot[i].key) = c->slot[i];
  free(c->slot);
  *c = big;
  return 0;
}

static uint32_t tdh_call(void *ctx, uint8_t *buf, uint32_t *size) {
  ULONG sz = *size;
  ULONG rc = TdhGetEventInformation((PEVENT_RECORD)ctx, 0, NULL, (PTRACE_EVENT_INFO)(void *)buf, &sz);
  *size = sz;
  return rc;
}

const uint8_t *win_tdh_cache_get(win_tdh_cache *c, PEVENT_RECORD er, uint32_t *len, int *owned) {
  *len = 0;
  *owned = 0;
  if (!c || win_is_wine()) return NULL;
  winp_schema_key k;
  make_key(er, &k);
  entry *e = find(c, &k);
  if (e->used) {
    *len = e->len;
    return e->len ? e->blob : NULL;
  }
  uint8_t *blob = NULL;
  uint32_t n = 0;
  uint32_t rc = winp_two_call(tdh_call, er, TRIES, &blob, &n);
  if (rc != ERROR_SUCCESS && !winp_tdh_failure_cacheable(rc)) return NULL;  /* ask again later */
  int room = c->count < MAX_ENTRIES;
  if (room && (c->count + 1) * 4 > c->nslots * 3) {
    room = grow(c) == 0;
    if (room) e = find(c, &k);
  }
  if (!room) {
    /* full: this record gets its own copy, later ones of the kind too */
    *owned = blob != NULL;
    *len = blob ? n : 0;
    return blob;
  }
  e->used = 1;
  e->key = k;
  e->blob = blob;
  e->len = blob ? n : 0;
  c->count++;
  *len = e->len;
  return blob;
}

#endif
