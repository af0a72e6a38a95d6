/*
** lauxetw.h: helpers shared by the Lua bindings (prefix etwL_).
** Argument checking and Lua conversion only; no format or engine logic.
*/
#ifndef LAUXETW_H
#define LAUXETW_H

#include <lua.h>
#include <lauxlib.h>

#include "tlg_types.h"
#include "rec_record.h"

/* Metatable names, which Lua shows in errors ("etw.Provider expected"). */
#define ETWL_PROVIDER     "etw.Provider"
#define ETWL_EVENTBUILDER "etw.EventBuilder"
#define ETWL_EVENT        "etw.Event"
#define ETWL_SESSION      "etw.Session"
#define ETWL_CONSUMER     "etw.Consumer"
#define ETWL_PROCESS      "etw.Process"
#define ETWL_TEMPLATE     "etw.EventTemplate"

/* Each binding file registers its metatable and sets its constructor or
** functions in the module table at stack index -1. */
void etwL_open_provider(lua_State *L);      /* lprovider.c: etw.Provider */
void etwL_open_eventbuilder(lua_State *L);  /* leventbuilder.c: etw.EventBuilder, etw.decode */
void etwL_open_event(lua_State *L);         /* levent.c: etw.Event metatable, etw.decode_blobs */
void etwL_open_session(lua_State *L);       /* lsession.c: etw.Session, etw.sessions */
void etwL_open_time(lua_State *L);          /* ltime.c: etw.now, etw.sleep */
void etwL_open_json(lua_State *L);          /* ljson.c: etw.json_encode, etw.json_array_mt */
void etwL_open_consumer(lua_State *L);      /* lconsumer.c: etw.Consumer */
void etwL_open_process(lua_State *L);       /* lprocess.c: etw.spawn, etw.Process */
void etwL_open_template(lua_State *L);      /* ltemplate.c: etw.EventTemplate metatable */

/* GUID argument at idx: a GUID string (canonical form, braces and any case
** accepted). Raises "bad argument #idx to 'f' (GUID expected, ...)". */
void etwL_checkguid(lua_State *L, int idx, tlg_guid *g);
/* Same, but nil or none leaves *g untouched and returns 0; returns 1 if set. */
int etwL_optguid(lua_State *L, int idx, tlg_guid *g);
/* Push the canonical text form. */
void etwL_pushguid(lua_State *L, const tlg_guid *g);

/* Read a 64-bit unsigned value: a Lua integer (negative = same 64 bits, as
** string.pack does) or a float with an exact integer value in 0..2^64-1.
** Raises naming the argument otherwise. */
uint64_t etwL_checku64(lua_State *L, int idx);

/* Push an etw.Event built from a record; the record's bytes are copied, so
** the record may be reused as soon as this returns. `provider_name` may be
** NULL: the name then comes from the traits blob, if any. (levent.c) */
void etwL_pushevent(lua_State *L, const rec_record *rec, const char *provider_name);
/* The same, with the etw.Event metatable already at stack index mt (an
** absolute index; 0: looked up in the registry), for a caller that pushes
** many events. */
void etwL_pushevent_mt(lua_State *L, const rec_record *rec, const char *provider_name, int mt);

struct flt_slot;

/* The state's cache of payload shapes (src/filter), made with the etw
** module; lives as long as the state. (levent_fields.c) */
struct flt_cache *etwL_field_cache(lua_State *L);
/* Push payload fields names[0..n-1] (lens: their lengths) of the
** etw.Event at idx, as ev.fields.NAME gives each (nil when missing),
** without building ev.fields for values (arrays and structs build it).
** slots[0..n-1] remember where each name was found (zeroed before the
** first call; see flt_find_at). The caller makes room on the stack.
** (levent_fields.c) */
void etwL_event_fields(lua_State *L, int idx, struct flt_cache *cache, char *const *names,
                       const size_t *lens, struct flt_slot *slots, size_t n);

/* The builder inside the etw.EventBuilder at idx; raises "etw.EventBuilder
** expected" otherwise. (leventbuilder.c) */
struct tlg_builder *etwL_checkbuilder(lua_State *L, int idx);

/* Raise "<fname>: struct 'st' declares 3 fields, has 1" when a struct of
** the builder is short of members (the event would be malformed). */
void etwL_checkcomplete(lua_State *L, struct tlg_builder *b, const char *fname);

/* If idx holds an etw.Provider (open or closed), set rec->provider_id,
** rec->traits and rec->traits_len (borrowed from the provider) and return its
** NUL-terminated name; otherwise return NULL and leave rec alone. (lprovider.c) */
const char *etwL_toprovider(lua_State *L, int idx, rec_record *rec);

/* Milliseconds of a monotonic clock (for timeouts). */
int64_t etwL_now_ms(void);
/* Sleep up to `ms` milliseconds; a signal ends it early (POSIX). Waits
** that must notice a signal on Windows too sleep in short slices. */
void etwL_sleep_ms(int ms);
/* The deadline `timeout_ms` from now, saturated at INT64_MAX (a timeout
** as large as math.maxinteger never overflows); -1 for timeout_ms < 0
** (no deadline). */
int64_t etwL_deadline_ms(int64_t timeout_ms);
/* What an engine wait may take before `deadline` (-1: forever, else
** 0..INT_MAX ms). */
int etwL_wait_ms(int64_t deadline);

/* --- options tables: every binding reads them through these ---------------
** `what` names the function in messages ("c:run", "etw.Session"). */

/* The value at idx is nil/none (returns 0) or a table (returns 1) whose
** string keys are all in `keys` (NULL-terminated); raises
** "WHAT: unknown option 'K' (expected one of: a, b, c)" otherwise. */
int etwL_checkoptions(lua_State *L, int idx, const char *what, const char *const keys[]);
/* Raise "WHAT: bad option 'KEY': MESSAGE" (printf-like, as lua_pushfstring). */
int etwL_opterror(lua_State *L, const char *what, const char *key, const char *fmt, ...);
/* Options table at idx (may be nil/none): field `key` as an integer in
** lo..hi, or dflt when absent. */
lua_Integer etwL_optinteger(lua_State *L, int idx, const char *what, const char *key,
                            lua_Integer lo, lua_Integer hi, lua_Integer dflt);
/* The value at vidx (the option `key`) as the index of one of `names`. */
int etwL_checkoptname(lua_State *L, int vidx, const char *what, const char *key,
                      const char *const names[]);

/* Push the failure triple nil, "CODE: message", "CODE" for an engine
** status (outcomes a script can handle: name taken, not found, access
** denied, unsupported); returns 3. */
int etwL_pushengfail(lua_State *L, int eng_status);
/* Same with a detail instead of the generic message: nil, "CODE: detail", "CODE". */
int etwL_pushengfail_detail(lua_State *L, int eng_status, const char *detail);

/* --- providers, for etw.EventTemplate (lprovider.c, ltemplate.c) --------- */
struct lprovider;
/* The open etw.Provider at idx (raises if not one, or closed). */
struct lprovider *etwL_checkopenprovider(lua_State *L, int idx);
int etwL_provider_isopen(const struct lprovider *p);
/* Open and some session wants this level and keyword (the engine's check). */
int etwL_provider_enabled(const struct lprovider *p, unsigned level, uint64_t keyword);
/* Hand one event to the engine; the Win32-style status p:write returns. */
int etwL_provider_send(const struct lprovider *p, const tlg_desc *desc, const tlg_guid *activity,
                       const tlg_guid *related, const uint8_t *meta, size_t meta_len,
                       const uint8_t *data, size_t data_len);
/* p:event(name, opts, field...) -> etw.EventTemplate (ltemplate.c) */
int etwL_template_new(lua_State *L);

/* Raise a Lua error "NAME: message" for a tlg status code, where NAME names
** the argument or the method; never returns. */
int etwL_tlgerror(lua_State *L, const char *what, int status);

#endif
