/*
** sch_tdh_walk.c: walk an event's UserData with a TRACE_EVENT_INFO blob
** (what TdhGetEventInformation returns; spec windows-etw §5.3, §5.4), by
** hand: no TdhFormatProperty, no TdhGetProperty. Works on the bytes only,
** so it is tested on Linux with hand-built schema blobs and fuzzed.
*/
#include <stdlib.h>
#include <string.h>

#include "sch_tdh.h"
#include "tlg_le.h"
#include "tlg_utf16.h"

#define MAX_DEPTH 16
/* zero-size items in nested arrays must not make a walk endless: at most
** this many items beyond four per payload byte */
#define MAX_STEPS 65536u

typedef struct walker {
  const uint8_t *tei;
  size_t tei_len;
  const uint8_t *data;
  size_t data_len, pos;
  unsigned ptr_size;
  uint32_t nprops;
  uint64_t *ints;     /* last integer decoded per property index */
  size_t steps;
  sch_walk_fn fn;
  void *ctx;
} walker;

typedef struct epi {
  uint32_t flags, name_off, map_off;
  uint16_t intype, outtype;       /* or struct start / member count */
  uint16_t count, length;         /* or their property indexes */
} epi;

static void read_epi(const walker *w, uint32_t i, epi *e) {
  const uint8_t *p = w->tei + SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * i;
  e->flags = tlg_le32(p);
  e->name_off = tlg_le32(p + 4);
  e->intype = tlg_le16(p + 8);
  e->outtype = tlg_le16(p + 10);
  e->map_off = tlg_le32(p + 12);
  e->count = tlg_le16(p + 16);
  e->length = tlg_le16(p + 18);
}

static const uint8_t *tei_name(const walker *w, uint32_t off) {
  if (off == 0 || off >= w->tei_len || w->tei_len - off < 2) return NULL;
  return w->tei + off;
}

int sch_tdh_is_int(unsigned t) {
  return (t >= SCH_IN_INT8 && t <= SCH_IN_UINT64) || t == SCH_IN_BOOLEAN ||
         t == SCH_IN_HEXINT32 || t == SCH_IN_HEXINT64 || t == SCH_IN_POINTER ||
         t == SCH_IN_SIZET;
}

/* Size of one item at p (r bytes left): total bytes consumed (*total) and
** the value's own bytes (*vo offset from p, *vl length). 0 ok, -1 overrun /
** unknown. */
static int size_at(const uint8_t *p, size_t r, uint16_t intype, uint16_t outtype, uint32_t flags,
                   uint32_t length, unsigned ptr_size, size_t *total, size_t *vo, size_t *vl) {
  size_t n;
  int fixed_len = (flags & (SCH_PF_PARAM_LENGTH | SCH_PF_PARAM_FIXED_LEN)) || length != 0;
  *vo = 0;
  switch (intype) {
    case SCH_IN_NULL: n = 0; break;
    case SCH_IN_INT8: case SCH_IN_UINT8: case SCH_IN_ANSICHAR: n = 1; break;
    case SCH_IN_INT16: case SCH_IN_UINT16: case SCH_IN_UNICODECHAR: n = 2; break;
    case SCH_IN_INT32: case SCH_IN_UINT32: case SCH_IN_HEXINT32: case SCH_IN_FLOAT:
    case SCH_IN_BOOLEAN: n = 4; break;  /* BOOLEAN is 4 bytes */
    case SCH_IN_INT64: case SCH_IN_UINT64: case SCH_IN_HEXINT64: case SCH_IN_DOUBLE:
    case SCH_IN_FILETIME: n = 8; break;
    case SCH_IN_GUID: case SCH_IN_SYSTEMTIME: n = 16; break;
    case SCH_IN_POINTER: case SCH_IN_SIZET: n = ptr_size; break;  /* never `length` */
    case SCH_IN_UNICODESTRING:
      if (fixed_len) { n = 2 * (size_t)length; break; }
      for (n = 0; n + 1 < r; n += 2)
        if (p[n] == 0 && p[n + 1] == 0) break;
      if (n + 1 < r) { *total = n + 2; *vl = n; return 0; }   /* with its NUL */
      *total = r; *vl = r & ~(size_t)1; return 0;             /* unterminated: to the end */
    case SCH_IN_ANSISTRING:
      if (fixed_len) { n = length; break; }
      for (n = 0; n < r; n++)
        if (p[n] == 0) break;
      if (n < r) { *total = n + 1; *vl = n; return 0; }
      *total = r; *vl = r; return 0;
    case SCH_IN_BINARY:
      n = (length == 0 && outtype == SCH_OUT_IPV6) ? 16 : length;
      break;
    case SCH_IN_SID:
      if (r < 8) return -1;
      n = 8 + 4 * (size_t)p[1];
      break;
    case SCH_IN_WBEMSID:
      if (r < 4) return -1;
      if (tlg_le32(p) == 0) { *total = 4; *vl = 0; *vo = 4; return 0; }   /* NULL */
      if (r < 2 * (size_t)ptr_size + 8) return -1;
      n = 2 * (size_t)ptr_size + 8 + 4 * (size_t)p[2 * ptr_size + 1];
      if (n > r) return -1;
      *total = n; *vo = 2 * (size_t)ptr_size; *vl = n - *vo;
      return 0;
    case SCH_IN_COUNTEDSTRING: case SCH_IN_COUNTEDANSISTRING:
      if (r < 2) return -1;
      n = 2 + (size_t)tlg_le16(p);
      if (n > r) return -1;
      *total = n; *vo = 2; *vl = n - 2;
      return 0;
    case SCH_IN_REVERSEDCOUNTEDSTRING: case SCH_IN_REVERSEDCOUNTEDANSISTRING:
      if (r < 2) return -1;
      n = 2 + ((size_t)p[0] << 8 | p[1]);
      if (n > r) return -1;
      *total = n; *vo = 2; *vl = n - 2;
      return 0;
    case SCH_IN_NONNULLTERMINATEDSTRING: case SCH_IN_NONNULLTERMINATEDANSISTRING:
      *total = r; *vl = r;
      return 0;
    case SCH_IN_HEXDUMP:
      if (r < 4) return -1;
      if (tlg_le32(p) > r - 4) return -1;
      n = 4 + (size_t)tlg_le32(p);
      *total = n; *vo = 4; *vl = n - 4;
      return 0;
    default: return -1;   /* unknown InType: cannot size it */
  }
  if (n > r) return -1;
  *total = n; *vl = n;
  /* a fixed-length string ends at its first NUL, as TDH formats it (the
  ** kernel's wchar[256] ComputerName is NUL-padded) */
  if (intype == SCH_IN_UNICODESTRING)
    for (size_t k = 0; k + 1 < n; k += 2)
      if (p[k] == 0 && p[k + 1] == 0) { *vl = k; break; }
  if (intype == SCH_IN_ANSISTRING) {
    const uint8_t *z = memchr(p, 0, n);
    if (z) *vl = (size_t)(z - p);
  }
  return 0;
}

static int item_size(const walker *w, const epi *e, uint32_t length, size_t *total, size_t *vo,
                     size_t *vl) {
  return size_at(w->data + w->pos, w->data_len - w->pos, e->intype, e->outtype, e->flags, length,
                 w->ptr_size, total, vo, vl);
}

int sch_tdh_size(const uint8_t *p, size_t r, uint16_t intype, uint16_t outtype, uint32_t flags,
                 uint32_t length, unsigned ptr_size, size_t *total, size_t *vo, size_t *vl) {
  return size_at(p, r, intype, outtype, flags, length, ptr_size, total, vo, vl);
}

static int emit_rest(walker *w, uint32_t prop, uint32_t depth) {
  sch_walk_item it;
  memset(&it, 0, sizeof it);
  it.kind = SCH_W_REST;
  it.prop = prop;
  it.depth = depth;
  it.ptr = w->data + w->pos;
  it.len = (uint32_t)(w->data_len - w->pos);
  w->pos = w->data_len;
  return w->fn(w->ctx, &it) ? 1 : -2;
}

static int walk_range(walker *w, uint32_t first, uint32_t n, uint32_t depth);

/* the value of an earlier property used as count or length */
static int param_value(const walker *w, uint32_t self, uint16_t idx, uint32_t *out) {
  if (idx >= w->nprops || idx == self) return -1;
  uint64_t v = w->ints[idx];
  *out = v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
  return 0;
}

static int walk_prop(walker *w, uint32_t i, uint32_t depth) {
  epi e;
  read_epi(w, i, &e);
  uint32_t count = e.count, length = e.length;
  if ((e.flags & SCH_PF_PARAM_COUNT) && param_value(w, i, e.count, &count) < 0) return -1;
  if ((e.flags & SCH_PF_PARAM_LENGTH) && param_value(w, i, e.length, &length) < 0) return -1;
  int is_array = (e.flags & (SCH_PF_PARAM_COUNT | SCH_PF_PARAM_FIXED_COUNT)) || count != 1;
  sch_walk_item it;
  memset(&it, 0, sizeof it);
  it.prop = i;
  it.name = tei_name(w, e.name_off);
  it.depth = depth;
  int rc;
  if (is_array) {
    it.kind = SCH_W_ARRAY_BEGIN;
    it.count = count;
    if (!(e.flags & SCH_PF_STRUCT)) { it.intype = e.intype; it.outtype = e.outtype; }
    if (w->fn(w->ctx, &it)) return 1;
  }
  for (uint32_t k = 0; k < count; k++) {
    if (++w->steps > MAX_STEPS + 4 * w->data_len) return -1;
    if (e.flags & SCH_PF_STRUCT) {
      uint32_t start = e.intype, members = e.outtype;
      if (depth >= MAX_DEPTH || start >= w->nprops || members > w->nprops - start) return -1;
      it.kind = SCH_W_STRUCT_BEGIN;
      it.index = k;
      if (w->fn(w->ctx, &it)) return 1;
      if ((rc = walk_range(w, start, members, depth + 1)) != 0) return rc;
      it.kind = SCH_W_STRUCT_END;
      if (w->fn(w->ctx, &it)) return 1;
      continue;
    }
    size_t total, vo, vl;
    if (item_size(w, &e, length, &total, &vo, &vl) < 0) return emit_rest(w, i, depth);
    it.kind = SCH_W_VALUE;
    it.index = k;
    it.intype = e.intype;
    it.outtype = e.outtype;
    it.map_name_off = e.map_off;
    it.ptr = w->data + w->pos + vo;
    it.len = (uint32_t)vl;
    it.is_int = sch_tdh_is_int(e.intype) && vl <= 8;
    it.u = 0;
    if (it.is_int) {
      for (size_t b = 0; b < vl; b++) it.u |= (uint64_t)it.ptr[b] << (8 * b);
      w->ints[i] = it.u;
    }
    w->pos += total;
    if (w->fn(w->ctx, &it)) return 1;
  }
  if (is_array) {
    memset(&it, 0, sizeof it);
    it.kind = SCH_W_ARRAY_END;
    it.prop = i;
    it.name = tei_name(w, e.name_off);
    it.depth = depth;
    if (w->fn(w->ctx, &it)) return 1;
  }
  return 0;
}

static int walk_range(walker *w, uint32_t first, uint32_t n, uint32_t depth) {
  for (uint32_t i = first; i < first + n; i++) {
    int rc = walk_prop(w, i, depth);
    if (rc) return rc;
  }
  return 0;
}

int sch_tdh_walk(const uint8_t *tei, size_t tei_len, const uint8_t *data, size_t data_len,
                  unsigned ptr_size, sch_walk_fn fn, void *ctx) {
  if (!tei || tei_len < SCH_TEI_OFF_PROPS || (ptr_size != 4 && ptr_size != 8) || !fn) return -1;
  if (!data) data_len = 0;
  uint32_t nprops = tlg_le32(tei + SCH_TEI_OFF_PROPERTY_COUNT);
  uint32_t top = tlg_le32(tei + SCH_TEI_OFF_TOP_COUNT);
  if (nprops > 65535 || top > nprops ||
      (size_t)SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * nprops > tei_len)
    return -1;
  walker w = {tei, tei_len, data, data_len, 0, ptr_size, nprops, NULL, 0, fn, ctx};
  uint64_t small[64];            /* most events: no allocation per walk */
  if (nprops <= 64) {
    memset(small, 0, nprops * sizeof *small);
    w.ints = small;
  } else {
    w.ints = calloc(nprops, sizeof *w.ints);
    if (!w.ints) return -1;
  }
  int rc = walk_range(&w, 0, top, 0);
  if (w.ints != small) free(w.ints);
  return rc;
}

void sch_tei_string(const uint8_t *tei, size_t tei_len, uint32_t off, char *out, size_t cap) {
  if (cap) out[0] = 0;
  if (!tei || off == 0 || off >= tei_len || tei_len - off < 2 || cap == 0) return;
  tlg_utf16_to_utf8(tei + off, (tei_len - off) / 2, out, cap);
}
