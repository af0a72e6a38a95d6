/*
** sch_tdh.h: event schemas from TDH TRACE_EVENT_INFO blobs (src/schema,
** DESIGN §1): the property walker (sch_tdh_walk.c) and the fields as our
** codec's items and text (sch_tdh_fmt.c). Pure: no Lua, no engine; the
** Windows backend fetches the blobs, the Lua binding turns the items into
** ev.fields, tests and the fuzzer feed hand-built blobs.
*/
#ifndef SCH_TDH_H
#define SCH_TDH_H

#include <stddef.h>
#include <stdint.h>

#include "tlg_decode.h"
#include "tlg_format.h"

/* ---------------------------------- the property walker (spec §5.3, §5.4) */

enum {
  SCH_TEI_OFF_PROVIDER_GUID = 0, SCH_TEI_OFF_DECODING_SOURCE = 48,
  SCH_TEI_OFF_PROVIDER_NAME = 52, SCH_TEI_OFF_TASK_NAME = 68, SCH_TEI_OFF_OPCODE_NAME = 72,
  SCH_TEI_OFF_EVENT_NAME = 92, SCH_TEI_OFF_PROPERTY_COUNT = 100,
  SCH_TEI_OFF_TOP_COUNT = 104, SCH_TEI_OFF_FLAGS = 108, SCH_TEI_OFF_PROPS = 112,
  SCH_EPI_SIZE = 24
};
#define SCH_PF_STRUCT            0x01u
#define SCH_PF_PARAM_LENGTH      0x02u
#define SCH_PF_PARAM_COUNT       0x04u
#define SCH_PF_WBEMXML           0x08u
#define SCH_PF_PARAM_FIXED_LEN   0x10u
#define SCH_PF_PARAM_FIXED_COUNT 0x20u

/* TDH_INTYPE values (spec §5.4 / COMPAT) */
enum sch_intype {
  SCH_IN_NULL = 0, SCH_IN_UNICODESTRING = 1, SCH_IN_ANSISTRING = 2, SCH_IN_INT8 = 3,
  SCH_IN_UINT8 = 4, SCH_IN_INT16 = 5, SCH_IN_UINT16 = 6, SCH_IN_INT32 = 7,
  SCH_IN_UINT32 = 8, SCH_IN_INT64 = 9, SCH_IN_UINT64 = 10, SCH_IN_FLOAT = 11,
  SCH_IN_DOUBLE = 12, SCH_IN_BOOLEAN = 13, SCH_IN_BINARY = 14, SCH_IN_GUID = 15,
  SCH_IN_POINTER = 16, SCH_IN_FILETIME = 17, SCH_IN_SYSTEMTIME = 18, SCH_IN_SID = 19,
  SCH_IN_HEXINT32 = 20, SCH_IN_HEXINT64 = 21,
  SCH_IN_COUNTEDSTRING = 300, SCH_IN_COUNTEDANSISTRING = 301,
  SCH_IN_REVERSEDCOUNTEDSTRING = 302, SCH_IN_REVERSEDCOUNTEDANSISTRING = 303,
  SCH_IN_NONNULLTERMINATEDSTRING = 304, SCH_IN_NONNULLTERMINATEDANSISTRING = 305,
  SCH_IN_UNICODECHAR = 306, SCH_IN_ANSICHAR = 307, SCH_IN_SIZET = 308,
  SCH_IN_HEXDUMP = 309, SCH_IN_WBEMSID = 310
};
#define SCH_OUT_IPV6 24

enum sch_walk_kind {
  SCH_W_VALUE = 0,        /* one scalar value: bytes [ptr, ptr+len) */
  SCH_W_ARRAY_BEGIN,      /* `count` items follow (values or structs) */
  SCH_W_ARRAY_END,
  SCH_W_STRUCT_BEGIN,
  SCH_W_STRUCT_END,
  SCH_W_REST              /* overrun or unknown type: the rest of UserData, raw */
};

typedef struct sch_walk_item {
  int kind;                 /* sch_walk_kind */
  uint32_t prop;            /* property index in EventPropertyInfoArray */
  const uint8_t *name;      /* UTF-16LE, NUL-terminated, inside the schema blob (or NULL) */
  uint32_t depth;
  uint16_t intype, outtype;
  uint32_t map_name_off;    /* MapNameOffset (0 = none) */
  uint32_t count;           /* ARRAY_BEGIN */
  uint32_t index;           /* array item index, 0 for non-array values */
  const uint8_t *ptr;       /* VALUE / REST bytes inside user data */
  uint32_t len;
  int is_int;               /* VALUE: an integer InType; `u` holds it zero-extended */
  uint64_t u;
} sch_walk_item;

/* Return nonzero to stop the walk. */
typedef int (*sch_walk_fn)(void *ctx, const sch_walk_item *it);

/* Walk UserData per the schema blob (TRACE_EVENT_INFO bytes, tei_len of
** them). ptr_size is 4 or 8 (from EVENT_HEADER_FLAG_32/64_BIT_HEADER).
** Returns 0 when every property was walked, 1 when the callback stopped it,
** -1 when the schema is malformed (nothing visited past that point), -2
** when the data ran out (a SCH_W_REST item was emitted for what was left).
** Sizes per spec §5.4: BOOLEAN 4 bytes, POINTER/SIZET by ptr_size (never
** `length`), strings NUL-terminated unless a (param) length is given,
** BINARY+IPV6 with length 0 = 16, SID 8 + 4*n, WBEMSID 4 zero bytes or 2
** pointers + SID, counted strings u16 count (reversed: big-endian), the
** non-NUL-terminated ones the rest of the record, HEXDUMP u32 count.
** Counts and lengths taken from earlier integer properties (ParamCount /
** ParamLength) use the last value decoded for that property index. */
int sch_tdh_walk(const uint8_t *tei, size_t tei_len, const uint8_t *data, size_t data_len,
                  unsigned ptr_size, sch_walk_fn fn, void *ctx);

/* The walker's sizing of one item at p (r bytes left) of the given InType,
** OutType, property flags and length (taken from its parameter already):
** bytes consumed, value offset and length. 0 ok, -1 overrun / unknown. */
int sch_tdh_size(const uint8_t *p, size_t r, uint16_t intype, uint16_t outtype, uint32_t flags,
                 uint32_t length, unsigned ptr_size, size_t *total, size_t *vo, size_t *vl);
/* Whether an InType is an integer (the walker's is_int). */
int sch_tdh_is_int(unsigned intype);

/* The UTF-16 string at `off` in the blob as UTF-8 (out[0] = 0 if none). */
void sch_tei_string(const uint8_t *tei, size_t tei_len, uint32_t off, char *out, size_t cap);


/* ---------------------------------- the plan of a flat schema (sch_tdh_plan.c)
** A schema whose top level holds only scalars and arrays of fixed-size
** items (no structs; counts and lengths from earlier top-level integers)
** is compiled once into steps, one per top-level property; an event's
** values are then located with no walk and no callback. Where locating
** fails (payload too short, unknown type), the walker decides, so what
** it reports stays the same. */

#define SCH_PLAN_MAX 64          /* top-level properties of a planned schema, at most */
#define SCH_PLAN_PTR 0xFF        /* step size: the event's pointer size */

typedef struct sch_plan_step {
  uint32_t flags;               /* the property's flags */
  uint16_t intype, outtype;
  uint16_t count, length;       /* or the step their value comes from (ParamCount / -Length) */
  uint8_t tlg_in, tlg_out;      /* the value as the TraceLogging field sch_tdh_item makes */
  uint8_t size;                 /* bytes of an item of a fixed-size type, SCH_PLAN_PTR, else 0 */
  uint8_t is_array;             /* a sequence of `count` fixed-size items */
  uint8_t is_param;             /* a later step takes its count or length from this one */
} sch_plan_step;

typedef struct sch_plan_span {
  uint32_t off, len;            /* the value's bytes in UserData (arrays: the first item's) */
  uint32_t count;               /* items (arrays), else 1 */
} sch_plan_span;

/* The plan of the schema into out[SCH_PLAN_MAX]: its number of steps (the
** top-level property count), or 0 when the schema is not flat or has no
** top-level property. */
size_t sch_plan_compile(const uint8_t *tei, size_t tei_len, sch_plan_step *out);

/* Locate each step's value in UserData (out[n]). 1 when every step was
** located where the walker finds it and the walk would end without error;
** 0 when the walker must decide (it then reports a short payload or an
** unknown type as it always has). */
int sch_plan_locate(const sch_plan_step *s, size_t n, const uint8_t *data, size_t data_len,
                    unsigned ptr_size, sch_plan_span *out);

/* The TraceLogging In/OutType a TDH one is shown as (sch_tdh_item's). */
uint8_t sch_tdh_tlg_in(uint16_t intype);
uint8_t sch_tdh_tlg_out(uint16_t outtype);


/* ---------------------------------- fields as items and text */

#define SCH_TDH_NAME_MAX 256      /* bytes of a property name as UTF-8, NUL included */

typedef struct sch_tdh_event {
  const uint8_t *tei;        /* TRACE_EVENT_INFO bytes */
  uint32_t tei_len;
  const uint8_t *data;       /* UserData */
  uint32_t data_len;
  unsigned ptr_size;         /* 4 or 8 */
} sch_tdh_event;

enum { SCH_TDH_OK = 0, SCH_TDH_SHORT = 1, SCH_TDH_BAD_SCHEMA = 2 };

/* Walk the event's fields with fn (NULL: just check them). Returns
** SCH_TDH_*; *prop (may be NULL) = the property the payload ran out at
** (SCH_TDH_SHORT). fn returning nonzero ends the walk as BAD_SCHEMA. */
int sch_tdh_run(const sch_tdh_event *t, sch_walk_fn fn, void *ctx, uint32_t *prop);

/* A walked value as the tlg_item of the TraceLogging field of the same
** type (same value bytes); its name (UTF-8) is written to `name` (NULL:
** not wanted; the item's name is then ""). */
void sch_tdh_item(const sch_tdh_event *t, const sch_walk_item *w, int in_array, tlg_item *it,
                   char name[SCH_TDH_NAME_MAX]);

/* EventName, else TaskName (MOF: "Task/Opcode"); "" when it has none. */
size_t sch_tdh_event_name(const sch_tdh_event *t, char *out, size_t cap);
size_t sch_tdh_provider_name(const sch_tdh_event *t, char *out, size_t cap);

/* Write the fields as JSON or text (TLG_FMT_*), like tlg_fmt_fields;
** returns and sets *prop as sch_tdh_run. */
int sch_tdh_fmt_fields(const tlg_sink *o, const sch_tdh_event *t, int mode, uint32_t *prop);

/* The ev.decode_error text for a status of the above. */
void sch_tdh_error(const sch_tdh_event *t, int status, uint32_t prop, char *out, size_t cap);


/* The value map name of a walked integer whose property has a map (maps
** carried in the blob: manifest schemas, src/schema); its length, 0 when
** there is none (TDH blobs from Windows carry no maps). */
size_t sch_tdh_mapped(const sch_tdh_event *t, const sch_walk_item *w, char *out, size_t cap);

#endif
