/*
** tlg_decode.c: TraceLogging event decoder (see tlg_decode.h). Every read
** is bounds-checked against the blob; every loop is bounded by a u16 count,
** the depth cap or the step limit.
*/
#include <string.h>

#include "tlg_decode.h"

enum { FR_STRUCT = 1, FR_ARRAY = 2 };


static int fail(tlg_decoder *d, int status, const tlg_field *f) {
  d->err.status = status;
  d->err.field_index = f ? (int32_t)f->index : -1;
  d->err.field_name = f ? f->name : NULL;
  d->err.field_name_len = f ? f->name_len : 0;
  d->err.meta_offset = d->mpos;
  d->err.data_offset = d->dpos;
  d->done = 1;
  return 0;
}

/* Chained 7-bit tag, first byte = bits 27..21 (spec §3.3); at most 4 bytes. */
static int read_tag(const uint8_t *m, uint32_t len, uint32_t *pos,
                    uint32_t *tag, uint8_t *tag_len) {
  uint32_t p = *pos, t = 0;
  for (unsigned i = 0;; i++) {
    if (i == 4) return TLG_E_MALFORMED;
    if (p >= len) return TLG_E_TRUNCATED;
    uint8_t b = m[p++];
    t |= (uint32_t)(b & 0x7F) << (21 - 7 * i);
    if (!(b & 0x80)) {
      *tag = t;
      *tag_len = (uint8_t)(i + 1);
      *pos = p;
      return TLG_OK;
    }
  }
}

static int valid_intype(unsigned t) {
  return t != TLG_IN_NULL && t <= TLG_IN_COUNTEDBINARY;
}

/* Name, InMeta, [OutMeta, [tag]], [ccount | cbSchema + schema]. */
static int parse_field(const uint8_t *m, uint32_t len, uint32_t *pos, tlg_field *f) {
  uint32_t p = *pos;
  const uint8_t *nul = memchr(m + p, 0, len - p);
  memset(f, 0, sizeof *f);
  if (!nul) return TLG_E_TRUNCATED;
  f->name = (const char *)(m + p);
  f->name_len = (uint32_t)(nul - (m + p));
  p += f->name_len + 1;
  if (p >= len) return TLG_E_TRUNCATED;
  uint8_t in = m[p++];
  f->in_type = in & TLG_IN_TYPE_MASK;
  f->array = in & TLG_IN_CUSTOM;
  /* A custom field's data is always u16 size + bytes, whatever its InType. */
  if (f->array == TLG_IN_CUSTOM ? f->in_type == TLG_IN_STRUCT : !valid_intype(f->in_type))
    return TLG_E_MALFORMED;
  if (in & TLG_IN_CHAIN) {
    if (p >= len) return TLG_E_TRUNCATED;
    uint8_t out = m[p++];
    f->out_present = 1;
    f->out_type = out & TLG_OUT_TYPE_MASK;
    if (out & TLG_OUT_CHAIN) {
      int st = read_tag(m, len, &p, &f->tag, &f->tag_len);
      if (st != TLG_OK) return st;
    }
  }
  if (f->array == TLG_IN_CCOUNT || f->array == TLG_IN_CUSTOM) {
    if (len - p < 2) return TLG_E_TRUNCATED;
    uint16_t n = (uint16_t)tlg_get_le(m + p, 2);
    p += 2;
    if (f->array == TLG_IN_CCOUNT) {
      f->ccount = n;
    } else {
      if (len - p < n) return TLG_E_TRUNCATED;
      f->schema = m + p;
      f->schema_len = n;
      p += n;
    }
  }
  *pos = p;
  return TLG_OK;
}

int tlg_decode_field(const tlg_decoder *d, uint32_t *pos, uint32_t index, tlg_field *f) {
  if (*pos < d->fields_pos || *pos >= d->meta_len) {
    memset(f, 0, sizeof *f);
    return TLG_E_TRUNCATED;
  }
  int st = parse_field(d->meta, d->meta_len, pos, f);
  f->index = index;
  return st;
}

uint32_t tlg_decode_fields_pos(const tlg_decoder *d) { return d->fields_pos; }

int tlg_decode_meta_end(const tlg_decoder *d, uint32_t pos) { return pos >= d->meta_len; }

int tlg_decode_status(const tlg_decoder *d) { return d->err.status; }

const tlg_decode_err *tlg_decode_error(const tlg_decoder *d) { return &d->err; }

int tlg_decode_start(tlg_decoder *d, const void *meta, size_t meta_len,
                     const void *data, size_t data_len) {
  memset(d, 0, offsetof(tlg_decoder, frames));
  uint64_t cap = (uint64_t)TLG_DECODE_STEPS_PER_BYTE * ((uint64_t)meta_len + data_len) +
                 TLG_DECODE_STEPS_BASE;
  d->step_limit = cap < TLG_DECODE_STEP_LIMIT ? (uint32_t)cap : TLG_DECODE_STEP_LIMIT;
  d->meta = meta;
  d->data = data;
  d->err.field_index = -1;
  if (!meta || meta_len < 2 || meta_len > 0xFFFF || data_len > 0xFFFFFFFFu ||
      (!data && data_len) || tlg_get_le(d->meta, 2) != meta_len) {
    fail(d, TLG_E_SIZE, NULL);
    return TLG_E_SIZE;
  }
  d->meta_len = (uint32_t)meta_len;
  d->data_len = (uint32_t)data_len;
  uint32_t p = 2;
  int st = read_tag(d->meta, d->meta_len, &p, &d->event_tag, &d->event_tag_len);
  const uint8_t *nul = st == TLG_OK ? memchr(d->meta + p, 0, d->meta_len - p) : NULL;
  if (st == TLG_OK && !nul) st = TLG_E_TRUNCATED;
  if (st != TLG_OK) {
    d->event_tag = 0;
    d->event_tag_len = 0;
    d->mpos = p;
    fail(d, st, NULL);
    return st;
  }
  d->event_name = (const char *)(d->meta + p);
  d->event_name_len = (uint32_t)(nul - (d->meta + p));
  d->fields_pos = d->mpos = p + d->event_name_len + 1;
  return TLG_OK;
}

/* Count a unit of work; 0 when the limit is reached. */
static int step(tlg_decoder *d, const tlg_field *f) {
  if (++d->steps <= d->step_limit) return 1;
  return fail(d, TLG_E_LIMIT, f);
}

/* Metadata-only skip over `n` logical fields (a struct's members count as
** extra fields to skip), for arrays of structs. Leaves d->mpos unchanged. */
static int skip_fields(tlg_decoder *d, const tlg_field *owner, uint32_t n,
                       uint32_t *end, uint32_t *end_index) {
  uint32_t p = d->mpos, idx = d->next_index;
  while (n > 0) {
    tlg_field f;
    if (!step(d, owner)) return 0;
    if (p >= d->meta_len) return fail(d, TLG_E_MALFORMED, owner);
    int st = parse_field(d->meta, d->meta_len, &p, &f);
    f.index = idx;
    if (st != TLG_OK) return fail(d, st, &f);
    idx++;
    n = n - 1 + tlg_field_members(&f);
  }
  *end = p;
  *end_index = idx;
  return 1;
}

/* Sizes of one item's value at `p` (spec §3.5): *off and *len give the value
** bytes, *raw the bytes consumed. */
int tlg_value_size(const tlg_field *f, const uint8_t *p, uint32_t avail,
                   uint32_t *off, uint32_t *len, uint32_t *raw) {
  uint32_t n;
  *off = 0;
  switch (f->array == TLG_IN_CUSTOM ? TLG_IN_COUNTEDBINARY : f->in_type) {
  case TLG_IN_UNICODESTRING:
    for (n = 0; n + 1 < avail; n += 2)
      if (p[n] == 0 && p[n + 1] == 0) {
        *len = n;
        *raw = n + 2;
        return TLG_OK;
      }
    return TLG_E_TRUNCATED;
  case TLG_IN_ANSISTRING: {
    const uint8_t *nul = memchr(p, 0, avail);
    if (!nul) return TLG_E_TRUNCATED;
    *len = (uint32_t)(nul - p);
    *raw = *len + 1;
    return TLG_OK;
  }
  case TLG_IN_INT8: case TLG_IN_UINT8: n = 1; break;
  case TLG_IN_INT16: case TLG_IN_UINT16: n = 2; break;
  case TLG_IN_INT32: case TLG_IN_UINT32: case TLG_IN_FLOAT:
  case TLG_IN_BOOL32: case TLG_IN_HEXINT32: n = 4; break;
  case TLG_IN_INT64: case TLG_IN_UINT64: case TLG_IN_DOUBLE: case TLG_IN_POINTER:
  case TLG_IN_FILETIME: case TLG_IN_HEXINT64: n = 8; break;
  case TLG_IN_GUID: case TLG_IN_SYSTEMTIME: n = 16; break;
  case TLG_IN_SID:
    if (avail < 2) return TLG_E_TRUNCATED;
    n = 8 + 4u * p[1];
    break;
  case TLG_IN_BINARY: case TLG_IN_COUNTEDSTRING:
  case TLG_IN_COUNTEDANSISTRING: case TLG_IN_COUNTEDBINARY:
    if (avail < 2) return TLG_E_TRUNCATED;
    n = (uint32_t)tlg_get_le(p, 2);
    if (avail - 2 < n) return TLG_E_TRUNCATED;
    *off = 2;
    *len = n;
    *raw = n + 2;
    return TLG_OK;
  default:
    return TLG_E_MALFORMED; /* unreachable: parse_field rejects the rest */
  }
  if (avail < n) return TLG_E_TRUNCATED;
  *len = *raw = n;
  return TLG_OK;
}

static void item_init(tlg_item *it, tlg_item_kind kind, const tlg_field *f,
                      unsigned depth, uint32_t offset) {
  it->kind = kind;
  it->depth = depth;
  it->in_array = 0;
  it->index = 0;
  it->count = 0;
  it->value = NULL;
  it->value_len = 0;
  it->offset = offset;
  it->size = 0;
  it->field = *f;
}

static int emit_value(tlg_decoder *d, const tlg_field *f, unsigned depth,
                      int in_array, uint32_t index, tlg_item *it) {
  uint32_t off, len, raw;
  int st = tlg_value_size(f, d->data + d->dpos, d->data_len - d->dpos, &off, &len, &raw);
  if (st != TLG_OK) return fail(d, st, f);
  item_init(it, TLG_ITEM_VALUE, f, depth, d->dpos);
  it->in_array = in_array;
  it->index = index;
  it->value = d->data + d->dpos + off;
  it->value_len = len;
  it->size = raw;
  d->dpos += raw;
  return 1;
}

static tlg_frame *push(tlg_decoder *d, const tlg_field *f, int kind, unsigned depth) {
  if (d->nframes >= TLG_DECODE_MAX_FRAMES) {
    fail(d, TLG_E_DEPTH, f);
    return NULL;
  }
  tlg_frame *fr = &d->frames[d->nframes++];
  fr->field = *f;
  fr->kind = (uint8_t)kind;
  fr->elem = 0;
  fr->depth = depth;
  fr->index = fr->elem_index = 0;
  fr->data_start = d->dpos;
  return fr;
}

static int begin_struct(tlg_decoder *d, const tlg_field *f, unsigned depth,
                        int in_array, uint32_t index, tlg_item *it) {
  tlg_frame *fr = push(d, f, FR_STRUCT, depth);
  if (!fr) return 0;
  fr->remaining = fr->count = tlg_field_members(f);
  fr->elem = (uint8_t)in_array;
  fr->elem_index = index;
  item_init(it, TLG_ITEM_STRUCT_BEGIN, f, depth, d->dpos);
  it->in_array = in_array;
  it->index = index;
  it->count = fr->count;
  return 1;
}

static int begin_array(tlg_decoder *d, const tlg_field *f, unsigned depth, tlg_item *it) {
  uint32_t start = d->dpos, count = f->ccount;
  if (f->array == TLG_IN_VCOUNT) {
    if (d->data_len - d->dpos < 2) return fail(d, TLG_E_TRUNCATED, f);
    count = (uint32_t)tlg_get_le(d->data + d->dpos, 2);
    d->dpos += 2;
  }
  tlg_frame *fr = push(d, f, FR_ARRAY, depth);
  if (!fr) return 0;
  fr->data_start = start;
  fr->remaining = fr->count = count;
  if (f->in_type == TLG_IN_STRUCT) {
    /* Members are walked once per element: remember where they start and end. */
    fr->meta_first = d->mpos;
    fr->index_first = d->next_index;
    if (!skip_fields(d, f, tlg_field_members(f), &fr->meta_end, &fr->index_end)) return 0;
  }
  item_init(it, TLG_ITEM_ARRAY_BEGIN, f, depth, start);
  it->count = count;
  return 1;
}

static int begin_field(tlg_decoder *d, unsigned depth, tlg_item *it) {
  tlg_field f;
  int st = parse_field(d->meta, d->meta_len, &d->mpos, &f);
  f.index = d->next_index;
  if (st != TLG_OK) return fail(d, st, &f);
  d->next_index++;
  if (depth >= TLG_DECODE_MAX_DEPTH) return fail(d, TLG_E_DEPTH, &f);
  if (tlg_field_is_array(&f)) return begin_array(d, &f, depth, it);
  if (f.in_type == TLG_IN_STRUCT) return begin_struct(d, &f, depth, 0, 0, it);
  return emit_value(d, &f, depth, 0, 0, it);
}

static int end_frame(tlg_decoder *d, tlg_item *it) {
  tlg_frame *fr = &d->frames[--d->nframes];
  int is_struct = fr->kind == FR_STRUCT;
  item_init(it, is_struct ? TLG_ITEM_STRUCT_END : TLG_ITEM_ARRAY_END,
            &fr->field, fr->depth, fr->data_start);
  it->count = fr->count;
  it->size = d->dpos - fr->data_start;
  if (is_struct) {
    it->in_array = fr->elem;
    it->index = fr->elem_index;
  } else if (fr->field.in_type == TLG_IN_STRUCT) {
    d->mpos = fr->meta_end;
    d->next_index = fr->index_end;
  }
  return 1;
}

static int next_element(tlg_decoder *d, tlg_frame *fr, tlg_item *it) {
  if (fr->index == fr->count) return end_frame(d, it);
  uint32_t i = fr->index++;
  if (fr->field.in_type != TLG_IN_STRUCT)
    return emit_value(d, &fr->field, fr->depth, 1, i, it);
  d->mpos = fr->meta_first;
  d->next_index = fr->index_first;
  return begin_struct(d, &fr->field, fr->depth, 1, i, it);
}

static int next_member(tlg_decoder *d, tlg_frame *fr, tlg_item *it) {
  if (fr->remaining == 0) return end_frame(d, it);
  fr->remaining--;
  if (d->mpos >= d->meta_len) return fail(d, TLG_E_MALFORMED, &fr->field);
  return begin_field(d, fr->depth + 1, it);
}

int tlg_decode_next(tlg_decoder *d, tlg_item *it) {
  if (d->done) return 0;
  if (!step(d, NULL)) return 0;
  if (d->nframes > 0) {
    tlg_frame *fr = &d->frames[d->nframes - 1];
    return fr->kind == FR_ARRAY ? next_element(d, fr, it) : next_member(d, fr, it);
  }
  if (d->mpos < d->meta_len) return begin_field(d, 0, it);
  d->done = 1;
  if (d->dpos != d->data_len) return fail(d, TLG_E_TRAILING, NULL);
  return 0;
}

int tlg_traits_name(const void *traits, size_t len, const char **name, size_t *name_len) {
  const uint8_t *t = traits;
  if (!t || len < 3) return TLG_E_SIZE;
  size_t size = (size_t)tlg_get_le(t, 2);
  if (size < 3 || size > len) return TLG_E_SIZE;
  const uint8_t *nul = memchr(t + 2, 0, size - 2);
  if (!nul) return TLG_E_TRUNCATED;
  *name = (const char *)(t + 2);
  *name_len = (size_t)(nul - (t + 2));
  return TLG_OK;
}
