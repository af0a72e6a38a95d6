/*
** lzx_mini.c: plain LZ77 compression ([MS-XCA] §2.3): greedy matching with
** a hash chain; token flags in 32-bit words, most significant bit first;
** lengths >= 10 continue in shared half-bytes, a byte, a u16 or a u32.
*/
#include <stdlib.h>
#include <string.h>

#include "lzx_mini.h"

#define WINDOW 8192
#define HASH_BITS 13
#define CHAIN 48

typedef struct lzw {
  uint8_t *out;
  size_t cap, pos;
  size_t flag_at;      /* where the current flag word goes */
  uint32_t flags;
  int nflags;
  size_t half;         /* output position of a byte with a free high nibble, or 0 */
  int overflow;
} lzw;

static void byte(lzw *w, uint8_t b) {
  if (w->pos >= w->cap) { w->overflow = 1; return; }
  w->out[w->pos++] = b;
}

static void put32(lzw *w, size_t at, uint32_t v) {
  if (at + 4 > w->cap) { w->overflow = 1; return; }
  for (int i = 0; i < 4; i++) w->out[at + i] = (uint8_t)(v >> 8 * i);
}

static void flag(lzw *w, int bit) {
  w->flags = w->flags << 1 | (uint32_t)bit;
  if (++w->nflags == 32) {
    put32(w, w->flag_at, w->flags);
    w->flag_at = w->pos;
    w->pos += 4;
    w->flags = 0;
    w->nflags = 0;
  }
}

static void match(lzw *w, size_t dist, size_t len) {
  size_t l = len - 3;
  uint16_t word = (uint16_t)((dist - 1) << 3 | (l < 7 ? l : 7));
  byte(w, (uint8_t)word);
  byte(w, (uint8_t)(word >> 8));
  if (l >= 7) {
    size_t m = l - 7;
    uint8_t nib = (uint8_t)(m < 15 ? m : 15);
    if (w->half) { if (w->half < w->cap) w->out[w->half] |= (uint8_t)(nib << 4); w->half = 0; }
    else { w->half = w->pos; byte(w, nib); }
    if (m >= 15) {
      size_t k = m - 15;
      if (k < 255) byte(w, (uint8_t)k);
      else {
        byte(w, 255);
        if (l < 65536) { byte(w, (uint8_t)l); byte(w, (uint8_t)(l >> 8)); }
        else {
          byte(w, 0); byte(w, 0);
          for (int i = 0; i < 4; i++) byte(w, (uint8_t)(l >> 8 * i));
        }
      }
    }
  }
  flag(w, 1);
}

static uint32_t hash3(const uint8_t *p) {
  return ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) * 2654435761u >> (32 - HASH_BITS);
}

size_t lzx_compress(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                    size_t max_len) {
  lzw w = {out, cap, 4, 0, 0, 0, 0, 0};
  int32_t *head = malloc(sizeof(int32_t) << HASH_BITS);
  int32_t *prev = malloc((in_len ? in_len : 1) * sizeof(int32_t));
  if (!head || !prev || cap < 4) { free(head); free(prev); return 0; }
  memset(head, 0xFF, sizeof(int32_t) << HASH_BITS);
  for (size_t i = 0; i < in_len;) {
    size_t best = 0, dist = 0;
    if (i + 3 <= in_len) {
      uint32_t h = hash3(in + i);
      int32_t c = head[h];
      for (int depth = 0; c >= 0 && i - (size_t)c <= WINDOW && depth < CHAIN; depth++) {
        size_t n = 0;
        while (i + n < in_len && n < max_len && in[c + n] == in[i + n]) n++;
        if (n > best) { best = n; dist = i - (size_t)c; }
        c = prev[c];
      }
      prev[i] = head[h];
      head[h] = (int32_t)i;
    }
    if (best >= 3) {
      match(&w, dist, best);
      for (size_t k = 1; k < best && i + k + 3 <= in_len; k++) {
        uint32_t h = hash3(in + i + k);
        prev[i + k] = head[h];
        head[h] = (int32_t)(i + k);
      }
      i += best;
    } else {
      byte(&w, in[i++]);
      flag(&w, 0);
    }
  }
  /* remaining flag bits set: the decoder sees "match" at the input end */
  if (w.nflags) put32(&w, w.flag_at, w.flags << (32 - w.nflags) | ((1u << (32 - w.nflags)) - 1));
  else w.pos -= 4;  /* unused flag slot */
  free(head);
  free(prev);
  return w.overflow || w.pos > cap ? 0 : w.pos;
}
