/*
** win_session.c: eng_session on ETW controller calls (spec windows-etw §2):
** StartTraceW with the block of pure/win_props.c, stop-and-restart on
** ERROR_ALREADY_EXISTS (§2.3), EnableTraceEx2 with ENABLE_TRACE_PARAMETERS
** v2 (§2.4), ControlTraceW query / flush / stop (§2.5), QueryAllTracesW
** (§2.6). Also the small shared helpers of win_int.h.
*/
#ifdef _WIN32

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "win_int.h"
#include "eng_detail.h"
#include "eng_sysprov.h"

struct eng_session {
  WCHAR wname[WINP_SESSION_NAME_MAX + 1];
  char name[WINP_SESSION_NAME_MAX + 1];
  TRACEHANDLE h;
  int owner;
  int stopped;
  int have_final;               /* `final` holds what ControlTraceW(STOP) returned */
  eng_session_stats final;
};

static int pid_is_etwlua(uint32_t pid);

/* ------------------------------------------------------------ helpers */

typedef const char *(CDECL *wine_version_fn)(void);

int win_is_wine(void) {
  static int cached = -1;
  if (cached < 0) {
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    FARPROC f = nt ? GetProcAddress(nt, "wine_get_version") : NULL;
    cached = f != NULL;
  }
  return cached;
}

int win_wide(const char *s, WCHAR *out, size_t cap) {
  int n = (int)tlg_utf8_to_utf16(s, strlen(s), (uint8_t *)out, cap - 1, NULL);
  if (n < 0) return -1;
  out[n] = 0;
  return 0;
}

ULONG win_control(const WCHAR *name, ULONG code, uint8_t block[WINP_PROPS_BLOCK]) {
  uint8_t local[WINP_PROPS_BLOCK];
  uint8_t *b = block ? block : local;
  winp_props_query(b);
  return ControlTraceW(0, name, (PEVENT_TRACE_PROPERTIES)(void *)b, code);
}

static int check_name(const char *name, WCHAR *w) {
  if (!name || !winp_name_valid(name, strlen(name))) return ENG_E_ARG;
  return win_wide(name, w, WINP_SESSION_NAME_MAX + 1) < 0 ? ENG_E_ARG : ENG_OK;
}

/* ------------------------------------------------------------ session */

static int is_kernel_logger(const WCHAR *w) { return _wcsicmp(w, L"NT Kernel Logger") == 0; }

/* eng_session_stats out of a block ControlTraceW filled. ETW counts no
** events; lost = events dropped at write time; buffers lost on the way to
** the file or the real-time consumer go to `corrupt`. */
static void fill_stats(const uint8_t *block, eng_session_stats *st) {
  winp_props_stats ps;
  winp_props_read(block, WINP_PROPS_BLOCK, &ps);
  memset(st, 0, sizeof *st);
  st->lost = ps.events_lost;
  st->buffers = ps.buffers;
  st->corrupt = ps.log_buffers_lost + ps.rt_buffers_lost;
}

/* StartTraceW, taking the name over from a stale etwlua session or, with
** `replace`, from any running one (never the kernel logger). */
static ULONG start_trace(struct eng_session *s, uint8_t *block, const winp_props_in *in,
                         int replace) {
  ULONG rc = ERROR_SUCCESS;
  for (int attempt = 0; attempt < 20; attempt++) {
    if (winp_props_build(block, in) < 0) return ERROR_INVALID_PARAMETER;
    TRACEHANDLE h = 0;
    rc = StartTraceW(&h, s->wname, (PEVENT_TRACE_PROPERTIES)(void *)block);
    if (rc == ERROR_SUCCESS) { s->h = h; return rc; }
    if (rc == ERROR_ALREADY_EXISTS) {
      /* engine.h: ENG_E_EXISTS unless stale or asked for -- it may be
      ** another tool's session, EventLog-System, or a live etwlua */
      if (is_kernel_logger(s->wname) || !winp_start_takeover(s->name, replace, pid_is_etwlua))
        return rc;
      ULONG sr = win_control(s->wname, EVENT_TRACE_CONTROL_STOP, NULL);
      if (sr != ERROR_SUCCESS && sr != ERROR_WMI_INSTANCE_NOT_FOUND && sr != ERROR_MORE_DATA &&
          sr != ERROR_ACTIVE_CONNECTIONS)
        return sr;
      Sleep(100);
      continue;
    }
    if (rc == ERROR_ACTIVE_CONNECTIONS) { Sleep(100); continue; }  /* still stopping */
    return rc;
  }
  return rc;
}

int eng_session_start(const char *name, const eng_session_opts *opts, eng_session **out) {
  *out = NULL;
  eng_session_opts o;
  memset(&o, 0, sizeof o);
  if (opts) o = *opts;
  struct eng_session *s = calloc(1, sizeof *s);
  if (!s) return ENG_E_NOMEM;
  int st = check_name(name, s->wname);
  if (st) { free(s); return st; }
  strcpy(s->name, name);

  winp_props_in in;
  memset(&in, 0, sizeof in);
  in.mode = o.mode == ENG_MODE_FILE ? WINP_FILE : o.mode == ENG_MODE_CIRCULAR ? WINP_CIRCULAR
                                                                             : WINP_REALTIME;
  if (o.mode < ENG_MODE_REALTIME || o.mode > ENG_MODE_CIRCULAR) { free(s); return ENG_E_ARG; }
  char full8[1024 * 3 + 1];
  /* engine.h max_mb: a file rotates. ETW's SEQUENTIAL mode would stop
  ** logging at MaximumFileSize, so NEWFILE with a "%d" pattern, generated
  ** as out_%d.etl when the path has none (pure/win_props.c) */
  int rotate = o.mode == ENG_MODE_FILE && o.max_mb;
  if (in.mode != WINP_REALTIME) {
    /* the full path: ETW does not resolve relative paths or variables.
    ** Per call, on the stack: engine.h says start is thread-safe. */
    char pattern[1024 * 3 + 1];
    WCHAR wfile[1024], wfull[1024];
    const char *path = o.file;
    if (path && rotate) {
      if (winp_newfile_pattern(o.file, pattern, sizeof pattern) < 0) { free(s); return ENG_E_ARG; }
      path = pattern;
    }
    if (!path || win_wide(path, wfile, 1024) < 0) { free(s); return ENG_E_ARG; }
    DWORD n = GetFullPathNameW(wfile, 1024, wfull, NULL);
    if (n == 0 || n >= 1024) { free(s); return ENG_E_ARG; }
    tlg_utf16_to_utf8((const uint8_t *)wfull, n, full8, sizeof full8);
    in.file = full8;
  }
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  in.cpus = si.dwNumberOfProcessors;
  in.buffer_kb = o.buffer_kb;
  in.min_buffers = 0;            /* the shm meaning (per-thread ring) does not map; ETW chooses */
  in.max_buffers = 0;            /* max(64, 4 x cpus) */
  in.flush_ms = o.flush_ms;
  /* circular keeps max_mb MB (0 = 64) */
  if (rotate) {
    in.max_file_mb = o.max_mb;
    in.newfile = 1;
  } else if (in.mode == WINP_CIRCULAR) {
    in.max_file_mb = o.max_mb ? o.max_mb : 64;
  } else if (o.max_mb) {
    free(s);
    return ENG_E_ARG;
  }
  /* kernel groups: the NT kernel logger, or a private system logger with
  ** a fresh Wnode.Guid (locally unique until reboot; advapi32 only) */
  GUID fresh;
  memset(&fresh, 0, sizeof fresh);
  if (o.kernel_flags && !eng_is_kernel_logger(name))
    EventActivityIdControl(EVENT_ACTIVITY_CTRL_CREATE_ID, &fresh);
  if (winp_kernel_plan(name, o.kernel_flags, (const uint8_t *)&fresh, &in) < 0) {
    free(s);
    eng_detail_set(ENG_E_ARG, "session '%s' (the NT kernel logger) needs kernel groups and "
                   "cannot rotate files (max_mb): ETW rules out NEWFILE for it", name);
    return ENG_E_ARG;
  }
  uint8_t *block = malloc(WINP_PROPS_BLOCK);
  if (!block) { free(s); return ENG_E_NOMEM; }

  ULONG rc = start_trace(s, block, &in, o.replace);
  free(block);
  if (rc != ERROR_SUCCESS) {
    free(s);
    return win_status(rc);
  }
  s->owner = 1;
  win_ctrl_install();
  win_owned_add(s->wname);
  *out = s;
  return ENG_OK;
}

int eng_session_open(const char *name, eng_session **out) {
  *out = NULL;
  struct eng_session *s = calloc(1, sizeof *s);
  if (!s) return ENG_E_NOMEM;
  int st = check_name(name, s->wname);
  if (st) { free(s); return st; }
  strcpy(s->name, name);
  uint8_t block[WINP_PROPS_BLOCK];
  ULONG rc = win_control(s->wname, EVENT_TRACE_CONTROL_QUERY, block);
  if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA) { free(s); return win_status(rc); }
  s->h = tlg_le64(block + WINP_OFF_WNODE_HISTCTX);
  *out = s;
  return ENG_OK;
}

/* eng_sysprov.h's kernel groups are EVENT_TRACE_FLAG_* bits */
_Static_assert(EVENT_TRACE_FLAG_PROCESS == 0x1 && EVENT_TRACE_FLAG_THREAD == 0x2 &&
                   EVENT_TRACE_FLAG_IMAGE_LOAD == 0x4 && EVENT_TRACE_FLAG_CSWITCH == 0x10 &&
                   EVENT_TRACE_FLAG_DISK_IO == 0x100 && EVENT_TRACE_FLAG_DISK_FILE_IO == 0x200 &&
                   EVENT_TRACE_FLAG_NETWORK_TCPIP == 0x10000 &&
                   EVENT_TRACE_FLAG_REGISTRY == 0x20000 && EVENT_TRACE_FLAG_FILE_IO == 0x02000000 &&
                   EVENT_TRACE_FLAG_FILE_IO_INIT == 0x04000000 &&
                   EVENT_TRACE_SYSTEM_LOGGER_MODE == WINP_MODE_SYSTEM_LOGGER,
               "kernel group flags");

/* engine.h's property bits are ETW's own (EVENT_ENABLE_PROPERTY_*) */
_Static_assert(ENG_PROP_SID == WINP_PROP_SID && ENG_PROP_TS_ID == WINP_PROP_TS_ID &&
                   ENG_PROP_STACK == WINP_PROP_STACK_TRACE &&
                   ENG_PROP_IGNORE_KEYWORD_0 == WINP_PROP_IGNORE_KEYWORD_0 &&
                   ENG_PROP_PROCESS_START_KEY == WINP_PROP_PROCESS_START_KEY &&
                   ENG_PROP_SID == EVENT_ENABLE_PROPERTY_SID &&
                   ENG_PROP_STACK == EVENT_ENABLE_PROPERTY_STACK_TRACE,
               "enable property bits");

static ULONG enable_timeout_ms = 10000;  /* spec §2.4 Decide: events right after enable land */

int eng_session_enable_ex(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                          uint64_t all, const eng_enable_opts *o) {
  if (!s || !id) return ENG_E_ARG;
  if (s->stopped) return ENG_E_STOPPED;
  if (o && (o->properties & ~(uint32_t)ENG_PROP_ALL)) return ENG_E_ARG;
  GUID g;
  memcpy(&g, id->b, 16);
  /* per call (engine.h: thread-safe); descriptors point inside it, so it
  ** stays put until EnableTraceEx2, which copies it, returned */
  winp_enable_block *eb = malloc(sizeof *eb);
  if (!eb) return ENG_E_NOMEM;
  winp_enable_in in;
  memset(&in, 0, sizeof in);
  /* ENG_PROP_* are the EVENT_ENABLE_PROPERTY_* values themselves */
  uint64_t eff_any = any ? any : ~0ULL;
  if (o) {
    in.properties = o->properties;
    in.pids = o->pids; in.npids = o->npids;
    in.exe_names = o->exe_names && *o->exe_names ? o->exe_names : NULL;
    in.event_ids = o->event_ids; in.nids = o->nids; in.ids_in = !o->ids_exclude;
    in.event_names = o->event_names; in.nnames = o->nnames; in.names_in = !o->names_exclude;
    /* the name filter carries its own level and keywords: the enable's */
    in.names_level = level ? level : 255;
    in.names_any = eff_any;
    in.names_all = all;
  }
  if (winp_enable_build(eb, &in) < 0) { free(eb); return ENG_E_ARG; }
  ULONG rc = EnableTraceEx2(s->h, &g, EVENT_CONTROL_CODE_ENABLE_PROVIDER, level ? level : 255,
                            eff_any, all, enable_timeout_ms,
                            (PENABLE_TRACE_PARAMETERS)(void *)eb->buf);
  free(eb);
  if (rc == ERROR_TIMEOUT) rc = ERROR_SUCCESS;  /* a provider callback was slow: a warning */
  if (rc == ERROR_INVALID_HANDLE || rc == ERROR_WMI_INSTANCE_NOT_FOUND) return ENG_E_STOPPED;
  return win_status(rc);
}

int eng_session_enable(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                       uint64_t all) {
  return eng_session_enable_ex(s, id, level, any, all, NULL);
}

int eng_session_disable(eng_session *s, const tlg_guid *id) {
  if (!s || !id) return ENG_E_ARG;
  if (s->stopped) return ENG_E_STOPPED;
  GUID g;
  memcpy(&g, id->b, 16);
  ULONG rc = EnableTraceEx2(s->h, &g, EVENT_CONTROL_CODE_DISABLE_PROVIDER, 0, 0, 0, 0, NULL);
  if (rc == ERROR_INVALID_HANDLE || rc == ERROR_WMI_INSTANCE_NOT_FOUND) return ENG_E_STOPPED;
  return win_status(rc);
}

int eng_session_flush(eng_session *s) {
  if (!s) return ENG_E_ARG;
  if (s->stopped) return ENG_E_STOPPED;
  ULONG rc = win_control(s->wname, EVENT_TRACE_CONTROL_FLUSH, NULL);
  if (rc == ERROR_MORE_DATA) rc = ERROR_SUCCESS;
  if (rc == ERROR_WMI_INSTANCE_NOT_FOUND) return ENG_E_STOPPED;
  return win_status(rc);
}

int eng_session_query(eng_session *s, eng_session_stats *st) {
  if (!s || !st) return ENG_E_ARG;
  memset(st, 0, sizeof *st);
  if (s->stopped) {
    /* engine.h: the handle that stopped it keeps the final statistics */
    if (!s->have_final) return ENG_E_STOPPED;
    *st = s->final;
    return ENG_OK;
  }
  uint8_t block[WINP_PROPS_BLOCK];
  ULONG rc = win_control(s->wname, EVENT_TRACE_CONTROL_QUERY, block);
  if (rc == ERROR_WMI_INSTANCE_NOT_FOUND) return ENG_E_STOPPED;
  if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA) return win_status(rc);
  fill_stats(block, st);
  return ENG_OK;
}

int eng_session_stop(eng_session *s) {
  if (!s) return ENG_E_ARG;
  if (s->stopped) return ENG_OK;
  /* STOP returns the final statistics in the block: keep them */
  uint8_t block[WINP_PROPS_BLOCK];
  ULONG rc = win_control(s->wname, EVENT_TRACE_CONTROL_STOP, block);
  /* 4201: already gone (no final statistics); 234: stopped, names did not fit */
  if (rc != ERROR_SUCCESS && rc != ERROR_WMI_INSTANCE_NOT_FOUND && rc != ERROR_MORE_DATA)
    return win_status(rc);
  if (rc == ERROR_SUCCESS) {
    fill_stats(block, &s->final);
    s->have_final = 1;
  }
  s->stopped = 1;
  if (s->owner) win_owned_remove(s->wname);
  return ENG_OK;
}

int eng_session_stop_name(const char *name) {
  WCHAR w[WINP_SESSION_NAME_MAX + 1];
  int st = check_name(name, w);
  if (st) return st;
  ULONG rc = win_control(w, EVENT_TRACE_CONTROL_STOP, NULL);
  if (rc == ERROR_MORE_DATA) rc = ERROR_SUCCESS;
  if (rc == ERROR_SUCCESS) win_owned_remove(w);
  return win_status(rc);
}

void eng_session_close(eng_session *s) {
  if (!s) return;
  if (s->owner && !s->stopped) win_owned_remove(s->wname);  /* left running on purpose */
  free(s);
}

/* Is `pid` a live etwlua process? (spec §6 Decide 4: stale detection) */
static int pid_is_etwlua(uint32_t pid) {
  if (!pid) return 0;
  if (pid == GetCurrentProcessId()) return 1;
  HANDLE ph = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (!ph) return GetLastError() == ERROR_ACCESS_DENIED;  /* alive, not ours to inspect */
  WCHAR path[MAX_PATH];
  DWORD n = MAX_PATH;
  DWORD code = 0;
  int alive = GetExitCodeProcess(ph, &code) && code == STILL_ACTIVE;
  int is = alive;
  if (alive && QueryFullProcessImageNameW(ph, 0, path, &n)) {
    _wcslwr(path);
    is = wcsstr(path, L"etwlua") != NULL;
  }
  CloseHandle(ph);
  return is;
}

int eng_sessions_list(eng_session_info *out, size_t cap, size_t *count) {
  *count = 0;
  ULONG n = 64;
  for (int tries = 0; tries < 8; tries++) {
    uint8_t *blocks = calloc(n, WINP_PROPS_BLOCK);
    PEVENT_TRACE_PROPERTIES *arr = calloc(n, sizeof *arr);
    if (!blocks || !arr) { free(blocks); free(arr); return ENG_E_NOMEM; }
    for (ULONG i = 0; i < n; i++) {
      winp_props_query(blocks + (size_t)i * WINP_PROPS_BLOCK);
      arr[i] = (PEVENT_TRACE_PROPERTIES)(void *)(blocks + (size_t)i * WINP_PROPS_BLOCK);
    }
    ULONG got = 0;
    ULONG rc = QueryAllTracesW(arr, n, &got);
    if (rc == ERROR_MORE_DATA && got > n && tries < 7) {
      n = got;   /* the count it reported (spec §2.6); more slots can be refused */
      free(blocks); free(arr);
      continue;
    }
    if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA) {
      free(blocks); free(arr);
      return win_status(rc);
    }
    if (got > n) got = n;
    size_t k = 0;
    for (ULONG i = 0; i < got; i++) {
      winp_props_stats ps;
      winp_props_read(blocks + (size_t)i * WINP_PROPS_BLOCK, WINP_PROPS_BLOCK, &ps);
      if (k < cap) {
        eng_session_info *in = &out[k];
        memset(in, 0, sizeof *in);
        snprintf(in->name, sizeof in->name, "%s", ps.name);
        if (winp_name_is_ours(ps.name)) {
          in->owner_pid = (int32_t)winp_name_pid(ps.name);
          in->state = in->owner_pid && !pid_is_etwlua((uint32_t)in->owner_pid) ? ENG_SESSION_STALE
                                                                              : ENG_SESSION_RUNNING;
        }
        in->mode = (ps.log_file_mode & WINP_MODE_CIRCULAR) ? ENG_MODE_CIRCULAR
                   : (ps.log_file_mode & (WINP_MODE_SEQUENTIAL | WINP_MODE_NEWFILE)) || ps.file[0]
                       ? ENG_MODE_FILE
                       : ENG_MODE_REALTIME;
        in->lost = ps.events_lost;
      }
      k++;
    }
    *count = k;
    free(blocks); free(arr);
    return ENG_OK;
  }
  return ENG_E_IO;
}

/* self-test helper: the ETW handle (0 under a failed start) */
uint64_t win_session_handle(const eng_session *s);
uint64_t win_session_handle(const eng_session *s) { return s ? s->h : 0; }

#endif
