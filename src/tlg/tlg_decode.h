/*
** tlg_decode.h: TraceLogging event decoder (spec §3.3-3.6): a pull iterator
** over (metadata, data) that accepts any bytes and never trusts them.
** Pure C: no allocation, no I/O, no globals; the caller owns all storage.
*/
#ifndef TLG_DECODE_H
#define TLG_DECODE_H

#include "tlg_types.h"
#include "tlg_le.h"

/* Fields may nest at most this deep (a field's depth is 0 at top level, +1
** per enclosing struct); deeper metadata gives TLG_E_DEPTH. Python can in
** theory nest 127 levels; nobody reads such events, and the cap bounds the
** decoder's stack and the Lua tables built from it. The builder enforces
** the same constant (tlg_types.h). */
#define TLG_DECODE_MAX_DEPTH TLG_MAX_DEPTH
#define TLG_DECODE_MAX_FRAMES (2 * TLG_DECODE_MAX_DEPTH)

/* Work cap: items produced + FieldMeta entries parsed. tlg_decode_start sets
** step_limit to 16 per input byte + 4096, at most TLG_DECODE_STEP_LIMIT. Valid
** events need at most ~5 items per byte (struct arrays of 1-byte members);
** the cap stops crafted metadata (nested fixed-count arrays of structs with
** no data) from making billions of items, or a few bytes from making a
** million Lua tables. */
#define TLG_DECODE_STEP_LIMIT 1000000u
#define TLG_DECODE_STEPS_PER_BYTE 16u
#define TLG_DECODE_STEPS_BASE 4096u

/* One FieldMeta entry (spec §3.4). Pointers point into the metadata blob. */
typedef struct tlg_field {
  const char *name;        /* UTF-8 (not validated), NUL-terminated in the blob */
  uint32_t name_len;
  uint32_t index;          /* position in metadata order, 0-based */
  uint8_t in_type;         /* InMeta & 0x1F (tlg_intype) */
  uint8_t array;           /* InMeta & 0x60: 0, TLG_IN_CCOUNT, TLG_IN_VCOUNT or TLG_IN_CUSTOM */
  uint8_t out_present;     /* 1 if an OutMeta byte was present */
  uint8_t out_type;        /* OutMeta & 0x7F, 0 if absent; for a struct, its member count */
  uint8_t tag_len;         /* bytes of the field tag, 0 if none */
  uint32_t tag;            /* 28-bit field tag */
  uint16_t ccount;         /* TLG_IN_CCOUNT: element count from the metadata */
  uint16_t schema_len;     /* TLG_IN_CUSTOM: schema bytes (skipped, exposed) */
  const uint8_t *schema;
} tlg_field;

/* Member count of a struct field (0 when the OutMeta byte is absent). */
#define tlg_field_members(f) ((f)->in_type == TLG_IN_STRUCT ? (unsigned)(f)->out_type : 0u)
/* 1 if the field is an array (VCOUNT or CCOUNT; CUSTOM is a single value). */
#define tlg_field_is_array(f) ((f)->array == TLG_IN_VCOUNT || (f)->array == TLG_IN_CCOUNT)

typedef enum tlg_item_kind {
  TLG_ITEM_VALUE = 1,      /* a scalar field, or one element of a scalar array */
  TLG_ITEM_ARRAY_BEGIN,    /* an array field; `count` elements follow */
  TLG_ITEM_ARRAY_END,
  TLG_ITEM_STRUCT_BEGIN,   /* a struct field or one struct element of an array */
  TLG_ITEM_STRUCT_END
} tlg_item_kind;

/* What tlg_decode_next yields. Valid until the next call; pointers point into
** the caller's blobs. Value bytes (`value`, `value_len`) by InType:
**   zero-terminated strings (1, 2): the units before the terminator;
**   BINARY, COUNTED* (14, 22, 23, 25) and CUSTOM fields: the bytes after the
**     u16 length; COUNTEDSTRING may have an odd length (formatters use U+FFFD);
**   SID: 8 + 4 * SubAuthorityCount bytes; POINTER (16): 8 bytes (the decoder
**     cannot know the writer's pointer size; 64-bit is what Windows uses);
**   every other type: its fixed size (spec §3.5). */
typedef struct tlg_item {
  tlg_item_kind kind;
  unsigned depth;          /* depth of `field` (0 = top level) */
  int in_array;            /* VALUE, STRUCT_*: 1 if element `index` of an array */
  uint32_t index;
  uint32_t count;          /* ARRAY_*: element count; STRUCT_*: member count */
  const uint8_t *value;    /* VALUE only */
  uint32_t value_len;
  uint32_t offset;         /* where the item starts in the data blob */
  uint32_t size;           /* VALUE: raw bytes incl. length prefix or terminator;
                              *_END: the whole array (incl. its count) or struct;
                              *_BEGIN: 0 (not known yet) */
  tlg_field field;         /* the field this item belongs to */
} tlg_item;

/* Where and why decoding stopped (see tlg_decode_error). */
typedef struct tlg_decode_err {
  int status;              /* tlg_status; TLG_OK if none */
  int32_t field_index;     /* field being decoded, -1 for the event header or
                              for TLG_E_TRAILING */
  const char *field_name;  /* its name when known, else NULL */
  uint32_t field_name_len;
  uint32_t meta_offset;    /* metadata offset reached */
  uint32_t data_offset;    /* data offset reached */
} tlg_decode_err;

typedef struct tlg_frame { /* private: one open struct or array */
  tlg_field field;
  uint8_t kind, elem;
  unsigned depth;
  uint32_t remaining, count, index, elem_index, data_start;
  uint32_t meta_first, index_first, meta_end, index_end;
} tlg_frame;

typedef struct tlg_decoder {
  /* Public, set by tlg_decode_start (name/tag stay NULL/0 if the header is bad). */
  uint32_t event_tag;
  uint8_t event_tag_len;
  const char *event_name;  /* UTF-8, NUL-terminated inside the metadata */
  uint32_t event_name_len;
  uint32_t step_limit;     /* see TLG_DECODE_STEP_LIMIT; may be changed after start */
  /* Private. */
  const uint8_t *meta, *data;
  uint32_t meta_len, data_len, fields_pos;
  uint32_t mpos, dpos, next_index, steps;
  int done;
  tlg_decode_err err;
  unsigned nframes;
  tlg_frame frames[TLG_DECODE_MAX_FRAMES];
} tlg_decoder;

/* The bytes of one value of field f (its InType; CUSTOM: u16 size + bytes)
** at p, avail bytes there: the value at p + *off, *len bytes, *raw bytes
** consumed. TLG_OK, or TLG_E_TRUNCATED (TLG_E_MALFORMED for an InType
** that has no value). */
int tlg_value_size(const tlg_field *f, const uint8_t *p, uint32_t avail,
                   uint32_t *off, uint32_t *len, uint32_t *raw);

/* Start decoding one event. `meta` is the event metadata blob including its
** u16 size prefix (spec §3.3), which must equal `meta_len`; `data` is the
** field data (may be NULL when data_len is 0). Parses the event tag and name.
** Returns TLG_OK, or TLG_E_SIZE (prefix/length mismatch, blob over 4 GiB),
** TLG_E_TRUNCATED or TLG_E_MALFORMED for a bad header; after an error
** tlg_decode_next yields nothing. The blobs must outlive the decoder. */
int tlg_decode_start(tlg_decoder *d, const void *meta, size_t meta_len,
                     const void *data, size_t data_len);

/* Produce the next item in metadata order: fields, arrays as BEGIN, the
** elements, END; structs as BEGIN, the members, END; arrays of structs as
** ARRAY_BEGIN, then STRUCT_BEGIN..END per element, ARRAY_END.
** Returns 1 with *it filled, or 0 when there is nothing more: then
** tlg_decode_status says whether the event ended cleanly (TLG_OK, all data
** consumed) or why it stopped. Items yielded before an error are valid; an
** error may leave BEGIN items without their END (callers unwind themselves).
** TLG_E_TRAILING comes after every field was yielded. Each call is O(1)
** except at the start of an array of structs (one metadata-only pass over the
** members); total work is capped by step_limit (TLG_E_LIMIT). */
int tlg_decode_next(tlg_decoder *d, tlg_item *it);

/* TLG_OK, or the error that stopped the decoder (sticky). */
int tlg_decode_status(const tlg_decoder *d);

/* Details of the error (status TLG_OK if none). Never NULL. */
const tlg_decode_err *tlg_decode_error(const tlg_decoder *d);

/* Metadata-only walk, for building a schema without data. *pos starts at
** tlg_decode_fields_pos(d) (valid only if tlg_decode_start succeeded) and
** is advanced past one FieldMeta entry. `f->index` is set to `index`.
** Returns TLG_OK, TLG_E_TRUNCATED or TLG_E_MALFORMED (InType 0 or 26..31,
** a CUSTOM struct, a tag over 4 bytes); *pos does not move on error.
** `*pos == meta length` means no more fields: check with tlg_decode_meta_end. */
int tlg_decode_field(const tlg_decoder *d, uint32_t *pos, uint32_t index, tlg_field *f);
uint32_t tlg_decode_fields_pos(const tlg_decoder *d);
int tlg_decode_meta_end(const tlg_decoder *d, uint32_t pos);

/* Provider name from a traits blob (spec §3.2): checks the u16 size against
** `len` (the blob may be longer) and that the name ends within it.
** Returns TLG_OK with *name / *name_len set, else TLG_E_SIZE or
** TLG_E_TRUNCATED. */
int tlg_traits_name(const void *traits, size_t len, const char **name, size_t *name_len);


#endif
