/*
** win_selftest.h: the Windows-only checks of `etwlua --selftest` (spec
** windows-etw §7 steps 5, 6, 7, 8, and issue 14's), called by eng_selftest.c on real
** Windows (never under Wine). Each reports through `report` (1 ok, 0
** failed, -1 skipped).
*/
#ifndef ENG_WIN_SELFTEST_H
#define ENG_WIN_SELFTEST_H

#include <stdint.h>

#include "tlg_types.h"

typedef void (*win_report_fn)(const char *check, int result, const char *why);

/* The real OS version (RtlGetVersion). */
void win_os_version(uint32_t *major, uint32_t *minor, uint32_t *build);

/* Read `path` again with OpenTraceW: n events of `id`, the first and last
** at the times src/etl gave; header: pointer size 8, QPC clock, no loss. */
void win_selftest_opentrace(const char *path, const tlg_guid *id, int n, int64_t first,
                            int64_t last, win_report_fn report);
/* Microsoft-Windows-Kernel-Process ProcessStart of `cmd /c exit`, decoded
** through TDH: its ProcessID equals CreateProcess's. */
void win_selftest_manifest(win_report_fn report);
/* Issue 12: the same, with the provider enabled by its name (resolved by
** eng_provider_resolve through TdhEnumerateProviders); and the NT kernel
** logger with the process group: Process/Start (MOF, opcode 1) of `cmd /c
** exit` with its ProcessId (skipped when another tool holds the logger). */
void win_selftest_kernel_by_name(win_report_fn report);
void win_selftest_kernel_logger(win_report_fn report);
/* EVENT_NAME filter (Windows 10 1709+) keeps "Keep", drops "Drop". */
void win_selftest_name_filter(win_report_fn report);
/* Starting a live session's name again: ENG_E_EXISTS; with replace: ok. */
void win_selftest_restart(win_report_fn report);
/* Issue 14: an event above the buffer size is refused and counted lost;
** statistics after stop; a consumer on a missing (NOTFOUND, also through
** ProcessTrace) or file-only (BUSY) session; max_mb rotation. */
void win_selftest_oversize(win_report_fn report);
void win_selftest_stats_after_stop(win_report_fn report);
void win_selftest_missing_session(win_report_fn report);
void win_selftest_rotation(win_report_fn report);
/* Report every Windows-only check above as skipped, with `why`. */
void win_selftest_skip_all(win_report_fn report, const char *why);

#endif
