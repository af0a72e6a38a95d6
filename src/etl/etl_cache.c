/*
** etl_cache.c: the memory budget of loaded buffers (opt.cache_bytes).
** A loaded buffer holds its record area (file input, or decompressed) and
** its record index. Loaded buffers form a list, least recently loaded
** first; when the budget is exceeded the oldest are unloaded. An unloaded
** buffer that the merge still needs keeps its place (b->next) and is loaded
** again when reached (etl_read.c), so memory stays bounded even when many
** buffers overlap in time; the price is reading them again.
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
  free(b->data);
  b->data = NULL;
  b->data_len = 0;
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
