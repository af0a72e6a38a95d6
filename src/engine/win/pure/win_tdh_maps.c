/*
** win_tdh_maps.c: value maps for the TDH schemas Windows hands out.
** TdhGetEventInformation's TRACE_EVENT_INFO names a property's map
** (MapNameOffset) but carries none of its entries; TdhGetEventMapInformation
** returns them as an EVENT_MAP_INFO. The blob built here is the TEI followed,
** per distinct map, by the map's name again and its entries in the layout
** src/schema/schema_map.h reads (the layout compiled manifests carry), with
** each property's MapNameOffset pointing at that copy. ev:mapped, dump text
** and JSON then show the same names on Windows as off Windows.
**
** Every offset of both inputs is checked: they come from the system, but a
** walker that trusts them is one bad blob from reading past its end.
*/
#include <stdlib.h>
#include <string.h>

#include "sch_tdh.h"
#include "winp.h"

enum {
  MAP_MANIFEST_VALUEMAP = 0x1, MAP_MANIFEST_BITMAP = 0x2, MAP_MANIFEST_PATTERNMAP = 0x4,
  MAP_WBEM_VALUEMAP = 0x8, MAP_WBEM_BITMAP = 0x10, MAP_WBEM_FLAG = 0x20, MAP_WBEM_NO_MAP = 0x40,
  EMI_HEAD = 16,          /* NameOffset, Flag, EntryCount, MapEntryValueType */
  EME_SIZE = 8,           /* OutputOffset, Value */
  VALUETYPE_STRING = 1,   /* EVENTMAP_ENTRY_VALUETYPE_STRING: not a number map */
  MAX_MAPS = 256          /* distinct maps per event kind kept */
};

typedef struct obuf {
  uint8_t *b;
  size_t n, cap;
  int oom;
} obuf;

static void ob_reserve(obuf *o, size_t more) {
  if (o->oom || o->cap - o->n >= more) return;
  size_t cap = o->cap ? o->cap : 256;
  while (cap - o->n < more) cap *= 2;
  uint8_t *b = realloc(o->b, cap);
  if (!b) { o->oom = 1; return; }
  o->b = b;
  o->cap = cap;
}

static void ob_put(obuf *o, const void *p, size_t n) {
  ob_reserve(o, n);
  if (o->oom) return;
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void ob_u32(obuf *o, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  ob_put(o, b, 4);
}

static void ob_align(obuf *o, size_t a) {
  static const uint8_t z[4];
  ob_put(o, z, (a - o->n % a) % a);
}

static void ob_set32(obuf *o, size_t at, uint32_t v) {
  if (o->oom) return;
  o->b[at] = (uint8_t)v;
  o->b[at + 1] = (uint8_t)(v >> 8);
  o->b[at + 2] = (uint8_t)(v >> 16);
  o->b[at + 3] = (uint8_t)(v >> 24);
}

/* Bytes of the NUL-terminated UTF-16 text at off, NUL included; 0 when it
** is not inside [0, len) or has no NUL there. */
static size_t text16_size(const uint8_t *b, size_t len, uint32_t off) {
  if (off == 0 || off >= len) return 0;
  for (size_t i = off; i + 1 < len; i += 2)
    if (!(b[i] | b[i + 1])) return i + 2 - off;
  return 0;
}

/* Append one map: the name, then "EWLM", flags, count, {value, text offset}
** and the texts. Returns the name's new offset, 0 when the map is not one
** of numbers (pattern maps, string-valued maps) or is malformed. */
static uint32_t put_map(obuf *o, const uint8_t *name, size_t name_size, const uint8_t *mi,
                        uint32_t mlen) {
  if (!mi || mlen < EMI_HEAD) return 0;
  uint32_t flag = tlg_le32(mi + 4), count = tlg_le32(mi + 8);
  if (flag & MAP_MANIFEST_PATTERNMAP || tlg_le32(mi + 12) == VALUETYPE_STRING) return 0;
  if (count > (mlen - EMI_HEAD) / EME_SIZE) return 0;
  int bitmap = (flag & (MAP_MANIFEST_BITMAP | MAP_WBEM_BITMAP | MAP_WBEM_FLAG)) != 0;
  int indexed = (flag & MAP_WBEM_NO_MAP) != 0; /* MOF Values/BitValues without a map */
  ob_align(o, 2);
  uint32_t name_off = (uint32_t)o->n;
  ob_put(o, name, name_size);
  ob_align(o, 4);
  ob_put(o, "EWLM", 4);
  ob_u32(o, (uint32_t)bitmap);
  size_t count_at = o->n;
  ob_u32(o, 0);
  size_t table = o->n;
  ob_reserve(o, (size_t)count * EME_SIZE);
  for (uint32_t k = 0; k < count && !o->oom; k++) ob_u32(o, 0), ob_u32(o, 0);
  uint32_t kept = 0;
  for (uint32_t k = 0; k < count && !o->oom; k++) {
    const uint8_t *e = mi + EMI_HEAD + (size_t)EME_SIZE * k;
    size_t ts = text16_size(mi, mlen, tlg_le32(e));
    if (!ts) continue;
    uint32_t v = indexed ? (bitmap ? (k < 32 ? 1u << k : 0) : k) : tlg_le32(e + 4);
    if (indexed && bitmap && !v) continue;
    ob_set32(o, table + (size_t)EME_SIZE * kept, v);
    ob_set32(o, table + (size_t)EME_SIZE * kept + 4, (uint32_t)o->n);
    ob_put(o, mi + tlg_le32(e), ts);
    kept++;
  }
  ob_set32(o, count_at, kept);
  return name_off;
}

int winp_tdh_add_maps(const uint8_t *tei, uint32_t len, winp_map_fetch fetch, void *ctx,
                      uint8_t **out, uint32_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (!tei || len < SCH_TEI_OFF_PROPS) return 0;
  uint32_t nprops = tlg_le32(tei + SCH_TEI_OFF_PROPERTY_COUNT);
  if (nprops > (len - SCH_TEI_OFF_PROPS) / SCH_EPI_SIZE) return 0;
  obuf o = {0};
  uint32_t old_off[MAX_MAPS], new_off[MAX_MAPS], nmaps = 0;
  for (uint32_t i = 0; i < nprops; i++) {
    size_t at = SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * i;
    uint32_t map = tlg_le32(tei + at + 12);
    if (tlg_le32(tei + at) & SCH_PF_STRUCT || map == 0) continue;
    size_t ns = text16_size(tei, len, map);
    if (!ns) continue;
    uint32_t k = 0;
    while (k < nmaps && old_off[k] != map) k++;
    if (k == nmaps) {
      if (nmaps == MAX_MAPS) continue;
      if (!o.b) ob_put(&o, tei, len);           /* the TEI first, unchanged */
      uint8_t *mi = NULL;
      uint32_t mlen = 0;
      uint32_t put = 0;
      if (!o.oom && fetch(ctx, tei + map, &mi, &mlen) == 0) put = put_map(&o, tei + map, ns, mi, mlen);
      free(mi);
      old_off[k] = map;
      new_off[k] = put;
      nmaps++;
    }
    if (new_off[k] && !o.oom) ob_set32(&o, at + 12, new_off[k]);
  }
  if (o.oom) {
    free(o.b);
    return -1;
  }
  if (o.b && o.n > UINT32_MAX) {  /* cannot be addressed by 32-bit offsets */
    free(o.b);
    return 0;
  }
  *out = o.b;
  *out_len = (uint32_t)o.n;
  return 0;
}
