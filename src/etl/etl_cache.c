/*
** etl_cache.c: the memory budget of loaded buffers (opt.cache_bytes).
** A loaded buffer holds its record area (file input, or decompressed) and
** its record index. Loaded buffers form a list, least recently loaded
** first; when the budget is exceeded the oldest are unloaded. An unloaded
** buffer that the merge still needs keeps its place (b->next) and is loaded
** again when reached (etl_read.c), so memory stays bounded even when many
** buffers overlap in time; the price is reading them again.
**
** Why spares: an unloaded buffer's record area (up to the session's buffer
** size, a megabyte or more) is kept, up to ETL_SPARES of them, for the next
** buffer to load. A file larger than the budget unloads one buffer for
** every one it loads; a fresh allocation each time would cost the system
** fresh zeroed pages (page faults) or an mmap/munmap pair per buffer, more
** than reading the buffer. Memory beyond the budget: at most ETL_SPARES
** areas of at most opt.max_buffer_size bytes.
*/
#include <stdlib.h>

#include "etl_int.h"

static uint32_t index_of(const etl_reader *r, const etl_buf *b) {
  return (uint32_t)(b - r->bufs);
}

static void unlink_buf(etl_reader *r, etl_buf *b) {
  if (!b->listed) return;
  b->listed = 0;
  if (b->lprev != ETL_NONE) r->bufs[b->lprev].lnext = b->lnext;
  else r->lru_first = b->lnext;
  if (b->lnext != ETL_NONE) r->bufs[b->lnext].lprev = b->lprev;
  else r->lru_last = b->lprev;
  b->lprev = b->lnext = ETL_NONE;
}

void etl_cache_add(etl_reader *r, etl_buf *b) {
  uint32_t i = index_of(r, b);
  unlink_buf(r, b);
  r->cache_used -= b->cached;
  b->cached = b->nrec * (uint32_t)sizeof *b->idx + (b->data ? b->data_len : 0);
  r->cache_used += b->cached;
  b->listed = 1;
  b->lnext = ETL_NONE;
  b->lprev = r->lru_last;
  if (r->lru_last != ETL_NONE) r->bufs[r->lru_last].lnext = i;
  else r->lru_first = i;
  r->lru_last = i;
}

void etl_cache_drop(etl_reader *r, etl_buf *b) {
  unlink_buf(r, b);
  r->cache_used -= b->cached;
  b->cached = 0;
  free(b->idx);
  b->idx = NULL;
  etl_spare_put(r, b->data, b->data_cap);
  b->data = NULL;
  b->data_len = b->data_cap = 0;
  b->base = NULL;
}

void etl_cache_trim(etl_reader *r, const etl_buf *keep) {
  uint32_t i = r->lru_first;
  while (r->cache_used > r->opt.cache_bytes && i != ETL_NONE) {
    etl_buf *b = &r->bufs[i];
    i = b->lnext;
    if (b != keep) etl_cache_drop(r, b);
  }
}

uint8_t *etl_spare_take(etl_reader *r, uint32_t n, uint32_t *cap) {
  int best = -1;
  for (int i = 0; i < ETL_SPARES; i++)
    if (r->spare[i] && r->spare_cap[i] >= n && (best < 0 || r->spare_cap[i] < r->spare_cap[best]))
      best = i;
  if (best >= 0) {
    uint8_t *p = r->spare[best];
    *cap = r->spare_cap[best];
    r->spare[best] = NULL;
    r->spare_cap[best] = 0;
    return p;
  }
  *cap = n ? n : 1;
  return malloc(*cap);
}

void etl_spare_put(etl_reader *r, uint8_t *p, uint32_t cap) {
  if (!p) return;
  int slot = 0;                          /* an empty slot, else the smallest spare */
  for (int i = 0; i < ETL_SPARES; i++) {
    if (!r->spare[i]) { slot = i; break; }
    if (r->spare_cap[i] < r->spare_cap[slot]) slot = i;
  }
  if (r->spare[slot] && r->spare_cap[slot] >= cap) { free(p); return; }  /* keep the larger */
  free(r->spare[slot]);
  r->spare[slot] = p;
  r->spare_cap[slot] = cap;
}

void etl_spare_free(etl_reader *r) {
  for (int i = 0; i < ETL_SPARES; i++) {
    free(r->spare[i]);
    r->spare[i] = NULL;
  }
}
