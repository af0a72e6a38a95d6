/*
** etl_lzx.c: plain LZ77 decompression ([MS-XCA] §2.4), bounds-checked.
** Stream: a 32-bit little-endian flag word, read most significant bit
** first, announces 32 tokens: 0 = one literal byte, 1 = a 16-bit match word
** (distance = (w >> 3) + 1, length code = w & 7). Length code 7 continues
** in a shared half-byte (two matches use the two nibbles of one byte), then
** a byte, then a u16, then a u32 (see read_length).
*/
#include <string.h>

#include "etl_lzx.h"
#include "tlg_le.h"

typedef struct lzx_in {
  const uint8_t *p;
  size_t len, pos;
  size_t half;            /* position of the pending shared half-byte, 0 = none */
} lzx_in;

static int need(const lzx_in *s, size_t n) { return s->len - s->pos >= n; }

/* Length of a match whose 3-bit code was 7: returns 0 on truncation, and
** (size_t)-1 for a u16/u32 length below its minimum. Result excludes the +3. */
static size_t read_length(lzx_in *s) {
  size_t len;
  if (s->half == 0) {
    if (!need(s, 1)) return 0;
    len = s->p[s->pos] & 15;
    s->half = s->pos++;
  } else {
    len = s->p[s->half] >> 4;
    s->half = 0;
  }
  if (len == 15) {
    if (!need(s, 1)) return 0;
    len = s->p[s->pos++];
    if (len == 255) {
      if (!need(s, 2)) return 0;
      len = tlg_le16(s->p + s->pos);
      s->pos += 2;
      if (len == 0) {
        if (!need(s, 4)) return 0;
        len = tlg_le32(s->p + s->pos);
        s->pos += 4;
      }
      if (len < 15 + 7) return (size_t)-1;
      len -= 15 + 7;
    }
    len += 15;
  }
  return len + 7;
}

/* Copy a match; overlapping copies (dist < len) repeat the pattern. With
** dist >= 16 (8), 16-byte (8-byte) chunks never read bytes they have not
** written yet; the last chunk may write up to 15 (7) bytes past the match,
** so those paths need that much room before `cap` (the bytes are
** overwritten later, or lie past the end of the output). */
static void copy_match(uint8_t *out, size_t at, size_t dist, size_t len, size_t cap) {
  uint8_t *d = out + at;
  const uint8_t *s = d - dist;
  if (dist >= 16 && cap - at >= len + 16) {
    for (size_t i = 0; i < len; i += 16) memcpy(d + i, s + i, 16);
    return;
  }
  if (dist >= 8 && cap - at >= len + 8) {
    for (size_t i = 0; i < len; i += 8) memcpy(d + i, s + i, 8);
    return;
  }
  if (dist == 1) {                 /* a run of one byte (zero padding, mostly) */
    memset(d, s[0], len);
    return;
  }
  for (size_t i = 0; i < len; i++) d[i] = s[i];
}

/* Room the fast loop keeps: input for a flag word, a match word and the
** longest length (4 + 2 + 1 + 1 + 2 + 4 bytes), or a 32-byte literal run;
** output for a 32-byte literal run copied whole. */
#define FAST_IN 40u
#define FAST_OUT 32u

/* Number of leading 0 bits among the low n bits of v (1 <= n <= 32). */
static unsigned zeros_on_top(uint32_t v, int n) {
  uint32_t top = n == 32 ? v : v << (32 - n);
  unsigned z = 0;
  if (!top) return (unsigned)n;
#if defined(__GNUC__)
  z = (unsigned)__builtin_clz(top);
#else
  while (!(top & 0x80000000u)) { top <<= 1; z++; }
#endif
  return z;
}

/* The bulk of a stream, while both ends are far away: literal runs in one
** copy, no per-token bounds checks but the match checks. Stops at the
** first error (*st set, *tok its token) or near an end; the careful loop
** of etl_lzx_decompress goes on from the same state. */
static size_t fast_loop(lzx_in *s, uint8_t *out, size_t o, size_t cap, uint32_t *flags,
                        int *nflags, etl_lzx_status *st, size_t *tok) {
  const uint8_t *in = s->p;
  while (s->len - s->pos >= FAST_IN && cap - o >= FAST_OUT) {
    if (*nflags == 0) {
      *flags = tlg_le32(in + s->pos);
      s->pos += 4;
      *nflags = 32;
      continue;
    }
    unsigned run = zeros_on_top(*flags, *nflags);
    if (run) {                     /* run literals, at most 32 */
      memcpy(out + o, in + s->pos, FAST_OUT);
      o += run;
      s->pos += run;
      *nflags -= (int)run;
      continue;
    }
    *tok = s->pos;
    (*nflags)--;
    unsigned w = tlg_le16(in + s->pos);
    s->pos += 2;
    size_t dist = (w >> 3) + 1, len = w & 7;
    if (len == 7) {
      len = read_length(s);        /* cannot run out here: FAST_IN is left */
      if (len == (size_t)-1) { *st = ETL_LZX_BAD_LENGTH; break; }
    }
    len += 3;
    if (dist > o) { *st = ETL_LZX_BAD_OFFSET; break; }
    if (len > cap - o) { *st = ETL_LZX_OVERFLOW; break; }
    if (dist >= 16 && len <= 16 && cap - o >= 32) {
      memcpy(out + o, out + o - dist, 16);   /* the common short match: one copy */
    } else {
      copy_match(out, o, dist, len, cap);
    }
    o += len;
  }
  return o;
}

etl_lzx_status etl_lzx_decompress(const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t cap, size_t *out_len, size_t *err_pos) {
  lzx_in s = {in, in_len, 0, 0};
  size_t o = 0, tok = 0;
  uint32_t flags = 0;
  int nflags = 0;
  etl_lzx_status st = ETL_LZX_OK;
  o = fast_loop(&s, out, o, cap, &flags, &nflags, &st, &tok);
  while (st == ETL_LZX_OK && o < cap && s.pos < s.len) {
    tok = s.pos;
    if (nflags == 0) {
      if (!need(&s, 4)) { st = ETL_LZX_TRUNCATED; break; }
      flags = tlg_le32(in + s.pos);
      s.pos += 4;
      nflags = 32;
      continue;
    }
    nflags--;
    if (!(flags >> nflags & 1)) {  /* a literal, and the literals right after it */
      out[o++] = in[s.pos++];
      while (nflags && !(flags >> (nflags - 1) & 1) && s.pos < s.len && o < cap) {
        nflags--;
        out[o++] = in[s.pos++];
      }
      continue;
    }
    if (!need(&s, 2)) { st = ETL_LZX_TRUNCATED; break; }
    unsigned w = (unsigned)in[s.pos] | (unsigned)in[s.pos + 1] << 8;
    s.pos += 2;
    size_t dist = (w >> 3) + 1, len = w & 7;
    if (len == 7) {
      len = read_length(&s);
      if (len == 0) { st = ETL_LZX_TRUNCATED; break; }
      if (len == (size_t)-1) { st = ETL_LZX_BAD_LENGTH; break; }
    }
    len += 3;
    if (dist > o) { st = ETL_LZX_BAD_OFFSET; break; }
    if (len > cap - o) { st = ETL_LZX_OVERFLOW; break; }
    copy_match(out, o, dist, len, cap);
    o += len;
  }
  *out_len = o;
  *err_pos = st == ETL_LZX_OK ? 0 : tok;
  return st;
}

const char *etl_lzx_strerror(etl_lzx_status s) {
  switch (s) {
  case ETL_LZX_OK: return "ok";
  case ETL_LZX_TRUNCATED: return "compressed data ends inside a token";
  case ETL_LZX_BAD_OFFSET: return "match distance reaches before the buffer start";
  case ETL_LZX_BAD_LENGTH: return "extended match length below its minimum";
  case ETL_LZX_OVERFLOW: return "match runs past the decompressed size";
  }
  return "unknown error";
}
