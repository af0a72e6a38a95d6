/*
** win_schema_cache.c: the table behind the TDH schema cache (spec
** windows-etw §5.3): (provider, id, version, opcode, level, classic) ->
** TRACE_EVENT_INFO bytes. Grows instead of filling up, so a consumer keeps
** decoding past any fixed number of event kinds; blobs stay where they are
** when the table grows. Pure: tested on Linux.
*/
#include <stdlib.h>
#include <string.h>

#include "winp.h"

uint64_t winp_schema_key_hash(const winp_schema_key *k) {
  /* FNV-1a over the key fields in a fixed order */
  uint8_t b[22];
  memcpy(b, k->provider, 16);
  tlg_put16(b + 16, k->id);
  b[18] = k->version; b[19] = k->opcode; b[20] = k->level; b[21] = k->classic;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < sizeof b; i++) { h ^= b[i]; h *= 1099511628211ULL; }
  return h;
}

#define FIRST_SLOTS 1024u   /* power of two */

typedef struct slot {
  winp_schema_key key;
  int used;
  uint32_t len;
  uint8_t *blob;
} slot;

struct winp_schema_cache {
  slot *s;
  uint32_t nslots, count, max;
};

winp_schema_cache *winp_schema_cache_new(uint32_t max_entries) {
  winp_schema_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->s = calloc(FIRST_SLOTS, sizeof *c->s);
  if (!c->s) { free(c); return NULL; }
  c->nslots = FIRST_SLOTS;
  c->max = max_entries;
  return c;
}

void winp_schema_cache_free(winp_schema_cache *c) {
  if (!c) return;
  for (uint32_t i = 0; i < c->nslots; i++) free(c->s[i].blob);
  free(c->s);
  free(c);
}

static int key_eq(const winp_schema_key *a, const winp_schema_key *b) {
  return memcmp(a->provider, b->provider, 16) == 0 && a->id == b->id &&
         a->version == b->version && a->opcode == b->opcode && a->level == b->level &&
         a->classic == b->classic;
}

/* the slot of `k`, or the free one where it goes (the table is never full) */
static slot *find(slot *s, uint32_t nslots, const winp_schema_key *k) {
  uint32_t mask = nslots - 1, i = (uint32_t)winp_schema_key_hash(k) & mask;
  while (s[i].used && !key_eq(&s[i].key, k)) i = (i + 1) & mask;
  return &s[i];
}

int winp_schema_cache_find(const winp_schema_cache *c, const winp_schema_key *k,
                           const uint8_t **blob, uint32_t *len) {
  const slot *e = find(c->s, c->nslots, k);
  if (!e->used) return 0;
  *blob = e->blob;
  *len = e->blob ? e->len : 0;
  return 1;
}

static int grow(winp_schema_cache *c) {
  if (c->nslots > UINT32_MAX / 2) return -1;
  uint32_t n = c->nslots * 2;
  slot *s = calloc(n, sizeof *s);
  if (!s) return -1;
  for (uint32_t i = 0; i < c->nslots; i++)
    if (c->s[i].used) *find(s, n, &c->s[i].key) = c->s[i];
  free(c->s);
  c->s = s;
  c->nslots = n;
  return 0;
}

int winp_schema_cache_put(winp_schema_cache *c, const winp_schema_key *k, uint8_t *blob,
                          uint32_t len) {
  slot *e = find(c->s, c->nslots, k);
  if (e->used) return -1;                      /* already there: keep the first */
  if (c->count >= c->max) return -1;
  if ((uint64_t)(c->count + 1) * 4 > (uint64_t)c->nslots * 3) {
    if (grow(c) < 0) return -1;
    e = find(c->s, c->nslots, k);
  }
  e->used = 1;
  e->key = *k;
  e->blob = blob;
  e->len = blob ? len : 0;
  c->count++;
  return 0;
}

uint32_t winp_schema_cache_count(const winp_schema_cache *c) { return c->count; }
