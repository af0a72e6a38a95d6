/*
** win_int.h: internals shared by the Windows ETW backend (src/engine/win):
** Windows headers + compat, Wine detection, the owned-session registry the
** console handler uses (spec windows-etw §6), Win32 error -> eng_status.
*/
#ifndef ENG_WIN_INT_H
#define ENG_WIN_INT_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <evntrace.h>
#include <evntprov.h>
#include <evntcons.h>
#include <tdh.h>

#include "win_compat.h"
#include "engine.h"
#include "pure/winp.h"

/* 1 under Wine (ntdll!wine_get_version); ETW calls are stubs there and TDH
** kills the process: never call TDH when this says 1. Cached. */
int win_is_wine(void);

/* win_provider.c, for the self-test: how often ETW called the enable
** callback, the status of setting the provider traits, and what
** EventProviderEnabled says. */
uint32_t win_provider_enable_calls(const eng_provider *p);
int win_provider_traits_status(const eng_provider *p);
int win_provider_etw_enabled(const eng_provider *p, uint8_t level, uint64_t kw);

/* Win32 error -> eng_status (pure/win_errors.c's winp_status) */
static inline int win_status(DWORD err) { return winp_status(err); }

/* UTF-8 -> NUL-terminated UTF-16 (cap units incl. NUL). 0 ok, -1 too long / bad. */
int win_wide(const char *s, WCHAR *out, size_t cap);

/* ControlTraceW by name with a fresh query block; `block` may be NULL. */
ULONG win_control(const WCHAR *name, ULONG code, uint8_t block[WINP_PROPS_BLOCK]);

/* Owned sessions (started by this process, not yet stopped or closed):
** stopped by the console handler on Ctrl+C timeout / console close and at
** exit. Fixed table, preallocated blocks: no allocation when stopping. */
void win_owned_add(const WCHAR *name);
void win_owned_remove(const WCHAR *name);
void win_owned_stop_all(void);

/* Live consumers the console handler wakes on Ctrl+C. */
struct eng_consumer;
void win_consumers_add(struct eng_consumer *c);
void win_consumers_remove(struct eng_consumer *c);

/* TDH schema cache of one consumer worker (win_tdh_cache.c). get returns
** the TRACE_EVENT_INFO bytes for the record or NULL: cached ones are valid
** until free; with *owned = 1 (the cache is full) the caller copies and
** free()s them. */
typedef struct win_tdh_cache win_tdh_cache;
win_tdh_cache *win_tdh_cache_new(void);
const uint8_t *win_tdh_cache_get(win_tdh_cache *c, PEVENT_RECORD er, uint32_t *len, int *owned);
void win_tdh_cache_free(win_tdh_cache *c);

/* A consumer wait blocks (begin) / returned (end): the console handler
** watches an interrupted wait until it returns (win_ctrl.c). */
void win_ctrl_wait_begin(void);
void win_ctrl_wait_end(void);

/* Install the console control handler and atexit hook once (spec §6). */
void win_ctrl_install(void);

#endif
