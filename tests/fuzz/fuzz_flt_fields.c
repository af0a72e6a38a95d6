/*
** fuzz_flt_fields.c: libFuzzer target for src/filter: every top-level field
** looked up through a shape (offsets, the first variable field, the
** decoder after that) must give what the decoder itself gives for the
** first field of that name, and conditions on the values must not crash.
** Input as fuzz_tlg_decode (whose corpus it shares): u16 LE metadata
** length, the metadata blob, then data.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static flt_cache *cache;

/* What the decoder gives for the first top-level field named like `want`. */
static int reference(const uint8_t *m, size_t ml, const uint8_t *d, size_t dl, const tlg_field *want,
                     tlg_item *out) {
  tlg_decoder dec;
  tlg_item it;
  if (tlg_decode_start(&dec, m, ml, d, dl) != TLG_OK) return FLT_MISSING;
  while (tlg_decode_next(&dec, &it)) {
    if (it.depth != 0 || it.kind == TLG_ITEM_ARRAY_END || it.kind == TLG_ITEM_STRUCT_END) continue;
    if (it.field.name_len != want->name_len || memcmp(it.field.name, want->name, want->name_len))
      continue;
    *out = it;
    return it.kind == TLG_ITEM_VALUE ? FLT_VALUE : FLT_COMPLEX;
  }
  return FLT_MISSING;
}

static void conditions(const tlg_item *it) {
  static char scratch[8];
  flt_const k[3] = {{FLT_K_INT, -1, 0, NULL, 0}, {FLT_K_NUM, 0, 0.5, NULL, 0},
                    {FLT_K_STR, 0, 0, (char *)"abcdefg", 7}};
  for (int op = FLT_EQ; op <= FLT_GE; op++) {
    flt_cond c = {(char *)"x", 1, op, 3, k, scratch, sizeof scratch, {NULL, 0, 0}};
    (void)flt_cond_item(&c, it);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  if (size < 2) return 0;
  size_t ml = (size_t)in[0] | (size_t)in[1] << 8;
  if (ml > size - 2) ml = size - 2;
  const uint8_t *m = in + 2, *d = in + 2 + ml;
  size_t dl = size - 2 - ml;
  if (!cache) cache = flt_cache_new();
  REQUIRE(cache);
  const flt_shape *s = flt_cache_get(cache, m, (uint32_t)ml);
  if (!s) return 0;
  for (uint32_t i = 0; i < s->nfields; i++) {
    tlg_item got, want;
    const tlg_field *f = &s->fields[i].f;
    int pos = flt_find(s, f->name, f->name_len);
    REQUIRE(pos >= 0 && (uint32_t)pos <= i);
    int r = flt_tlg_value(s, pos, m, (uint32_t)ml, d, (uint32_t)dl, &got);
    int e = reference(m, ml, d, dl, f, &want);
    /* COMPLEX only says "build the table to know": the decoder may stop first */
    REQUIRE(r == e || (r == FLT_COMPLEX && e == FLT_MISSING));
    if (r == FLT_VALUE) {
      REQUIRE(got.value == want.value && got.value_len == want.value_len);
      REQUIRE(got.field.in_type == want.field.in_type && got.field.array == want.field.array);
      REQUIRE(got.field.out_type == want.field.out_type);
      conditions(&got);
    }
  }
  return 0;
}
