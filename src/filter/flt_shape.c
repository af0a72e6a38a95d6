/*
** flt_shape.c: shapes of TraceLogging metadata (the top-level field names
** and, for the leading fixed-size fields, their data offsets), a bounded
** cache of them, and the lookup of one field's value (see flt.h).
*/
#include <stdlib.h>
#include <string.h>

#include "flt.h"
#include "tlg_hash.h"

/* Slots of the cache (direct-mapped by hash), and what a shape may hold:
** larger metadata is not cached (its lookups scan with the decoder), so the
** cache stays under a few MB whatever the input. */
#define CACHE_SLOTS 256
#define SHAPE_MAX_META 2048
#define SHAPE_MAX_FIELDS 64

struct flt_cache {
  flt_shape *slot[CACHE_SLOTS];
  flt_shape *last;        /* the last one found: events of one shape come in runs */
  uint32_t gen;
};

uint32_t flt_cache_gen(const flt_cache *c) { return c->gen; }

flt_cache *flt_cache_new(void) { return calloc(1, sizeof(flt_cache)); }

void flt_cache_free(flt_cache *c) {
  if (!c) return;
  for (int i = 0; i < CACHE_SLOTS; i++) free(c->slot[i]);
  free(c);
}

/* Spreads the metadata bytes; a hit is confirmed byte for byte. */
static uint64_t meta_hash(const uint8_t *p, size_t n) { return tlg_hash_bytes(p, n, n); }

/* Bytes of one value of a fixed-size InType, 0 for the others. */
static uint32_t fixed_size(const tlg_field *f) {
  if (f->array == TLG_IN_CUSTOM) return 0;
  switch (f->in_type) {
  case TLG_IN_INT8: case TLG_IN_UINT8: return 1;
  case TLG_IN_INT16: case TLG_IN_UINT16: return 2;
  case TLG_IN_INT32: case TLG_IN_UINT32: case TLG_IN_FLOAT: case TLG_IN_BOOL32:
  case TLG_IN_HEXINT32: return 4;
  case TLG_IN_INT64: case TLG_IN_UINT64: case TLG_IN_DOUBLE: case TLG_IN_POINTER:
  case TLG_IN_FILETIME: case TLG_IN_HEXINT64: return 8;
  case TLG_IN_GUID: case TLG_IN_SYSTEMTIME: return 16;
  default: return 0;
  }
}

/* What flt_tlg_int makes of a field (flt_field.int_kind): a single
** integer value that Lua reads as an integer (not a 1-byte BOOLEAN). */
static int8_t int_kind(const tlg_field *f, uint32_t size) {
  if (tlg_field_is_array(f)) return FLT_INT_NO;
  if (size == 1 && f->out_type == TLG_OUT_BOOLEAN) return FLT_INT_NO;   /* a boolean */
  switch (f->in_type) {
  case TLG_IN_INT8: case TLG_IN_INT16: case TLG_IN_INT32: case TLG_IN_INT64: case TLG_IN_FILETIME:
    return FLT_INT_SIGNED;
  case TLG_IN_UINT8: case TLG_IN_UINT16: case TLG_IN_UINT32: case TLG_IN_UINT64:
  case TLG_IN_HEXINT32: case TLG_IN_HEXINT64: case TLG_IN_POINTER:
    return FLT_INT_UNSIGNED;
  default: return FLT_INT_NO;
  }
}

/* Skip the metadata of a struct's members (nested structs included);
** 0 when it does not parse. */
static int skip_members(const tlg_decoder *d, uint32_t *pos, uint32_t *index, uint32_t n) {
  while (n > 0) {
    tlg_field f;
    if (tlg_decode_meta_end(d, *pos) || tlg_decode_field(d, pos, *index, &f) != TLG_OK) return 0;
    (*index)++;
    n = n - 1 + tlg_field_members(&f);
  }
  return 1;
}

/* Parse the top-level fields into s (NULL: count only); returns how many
** parsed before the metadata ended or stopped parsing. The fixed prefix
** ends at the first field that is neither a fixed-size value nor a
** fixed-count array of them; that field's offset is known too. */
static uint32_t parse_top(const tlg_decoder *d, flt_shape *s) {
  uint32_t pos = tlg_decode_fields_pos(d), index = 0, n = 0, off = 0;
  int fixed = 1;
  while (!tlg_decode_meta_end(d, pos)) {
    tlg_field f;
    if (tlg_decode_field(d, &pos, index, &f) != TLG_OK) break;
    index++;
    uint32_t size = fixed_size(&f);
    if (f.array == TLG_IN_CCOUNT) size *= f.ccount;
    else if (f.array == TLG_IN_VCOUNT) size = 0;
    if (s) {
      s->fields[n].f = f;
      s->fields[n].offset = off;
      s->fields[n].size = size;
      s->fields[n].int_kind = int_kind(&f, size);
      if (fixed && size) s->nfixed = n + 1;
      if (fixed) s->nknown = n + 1;
    }
    if (!size || (f.array == TLG_IN_CCOUNT && f.ccount == 0)) fixed = 0;
    off += size;
    n++;
    if (f.in_type == TLG_IN_STRUCT && !skip_members(d, &pos, &index, tlg_field_members(&f))) break;
  }
  return n;
}

static flt_shape *shape_new(const uint8_t *meta, uint32_t len, uint64_t h) {
  tlg_decoder d;
  if (len > SHAPE_MAX_META || tlg_decode_start(&d, meta, len, NULL, 0) != TLG_OK) return NULL;
  uint32_t n = parse_top(&d, NULL);
  if (n > SHAPE_MAX_FIELDS) return NULL;
  flt_shape *s = malloc(sizeof *s + n * sizeof(flt_field) + len);
  if (!s) return NULL;
  uint8_t *copy = (uint8_t *)(s->fields + n);
  memcpy(copy, meta, len);
  s->hash = h;
  s->meta_len = len;
  s->meta = copy;
  s->nfixed = s->nknown = 0;
  tlg_decode_start(&d, copy, len, NULL, 0);         /* names point into the copy */
  s->nfields = parse_top(&d, s);
  return s;
}

const flt_shape *flt_cache_get(flt_cache *c, const uint8_t *meta, uint32_t meta_len) {
  if (!c || !meta) return NULL;
  flt_shape *last = c->last;
  if (last && last->meta_len == meta_len && memcmp(last->meta, meta, meta_len) == 0) return last;
  uint64_t h = meta_hash(meta, meta_len);
  flt_shape **slot = &c->slot[h % CACHE_SLOTS];
  flt_shape *s = *slot;
  if (s && s->hash == h && s->meta_len == meta_len && memcmp(s->meta, meta, meta_len) == 0)
    return c->last = s;
  s = shape_new(meta, meta_len, h);
  if (!s) return NULL;
  if (*slot) c->gen++;                               /* pointers to the old one go stale */
  if (*slot == c->last) c->last = NULL;
  free(*slot);
  *slot = s;
  return c->last = s;
}

int flt_find(const flt_shape *s, const char *name, size_t len) {
  for (uint32_t i = 0; i < s->nfields; i++) {
    const tlg_field *f = &s->fields[i].f;
    if (f->name_len == len && memcmp(f->name, name, len) == 0) return (int)i;
  }
  return -1;
}

int flt_find_at(const flt_cache *c, const flt_shape *s, const char *name, size_t len,
                flt_slot *slot) {
  if (slot->shape == s && slot->gen == c->gen) return slot->index;
  slot->index = flt_find(s, name, len);
  slot->shape = s;
  slot->gen = c->gen;
  return slot->index;
}

/* Decode until the top-level item of metadata index `index` (or, with
** name != NULL, the first top-level field of that name). */
static int scan(tlg_decoder *d, uint32_t index, const char *name, size_t len, tlg_item *it) {
  while (tlg_decode_next(d, it)) {
    if (it->depth != 0 || it->kind == TLG_ITEM_ARRAY_END || it->kind == TLG_ITEM_STRUCT_END)
      continue;
    if (name ? it->field.name_len != len || memcmp(it->field.name, name, len) != 0
             : it->field.index != index)
      continue;
    return it->kind == TLG_ITEM_VALUE ? FLT_VALUE : FLT_COMPLEX;
  }
  return FLT_MISSING;
}

/* The bytes of a variable-size value at p (avail bytes left), as the
** decoder sizes it (tlg_decode.c value_size): *off and *len the value, *raw
** all it takes. 0 when the decoder would stop there. */
static int var_size(const tlg_field *f, const uint8_t *p, uint32_t avail, uint32_t *off,
                    uint32_t *len, uint32_t *raw) {
  uint32_t n;
  *off = 0;
  switch (f->array == TLG_IN_CUSTOM ? TLG_IN_COUNTEDBINARY : f->in_type) {
  case TLG_IN_UNICODESTRING:
    for (n = 0; n + 1 < avail; n += 2)
      if (p[n] == 0 && p[n + 1] == 0) {
        *len = n;
        *raw = n + 2;
        return 1;
      }
    return 0;
  case TLG_IN_ANSISTRING: {
    const uint8_t *nul = avail ? memchr(p, 0, avail) : NULL;
    if (!nul) return 0;
    *len = (uint32_t)(nul - p);
    *raw = *len + 1;
    return 1;
  }
  case TLG_IN_SID:
    if (avail < 2 || avail < 8 + 4u * p[1]) return 0;
    *len = *raw = 8 + 4u * p[1];
    return 1;
  case TLG_IN_BINARY: case TLG_IN_COUNTEDSTRING:
  case TLG_IN_COUNTEDANSISTRING: case TLG_IN_COUNTEDBINARY:
    if (avail < 2) return 0;
    n = (uint32_t)tlg_get_le(p, 2);
    if (avail - 2 < n) return 0;
    *off = 2;
    *len = n;
    *raw = n + 2;
    return 1;
  default:
    return 0;
  }
}

/* Field i, after the first variable one, reached by sizing the single
** values from the one whose offset is known up to it from the data, as
** the decoder sizes them (tlg_value_size), without running the decoder:
** FLT_VALUE or FLT_MISSING (the decoder would stop before or at it), or -1
** when an array or a struct lies before it (then only the decoder knows
** where it ends). */
static int walk_to(const flt_shape *s, uint32_t i, const uint8_t *data, uint32_t data_len,
                   tlg_item *it) {
  uint32_t pos = s->fields[s->nknown - 1].offset, off, len, raw;
  for (uint32_t j = s->nknown - 1; j <= i; j++) {
    const tlg_field *f = &s->fields[j].f;
    if (tlg_field_is_array(f) || f->in_type == TLG_IN_STRUCT) return -1;
    /* no byte left: every InType's value is truncated there */
    if (data_len <= pos || tlg_value_size(f, data + pos, data_len - pos, &off, &len, &raw) != TLG_OK)
      return FLT_MISSING;
    if (j == i) {
      memset(it, 0, sizeof *it);
      it->kind = TLG_ITEM_VALUE;
      it->value = data + pos + off;
      it->value_len = len;
      it->offset = pos;
      it->size = raw;
      it->field = *f;
      return FLT_VALUE;
    }
    pos += raw;
  }
  return -1;
}

int flt_tlg_value(const flt_shape *s, int i, const uint8_t *meta, uint32_t meta_len,
                  const uint8_t *data, uint32_t data_len, tlg_item *it) {
  if (i < 0 || (uint32_t)i >= s->nfields) return FLT_MISSING;
  const flt_field *ff = &s->fields[i];
  if (tlg_field_is_array(&ff->f) || ff->f.in_type == TLG_IN_STRUCT) return FLT_COMPLEX;
  if ((uint32_t)i < s->nfixed) {
    /* every field before it has a fixed size, so the decoder reaches this
    ** one exactly when the data holds it */
    if (data_len < ff->offset || data_len - ff->offset < ff->size) return FLT_MISSING;
    memset(it, 0, sizeof *it);
    it->kind = TLG_ITEM_VALUE;
    it->value = data + ff->offset;
    it->value_len = ff->size;
    it->offset = ff->offset;
    it->size = ff->size;
    it->field = ff->f;
    return FLT_VALUE;
  }
  uint32_t off, len, raw;
  if ((uint32_t)i < s->nknown) {                     /* the first field after the fixed ones */
    if (data_len < ff->offset ||
        !var_size(&ff->f, data + ff->offset, data_len - ff->offset, &off, &len, &raw))
      return FLT_MISSING;
    memset(it, 0, sizeof *it);
    it->kind = TLG_ITEM_VALUE;
    it->value = data + ff->offset + off;
    it->value_len = len;
    it->offset = ff->offset;
    it->size = raw;
    it->field = ff->f;
    return FLT_VALUE;
  }
  int w = walk_to(s, (uint32_t)i, data, data_len, it);
  if (w >= 0) return w;
  tlg_decoder d;
  if (tlg_decode_start(&d, meta, meta_len, data, data_len) != TLG_OK) return FLT_MISSING;
  return scan(&d, ff->f.index, NULL, 0, it);
}

int flt_tlg_int(const flt_shape *s, int i, const uint8_t *data, uint32_t data_len, int64_t *v) {
  if (i < 0 || (uint32_t)i >= s->nfixed) return -1;
  const flt_field *ff = &s->fields[i];
  if (ff->int_kind == FLT_INT_NO) return -1;
  /* as flt_tlg_value: every field before it has a fixed size */
  if (data_len < ff->offset || data_len - ff->offset < ff->size) return 0;
  uint64_t u = flt_uint_le(data + ff->offset, ff->size);
  unsigned sh = 64 - 8 * ff->size;
  *v = ff->int_kind == FLT_INT_SIGNED && ff->size < 8 ? (int64_t)(u << sh) >> sh : (int64_t)u;
  return 1;
}

int flt_tlg_scan(const uint8_t *meta, uint32_t meta_len, const uint8_t *data, uint32_t data_len,
                 const char *name, size_t len, tlg_item *it) {
  tlg_decoder d;
  if (!meta || tlg_decode_start(&d, meta, meta_len, data, data_len) != TLG_OK) return FLT_MISSING;
  return scan(&d, 0, name, len, it);
}
