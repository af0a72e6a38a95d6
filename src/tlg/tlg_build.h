/*
** tlg_build.h: TraceLogging event builder (spec §3.3-§3.5, limits §4).
** Owns growable metadata and data buffers; no Lua, no I/O, no globals.
** Every function that fails leaves the builder byte-for-byte as it was.
*/
#ifndef TLG_BUILD_H
#define TLG_BUILD_H

#include "tlg_types.h"

/* One field's metadata, as the traceloggingdynamic module writes it (spec §3.4).
** out_type and tag are taken as given and masked, never validated, like the
** module: out_type != 0 adds an OutMeta byte (out_type & 0x7F, so 128 gives a
** chained 0x00); tag != 0 adds the OutMeta byte plus 4 tag bytes carrying
** tag & 0x0FFFFFFF (so 0x10000000 gives a tag of 0). */
typedef struct tlg_build_field {
  const char *name;    /* UTF-8 by convention; must not contain 0x00 */
  size_t name_len;
  uint64_t out_type;
  uint64_t tag;
} tlg_build_field;

/* A struct whose members are being added (see tlg_build_add_struct). */
typedef struct tlg_open_struct {
  uint16_t name_off, name_len; /* its name inside meta */
  uint8_t declared, left;      /* member count, and how many are still to come */
} tlg_open_struct;

typedef struct tlg_builder {
  uint8_t *meta;       /* metadata blob; meta[0..1] = u16 size, see tlg_build_meta */
  size_t meta_len, meta_cap;
  uint8_t *data;       /* field data */
  size_t data_len, data_cap;
  tlg_desc desc;       /* EVENT_DESCRIPTOR values of the last reset */
  size_t name_off, name_len; /* event name inside meta */
  unsigned fields;     /* field slots used (spec §4); a sequence or binary costs 2 */
  int ready;           /* 0 until the first successful reset */
  unsigned depth;      /* structs open around the next field */
  tlg_open_struct open[TLG_MAX_DEPTH]; /* open[depth - 1] is the innermost; only it
                          is sure to be waiting for members (left > 0) */
} tlg_builder;

/* Saved lengths for tlg_build_rollback. */
typedef struct tlg_mark {
  size_t meta_len, data_len;
  unsigned fields, depth;
  tlg_open_struct open[TLG_MAX_DEPTH];
} tlg_mark;

/* A sequence being filled item by item (see tlg_build_seq_begin). */
typedef struct tlg_seq {
  size_t count_off;    /* offset of the u16 item count in data */
  unsigned count;
  uint8_t intype;
} tlg_seq;

/* Prepare `b`; nothing is allocated until the first reset. The hints are the
** initial buffer sizes (0 = default; clamped to 1..TLG_MAX_META/DATA); buffers
** grow by doubling as needed. Cannot fail. */
void tlg_build_init(tlg_builder *b, size_t meta_hint, size_t data_hint);

/* Release the buffers; `b` returns to the never-reset state with its current
** capacities as hints. Idempotent. */
void tlg_build_free(tlg_builder *b);

/* Start a new event: descriptor `d`, event `tag`, `name`. Discards all fields.
** Returns TLG_OK, TLG_E_TAG (tag > 0x0FFFFFFF), TLG_E_NAME_NUL, TLG_E_META
** (name too long for 32768 metadata bytes) or TLG_E_NOMEM. All arguments are
** checked before anything changes. Buffers are reused across resets. */
int tlg_build_reset(tlg_builder *b, const char *name, size_t len,
                    const tlg_desc *d, uint32_t tag);

/* 1 after a successful reset, else 0 (every add then returns TLG_E_STATE). */
int tlg_build_ready(const tlg_builder *b);

/* Last reset's event name (not NUL-terminated) and length; NULL if not ready. */
const char *tlg_build_name(const tlg_builder *b, size_t *len);

/* The metadata blob with its u16 size prefix filled in (the only mutation it
** makes), and its length. NULL and *len = 0 if not ready. Valid until the
** next call that modifies `b`. */
const uint8_t *tlg_build_meta(tlg_builder *b, size_t *len);

/* The field data and its length (may be 0; pointer may be NULL then). */
const uint8_t *tlg_build_data(const tlg_builder *b, size_t *len);

/* Field slots in use, 0..128. */
unsigned tlg_build_fields(const tlg_builder *b);

/* Byte size of one item of a fixed-size InType that tlg_build_add_fixed
** accepts (1, 2, 4 or 8), or 0 for any other InType. */
size_t tlg_intype_fixed_size(unsigned intype);

/* Bits of the binary32 nearest to `x` (round to nearest even), in *bits.
** Returns TLG_OK (also for inf and NaN) or TLG_E_FLOAT when a finite `x`
** would round to infinity, as Python's struct.pack('f') raises. */
int tlg_f32_bits(double x, uint32_t *bits);

/* --- scalar fields; each costs 1 slot (binary 2) ------------------------
** Common errors, checked in this order: TLG_E_STATE, TLG_E_NAME_NUL, the
** value's own errors, TLG_E_FIELDS, TLG_E_META, TLG_E_DATA, TLG_E_NOMEM. */

/* A fixed-size value: intype is INT8..UINT64, FLOAT, DOUBLE, BOOL32, FILETIME,
** HEXINT32 or HEXINT64; the low tlg_intype_fixed_size(intype) bytes of `bits`
** are written little-endian (floats: pass their IEEE bits). Any other intype:
** TLG_E_ARG. Range checks are the caller's job. */
int tlg_build_add_fixed(tlg_builder *b, const tlg_build_field *f, unsigned intype, uint64_t bits);

/* A byte-string value, encoded per intype (spec §2.4, §3.5):
**   ANSISTRING        bytes up to the first 0x00, then 0x00
**   UNICODESTRING     UTF-16LE bytes up to the first 00 00 at an even offset,
**                     then 00 00; odd length: TLG_E_UTF16_ODD
**   COUNTEDSTRING     u16 byte count + bytes; odd length: TLG_E_UTF16_ODD
**   COUNTEDANSISTRING, COUNTEDBINARY, BINARY (costs 2 slots)
**                     u16 byte count + bytes; > 65535 bytes: TLG_E_COUNTED
**   GUID, SYSTEMTIME  exactly 16 bytes (TLG_E_GUID_SIZE, TLG_E_SYSTEMTIME_SIZE)
**   SID               8 + 4 * p[1] bytes, else TLG_E_SID_SIZE
** Any other intype: TLG_E_ARG. */
int tlg_build_add_bytes(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                        const void *p, size_t n);

/* Text given as UTF-8, written as UTF-16LE: intype UNICODESTRING (cut at the
** first U+0000, then 00 00) or COUNTEDSTRING (u16 byte count, NULs kept).
** The whole of `s` must be valid UTF-8 (TLG_E_UTF8; no surrogates, no
** overlongs); more than 65535 UTF-16 bytes: TLG_E_COUNTED. */
int tlg_build_add_str16(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                        const char *s, size_t n);

/* A struct header: the next `count` logical fields (each add call, a
** sequence included, is one) are its members (spec §8.8). f->out_type is
** ignored. count outside 1..127: TLG_E_STRUCT_COUNT; a struct whose members
** would be TLG_MAX_DEPTH structs deep, where the decoder stops reading:
** TLG_E_DEPTH (checked after the count). No data. */
int tlg_build_add_struct(tlg_builder *b, const tlg_build_field *f, unsigned count);

/* The innermost struct that has fewer members than it declares: 1 and its
** name (in the metadata, not NUL-terminated), declared count and members
** so far; 0 when every struct is complete (then the event may be written;
** writers refuse it otherwise with TLG_E_STRUCT_OPEN). */
int tlg_build_open_struct(const tlg_builder *b, const char **name, size_t *name_len,
                          unsigned *declared, unsigned *has);

/* --- sequences (VCOUNT arrays); each costs 2 slots ---------------------- */

/* Begin a sequence of `intype` (any type above except BINARY and STRUCT, else
** TLG_E_ARG): writes the field metadata and a u16 count of 0. Items follow
** with the tlg_build_seq_* calls, each of which updates the count, so the
** builder is consistent after every call. Errors as for scalars. */
int tlg_build_seq_begin(tlg_builder *b, const tlg_build_field *f, unsigned intype, tlg_seq *s);

/* Append one item to `s`, which must be the last field begun on `b`. Item
** encodings and value errors are those of the matching scalar function;
** also TLG_E_SEQ (65535 items already), TLG_E_DATA, TLG_E_NOMEM, and
** TLG_E_ARG if the function does not fit s->intype. */
int tlg_build_seq_fixed(tlg_builder *b, tlg_seq *s, uint64_t bits);
int tlg_build_seq_bytes(tlg_builder *b, tlg_seq *s, const void *p, size_t n);
int tlg_build_seq_str16(tlg_builder *b, tlg_seq *s, const char *utf8, size_t n);

/* A whole sequence of a fixed-size intype (see tlg_build_add_fixed) whose
** `count` items are already packed little-endian at `items`. All or nothing. */
int tlg_build_add_array(tlg_builder *b, const tlg_build_field *f, unsigned intype,
                        const void *items, size_t count);

/* --- undo ---------------------------------------------------------------
** tlg_build_mark saves the current lengths; tlg_build_rollback truncates
** back to them, e.g. when an item of a sequence turns out to be invalid
** half-way. Precondition: the mark was taken since the last reset and no
** earlier rollback went below it. Cannot fail. */
void tlg_build_mark(const tlg_builder *b, tlg_mark *m);
void tlg_build_rollback(tlg_builder *b, const tlg_mark *m);

/* --- provider traits (spec §3.2) ----------------------------------------
** Write the traits blob for provider `name` (and group, if not NULL) into
** `out` (capacity `cap`); *out_len gets its size, 3 + len (+ 19 with a
** group). Returns TLG_E_NAME_NUL, TLG_E_ARG (blob above 65535 bytes or
** cap too small; *out_len still tells the size needed) or TLG_OK. */
int tlg_provider_traits(const char *name, size_t len, const tlg_guid *group,
                        uint8_t *out, size_t cap, size_t *out_len);

#endif
