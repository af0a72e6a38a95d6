/*
** sch_es.c: EventSource manifest chunks put back together, per provider
** (sch_es.h). A provider's state is its manifest in flight (the chunks so
** far, in order) and a hash of its last complete manifest, so a manifest
** sent again (an EventSource resends it on every enable) is recognised and
** not compiled twice.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sch_es.h"

typedef struct es_prov {
  uint8_t guid[16];
  uint16_t total, next;          /* in flight: chunk count, next chunk number (0: none) */
  uint8_t *buf;
  size_t len, cap;
  uint64_t last_hash;            /* the last complete manifest (last_len 0: none) */
  size_t last_len;
  int had_error;
} es_prov;

struct sch_es {
  es_prov *p;
  size_t n, cap;
  size_t taken;                  /* bytes of complete manifests handed out */
  size_t held;                   /* bytes of manifests in flight */
  uint8_t *out;                  /* the last SCH_ES_DONE manifest */
};

sch_es *sch_es_new(void) { return calloc(1, sizeof(sch_es)); }

void sch_es_free(sch_es *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) free(s->p[i].buf);
  free(s->p);
  free(s->out);
  free(s);
}

static uint64_t fnv64(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ULL; }
  return h;
}

/* The provider's state, made on first sight; NULL when out of memory or
** over SCH_ES_MAX_PROVIDERS. */
static es_prov *prov(sch_es *s, const uint8_t g[16]) {
  for (size_t i = 0; i < s->n; i++)
    if (memcmp(s->p[i].guid, g, 16) == 0) return &s->p[i];
  if (s->n >= SCH_ES_MAX_PROVIDERS) return NULL;
  if (s->n == s->cap) {
    size_t c = s->cap ? s->cap * 2 : 8;
    es_prov *np = realloc(s->p, c * sizeof *np);
    if (!np) return NULL;
    s->p = np;
    s->cap = c;
  }
  es_prov *e = &s->p[s->n++];
  memset(e, 0, sizeof *e);
  memcpy(e->guid, g, 16);
  return e;
}

/* Forget the manifest in flight. */
static void drop(sch_es *s, es_prov *e) {
  s->held -= e->len;
  free(e->buf);
  e->buf = NULL;
  e->len = e->cap = 0;
  e->total = e->next = 0;
}

/* An error for provider e (NULL: none); the message is already in err. */
static int verdict(es_prov *e) {
  int again = e && e->had_error;
  if (e) e->had_error = 1;
  return again ? SCH_ES_ERROR_AGAIN : SCH_ES_ERROR;
}

static int append(sch_es *s, es_prov *e, const uint8_t *p, size_t n) {
  if (e->len + n > e->cap) {
    size_t c = e->cap ? e->cap : 4096;
    while (c < e->len + n) c *= 2;
    uint8_t *nb = realloc(e->buf, c);
    if (!nb) return -1;
    e->buf = nb;
    e->cap = c;
  }
  if (n) memcpy(e->buf + e->len, p, n);
  e->len += n;
  s->held += n;
  return 0;
}

/* The manifest in flight is complete: hand it out (or say it is the same). */
static int complete(sch_es *s, es_prov *e, const uint8_t **xml, size_t *len, char *err,
                    size_t cap) {
  if (e->len == 0) {                   /* no XML at all (and no buffer to hand out) */
    if (cap) snprintf(err, cap, "manifest of %u chunk(s): empty", (unsigned)e->total);
    drop(s, e);
    return verdict(e);
  }
  uint64_t h = fnv64(e->buf, e->len);
  if (e->last_len == e->len && e->last_hash == h) { drop(s, e); return SCH_ES_SAME; }
  if (s->taken + e->len > SCH_ES_MAX_TOTAL) {
    if (cap) snprintf(err, cap, "manifest of %u chunk(s): more than %u MB of EventSource "
                      "manifests in this input", (unsigned)e->total, SCH_ES_MAX_TOTAL >> 20);
    drop(s, e);
    return verdict(e);
  }
  s->taken += e->len;
  s->held -= e->len;
  e->last_hash = h;
  e->last_len = e->len;
  s->out = e->buf;
  *xml = e->buf;
  *len = e->len;
  e->buf = NULL;
  e->len = e->cap = 0;
  e->total = e->next = 0;
  return SCH_ES_DONE;
}

int sch_es_add(sch_es *s, const uint8_t provider[16], const uint8_t *p, size_t n,
               const uint8_t **xml, size_t *len, char *err, size_t cap) {
  free(s->out);
  s->out = NULL;
  *xml = NULL;
  *len = 0;
  if (cap) err[0] = 0;
  es_prov *e = prov(s, provider);
  if (!e) {
    if (cap) snprintf(err, cap, "more than %u EventSource providers (or out of memory)",
                      SCH_ES_MAX_PROVIDERS);
    return verdict(NULL);
  }
  if (n < SCH_ES_ENVELOPE) {
    if (cap) snprintf(err, cap, "chunk of %u bytes: shorter than the %u-byte envelope", (unsigned)n,
                      SCH_ES_ENVELOPE);
    return verdict(e);
  }
  unsigned total = (unsigned)p[4] | (unsigned)p[5] << 8, num = (unsigned)p[6] | (unsigned)p[7] << 8;
  const char *bad = p[0] != 1 ? ": format is not 1 (XML)"
                    : p[3] != SCH_ES_MAGIC ? ": magic is not 0x5B"
                    : total == 0 ? ": TotalChunks is 0"
                    : num >= total ? ": ChunkNumber is not below TotalChunks" : NULL;
  if (bad) {
    drop(s, e);
    if (cap) snprintf(err, cap, "chunk %u of %u%s", num, total, bad);
    return verdict(e);
  }
  int partial = 0;
  unsigned had = e->next, had_total = e->total;
  if (num == 0) {
    partial = e->total != 0;           /* an earlier manifest never completed */
    drop(s, e);
    e->total = (uint16_t)total;
  } else if (e->total != total || e->next != num) {
    unsigned want = e->total ? e->next : 0;
    drop(s, e);
    if (cap) snprintf(err, cap, "chunk %u of %u out of order (expected chunk %u); the manifest is "
                      "dropped until its chunk 0 comes again", num, total, want);
    return verdict(e);
  }
  size_t body = n - SCH_ES_ENVELOPE;
  if (e->len + body > SCH_ES_MAX_MANIFEST || s->held + s->taken + body > SCH_ES_MAX_TOTAL ||
      append(s, e, p + SCH_ES_ENVELOPE, body) < 0) {
    drop(s, e);
    if (cap) snprintf(err, cap, "chunk %u of %u: the manifest is over %u MB, or more than %u MB "
                      "of manifests are in this input (or out of memory)", num, total,
                      SCH_ES_MAX_MANIFEST >> 20, SCH_ES_MAX_TOTAL >> 20);
    return verdict(e);
  }
  e->next = (uint16_t)(num + 1);
  if (e->next == e->total) return complete(s, e, xml, len, err, cap);
  if (partial) {
    if (cap) snprintf(err, cap, "a manifest of %u chunk(s) ended after chunk %u of %u (a new one "
                      "started)", had_total, had - 1, had_total);
    return verdict(e);
  }
  return SCH_ES_MORE;
}
