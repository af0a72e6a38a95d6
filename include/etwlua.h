/*
** etwlua.h: the C API of etwlua for native providers. A C program
** registers a TraceLogging provider, checks whether anyone listens, builds
** events and writes them, with the same bytes and the same sessions as the
** Lua API (etw.Provider / etw.EventBuilder). C (C99 or later) and C++.
** Link with libetwlua: `pkg-config --cflags --libs etwlua`, or in CMake
** find_package(etwlua) and the target etwlua::etwlua (or etwlua::etwlua_static).
**
** Threads: a provider may be used from any number of threads at once; an
** event builder belongs to one thread at a time.
** Errors: every function returning int returns 0 (ETWLUA_OK) or a status
** that etwlua_strerror names; a failed add leaves the event unchanged.
*/
#ifndef ETWLUA_H
#define ETWLUA_H

#include <stddef.h>
#include <stdint.h>

#include "etwlua_version.h"   /* ETWLUA_VERSION_MAJOR/MINOR/PATCH/STRING */

#ifdef __cplusplus
extern "C" {
#endif

#define ETWLUA_OK 0

/* A GUID in Windows memory order (Data1..Data3 little-endian). */
typedef struct etwlua_guid { uint8_t b[16]; } etwlua_guid;

/* EVENT_DESCRIPTOR values. channel 11 marks TraceLogging events. */
typedef struct etwlua_desc {
  uint16_t id;
  uint8_t version, channel, level, opcode;
  uint16_t task;
  uint64_t keyword;
} etwlua_desc;

#define ETWLUA_DESC(level_, keyword_) {0, 0, 11, (level_), 0, 0, (keyword_)}

/* The provider's live enable state, merged over every session that enables
** it (read by etwlua_enabled; written atomically by session owners, also
** from other processes). Opaque: read only through etwlua_enabled. */
typedef struct etwlua_enable_state {
  uint32_t level_plus1;  /* 0: disabled; else max session level + 1 (256: all) */
  uint32_t gen;
  uint64_t any, all;
} etwlua_enable_state;

typedef struct etwlua_provider {
  const etwlua_enable_state *state; /* first: etwlua_enabled reads it */
  void *impl;
} etwlua_provider;

typedef struct etwlua_event etwlua_event;

/* Message for a status; never NULL. */
const char *etwlua_strerror(int status);

/* Register provider `name` (UTF-8, no NUL). `id` NULL: derived from the
** name as ETW tools do; `group` NULL: no provider group. Returns ETWLUA_OK
** and *out, or an error (bad name, no memory, session runtime unusable). */
int etwlua_provider_register(const char *name, const etwlua_guid *id, const etwlua_guid *group,
                             etwlua_provider **out);

/* Unregister and free; NULL is a no-op. Not concurrently with writes. */
void etwlua_provider_unregister(etwlua_provider *p);

/* Does any session want events of this level and keyword? (keyword 0 =
** any.) The out-of-line form, for FFI bindings and compilers without the
** GNU atomic builtins; etwlua_enabled below is the same answer, inlined. */
int etwlua_is_enabled(const etwlua_provider *p, uint8_t level, uint64_t keyword);

/* Does any session want events of this level and keyword? (keyword 0 =
** any.) A couple of plain loads: call it before building an event. The
** GNU builtins (gcc, clang) read the fields atomically in C and in C++
** alike, where <stdatomic.h>'s _Atomic is not available. */
static inline int etwlua_enabled(const etwlua_provider *p, uint8_t level, uint64_t keyword) {
#if defined(__GNUC__) || defined(__clang__)
  const etwlua_enable_state *s = p->state;
  uint32_t lp1 = __atomic_load_n(&s->level_plus1, __ATOMIC_ACQUIRE);
  if (level >= lp1) return 0;
  if (keyword == 0) return 1;
  uint64_t any = __atomic_load_n(&s->any, __ATOMIC_RELAXED);
  uint64_t all = __atomic_load_n(&s->all, __ATOMIC_RELAXED);
  return (keyword & any) != 0 && (keyword & all) == all;
#else
  return etwlua_is_enabled(p, level, keyword);
#endif
}

/* A reusable event builder. NULL when out of memory. */
etwlua_event *etwlua_event_new(void);
void etwlua_event_free(etwlua_event *e);

/* Start a new event named `name` with descriptor `d` (NULL: level 5,
** keyword 1, channel 11). Discards the previous fields. */
int etwlua_event_reset(etwlua_event *e, const char *name, const etwlua_desc *d);

/* Fields, in order (names are NUL-terminated UTF-8). Limits: 128 fields,
** 32 KB metadata, 64 KB data; struct counts 1..127; structs nest at most
** 30 deep (their members 31: what readers decode). A struct's members are
** the next field_count add calls. */
int etwlua_add_int32(etwlua_event *e, const char *name, int32_t v);
int etwlua_add_uint32(etwlua_event *e, const char *name, uint32_t v);
int etwlua_add_int64(etwlua_event *e, const char *name, int64_t v);
int etwlua_add_uint64(etwlua_event *e, const char *name, uint64_t v);
int etwlua_add_hex64(etwlua_event *e, const char *name, uint64_t v);
int etwlua_add_double(etwlua_event *e, const char *name, double v);
int etwlua_add_bool(etwlua_event *e, const char *name, int v);
int etwlua_add_str(etwlua_event *e, const char *name, const char *utf8, size_t len); /* counted UTF-8 */
int etwlua_add_binary(etwlua_event *e, const char *name, const void *p, size_t len); /* counted binary */
int etwlua_add_guid(etwlua_event *e, const char *name, const etwlua_guid *g);
int etwlua_add_struct(etwlua_event *e, const char *name, unsigned field_count);

/* Write the event to every session that enables it. activity / related may
** be NULL. Returns ETWLUA_OK (also when nobody listens), or a status such
** as "event lost: session buffer full" (counted by the session), or "a
** struct has fewer fields than it declares" (nothing written). */
int etwlua_write(etwlua_provider *p, etwlua_event *e, const etwlua_guid *activity,
                 const etwlua_guid *related);

/* --- event templates: the metadata built once, each write encodes values --
** The bytes are those of the builder calls the field list stands for.
** A template is immutable once made: any number of threads may write it
** at once. It belongs to its provider: free it before unregistering. */

/* Field types (TraceLogging InTypes). Values are read from etwlua_value:
**   INT8..UINT64, HEX32, HEX64, BOOL32, FILETIME   .u / .i (low bytes written)
**   FLOAT32 (.d, rounded; too large: an error), FLOAT64 (.d)
**   STR8, ZSTR8        .s: UTF-8 bytes (ZSTR8 stops at the first NUL)
**   STR16, ZSTR16      .s: UTF-8, written as UTF-16LE (must be valid UTF-8)
**   BINARY, CBINARY    .s: bytes (at most 65535)
**   GUID               .s.p: 16 bytes (etwlua_guid)
**   SYSTEMTIME         .s: 16 bytes;  SID: .s: 8 + 4 * SubAuthorityCount bytes
** With seq = 1 (any type but BINARY and STRUCT) the value is an array of
** .s.n items (at most 65535): for the fixed-size types .s.p points to the
** items packed in C layout (int32_t[], double[], ...; FLOAT32: float[]),
** for the others to .s.n etwlua_value. A STRUCT takes no value: its
** `count` (1..127) following fields are its members. */
enum {
  ETWLUA_ZSTR16 = 1, ETWLUA_ZSTR8 = 2, ETWLUA_INT8 = 3, ETWLUA_UINT8 = 4,
  ETWLUA_INT16 = 5, ETWLUA_UINT16 = 6, ETWLUA_INT32 = 7, ETWLUA_UINT32 = 8,
  ETWLUA_INT64 = 9, ETWLUA_UINT64 = 10, ETWLUA_FLOAT32 = 11, ETWLUA_FLOAT64 = 12,
  ETWLUA_BOOL32 = 13, ETWLUA_BINARY = 14, ETWLUA_GUID = 15, ETWLUA_FILETIME = 17,
  ETWLUA_SYSTEMTIME = 18, ETWLUA_SID = 19, ETWLUA_HEX32 = 20, ETWLUA_HEX64 = 21,
  ETWLUA_STR16 = 22, ETWLUA_STR8 = 23, ETWLUA_STRUCT = 24, ETWLUA_CBINARY = 25
};

typedef struct etwlua_field {
  const char *name;     /* NUL-terminated UTF-8; copied */
  uint8_t type;         /* ETWLUA_INT32, ... */
  uint8_t seq;          /* 1: a variable-length array of `type` */
  uint8_t count;        /* ETWLUA_STRUCT: number of member fields that follow */
  uint8_t out_type;     /* formatting hint; 0: the type's default (UTF-8 for STR8/ZSTR8) */
  uint32_t tag;         /* field tag, 0..0x0FFFFFFF */
} etwlua_field;

typedef union etwlua_value {
  int64_t i;
  uint64_t u;
  double d;
  struct { const void *p; size_t n; } s;
} etwlua_value;

/* Public head of a template; the rest is private. */
typedef struct etwlua_template {
  const etwlua_provider *provider;
  uint8_t level;
  uint64_t keyword;
  size_t nvalues;       /* values a write takes: fields minus struct headers */
} etwlua_template;

/* Make a template for events `name` with descriptor `d` (NULL: level 5,
** keyword 1, channel 11) and the n fields. Errors as the builder's adds
** (limits, bad type, struct counts, a struct short of members at the end);
** *out is then NULL. */
int etwlua_template_create(etwlua_provider *p, const char *name, const etwlua_desc *d,
                           const etwlua_field *fields, size_t n, etwlua_template **out);
void etwlua_template_free(etwlua_template *t);  /* NULL is a no-op */

/* Does any session want this template's events? Same cost as etwlua_enabled. */
static inline int etwlua_template_enabled(const etwlua_template *t) {
  return etwlua_enabled(t->provider, t->level, t->keyword);
}

/* Write one event with `n` values (n must be t->nvalues, in field order,
** struct members flattened). Checks enabled first: with nobody listening
** it reads no value and returns ETWLUA_OK. A bad value: an error and
** nothing written. */
int etwlua_template_write(const etwlua_template *t, const etwlua_value *args, size_t n);
/* The same with activity / related activity ids (either may be NULL). */
int etwlua_template_write_ex(const etwlua_template *t, const etwlua_value *args, size_t n,
                             const etwlua_guid *activity, const etwlua_guid *related);

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces and upper case too). */
int etwlua_guid_parse(const char *text, etwlua_guid *out);

#ifdef __cplusplus
}
#endif
#endif
