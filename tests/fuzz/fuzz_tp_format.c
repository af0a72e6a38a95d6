/*
** fuzz_tp_format.c: libFuzzer target for the tracefs format parser and the
** sample decoder (src/engine/perf/tp_format.c). Input: u16 LE length of
** the format text, the text, then the raw sample. Checks: a parsed table
** keeps every field inside 0..65535 and its kind's rules; decoding any
** sample either fails cleanly or yields TraceLogging blobs the decoder
** reads back without error.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf/tp_format.h"
#include "tlg_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static void check_table(const tpf_format *f) {
  REQUIRE(f->nfields <= TPF_MAX_FIELDS);
  for (unsigned i = 0; i < f->nfields; i++) {
    const tpf_field *fl = &f->fields[i];
    REQUIRE((unsigned)fl->offset + fl->size <= 65535);
    REQUIRE(memchr(fl->name, 0, sizeof fl->name) && fl->name[0]);
    if (fl->kind == TPF_INT) REQUIRE(fl->size == 1 || fl->size == 2 || fl->size == 4 || fl->size == 8);
    if (fl->kind == TPF_LOC_STR || fl->kind == TPF_LOC_ARRAY) REQUIRE(fl->size == 4);
    if (fl->kind == TPF_ARRAY) REQUIRE(fl->elem && fl->size % fl->elem == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < 2) return 0;
  size_t tl = (size_t)in[0] | (size_t)in[1] << 8;
  if (tl > size - 2) tl = size - 2;
  static tpf_format f;
  char err[128];
  if (tpf_parse((const char *)in + 2, tl, &f, err, sizeof err) != 0) {
    REQUIRE(memchr(err, 0, sizeof err) && err[0]);
    return 0;
  }
  check_table(&f);
  const uint8_t *raw = in + 2 + tl;
  size_t rl = size - 2 - tl;
  tlg_builder b;
  tlg_desc d = {0, 0, 11, 4, 0, 0, 0};
  tlg_build_init(&b, 0, 0);
  if (tlg_build_reset(&b, "e", 1, &d, 0) == TLG_OK && tpf_decode(&f, raw, rl, &b) >= 0) {
    size_t ml, dl;
    const uint8_t *m = tlg_build_meta(&b, &ml), *dd = tlg_build_data(&b, &dl);
    tlg_decoder dec;
    tlg_item it;
    REQUIRE(tlg_decode_start(&dec, m, ml, dd, dl) == TLG_OK);
    while (tlg_decode_next(&dec, &it)) {}
    REQUIRE(tlg_decode_status(&dec) == TLG_OK);
  }
  for (unsigned i = 0; i < f.nfields; i++) {        /* the accessors never read outside */
    size_t n;
    const char *s = tpf_get_str(&f.fields[i], raw, rl, &n);
    if (s) REQUIRE((const uint8_t *)s >= raw && (const uint8_t *)s + n <= raw + rl);
    (void)tpf_get_int(&f.fields[i], raw, rl);
  }
  tlg_build_free(&b);
  return 0;
}
