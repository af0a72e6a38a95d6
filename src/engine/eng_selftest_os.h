/*
** eng_selftest_os.h: what `etwlua --selftest` needs from the linked backend
** beyond engine.h. eng_selftest.c holds the checks that run everywhere and
** calls these; shm/shm_selftest.c and win/win_selftest_os.c implement them,
** so the neutral file carries no platform code.
*/
#ifndef ENG_SELFTEST_OS_H
#define ENG_SELFTEST_OS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* result: 1 ok, 0 failed, -1 skipped (why = the reason) */
typedef void (*eng_report_fn)(const char *check, int result, const char *why);

/* Print the first line (what is tested where) and prepare (shm: a private
** runtime directory). Returns NULL to run every check, or why only
** "provider alone" can run (Wine: ETW is stubbed). */
const char *eng_st_begin(void);
/* Undo eng_st_begin's preparations. */
void eng_st_end(void);

uint32_t eng_st_pid(void);
void eng_st_sleep_ms(unsigned ms);

/* The backend's own idea of "enabled" besides eng_enabled (Windows:
** EventProviderEnabled): 1 or 0; -1 where there is none (shm). */
int eng_st_os_enabled(const eng_provider *p, uint8_t level, uint64_t keyword);

/* NULL when the backend refuses an event above 64 KB with ENG_E_TOOBIG
** (ETW), else why that check is skipped. */
const char *eng_st_oversize_skip(void);
/* NULL when a full buffer can be provoked and counted, else why not. */
const char *eng_st_loss_skip(void);

/* path = a temporary file for `name` + ".etl". */
void eng_st_temp_etl(char *path, size_t cap, const char *name);

/* After src/etl read `path` back: n events of `id`, first / last times
** (ok = 0 when that failed). Windows compares with OpenTraceW. */
void eng_st_file_more(const char *path, const tlg_guid *id, int n, int64_t first,
                      int64_t last, int ok, eng_report_fn report);

/* The backend's own checks, after the common ones; those that need a
** session are reported skipped with `skip_why` when it is not NULL. */
void eng_st_backend_checks(const char *skip_why, eng_report_fn report);

#endif
