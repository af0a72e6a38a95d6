/*
** win_selftest.c: Windows-only checks of `etwlua --selftest` (see
** win_selftest.h). Written against the spec without a Windows machine:
** each check says precisely what it saw when it fails.
*/
#ifdef _WIN32

#include <stdio.h>
#include <string.h>

#include "win_int.h"
#include "win_selftest.h"
#include "../../tlg/tlg_build.h"
#include "../../tlg/tlg_decode.h"
#include "../../tlg/tlg_guid.h"

/* Microsoft-Windows-Kernel-Process; keyword 0x10 = WINEVENT_KEYWORD_PROCESS */
static const tlg_guid kernel_process = {{0xd6, 0x2c, 0xfb, 0x22, 0x7b, 0x0e, 0x2b, 0x42,
                                         0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16}};

void win_os_version(uint32_t *major, uint32_t *minor, uint32_t *build) {
  /* RtlGetVersion: GetVersionEx lies to programs without a manifest */
  OSVERSIONINFOW v;
  memset(&v, 0, sizeof v);
  v.dwOSVersionInfoSize = sizeof v;
  typedef LONG(WINAPI * rtl_fn)(OSVERSIONINFOW *);
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  rtl_fn rtl = nt ? (rtl_fn)(void (*)(void))GetProcAddress(nt, "RtlGetVersion") : NULL;
  if (rtl) rtl(&v);
  *major = v.dwMajorVersion;
  *minor = v.dwMinorVersion;
  *build = v.dwBuildNumber;
}

/* A real-time session etwlua-<purpose>-<pid> (1 s flush) and its consumer. */
static int start_rt(const char *purpose, eng_session **s, eng_consumer **c) {
  char name[64];
  winp_name_make(name, sizeof name, purpose, GetCurrentProcessId());
  eng_session_opts o;
  memset(&o, 0, sizeof o);
  o.flush_ms = 1000;
  int st = eng_session_start(name, &o, s);
  return st ? st : eng_consumer_open(name, c);
}

static int same_id(const eng_record *r, const tlg_guid *id) {
  return memcmp(r->provider_id.b, id->b, 16) == 0;
}

void win_selftest_opentrace(const char *path, const tlg_guid *id, int n, int64_t first,
                            int64_t last, win_report_fn report) {
  const char *check = "ETL read back (OpenTraceW) matches src/etl";
  char why[300];
  eng_consumer *c = NULL;
  int st = eng_consumer_open_files(&path, 1, &c);
  if (st) {
    snprintf(why, sizeof why, "OpenTraceW(%s): %s", path, eng_strerror(st));
    report(check, 0, why);
    return;
  }
  eng_file_info fi;
  memset(&fi, 0, sizeof fi);
  eng_consumer_file_info(c, 0, &fi);
  int got = 0, times_ok = 1;
  eng_record rec;
  while ((st = eng_consumer_next(c, &rec, 15000)) == ENG_OK) {
    if (rec.kind != ENG_KIND_EVENT || !same_id(&rec, id)) continue;
    if (got == 0 && rec.timestamp != first) times_ok = 0;
    if (got == n - 1 && rec.timestamp != last) times_ok = 0;
    got++;
  }
  eng_consumer_close(c);
  snprintf(why, sizeof why,
           "%d of %d events (end: %s), times %s src/etl's, header pointer size %u, "
           "clock %u, events lost %u",
           got, n, eng_strerror(st), times_ok ? "equal" : "differ from", fi.pointer_size,
           fi.clock_type, fi.events_lost);
  report(check, got == n && times_ok && st == ENG_E_STOPPED && fi.pointer_size == 8 &&
                    fi.clock_type == 1 && fi.events_lost == 0, why);
}

/* ---- manifest decode ---- */

typedef struct find_pid {
  uint32_t want;
  int found, equal;
} find_pid;

static int pid_visit(void *ctx, const winp_walk_item *it) {
  find_pid *f = ctx;
  static const uint8_t name[] = {'P', 0, 'r', 0, 'o', 0, 'c', 0, 'e', 0, 's', 0, 's', 0,
                                 'I', 0, 'D', 0, 0, 0};
  if (it->kind != WINP_W_VALUE || !it->name || it->depth != 0) return 0;
  if (memcmp(it->name, name, sizeof name) != 0) return 0;
  f->found = 1;
  f->equal = it->is_int && it->u == f->want;
  return 1;
}

void win_selftest_manifest(win_report_fn report) {
  const char *check = "manifest decode (Microsoft-Windows-Kernel-Process)";
  char why[300];
  eng_session *s = NULL;
  eng_consumer *c = NULL;
  int st = start_rt("selftest-kp", &s, &c);
  if (!st) st = eng_session_enable(s, &kernel_process, 4, 0x10, 0);
  if (st) {
    snprintf(why, sizeof why, "session / consumer / enable: %s", eng_strerror(st));
    goto done;
  }
  WCHAR cmd[] = L"cmd.exe /c exit";
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
    snprintf(why, sizeof why, "CreateProcess(cmd.exe): error %lu", GetLastError());
    st = ENG_E_IO;
    goto done;
  }
  WaitForSingleObject(pi.hProcess, 10000);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  eng_session_flush(s);
  int starts = 0, schemas = 0;
  find_pid f = {pi.dwProcessId, 0, 0};
  ULONGLONG until = GetTickCount64() + 10000;
  eng_record rec;
  while (!f.equal && GetTickCount64() < until) {
    int r = eng_consumer_next(c, &rec, 200);
    if (r == ENG_E_TIMEOUT) { eng_session_flush(s); continue; }
    if (r) break;
    if (rec.kind != ENG_KIND_EVENT || !same_id(&rec, &kernel_process) || rec.desc.id != 1) continue;
    starts++;
    if (!rec.tdh_info) continue;
    schemas++;
    unsigned psize = rec.pointer_size ? rec.pointer_size : 8;
    winp_tdh_walk(rec.tdh_info, rec.tdh_info_len, rec.data, rec.data_len, psize, pid_visit, &f);
  }
  snprintf(why, sizeof why, "%d ProcessStart events, %d with a TDH schema, ProcessID %s pid %lu",
           starts, schemas, f.found ? (f.equal ? "equal to" : "never equal to") : "not found for",
           (unsigned long)pi.dwProcessId);
  report(check, f.equal, why);
  eng_consumer_close(c);
  eng_session_stop(s);
  eng_session_close(s);
  return;
done:
  report(check, 0, why);
  if (c) eng_consumer_close(c);
  if (s) { eng_session_stop(s); eng_session_close(s); }
}

/* ---- event-name filter ---- */

static int write_named(eng_provider *p, tlg_builder *b, const char *ev) {
  tlg_desc d;
  memset(&d, 0, sizeof d);
  d.channel = TLG_CHANNEL_TRACELOGGING;
  d.level = 4;
  d.keyword = 1;
  if (tlg_build_reset(b, ev, strlen(ev), &d, 0)) return ENG_E_ARG;
  size_t ml, dl;
  const uint8_t *m = tlg_build_meta(b, &ml);
  const uint8_t *x = tlg_build_data(b, &dl);
  eng_data dd[2] = {{m, (uint32_t)ml, ENG_DATA_EVENT_META, {0}}, {x, (uint32_t)dl, ENG_DATA_PAYLOAD, {0}}};
  return eng_provider_write(p, &d, NULL, NULL, 2, dd);
}

static DWORD os_build(void) {
  uint32_t major, minor, build;
  win_os_version(&major, &minor, &build);
  return major > 10 ? 99999 : major == 10 ? build : 0;
}

void win_selftest_name_filter(win_report_fn report) {
  const char *check = "event-name filter keeps one of two events";
  if (os_build() < 16299) { report(check, -1, "EVENT_NAME filters need Windows 10 1709+"); return; }
  char why[300];
  eng_session *s = NULL;
  eng_consumer *c = NULL;
  eng_provider *p = NULL;
  const char *traits_name = "etwlua.SelfTest";
  uint8_t traits[32];
  size_t tl = 2 + strlen(traits_name) + 1;
  winp_put16(traits, (uint16_t)tl);
  memcpy(traits + 2, traits_name, tl - 2);
  tlg_guid id;
  tlg_provider_id(traits_name, strlen(traits_name), &id);
  const char *keep[1] = {"Keep"};
  eng_enable_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.event_names = keep;
  eo.nnames = 1;
  int st = start_rt("selftest-names", &s, &c);
  if (!st) st = eng_provider_register(&id, traits, tl, &p);
  if (!st) st = eng_session_enable_ex(s, &id, 5, 0, 0, &eo);
  int kept = 0, dropped = 0;
  if (!st) {
    tlg_builder b;
    tlg_build_init(&b, 0, 0);
    for (int i = 0; i < 3; i++) { write_named(p, &b, "Keep"); write_named(p, &b, "Drop"); }
    tlg_build_free(&b);
    eng_session_flush(s);
    ULONGLONG until = GetTickCount64() + 5000;
    eng_record rec;
    while (GetTickCount64() < until && kept + dropped < 6) {
      int r = eng_consumer_next(c, &rec, 200);
      if (r == ENG_E_TIMEOUT) continue;
      if (r) break;
      if (rec.kind != ENG_KIND_EVENT || !same_id(&rec, &id) || !rec.meta) continue;
      tlg_decoder d;
      tlg_decode_start(&d, rec.meta, rec.meta_len, rec.data, rec.data_len);
      if (d.event_name && d.event_name_len == 4 && memcmp(d.event_name, "Keep", 4) == 0) kept++;
      else dropped++;
    }
    snprintf(why, sizeof why, "received %d of 3 \"Keep\" and %d of 3 \"Drop\" (want 0)", kept, dropped);
  } else {
    snprintf(why, sizeof why, "session / consumer / provider / enable: %s", eng_strerror(st));
  }
  report(check, !st && kept == 3 && dropped == 0, why);
  if (c) eng_consumer_close(c);
  if (s) { eng_session_stop(s); eng_session_close(s); }
  if (p) eng_provider_unregister(p);
}

/* ---- same name again ---- */

void win_selftest_restart(win_report_fn report) {
  const char *check = "same name again: stop and restart";
  char name[64], why[200];
  winp_name_make(name, sizeof name, "selftest-again", GetCurrentProcessId());
  eng_session *a = NULL, *b = NULL;
  int sa = eng_session_start(name, NULL, &a);
  int sb = sa ? sa : eng_session_start(name, NULL, &b);
  eng_session_info list[64];
  size_t n = 0, found = 0;
  if (!sb && eng_sessions_list(list, 64, &n) == ENG_OK)
    for (size_t i = 0; i < n && i < 64; i++) found += _stricmp(list[i].name, name) == 0;
  snprintf(why, sizeof why, "first start: %s, second: %s, listed %u time(s)", eng_strerror(sa),
           eng_strerror(sb), (unsigned)found);
  report(check, !sa && !sb && found == 1, why);
  if (b) { eng_session_stop(b); eng_session_close(b); }
  if (a) { eng_session_stop(a); eng_session_close(a); }
}

#endif
