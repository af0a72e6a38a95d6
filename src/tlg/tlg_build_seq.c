/*
** tlg_build_seq.c: sequences (VCOUNT arrays: u16 item count, then the items
** in their scalar encoding; spec §2.4, §3.5) and the provider traits blob.
*/
#include <string.h>

#include "tlg_build_int.h"

static int seq_type_ok(unsigned intype) {
  if (tlg_intype_fixed_size(intype)) return 1;
  switch (intype) {
  case TLG_IN_UNICODESTRING: case TLG_IN_ANSISTRING: case TLG_IN_GUID:
  case TLG_IN_SYSTEMTIME: case TLG_IN_SID: case TLG_IN_COUNTEDSTRING:
  case TLG_IN_COUNTEDANSISTRING: case TLG_IN_COUNTEDBINARY:
    return 1;
  default: /* no arrays of BINARY (TDH cannot decode them) or STRUCT */
    return 0;
  }
}

int tlg_build_seq_begin(tlg_builder *b, const tlg_build_field *f, unsigned intype, tlg_seq *s) {
  if (!b->ready) return TLG_E_STATE;
  if (!seq_type_ok(intype)) return tlgb_value_error(f, TLG_E_ARG);
  int st = tlgb_field(b, f, (uint8_t)(intype | TLG_IN_VCOUNT), 2, 2);
  if (st != TLG_OK) return st;
  s->count_off = b->data_len;
  s->count = 0;
  s->intype = (uint8_t)intype;
  tlgb_put_u16(b->data + b->data_len, 0);
  b->data_len += 2;
  return TLG_OK;
}

/* Limits and room for one more item of `size` bytes. */
static int item_room(tlg_builder *b, const tlg_seq *s, size_t size) {
  if (s->count >= TLG_MAX_SEQ) return TLG_E_SEQ;
  if (size > TLG_MAX_DATA - b->data_len) return TLG_E_DATA;
  return tlgb_data_reserve(b, size);
}

/* Count the item just written at the data end. */
static void item_done(tlg_builder *b, tlg_seq *s, size_t size) {
  b->data_len += size;
  s->count++;
  tlgb_put_u16(b->data + s->count_off, s->count);
}

int tlg_build_seq_fixed(tlg_builder *b, tlg_seq *s, uint64_t bits) {
  size_t size = tlgb_fixed(s->intype);
  if (size == 0) return TLG_E_ARG;
  int st = item_room(b, s, size);
  if (st != TLG_OK) return st;
  tlgb_put_le(b->data + b->data_len, bits, size);
  item_done(b, s, size);
  return TLG_OK;
}

int tlg_build_seq_bytes(tlg_builder *b, tlg_seq *s, const void *p, size_t n) {
  size_t size = 0;
  int st = tlgb_bytes_size(s->intype, p, n, &size);
  if (st == TLG_OK) st = item_room(b, s, size);
  if (st != TLG_OK) return st;
  tlgb_bytes_write(b->data + b->data_len, s->intype, p, n, size);
  item_done(b, s, size);
  return TLG_OK;
}

int tlg_build_seq_str16(tlg_builder *b, tlg_seq *s, const char *utf8, size_t n) {
  size_t size = 0;
  int st = tlgb_str16_size(s->intype, utf8, n, &size);
  if (st == TLG_OK) st = item_room(b, s, size);
  if (st != TLG_OK) return st;
  tlgb_str16_write(b->data + b->data_len, s->intype, utf8, n, size);
  item_done(b, s, size);
  return TLG_OK;
}

int tlg_build_add_array(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                        const void *items, size_t count) {
  size_t size = tlgb_fixed(intype);
  if (!b->ready) return TLG_E_STATE;
  if (size == 0) return tlgb_value_error(f, TLG_E_ARG);
  if (count > TLG_MAX_SEQ) return tlgb_value_error(f, TLG_E_SEQ);
  int st = tlgb_field(b, f, (uint8_t)(intype | TLG_IN_VCOUNT), 2, 2 + count * size);
  if (st != TLG_OK) return st;
  uint8_t *dst = b->data + b->data_len;
  tlgb_put_u16(dst, count);
  if (count) memcpy(dst + 2, items, count * size);
  b->data_len += 2 + count * size;
  return TLG_OK;
}

/* --- provider traits ----------------------------------------------------- */

int tlg_provider_traits(const char *name, size_t len, const tlg_guid *group,
                        uint8_t *out, size_t cap, size_t *out_len) {
  size_t group_len = group ? 19 : 0;
  if (memchr(name, 0, len)) return TLG_E_NAME_NUL;
  if (len > 0xFFFF - 3 - group_len) return TLG_E_ARG;
  size_t total = 3 + len + group_len;
  *out_len = total;
  if (cap < total) return TLG_E_ARG;
  tlgb_put_u16(out, total);
  memcpy(out + 2, name, len);
  out[2 + len] = 0;
  if (group) {
    uint8_t *t = out + 3 + len;
    tlgb_put_u16(t, 19); /* trait size, includes its 3-byte header */
    t[2] = 1;              /* EtwProviderTraitTypeGroup */
    memcpy(t + 3, group->b, 16);
  }
  return TLG_OK;
}
