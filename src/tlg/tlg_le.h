/*
** tlg_le.h: little-endian byte access, the one set every layer uses (the
** TraceLogging codec, the ETL reader and writer, the ETW backend's byte
** builders). `p` needs no alignment. On a little-endian machine the stores
** are plain unaligned stores (memcpy), which compilers turn into one move.
*/
#ifndef TLG_LE_H
#define TLG_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t tlg_le16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t tlg_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t tlg_le64(const uint8_t *p) {
  return (uint64_t)tlg_le32(p) | (uint64_t)tlg_le32(p + 4) << 32;
}
static inline int64_t tlg_le_i64(const uint8_t *p) {
  return (int64_t)tlg_le64(p);
}
/* Unsigned integer of n <= 8 bytes. */
static inline uint64_t tlg_get_le(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  while (n--) v = (v << 8) | p[n];
  return v;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void tlg_put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void tlg_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void tlg_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
#else
static inline void tlg_put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void tlg_put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void tlg_put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
#endif

#endif
