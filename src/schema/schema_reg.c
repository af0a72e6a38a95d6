/*
** schema_reg.c: the registry of manifest schemas, (provider GUID, event id,
** version) -> compiled blob; open addressing, grows at 3/4. Manifests added
** are kept whole until the registry is freed, so a blob a record points at
** stays valid even after a later manifest redefines its key.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlg_guid.h"
#include "schema.h"

typedef struct rslot {
  const schema_event *ev;        /* NULL: empty */
  const char *file;
} rslot;

struct schema_reg {
  rslot *s;
  size_t cap, n;
  schema_man **mans;
  char **files;
  size_t nmans;
};

/* Looked up for every record: two 64-bit words of the GUID and the id and
** version, mixed (no byte loop). */
static uint64_t khash(const uint8_t g[16], uint16_t id, uint8_t ver) {
  uint64_t a, b;
  memcpy(&a, g, 8);
  memcpy(&b, g + 8, 8);
  uint64_t h = (a ^ ((uint64_t)id << 8 | ver)) * 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 32);
}

static int same_key(const schema_event *a, const uint8_t g[16], uint16_t id, uint8_t ver) {
  return a->id == id && a->version == ver && memcmp(a->provider, g, 16) == 0;
}

schema_reg *schema_reg_new(void) { return calloc(1, sizeof(schema_reg)); }

void schema_reg_free(schema_reg *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nmans; i++) { schema_man_free(r->mans[i]); free(r->files[i]); }
  free(r->mans);
  free(r->files);
  free(r->s);
  free(r);
}

static rslot *slot(const schema_reg *r, const uint8_t g[16], uint16_t id, uint8_t ver) {
  size_t j = khash(g, id, ver) & (r->cap - 1);
  while (r->s[j].ev && !same_key(r->s[j].ev, g, id, ver)) j = (j + 1) & (r->cap - 1);
  return &r->s[j];
}

static int grow(schema_reg *r, size_t need) {
  if ((r->n + need) * 4 <= r->cap * 3) return 0;
  size_t cap = r->cap ? r->cap : 64;
  while ((r->n + need) * 4 > cap * 3) cap *= 2;
  rslot *old = r->s;
  size_t ocap = r->cap;
  r->s = calloc(cap, sizeof *r->s);
  if (!r->s) { r->s = old; return -1; }
  r->cap = cap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i].ev) *slot(r, old[i].ev->provider, old[i].ev->id, old[i].ev->version) = old[i];
  free(old);
  return 0;
}

int schema_reg_add(schema_reg *r, schema_man *m, const char *file, char *warn, size_t cap) {
  if (cap) warn[0] = 0;
  size_t n = schema_man_event_count(m);
  char *fcopy = malloc(strlen(file) + 1);
  schema_man **mans = realloc(r->mans, (r->nmans + 1) * sizeof *mans);
  if (mans) r->mans = mans;
  char **files = mans ? realloc(r->files, (r->nmans + 1) * sizeof *files) : NULL;
  if (files) r->files = files;
  if (!fcopy || !mans || !files || grow(r, n) < 0) { free(fcopy); return -1; }
  strcpy(fcopy, file);
  r->mans[r->nmans] = m;
  r->files[r->nmans++] = fcopy;
  size_t redefined = 0;
  const schema_event *first = NULL;
  const char *first_file = NULL;
  for (size_t i = 0; i < n; i++) {
    const schema_event *e = schema_man_event(m, i);
    rslot *s = slot(r, e->provider, e->id, e->version);
    if (s->ev) {
      int differs = s->ev->len != e->len || memcmp(s->ev->blob, e->blob, e->len) != 0;
      if (differs && redefined++ == 0) { first = e; first_file = s->file; }
    } else {
      r->n++;
    }
    s->ev = e;
    s->file = fcopy;
  }
  if (redefined && cap) {
    tlg_guid g;
    char gt[TLG_GUID_TEXT];
    memcpy(g.b, first->provider, 16);
    tlg_guid_format(&g, gt);
    snprintf(warn, cap, "%s redefines %zu event(s) of earlier manifests, e.g. %s/%u/%u "
             "(first from %s); the later definitions are used", fcopy, redefined, gt,
             first->id, first->version, first_file);
  }
  return 0;
}

const uint8_t *schema_reg_find(const schema_reg *r, const uint8_t provider[16], uint16_t id,
                               uint8_t version, uint32_t *len) {
  if (!r || !r->n) return NULL;
  const rslot *s = slot(r, provider, id, version);
  if (!s->ev) return NULL;
  *len = s->ev->len;
  return s->ev->blob;
}

size_t schema_reg_count(const schema_reg *r) { return r ? r->n : 0; }
