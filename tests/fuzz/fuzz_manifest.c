/*
** fuzz_manifest.c: libFuzzer target for the manifest loader (src/schema:
** expat parse, name resolution, TEI compile, registry) and the decoder it
** feeds: every compiled event (up to 32) is walked and formatted over a
** payload cut from the input itself, with both pointer sizes, and its
** value maps looked up. Input: the manifest XML bytes.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "sch_tdh.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static void sink_write(void *ctx, const char *s, size_t n) {
  size_t *total = ctx;
  REQUIRE(n == 0 || s != NULL);
  *total += n;
}

static int visit(void *ctx, const sch_walk_item *w) {
  const sch_tdh_event *t = ctx;
  char out[256];
  size_t n = sch_tdh_mapped(t, w, out, sizeof out);
  REQUIRE(n < sizeof out && strlen(out) == n);
  return 0;
}

static void decode(const schema_event *e, const uint8_t *data, size_t dl) {
  size_t total = 0;
  uint32_t prop = 0;
  char name[512], err[400];
  tlg_sink sink = {sink_write, &total};
  for (unsigned psize = 4; psize <= 8; psize += 4) {
    sch_tdh_event t = {e->blob, e->len, data, (uint32_t)dl, psize};
    REQUIRE(sch_tdh_event_name(&t, name, sizeof name) < sizeof name);
    REQUIRE(sch_tdh_provider_name(&t, name, sizeof name) < sizeof name);
    /* any status: BAD_SCHEMA also means the walker's step bound ended a
    ** payload of endless zero-size items (an unterminated string's rest) */
    int st = sch_tdh_run(&t, visit, &t, &prop);
    REQUIRE(st == SCH_TDH_OK || st == SCH_TDH_SHORT || st == SCH_TDH_BAD_SCHEMA);
    for (int mode = 0; mode < 2; mode++) {
      int fs = sch_tdh_fmt_fields(&sink, &t, mode ? TLG_FMT_JSON : TLG_FMT_TEXT, &prop);
      if (fs != SCH_TDH_OK) sch_tdh_error(&t, fs, prop, err, sizeof err);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  schema_man *m = NULL;
  char err[600];
  int rc = schema_man_parse("fuzz.man", in, size, &m, err, sizeof err);
  if (rc < 0) {
    REQUIRE(m == NULL && strncmp(err, "fuzz.man:", 9) == 0);
    return 0;
  }
  REQUIRE(m != NULL);
  for (size_t i = 0; i < schema_man_provider_count(m); i++) {
    const char *name;
    const uint8_t *g;
    size_t n;
    schema_man_provider(m, i, &name, &g, &n);
    REQUIRE(name && g && n <= schema_man_event_count(m));
  }
  /* a payload copy (so ASan sees reads past it): the input's second half */
  size_t dl = size / 2;
  uint8_t *data = malloc(dl ? dl : 1);
  memcpy(data, in + size - dl, dl);
  size_t nev = schema_man_event_count(m);
  for (size_t i = 0; i < nev && i < 32; i++) decode(schema_man_event(m, i), data, dl);
  free(data);
  schema_reg *r = schema_reg_new();
  char warn[1200];
  if (r && schema_reg_add(r, m, "fuzz.man", warn, sizeof warn) == 0) {
    for (size_t i = 0; i < nev && i < 32; i++) {
      const schema_event *e = schema_man_event(m, i);
      uint32_t len;
      REQUIRE(schema_reg_find(r, e->provider, e->id, e->version, &len) != NULL);
    }
  } else {
    schema_man_free(m);
  }
  schema_reg_free(r);
  return 0;
}
