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

/* Room the fast loop keeps: input for a flag word and a 32-byte literal
** run copied whole, which also covers a match word with the longest length
** (4 + 32 >= 2 + 1 + 1 + 2 + 4 bytes); output for a 32-byte literal run
** copied whole (a short match writes 16 bytes). */
#define FAST_IN 36u
#define FAST_OUT 32u

/* The flag word in the fast loop: 64 bits, the next token's bit on top,
** and a 1 just below the last flag bit (a sentinel), so the count of
** leading zeros is the literal run and never runs past the word's end.
** SENTINEL alone means "no flags left". */
#define SENTINEL ((uint64_t)1 << 63)

static unsigned lead_zeros64(uint64_t f) {   /* f != 0 */
#if defined(__GNUC__)
  return (unsigned)__builtin_clzll(f);
#else
  unsigned z = 0;
  while (!(f & SENTINEL)) { f <<= 1; z++; }
  return z;
#endif
}

static unsigned trail_zeros64(uint64_t f) {  /* f != 0 */
#if defined(__GNUC__)
  return (unsigned)__builtin_ctzll(f);
#else
  unsigned z = 0;
  while (!(f & 1)) { f >>= 1; z++; }
  return z;
#endif
}

/* The rare u16/u32 form of a length after the 255 byte: the match length
** including the +3 (read_length's result + 3), or 0 when below its minimum. */
static size_t fast_big_length(const uint8_t *in, size_t *ip) {
  size_t v = tlg_le16(in + *ip);
  *ip += 2;
  if (v == 0) {
    v = tlg_le32(in + *ip);
    *ip += 4;
  }
  return v < 15 + 7 ? 0 : v + 3;
}

/* The bulk of a stream, while both ends are far away. All state lives in
** locals (stores through `out` would otherwise force the compiler to
** reload state kept behind pointers); literal runs are one 32-byte copy,
** short matches one 16-byte copy, and a length (read_length's encoding) is
** read inline. A token that is anything but well-formed (bad length,
** distance or overflow) is left undone, with the state as before it: the
** careful loop of etl_lzx_decompress decodes it again and reports it, so
** errors have one definition. */
static size_t fast_loop(lzx_in *s, uint8_t *out, size_t cap, uint32_t *flags, int *nflags) {
  const uint8_t *in = s->p;
  size_t ip = s->pos, half = s->half, o = 0;
  uint64_t f = SENTINEL;
  *flags = 0;
  *nflags = 0;
  if (s->len < FAST_IN || cap < FAST_OUT) return 0;
  size_t in_stop = s->len - FAST_IN, out_stop = cap - FAST_OUT;
  while (ip <= in_stop && o <= out_stop) {
    if (f == SENTINEL) {
      f = (uint64_t)tlg_le32(in + ip) << 32 | (uint64_t)1 << 31;
      ip += 4;
    }
    unsigned run = lead_zeros64(f);
    if (run) {                       /* literals, at most 32 */
      memcpy(out + o, in + ip, FAST_OUT);
      o += run;
      ip += run;
      f <<= run;
      continue;
    }
    size_t ip0 = ip, half0 = half;
    unsigned w = tlg_le16(in + ip);
    ip += 2;
    size_t dist = (w >> 3) + 1, len = (w & 7) + 3;
    if (dist > o) { ip = ip0; break; }
    if (len < 10) {
      if (dist >= 16) {              /* the common short match: one copy */
        memcpy(out + o, out + o - dist, 16);
        o += len;
        f <<= 1;
        continue;
      }
    } else {                         /* length code 7: read_length inline */
      size_t x;
      if (half) { x = in[half] >> 4; half = 0; }
      else { x = in[ip] & 15; half = ip++; }
      len = x + 10;
      if (x == 15) {
        x = in[ip++];
        len = x < 255 ? x + 25 : fast_big_length(in, &ip);
        if (!len) { ip = ip0; half = half0; break; }
      }
      if (len > cap - o) { ip = ip0; half = half0; break; }
    }
    uint8_t *d = out + o;
    if (dist >= 16 && cap - o >= len + 16) {
      for (size_t i = 0; i < len; i += 16) memcpy(d + i, d - dist + i, 16);
    } else {
      copy_match(out, o, dist, len, cap);
    }
    o += len;
    f <<= 1;
  }
  /* hand the flags over in the careful loop's form: next bit at nflags-1 */
  unsigned left = 63 - trail_zeros64(f);
  *nflags = (int)left;
  *flags = left ? (uint32_t)(f >> (64 - left)) : 0;
  s->pos = ip;
  s->half = half;
  return o;
}

etl_lzx_status etl_lzx_decompress(const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t cap, size_t *out_len, size_t *err_pos) {
  lzx_in s = {in, in_len, 0, 0};
  size_t tok = 0;
  uint32_t flags = 0;
  int nflags = 0;
  etl_lzx_status st = ETL_LZX_OK;
  size_t o = fast_loop(&s, out, cap, &flags, &nflags);
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
