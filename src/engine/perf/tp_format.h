/*
** tp_format.h: tracefs event `format` files (the text the kernel writes in
** /sys/kernel/tracing/events/GROUP/NAME/format) parsed into a field table,
** and a tracepoint's raw sample bytes decoded by that table into
** TraceLogging fields (src/tlg builder). Pure: no I/O, no globals; every
** byte of both inputs is untrusted (tests/fuzz/fuzz_tp_format.c).
**
** Own parser rather than libtraceevent: the grammar we need is four
** "key:value;" items per line, the binary stays static and self-contained,
** and a small parser is easy to fuzz. The "print fmt" line is not needed
** (fields are typed by TraceLogging, not printed by the kernel's format).
*/
#ifndef TP_FORMAT_H
#define TP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "tlg_build.h"

#define TPF_NAME_MAX 64       /* field and event names, NUL included */
#define TPF_TYPE_MAX 96       /* C type text of a field */
#define TPF_MAX_FIELDS 64     /* fields of one event, common_* included */

enum tpf_kind {
  TPF_INT = 0,      /* 1, 2, 4 or 8 byte integer (pointers too: is_ptr) */
  TPF_STR,          /* char NAME[N]: text up to the first NUL */
  TPF_ARRAY,        /* TYPE NAME[N] of integers: elem bytes each */
  TPF_LOC_STR,      /* __data_loc / __rel_loc char[]: text elsewhere in the record */
  TPF_LOC_ARRAY,    /* __data_loc / __rel_loc TYPE[] of integers */
  TPF_BYTES         /* anything else (structs, odd sizes): raw bytes */
};

typedef struct tpf_field {
  char name[TPF_NAME_MAX];
  char type[TPF_TYPE_MAX];
  uint16_t offset, size;
  uint8_t kind;             /* tpf_kind */
  uint8_t is_signed;
  uint8_t is_ptr;
  uint8_t rel;              /* __rel_loc: offset counts from the end of the field */
  uint8_t elem;             /* TPF_ARRAY / TPF_LOC_ARRAY: bytes per item (1, 2, 4, 8; 0 = bytes) */
  uint8_t common;           /* common_* header field (not decoded into events) */
} tpf_field;

typedef struct tpf_format {
  char name[TPF_NAME_MAX];
  uint32_t id;              /* tracepoint id (perf_event_attr.config) */
  unsigned nfields;
  tpf_field fields[TPF_MAX_FIELDS];
} tpf_format;

/* Parse a format file's text (not NUL-terminated; at most 1 MB). Returns
** 0, or -1 with a message naming the line and the rule in err (cap bytes):
** missing name/ID/format, a field line without offset/size, an offset or
** size beyond 65535, an integer of a size other than 1/2/4/8, an array
** whose size is not count x item, more than TPF_MAX_FIELDS fields, names
** too long. Unknown lines are ignored (the kernel adds "print fmt"). */
int tpf_parse(const char *text, size_t len, tpf_format *out, char *err, size_t cap);

/* Index of field `name` or -1. */
int tpf_find(const tpf_format *f, const char *name);

/* Decode the raw sample (`raw`, `len` bytes: PERF_SAMPLE_RAW's data) of
** an event of format `f`: each non-common field is added to `b` (which the
** caller has reset) with its name and a TraceLogging type: integers as
** INT8..UINT64 (pointers HEXINT32/64), strings as ANSISTRING with the
** UTF-8 out type, integer arrays as sequences, other bytes as BINARY. A
** field that lies (partly) outside the sample, or a __data_loc pointing
** outside it, is skipped: the rest still decode. Returns the number of
** fields skipped, or -1 if the builder refused a field (too many fields or
** bytes; the event is then unusable). */
int tpf_decode(const tpf_format *f, const uint8_t *raw, size_t len, tlg_builder *b);

/* An integer field's value as int64/uint64 bits (sign-extended when
** signed); 0 if it does not lie inside the sample. */
uint64_t tpf_get_int(const tpf_field *fl, const uint8_t *raw, size_t len);

/* A string field (TPF_STR or TPF_LOC_STR): pointer into raw and length up
** to the first NUL; NULL if it does not lie inside the sample. */
const char *tpf_get_str(const tpf_field *fl, const uint8_t *raw, size_t len, size_t *n);

#endif
