/*
** tlg_build_int.h: internals shared by the tlg_build*.c files (prefix tlgb_).
** Not part of the codec interface; hidden from other libraries.
**
** Hot path: every add goes through tlgb_field, whose common case (short name,
** room already reserved) is inline here, so a field costs no call besides
** the public entry point. Capacities never exceed TLG_MAX_META / TLG_MAX_DATA,
** so "fits in the buffer" implies "within the format limits".
*/
#ifndef TLG_BUILD_INT_H
#define TLG_BUILD_INT_H

#include <string.h>

#include "tlg_build.h"

#if defined(__GNUC__) && !defined(_WIN32)
#define TLGB_HIDDEN __attribute__((visibility("hidden")))
#else
#define TLGB_HIDDEN
#endif

/* Little-endian hosts store integers with one memcpy; others byte by byte. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TLGB_LITTLE_ENDIAN 1
#else
#define TLGB_LITTLE_ENDIAN 0
#endif

/* Longest name the fast case takes: checked for 00 while being copied, which
** beats calling memchr and memcpy for the short names events have, and keeps
** the fast case free of calls. */
#define TLGB_SHORT_NAME 32

#if defined(__GNUC__)
#define TLGB_NOINLINE __attribute__((noinline))
#else
#define TLGB_NOINLINE
#endif

/* Field metadata is at most name + 00 + InMeta + OutMeta + 4 tag bytes. */
#define TLGB_META_EXTRA 7

/* Size in bytes of each fixed-size InType, 0 for the others (tlg_build.c). */
TLGB_HIDDEN extern const uint8_t tlgb_fixed_size[32];

static inline size_t tlgb_fixed(unsigned intype) {
  return intype < 32 ? tlgb_fixed_size[intype] : 0;
}

/* Little-endian store of the low `size` bytes of v. */
static inline void tlgb_put_le(uint8_t *dst, uint64_t v, size_t size) {
  for (size_t i = 0; i < size; i++) dst[i] = (uint8_t)(v >> (8 * i));
}

static inline void tlgb_put_u16(uint8_t *dst, size_t v) {
#if TLGB_LITTLE_ENDIAN
  uint16_t u = (uint16_t)v;
  memcpy(dst, &u, 2);
#else
  tlgb_put_le(dst, v, 2);
#endif
}

/* Copy a short name and its terminating 00 to dst; 0 if the name contains
** 00 (dst may then hold part of it: callers write only past their lengths). */
static inline int tlgb_put_name(uint8_t *dst, const char *name, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((dst[i] = (uint8_t)name[i]) == 0) return 0;
  dst[n] = 0;
  return 1;
}

/* The bytes after the name's 00 (spec §3.4): InMeta, then OutMeta if there
** is an out_type or a tag, then the tag, always in its 4-byte form with
** bits above 27 dropped. Returns the end. */
static inline uint8_t *tlgb_put_types(uint8_t *p, const tlg_build_field *f, uint8_t inmeta) {
  if (!f->out_type && !f->tag) {
    *p++ = inmeta;
    return p;
  }
  *p++ = (uint8_t)(inmeta | TLG_IN_CHAIN);
  *p++ = (uint8_t)((f->out_type & TLG_OUT_TYPE_MASK) | (f->tag ? TLG_OUT_CHAIN : 0));
  if (f->tag) {
    uint32_t t = (uint32_t)(f->tag & TLG_MAX_TAG);
    *p++ = (uint8_t)(0x80 | (t >> 21 & 0x7F));
    *p++ = (uint8_t)(0x80 | (t >> 14 & 0x7F));
    *p++ = (uint8_t)(0x80 | (t >> 7 & 0x7F));
    *p++ = (uint8_t)(t & 0x7F);
  }
  return p;
}

/* Whether a field of `cost` slots, f's name and `dsize` data bytes fits in
** the room already reserved (so also within the limits): the fast case. */
static inline int tlgb_fits(const tlg_builder *b, const tlg_build_field *f, unsigned cost,
                            size_t dsize) {
  return f->name_len <= TLGB_SHORT_NAME && b->fields + cost <= TLG_MAX_FIELDS &&
         f->name_len + TLGB_META_EXTRA <= b->meta_cap - b->meta_len &&
         dsize <= b->data_cap - b->data_len;
}

/* A field was added inside a struct (tlg_build.c): count it as a member of
** the innermost open struct and close the structs it completes. A struct
** field is counted but closes nothing: its own members follow. */
TLGB_HIDDEN void tlgb_member(tlg_builder *b, uint8_t inmeta);

/* Append f's metadata given tlgb_fits: TLG_OK, or TLG_E_NAME_NUL with
** nothing changed. */
static inline int tlgb_put_field(tlg_builder *b, const tlg_build_field *f, uint8_t inmeta,
                                 unsigned cost) {
  uint8_t *p = b->meta + b->meta_len;
  if (!tlgb_put_name(p, f->name, f->name_len)) return TLG_E_NAME_NUL;
  b->meta_len = (size_t)(tlgb_put_types(p + f->name_len + 1, f, inmeta) - b->meta);
  b->fields += cost;
  if (b->depth) tlgb_member(b, inmeta);
  return TLG_OK;
}

/* tlgb_field when the fast case does not apply (tlg_build.c). */
TLGB_HIDDEN int tlgb_field_slow(tlg_builder *b, const tlg_build_field *f, uint8_t inmeta,
                                unsigned cost, size_t dsize);

/* Start a field on a ready builder: check, in this order, NAME_NUL, FIELDS
** (`cost` slots), META, DATA (`dsize` bytes the caller will append), NOMEM;
** then append the metadata with InMeta byte `inmeta` and reserve the data.
** On failure nothing changed. On success the caller must write dsize bytes
** at b->data + b->data_len and add them to data_len. */
static inline int tlgb_field(tlg_builder *b, const tlg_build_field *f, uint8_t inmeta,
                             unsigned cost, size_t dsize) {
  if (tlgb_fits(b, f, cost, dsize)) return tlgb_put_field(b, f, inmeta, cost);
  return tlgb_field_slow(b, f, inmeta, cost, dsize);
}

/* A value's own error `st` unless the name has a 00, which is reported
** first (the documented order) although the fast path finds it later. */
static inline int tlgb_value_error(const tlg_build_field *f, int st) {
  return f->name_len && memchr(f->name, 0, f->name_len) ? TLG_E_NAME_NUL : st;
}

/* Make room for `need` more data bytes (limits already checked). */
TLGB_HIDDEN int tlgb_data_reserve(tlg_builder *b, size_t need);

/* Item encodings shared by scalars and sequences (tlg_build_value.c):
** *_size checks the value and gives its data size; *_write stores it at
** dst given that size. */
TLGB_HIDDEN int tlgb_bytes_size(unsigned intype, const uint8_t *p, size_t n, size_t *size);
TLGB_HIDDEN void tlgb_bytes_write(uint8_t *dst, unsigned intype, const uint8_t *p,
                                  size_t n, size_t size);
TLGB_HIDDEN int tlgb_str16_size(unsigned intype, const char *s, size_t n, size_t *size);
TLGB_HIDDEN void tlgb_str16_write(uint8_t *dst, unsigned intype, const char *s,
                                  size_t n, size_t size);

#endif
