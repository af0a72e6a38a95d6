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

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces and upper case too). */
int etwlua_guid_parse(const char *text, etwlua_guid *out);

#ifdef __cplusplus
}
#endif
#endif
