/*
** flt.h: payload field access without decoding the whole event, and
** compiled `where` conditions over it (DESIGN §1, src/filter). Pure C: no
** Lua, no engine. The Lua binding uses it for ev.fields.Name (levent_fields.c),
** c:on{fields=, where=} (lconsumer.c) and, through `where`, the --filter
** expressions of dump and watch.
**
** Values follow the rules of ev.fields exactly (levent.c): a name is the
** first top-level field of that name; a field the decoder would not reach
** (bad metadata, short data, an error before it) is missing.
*/
#ifndef FLT_H
#define FLT_H

#include <stddef.h>
#include <stdint.h>

#include "sch_tdh.h"
#include "tlg_decode.h"
#include "tlg_le.h"

/* ---- shapes: the top-level fields of one TraceLogging metadata blob ---- */

typedef struct flt_field {
  tlg_field f;            /* name points into the shape's copy of the metadata */
  uint32_t offset;        /* data offset; valid for the first `nfixed` fields */
  uint32_t size;          /* bytes of the value (fixed fields) */
  int8_t int_kind;        /* flt_tlg_int reads it: FLT_INT_SIGNED / _UNSIGNED, else FLT_INT_NO */
} flt_field;

/* flt_field.int_kind: what flt_tlg_int makes of a field, found once per shape. */
enum { FLT_INT_NO = -1, FLT_INT_UNSIGNED = 0, FLT_INT_SIGNED = 1 };

typedef struct flt_shape {
  uint64_t hash;
  uint32_t meta_len;
  uint32_t nfields;       /* top-level fields whose metadata parsed */
  uint32_t nfixed;        /* leading fields of fixed size: offsets known */
  uint32_t nknown;        /* nfixed + the next one (offset known, size read from the data) */
  const uint8_t *meta;    /* own copy of the metadata (after fields[]) */
  flt_field fields[];
} flt_shape;

typedef struct flt_cache flt_cache;

/* A cache of shapes keyed by metadata bytes (a fixed number of slots, so
** memory is bounded whatever the input). NULL when out of memory. */
flt_cache *flt_cache_new(void);
void flt_cache_free(flt_cache *c);

/* The shape of `meta` (a TraceLogging metadata blob with its u16 size),
** made on first use. NULL when the metadata header does not parse or when
** out of memory. The pointer is valid until the next flt_cache_get or
** flt_cache_free on the same cache. */
const flt_shape *flt_cache_get(flt_cache *c, const uint8_t *meta, uint32_t meta_len);

/* A number that changes whenever a shape of the cache is replaced: a
** shape pointer taken when it had value g is still valid while it has. */
uint32_t flt_cache_gen(const flt_cache *c);

/* Top-level position (0-based) of the first field named name, or -1. */
int flt_find(const flt_shape *s, const char *name, size_t len);

/* Where a name was found in the last shape it was looked up in: events of
** one shape come in runs, so a filter asks flt_find once per run. Zeroed
** before the first use. */
typedef struct flt_slot {
  const flt_shape *shape;
  uint32_t gen;           /* flt_cache_gen when found: the pointer is still that shape */
  int index;
} flt_slot;

/* flt_find(s, name, len), answered from *slot when it holds s (of cache c)
** and updated otherwise. */
int flt_find_at(const flt_cache *c, const flt_shape *s, const char *name, size_t len,
                flt_slot *slot);

/* Unsigned little-endian integer of n <= 8 bytes (the sizes 1, 2, 4 and 8
** of fixed fields as single loads). */
static inline uint64_t flt_uint_le(const uint8_t *p, unsigned n) {
  switch (n) {
  case 1: return p[0];
  case 2: return tlg_le16(p);
  case 4: return tlg_le32(p);
  case 8: return tlg_le64(p);
  default: return tlg_get_le(p, n);
  }
}

/* What a field lookup found. */
enum { FLT_MISSING = 0, FLT_VALUE = 1, FLT_COMPLEX = 2 /* an array or a struct */ };

/* Field `i` of shape s for an event with these blobs (meta: the bytes s was
** made from). FLT_VALUE fills *it as the decoder would (pointers into the
** blobs; a field after the first variable one is found by sizing the
** values before it, or by the decoder when an array or struct is there); FLT_COMPLEX: the field is an array or a struct (decode the event
** to build it: the decoder may also stop before it, and then it is
** missing); FLT_MISSING: the decoder would not reach it. */
int flt_tlg_value(const flt_shape *s, int i, const uint8_t *meta, uint32_t meta_len,
                  const uint8_t *data, uint32_t data_len, tlg_item *it);

/* Field i of shape s when it is an integer of the fixed prefix that Lua
** reads as an integer (not a 1-byte BOOLEAN): the common case of a status,
** a count, an id, read straight from the data without an item. 1: *v is
** its value (signed types sign-extended, the others' 64 bits as they are,
** as ev.fields has it); 0: the data does not hold it (missing); -1: not
** such a field (use flt_tlg_value). */
int flt_tlg_int(const flt_shape *s, int i, const uint8_t *data, uint32_t data_len, int64_t *v);

/* The first top-level field named `name`, found by decoding from the
** start (for metadata that has no shape: too large to cache). */
int flt_tlg_scan(const uint8_t *meta, uint32_t meta_len, const uint8_t *data, uint32_t data_len,
                 const char *name, size_t len, tlg_item *it);

/* The first top-level property named `name` of a TDH-described event:
** FLT_VALUE fills *it (sch_tdh_item; its name in namebuf), FLT_COMPLEX,
** FLT_MISSING as above. */
int flt_tdh_value(const sch_tdh_event *t, const char *name, size_t len, tlg_item *it,
                  char namebuf[SCH_TDH_NAME_MAX]);

/* ---- where conditions ---- */

enum { FLT_EQ = 0, FLT_NE, FLT_LT, FLT_LE, FLT_GT, FLT_GE };

/* A constant of a condition: an integer, a float or a byte string. */
typedef struct flt_const {
  int kind;               /* FLT_K_INT, FLT_K_NUM, FLT_K_STR */
  int64_t i;
  double d;
  char *s;                /* owned by the condition's owner */
  size_t len;
} flt_const;
enum { FLT_K_INT = 1, FLT_K_NUM, FLT_K_STR };

/* One condition: field `name` op value; with several values (a list) the
** condition holds when it holds for any of them (FLT_NE: for none of them,
** i.e. the value differs from all). */
typedef struct flt_cond {
  char *name;             /* owned by the condition's owner */
  size_t name_len;
  int op;
  size_t nvals;
  flt_const *vals;
  char *scratch;          /* scratch_cap bytes for string values (flt_cond_scratch) */
  size_t scratch_cap;
  flt_slot slot;          /* the field's position in the last shape (flt_where) */
} flt_cond;

/* Bytes of scratch a condition needs: the longest string constant + 1. */
size_t flt_cond_scratch(const flt_cond *c);

/* Does the value (a decoded item, as ev.fields would hold it) satisfy c?
** A value of another type than the constants (a boolean, a table, a
** number against a string, ...) never does. Numbers compare as Lua
** compares integers and floats (exactly); strings byte by byte, as Lua's
** C locale does. */
int flt_cond_item(const flt_cond *c, const tlg_item *it);

/* Does the record's payload satisfy every condition? (The conditions'
** slots remember where their fields were.) meta/meta_len: its
** TraceLogging metadata (NULL: none; then tdh, if not NULL, describes it).
** A field that is missing or not a value fails its condition. */
int flt_where(flt_cache *cache, flt_cond *conds, size_t n, const uint8_t *meta,
              uint32_t meta_len, const uint8_t *data, uint32_t data_len,
              const sch_tdh_event *tdh);

#endif
