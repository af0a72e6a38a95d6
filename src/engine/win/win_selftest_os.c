/*
** win_selftest_os.c: the ETW backend's part of `etwlua --selftest`
** (eng_selftest_os.h): the first line (Windows version, elevation, Wine),
** EventProviderEnabled, and the Windows-only checks of win_selftest.c.
*/
#ifdef _WIN32

#include <stdio.h>

#include "win_int.h"
#include "win_selftest.h"
#include "eng_selftest_os.h"

uint32_t eng_st_pid(void) { return (uint32_t)GetCurrentProcessId(); }

void eng_st_sleep_ms(unsigned ms) { Sleep(ms); }

int eng_st_os_enabled(const eng_provider *p, uint8_t level, uint64_t keyword) {
  return win_provider_etw_enabled(p, level, keyword) != 0;
}

const char *eng_st_oversize_skip(void) { return NULL; }
const char *eng_st_loss_skip(void) { return "not provoked against ETW yet"; }

void eng_st_temp_etl(char *path, size_t cap, const char *name) {
  char tmp[MAX_PATH];
  DWORD n = GetTempPathA(sizeof tmp, tmp);
  snprintf(path, cap, "%s%s.etl", n ? tmp : "", name);
}

/* the system's reader must see the same events at the same times */
void eng_st_file_more(const char *path, const tlg_guid *id, int n, int64_t first,
                      int64_t last, int ok, eng_report_fn report) {
  if (ok) win_selftest_opentrace(path, id, n, first, last, report);
  else report("ETL read back (OpenTraceW) matches src/etl", -1, "needs the file above");
}

static int is_elevated(void) {
  int elevated = 0;
  HANDLE tok;
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok)) {
    TOKEN_ELEVATION te;
    DWORD got = 0;
    if (GetTokenInformation(tok, TokenElevation, &te, sizeof te, &got)) elevated = te.TokenIsElevated != 0;
    CloseHandle(tok);
  }
  return elevated;
}

const char *eng_st_begin(void) {
  uint32_t major, minor, build;
  win_os_version(&major, &minor, &build);
  printf("etwlua self-test: Windows %lu.%lu build %lu, %s%s\n", (unsigned long)major,
         (unsigned long)minor, (unsigned long)build, is_elevated() ? "elevated" : "not elevated",
         win_is_wine() ? ", under Wine" : "");
  /* Wine's ETW calls are stubs (no callbacks, no events, TDH kills the process) */
  return win_is_wine() ? "Wine: ETW is stubbed, run on real Windows" : NULL;
}

void eng_st_end(void) {}

void eng_st_backend_checks(const char *skip_why, eng_report_fn report) {
  if (skip_why) {
    win_selftest_skip_all(report, skip_why);
    return;
  }
  win_selftest_manifest(report);
  win_selftest_kernel_by_name(report);
  win_selftest_kernel_logger(report);
  win_selftest_name_filter(report);
  win_selftest_restart(report);
  win_selftest_oversize(report);
  win_selftest_stats_after_stop(report);
  win_selftest_missing_session(report);
  win_selftest_rotation(report);
}

#endif
