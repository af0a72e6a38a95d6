/*
** win_filters.c: ENABLE_TRACE_PARAMETERS and EVENT_FILTER_DESCRIPTOR
** payloads for EnableTraceEx2 (spec windows-etw §2.4). Pure: compiled and tested on every platform.
*/
#include <string.h>

#include "engine.h"
#include "winp.h"

int winp_filter_pids(uint8_t *out, size_t cap, const uint32_t *pids, size_t n) {
  /* array of 32-bit PIDs (not u16: ferrisetw's never worked), <= 8 */
  if (n == 0 || n > ENG_FILTER_MAX_PIDS || cap < 4 * n) return -1;
  for (size_t i = 0; i < n; i++) tlg_put32(out + 4 * i, pids[i]);
  return (int)(4 * n);
}

int winp_filter_exe(uint8_t *out, size_t cap, const char *names) {
  /* one UTF-16LE string, names joined by ';', NUL-terminated; Size < 1,024 */
  size_t len = strlen(names);
  if (len == 0) return -1;
  size_t units = (cap / 2 < ENG_FILTER_MAX_EXE_BYTES / 2 ? cap / 2 : ENG_FILTER_MAX_EXE_BYTES / 2);
  if (units < 2) return -1;
  int n = (int)tlg_utf8_to_utf16(names, len, out, units - 1, NULL);
  if (n <= 0) return -1;
  tlg_put16(out + 2 * n, 0);
  int size = 2 * n + 2;
  return size < ENG_FILTER_MAX_EXE_BYTES ? size : -1;
}

int winp_filter_event_ids(uint8_t *out, size_t cap, const uint16_t *ids, size_t n, int filter_in) {
  /* {u8 FilterIn, u8 Reserved, u16 Count, u16 Ids[Count]}, Size = 4 + 2n */
  if (n == 0 || n > ENG_FILTER_MAX_IDS || cap < 4 + 2 * n) return -1;
  out[0] = filter_in ? 1 : 0;
  out[1] = 0;
  tlg_put16(out + 2, (uint16_t)n);
  for (size_t i = 0; i < n; i++) tlg_put16(out + 4 + 2 * i, ids[i]);
  return (int)(4 + 2 * n);
}

int winp_filter_event_names(uint8_t *out, size_t cap, const char *const *names, size_t n,
                            int filter_in, uint8_t level, uint64_t any, uint64_t all) {
  /* {u64 Any, u64 All, u8 Level, u8 FilterIn, u16 NameCount, UTF-8 NUL-terminated names} */
  if (n == 0 || n > 0xFFFF) return -1;
  size_t size = ENG_FILTER_NAMES_HEADER;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(names[i]);
    if (l == 0) return -1;
    size += l + 1;
  }
  if (size > ENG_FILTER_MAX_NAMES_BYTES || size > cap) return -1;
  tlg_put64(out, any);
  tlg_put64(out + 8, all);
  out[16] = level;
  out[17] = filter_in ? 1 : 0;
  tlg_put16(out + 18, (uint16_t)n);
  size_t o = ENG_FILTER_NAMES_HEADER;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(names[i]) + 1;
    memcpy(out + o, names[i], l);
    o += l;
  }
  return (int)size;
}

int winp_enable_build(winp_enable_block *b, const winp_enable_in *in) {
  memset(b, 0, sizeof *b);
  uint8_t *etp = b->buf;
  uint8_t *desc = b->buf + WINP_ETP_SIZE;
  size_t o = WINP_ETP_SIZE + WINP_MAX_FILTERS * WINP_EFD_SIZE;
  uint32_t nf = 0;
  tlg_put32(etp + WINP_ETP_OFF_VERSION, WINP_ETP_VERSION_2);
  tlg_put32(etp + WINP_ETP_OFF_PROPERTY, in->properties);
  tlg_put32(etp + WINP_ETP_OFF_CONTROLFLAGS, 0);
  if (in->source_id) memcpy(etp + WINP_ETP_OFF_SOURCEID, in->source_id, 16);

#define ADD_FILTER(type, expr)                                                   \
  do {                                                                           \
    o = (o + 7) & ~(size_t)7;                                                    \
    int n_ = (expr);                                                             \
    if (n_ < 0) { memset(b, 0, sizeof *b); return -1; }                          \
    uint8_t *d_ = desc + WINP_EFD_SIZE * nf++;                                   \
    tlg_put64(d_, (uint64_t)(uintptr_t)(b->buf + o));                           \
    tlg_put32(d_ + 8, (uint32_t)n_);                                            \
    tlg_put32(d_ + 12, (type));                                                 \
    o += (size_t)n_;                                                             \
  } while (0)

  if (in->npids) ADD_FILTER(WINP_FILTER_PID, winp_filter_pids(b->buf + o, sizeof b->buf - o, in->pids, in->npids));
  if (in->exe_names) ADD_FILTER(WINP_FILTER_EXE_NAME, winp_filter_exe(b->buf + o, sizeof b->buf - o, in->exe_names));
  if (in->nids)
    ADD_FILTER(WINP_FILTER_EVENT_ID,
               winp_filter_event_ids(b->buf + o, sizeof b->buf - o, in->event_ids, in->nids, in->ids_in));
  if (in->nnames)
    ADD_FILTER(WINP_FILTER_EVENT_NAME,
               winp_filter_event_names(b->buf + o, sizeof b->buf - o, in->event_names, in->nnames,
                                       in->names_in, in->names_level, in->names_any, in->names_all));
#undef ADD_FILTER
  if (nf) tlg_put64(etp + WINP_ETP_OFF_FILTERDESC, (uint64_t)(uintptr_t)desc);
  tlg_put32(etp + WINP_ETP_OFF_FILTERCOUNT, nf);
  b->nfilters = nf;
  b->len = o;
  return 0;
}
