/*
** lsession.c: etw.Session (a trace session this process controls) and
** etw.sessions(), over engine.h. What `logman`/`tracelog` and pywintrace's
** ETW class do: start, enable providers, flush, stats, stop.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L     /* nanosleep */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "lauxetw.h"
#include "lsignal.h"
#include "engine.h"
#include "eng_sysprov.h"
#include "tlg_guid.h"

typedef struct lsession {
  eng_session *h;        /* NULL until started or after close */
  int owner;             /* this process started it: stop on close/exit */
  int stopped;
  eng_session_opts opts;
  struct lsession *next; /* sessions this process owns, for the exit handler */
} lsession;

/* Sessions this process started and has not stopped: stopped at exit()
** even when the script ends with os.exit or an error (lua_close may not run). */
static lsession *owned;
static int atexit_done;

static void unlink_owned(lsession *s) {
  for (lsession **p = &owned; *p; p = &(*p)->next)
    if (*p == s) { *p = s->next; return; }
}

static void stop_owned_at_exit(void) {
  for (lsession *s = owned; s; s = s->next)
    if (s->h) eng_session_stop(s->h);
  owned = NULL;
}

static lsession *checksession(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, ETWL_SESSION);
}

static lsession *checkrunning(lua_State *L, int idx) {
  lsession *s = checksession(L, idx);
  if (!s->h || s->stopped) luaL_error(L, "attempt to use a stopped etw.Session");
  return s;
}

/* --- options ------------------------------------------------------------- */

static const char *const mode_names[] = {"realtime", "file", "circular", NULL};

static const char *const session_keys[] = {
  "mode", "file", "buffer_kb", "min_buffers", "max_buffers", "flush_ms", "max_mb", "replace",
  "file_mode", "kernel", NULL};

static uint32_t opt_u32(lua_State *L, int idx, const char *key, lua_Integer lo, lua_Integer hi) {
  return (uint32_t)etwL_optinteger(L, idx, "etw.Session", key, lo, hi, 0);
}

/* file_mode (options table at idx): permission bits as an octal string
** ("0644", "600"): Lua has no octal literals, and a decimal 644 would mean
** something else. 0 when absent. */
static uint32_t opt_file_mode(lua_State *L, int idx) {
  uint32_t m = 0;
  if (lua_getfield(L, idx, "file_mode") != LUA_TNIL) {
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    size_t n = v ? strlen(v) : 0;
    if (n < 3 || n > 4 || strspn(v, "01234567") != n)
      etwL_opterror(L, "etw.Session", "file_mode", "must be an octal string such as \"0644\"");
    m = (uint32_t)strtoul(v, NULL, 8);
    if (m > 0777 || m == 0)
      etwL_opterror(L, "etw.Session", "file_mode", "must be permission bits 0001..0777 (\"%s\")", v);
  }
  lua_pop(L, 1);
  return m;
}

/* Option kernel = {"process", ...}: the groups of the NT kernel logger or
** of a private system logger (Windows; README "System events on Windows"). */
static uint32_t read_kernel(lua_State *L, int idx) {
  if (lua_getfield(L, idx, "kernel") == LUA_TNIL) { lua_pop(L, 1); return 0; }
  if (!lua_istable(L, -1) || luaL_len(L, -1) < 1)
    etwL_opterror(L, "etw.Session", "kernel", "must be a non-empty list of group names (%s)",
                  eng_kernel_group_list());
  uint32_t flags = 0;
  for (lua_Integer i = 1, n = luaL_len(L, -1); i <= n; i++) {
    lua_geti(L, -1, i);
    uint32_t f = lua_type(L, -1) == LUA_TSTRING ? eng_kernel_group_flags(lua_tostring(L, -1)) : 0;
    if (!f)
      etwL_opterror(L, "etw.Session", "kernel", "unknown group %s (valid: %s)",
                    luaL_tolstring(L, -1, NULL), eng_kernel_group_list());
    flags |= f;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
#ifndef _WIN32
  luaL_error(L, "etw.Session: option 'kernel' needs Windows (the NT kernel logger); on Linux "
                "enable kernel sources by name instead: s:enable(\"Linux-Kernel-Process\"), "
                "\"Linux-Kernel-File\", \"Linux-Kernel-Network\" or \"tracepoint:GROUP:NAME\"");
#endif
  return flags;
}

/* Read the options table at idx into o; unknown keys are errors. The file
** path is left at the top of the stack (nil without one): the caller keeps
** that string, never a pointer into the table, which the script may change. */
static void read_opts(lua_State *L, int idx, eng_session_opts *o) {
  memset(o, 0, sizeof *o);
  if (!etwL_checkoptions(L, idx, "etw.Session", session_keys)) {
    lua_pushnil(L);
    return;
  }
  lua_getfield(L, idx, "mode");
  if (!lua_isnil(L, -1)) o->mode = etwL_checkoptname(L, -1, "etw.Session", "mode", mode_names);
  lua_pop(L, 1);
  o->buffer_kb = opt_u32(L, idx, "buffer_kb", 4, 16384);
  o->min_buffers = opt_u32(L, idx, "min_buffers", 2, 1 << 20);
  o->max_buffers = opt_u32(L, idx, "max_buffers", 2, 1 << 20);
  o->flush_ms = opt_u32(L, idx, "flush_ms", 1, 3600 * 1000);
  o->max_mb = opt_u32(L, idx, "max_mb", 0, 1 << 22);
  if (lua_getfield(L, idx, "replace") != LUA_TNIL && !lua_isboolean(L, -1))
    etwL_opterror(L, "etw.Session", "replace", "must be a boolean, got %s", luaL_typename(L, -1));
  o->replace = lua_toboolean(L, -1);
  lua_pop(L, 1);
  o->file_mode = opt_file_mode(L, idx);
  o->kernel_flags = read_kernel(L, idx);
  if (lua_getfield(L, idx, "file") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
    etwL_opterror(L, "etw.Session", "file", "must be a path (string), got %s", luaL_typename(L, -1));
  if (o->mode != ENG_MODE_REALTIME && lua_isnil(L, -1))
    luaL_error(L, "etw.Session: mode '%s' needs option 'file'", mode_names[o->mode]);
  if (o->mode == ENG_MODE_REALTIME && o->max_mb)
    luaL_error(L, "etw.Session: option 'max_mb' needs mode 'file' or 'circular'");
  if (o->mode == ENG_MODE_REALTIME && o->file_mode)
    luaL_error(L, "etw.Session: option 'file_mode' needs mode 'file' or 'circular'");
  if (o->mode == ENG_MODE_CIRCULAR && o->max_mb &&
      (uint64_t)o->max_mb * 1024 < 2 * (uint64_t)(o->buffer_kb ? o->buffer_kb : 64))
    luaL_error(L, "etw.Session: option 'max_mb' must hold at least 2 buffers of buffer_kb "
                  "in mode 'circular'");
}

/* --- constructor and methods ---------------------------------------------- */

/* etw.Session(name [, opts]) -> session (not started; s:start() starts it) */
static int l_new(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len >= 1 && len <= ENG_SESSION_NAME_MAX && !memchr(name, 0, len), 1,
                "session name must be 1..200 bytes without NUL");
  eng_session_opts opts;
  lua_settop(L, 2);
  read_opts(L, 2, &opts);                             /* stack: name opts file */
  if (eng_is_kernel_logger(name) && !opts.kernel_flags)
    return luaL_error(L, "etw.Session: session '%s' needs option 'kernel' (groups: %s)", name,
                      eng_kernel_group_list());
  lsession *s = lua_newuserdatauv(L, sizeof *s, 2);   /* stack: name opts file s */
  memset(s, 0, sizeof *s);
  s->opts = opts;
  luaL_setmetatable(L, ETWL_SESSION);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);                        /* uservalue 1: name */
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, -2, 2);                        /* uservalue 2: the file path */
  return 1;
}

static const char *session_name(lua_State *L, int idx) {
  lua_getiuservalue(L, idx, 1);
  const char *name = lua_tostring(L, -1);
  lua_pop(L, 1);                                      /* still referenced by the uservalue */
  return name;
}

/* s:start() -> s, or nil, "CODE: message", "CODE". A stale session of the
** same name is replaced; a running one is an EXISTS failure, unless the
** option replace = true stops it first. */
static int l_start(lua_State *L) {
  lsession *s = checksession(L, 1);
  if (s->h && !s->stopped) return luaL_error(L, "etw.Session: already started");
  if (s->h) { eng_session_close(s->h); s->h = NULL; }
  lua_getiuservalue(L, 1, 2);                         /* the path, kept here */
  s->opts.file = lua_tostring(L, -1);
  errno = 0;
  int st = eng_session_start(session_name(L, 1), &s->opts, &s->h);
  if (st != ENG_OK && s->opts.file && errno && (st == ENG_E_IO || st == ENG_E_ACCESS)) {
    int e = errno;
    if (s->opts.mode == ENG_MODE_CIRCULAR && e == EEXIST)   /* see etl_writer_open_file */
      lua_pushfstring(L, "%s (file %s.tmp, the circular copy being written: %s; not ours, "
                         "left untouched)", eng_strerror(st), s->opts.file, strerror(e));
    else
      lua_pushfstring(L, "%s (file %s: %s)", eng_strerror(st), s->opts.file, strerror(e));
    return etwL_pushengfail_detail(L, st, lua_tostring(L, -1));
  }
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  s->owner = 1;
  s->stopped = 0;
  s->next = owned;
  owned = s;
  if (!atexit_done) atexit_done = atexit(stop_owned_at_exit) == 0;
  lua_settop(L, 1);
  return 1;
}

/* Provider argument: an etw.Provider, a GUID string, or a provider name:
** a provider registered on the system under that name (Windows: manifest
** providers, Linux-Kernel-* aliases; eng_provider_resolve), else the
** TraceLogging name hash. ENG_OK, or a status for nil, err, code
** (ENG_E_UNSUPPORTED: a name this platform cannot enable). */
static int check_provider_id(lua_State *L, int idx, tlg_guid *id) {
  rec_record rec;
  size_t len;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, idx, &len);
    if (tlg_guid_parse(s, len, id) == TLG_OK) return ENG_OK;
    int st = eng_provider_resolve(s, len, id);
    if (st == ENG_OK || st == ENG_E_UNSUPPORTED) return st;
    if (tlg_provider_id(s, len, id) != TLG_OK)
      luaL_argerror(L, idx, "provider name must be valid UTF-8");
    return ENG_OK;
  }
  if (etwL_toprovider(L, idx, &rec)) { *id = rec.provider_id; return ENG_OK; }
  return luaL_typeerror(L, idx, "etw.Provider, provider name or GUID");
}

/* Enable options (DESIGN §2, spec windows-etw §2.4). level defaults to 5
** (verbose), any to all bits (every keyword), all to 0, as tools mean
** "enable X". The rest are ETW's provider-side properties and filters,
** gathered into eng_enable_opts (strings borrowed from the options table,
** which the caller's stack keeps alive). */
#define MAX_NAME_FILTERS 256

typedef struct enable_in {
  uint8_t level;
  uint64_t any, all;
  eng_enable_opts o;
  uint32_t pids[ENG_FILTER_MAX_PIDS];
  uint16_t ids[ENG_FILTER_MAX_IDS];
  const char *names[MAX_NAME_FILTERS];
  char exe[ENG_FILTER_MAX_EXE_BYTES];
} enable_in;

static const struct { const char *key; uint32_t bit; } enable_props[] = {
  {"stack", ENG_PROP_STACK}, {"sid", ENG_PROP_SID}, {"session_id", ENG_PROP_TS_ID},
  {"process_start_key", ENG_PROP_PROCESS_START_KEY}, {"event_key", ENG_PROP_EVENT_KEY},
  {"ignore_keyword_0", ENG_PROP_IGNORE_KEYWORD_0}, {NULL, 0}
};

static const char *const enable_keys[] = {
  "level", "any", "all", "stack", "sid", "session_id", "process_start_key", "event_key",
  "ignore_keyword_0", "pids", "exe_names", "event_ids", "exclude_event_ids", "event_names",
  "exclude_event_names", NULL};

/* v with thousands separators ("4,076"), as limits are written in messages. */
static const char *grouped(char buf[16], unsigned v) {
  if (v < 1000) snprintf(buf, 16, "%u", v);
  else snprintf(buf, 16, "%u,%03u", v / 1000, v % 1000);
  return buf;
}

/* The list at the top of the stack, checked: 1..max items. */
static lua_Integer list_len(lua_State *L, const char *k, lua_Integer max, const char *what) {
  if (!lua_istable(L, -1)) luaL_error(L, "enable: option '%s' must be a list of %s", k, what);
  lua_Integer n = luaL_len(L, -1);
  if (n < 1 || n > max)
    luaL_error(L, "enable: option '%s' must hold 1..%d %s", k, (int)max, what);
  return n;
}

static lua_Integer list_int(lua_State *L, const char *k, lua_Integer i, lua_Integer max,
                            const char *what) {
  int isint;
  lua_geti(L, -1, i);
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (!isint || v < 0 || v > max)
    luaL_error(L, "enable: option '%s' item %d must be %s (0..%I)", k, (int)i, what, max);
  lua_pop(L, 1);
  return v;
}

static void read_pids(lua_State *L, enable_in *e) {
  lua_Integer n = list_len(L, "pids", ENG_FILTER_MAX_PIDS, "process ids");
  for (lua_Integer i = 1; i <= n; i++)
    e->pids[i - 1] = (uint32_t)list_int(L, "pids", i, 0xFFFFFFFF, "a process id");
  e->o.pids = e->pids;
  e->o.npids = (size_t)n;
}

static void read_ids(lua_State *L, const char *k, enable_in *e, int exclude) {
  if (e->o.nids) luaL_error(L, "enable: give 'event_ids' or 'exclude_event_ids', not both");
  lua_Integer n = list_len(L, k, ENG_FILTER_MAX_IDS, "event ids");
  for (lua_Integer i = 1; i <= n; i++) e->ids[i - 1] = (uint16_t)list_int(L, k, i, 65535, "an event id");
  e->o.event_ids = e->ids;
  e->o.nids = (size_t)n;
  e->o.ids_exclude = exclude;
}

/* A string item of a list (or the value itself): non-empty, no ';' for exe names. */
static const char *list_str(lua_State *L, const char *k, lua_Integer i, int no_semicolon) {
  size_t len = 0;
  if (lua_type(L, -1) != LUA_TSTRING || (len = lua_rawlen(L, -1)) == 0)
    luaL_error(L, "enable: option '%s' item %d must be a non-empty string", k, (int)i);
  const char *s = lua_tostring(L, -1);
  if (strlen(s) != len || (no_semicolon && strchr(s, ';')))
    luaL_error(L, "enable: option '%s' item %d must not contain %s", k, (int)i,
               no_semicolon ? "';' or NUL" : "NUL");
  return s;
}

static void read_exe(lua_State *L, enable_in *e) {
  char buf[16];
  size_t used = 0;
  int single = lua_type(L, -1) == LUA_TSTRING;
  lua_Integer n = single ? 1 : list_len(L, "exe_names", 64, "executable names");
  for (lua_Integer i = 1; i <= n; i++) {
    if (!single) lua_geti(L, -1, i);
    const char *s = list_str(L, "exe_names", i, !single);
    size_t len = strlen(s);
    if (used + len + 2 > sizeof e->exe)
      luaL_error(L, "enable: option 'exe_names' must be shorter than %s bytes in all",
                 grouped(buf, ENG_FILTER_MAX_EXE_BYTES));
    if (used) e->exe[used++] = ';';
    memcpy(e->exe + used, s, len + 1);
    used += len;
    if (!single) lua_pop(L, 1);
  }
  e->o.exe_names = e->exe;
}

static void read_names(lua_State *L, const char *k, enable_in *e, int exclude) {
  if (e->o.nnames) luaL_error(L, "enable: give 'event_names' or 'exclude_event_names', not both");
  lua_Integer n = list_len(L, k, MAX_NAME_FILTERS, "event names");
  size_t bytes = ENG_FILTER_NAMES_HEADER;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, -1, i);
    e->names[i - 1] = list_str(L, k, i, 0);   /* kept alive by the options table */
    bytes += strlen(e->names[i - 1]) + 1;
    lua_pop(L, 1);
  }
  if (bytes > ENG_FILTER_MAX_NAMES_BYTES) {
    char buf[16];
    luaL_error(L, "enable: option '%s' must total at most %s bytes of names", k,
               grouped(buf, ENG_FILTER_MAX_NAMES_BYTES - ENG_FILTER_NAMES_HEADER));
  }
  e->o.event_names = e->names;
  e->o.nnames = (size_t)n;
  e->o.names_exclude = exclude;
}

static int read_prop(lua_State *L, const char *k, enable_in *e) {
  for (int i = 0; enable_props[i].key; i++) {
    if (strcmp(k, enable_props[i].key) != 0) continue;
    if (!lua_isboolean(L, -1)) luaL_error(L, "enable: option '%s' must be a boolean", k);
    if (lua_toboolean(L, -1)) e->o.properties |= enable_props[i].bit;
    else e->o.properties &= ~enable_props[i].bit;
    return 1;
  }
  return 0;
}

static void read_enable(lua_State *L, int idx, enable_in *e) {
  memset(e, 0, sizeof *e);
  e->level = 5; e->any = UINT64_MAX; e->all = 0;
  if (!etwL_checkoptions(L, idx, "enable", enable_keys)) return;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    int top = lua_gettop(L);
    if (strcmp(k, "level") == 0) {
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 0 || v > 255) luaL_error(L, "enable: option 'level' must be 0..255");
      e->level = (uint8_t)v;
    } else if (strcmp(k, "any") == 0) {
      e->any = etwL_checku64(L, top);
    } else if (strcmp(k, "all") == 0) {
      e->all = etwL_checku64(L, top);
    } else if (read_prop(L, k, e)) {
    } else if (strcmp(k, "pids") == 0) {
      read_pids(L, e);
    } else if (strcmp(k, "exe_names") == 0) {
      read_exe(L, e);
    } else if (strcmp(k, "event_ids") == 0 || strcmp(k, "exclude_event_ids") == 0) {
      read_ids(L, k, e, k[1] == 'x');
    } else if (strcmp(k, "event_names") == 0 || strcmp(k, "exclude_event_names") == 0) {
      read_names(L, k, e, k[1] == 'x');
    }
    lua_settop(L, top - 1);
  }
}

/* A kernel source name (engine.h eng_source_is_kernel), or NULL. */
static const char *kernel_source(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) return NULL;
  const char *name = lua_tostring(L, idx);
  return eng_source_is_kernel(name) ? name : NULL;
}

/* s:enable(provider [, opts]) -> s, or nil, err, code */
static int l_enable(lua_State *L) {
  lsession *s = checkrunning(L, 1);
  tlg_guid id;
  enable_in e;
  const char *kname = kernel_source(L, 2);
  int rs = kname ? ENG_OK : check_provider_id(L, 2, &id);
  read_enable(L, 3, &e);
  if (rs != ENG_OK) return etwL_pushengfail(L, rs);
  if (kname) {
    int kst = eng_session_enable_source(s->h, kname, e.level, e.any, e.all, &e.o);
    if (kst != ENG_OK) return etwL_pushengfail(L, kst);
    lua_settop(L, 1);
    return 1;
  }
  int st = eng_session_enable_ex(s->h, &id, e.level, e.any, e.all, &e.o);
  if (st == ENG_E_UNSUPPORTED)
    return etwL_pushengfail_detail(L, st,
                                   "provider-side properties and filters (stack, sid, pids, "
                                   "exe_names, event_ids, event_names ...) need ETW (Windows); "
                                   "filter in the consumer instead");
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  lua_settop(L, 1);
  return 1;
}

/* s:disable(provider) -> s, or nil, err, code */
static int l_disable(lua_State *L) {
  lsession *s = checkrunning(L, 1);
  tlg_guid id;
  const char *kname = kernel_source(L, 2);
  int st = kname ? eng_session_disable_source(s->h, kname) : check_provider_id(L, 2, &id);
  if (!kname && st == ENG_OK) st = eng_session_disable(s->h, &id);
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  lua_settop(L, 1);
  return 1;
}

static int l_flush(lua_State *L) {
  lsession *s = checkrunning(L, 1);
  int st = eng_session_flush(s->h);
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  lua_settop(L, 1);
  return 1;
}

static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* s:stats() -> {events, lost, bytes, buffers, rings, providers, corrupt,
** consumer_pid, written, file_bytes, files, file_error [, file_error_text]};
** after s:stop(),
** the final statistics (file modes: once the file is closed). */
static int l_stats(lua_State *L) {
  lsession *s = checksession(L, 1);
  if (!s->h) return luaL_error(L, "attempt to use a stopped etw.Session");
  eng_session_stats st;
  int rc = eng_session_query(s->h, &st);
  if (rc == ENG_E_STOPPED && s->stopped) return luaL_error(L, "attempt to use a stopped etw.Session");
  if (rc != ENG_OK) return etwL_pushengfail(L, rc);
  lua_createtable(L, 0, 12);
  setint(L, "events", (lua_Integer)st.events);
  setint(L, "lost", (lua_Integer)st.lost);
  setint(L, "bytes", (lua_Integer)st.bytes);
  setint(L, "buffers", st.buffers);
  setint(L, "rings", st.rings);
  setint(L, "providers", st.providers);
  setint(L, "corrupt", st.corrupt);
  setint(L, "consumer_pid", st.consumer_pid);
  setint(L, "written", (lua_Integer)st.written);
  setint(L, "file_bytes", (lua_Integer)st.file_bytes);
  setint(L, "files", st.files);
  setint(L, "file_error", st.file_error);
  if (st.file_error) {
    lua_pushstring(L, strerror(st.file_error));
    lua_setfield(L, -2, "file_error_text");
  }
  return 1;
}

/* --- wait ------------------------------------------------------------------ */

/* s:wait([seconds]) -> reason [, signal]: "timeout" (the seconds passed),
** "stopped" (the session was stopped, e.g. by `etwlua stop NAME`),
** "interrupted" (SIGINT, SIGTERM or SIGHUP while waiting; the second value
** names it). Without seconds: until stopped or interrupted. The session
** keeps running; producers keep writing. */
static int l_wait(lua_State *L) {
  lsession *s = checkrunning(L, 1);
  double secs = luaL_optnumber(L, 2, -1);
  luaL_argcheck(L, lua_isnoneornil(L, 2) || secs >= 0, 2, "seconds must be >= 0");
  /* 2^62 ms is beyond any wait; larger (and inf) saturate there */
  int64_t deadline = lua_isnoneornil(L, 2) ? -1
                     : etwL_deadline_ms(secs * 1000 >= 4.6e18 ? INT64_MAX / 2 : (int64_t)(secs * 1000));
  const char *reason = NULL;
  int sig = 0;
  etwL_sigscope sc;
  etwL_signal_enter(&sc, NULL, NULL);  /* the sleep below ends early on a signal */
  while (!reason) {
    eng_session_stats st;
    int64_t now = etwL_now_ms();
    if ((sig = etwL_signal_take()) != 0) reason = "interrupted";
    else if (eng_session_query(s->h, &st) == ENG_E_STOPPED) reason = "stopped";
    else if (deadline >= 0 && now >= deadline) reason = "timeout";
    else etwL_sleep_ms(deadline < 0 || deadline - now > 50 ? 50 : (int)(deadline - now));
  }
  etwL_signal_leave(&sc);
  lua_pushstring(L, reason);
  if (!sig) return 1;
  lua_pushstring(L, etwL_signal_name(sig));
  return 2;
}

static void stop_session(lsession *s) {
  if (s->h && !s->stopped) {
    if (s->owner) eng_session_stop(s->h);
    s->stopped = 1;
  }
  unlink_owned(s);
}

/* s:stop(): idempotent */
static int l_stop(lua_State *L) {
  stop_session(checksession(L, 1));
  return 0;
}

/* __gc / __close: a session this process started is stopped with its object. */
static int l_gc(lua_State *L) {
  lsession *s = checksession(L, 1);
  stop_session(s);
  if (s->h) { eng_session_close(s->h); s->h = NULL; }
  return 0;
}

static int l_is_running(lua_State *L) {
  lsession *s = checksession(L, 1);
  lua_pushboolean(L, s->h && !s->stopped);
  return 1;
}

static int l_tostring(lua_State *L) {
  lsession *s = checksession(L, 1);
  const char *state = !s->h ? "not started" : s->stopped ? "stopped" : "running";
  lua_pushfstring(L, "etw.Session \"%s\" (%s)", session_name(L, 1), state);
  return 1;
}

static int l_index(lua_State *L) {
  checksession(L, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "name") == 0) {
    lua_getiuservalue(L, 1, 1);
    return 1;
  }
  return 0;
}

/* --- etw.sessions() -------------------------------------------------------- */

static void push_info(lua_State *L, const eng_session_info *in) {
  static const char *const modes[] = {"realtime", "file", "circular"};
  lua_createtable(L, 0, 8);
  lua_pushstring(L, in->name);
  lua_setfield(L, -2, "name");
  setint(L, "owner_pid", in->owner_pid);
  setint(L, "consumer_pid", in->consumer_pid);
  lua_pushstring(L, in->state == ENG_SESSION_STALE ? "stale" : "running");
  lua_setfield(L, -2, "state");
  lua_pushstring(L, in->mode >= 0 && in->mode <= 2 ? modes[in->mode] : "?");
  lua_setfield(L, -2, "mode");
  setint(L, "providers", in->providers);
  setint(L, "events", (lua_Integer)in->events);
  setint(L, "lost", (lua_Integer)in->lost);
}

/* etw.sessions() -> array of {name, owner_pid, consumer_pid, state, mode,
** providers, events, lost}, or nil, err, code */
static int l_sessions(lua_State *L) {
  size_t count = 0, cap = 16;
  eng_session_info *info = NULL;
  int st;
  for (;;) {                   /* grow until every session fits */
    eng_session_info *n = realloc(info, cap * sizeof *info);
    if (!n) { free(info); return luaL_error(L, "etw.sessions: out of memory"); }
    info = n;
    st = eng_sessions_list(info, cap, &count);
    if (st != ENG_OK || count <= cap) break;
    cap = count;
  }
  if (st != ENG_OK) { free(info); return etwL_pushengfail(L, st); }
  lua_createtable(L, (int)count, 0);
  for (size_t i = 0; i < count; i++) {
    push_info(L, &info[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free(info);
  return 1;
}

/* etw.stop_session(name) -> true, or nil, err, code (also for stale sessions) */
static int l_stop_name(lua_State *L) {
  int st = eng_session_stop_name(luaL_checkstring(L, 1));
  if (st != ENG_OK) return etwL_pushengfail(L, st);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg meth[] = {
  {"start", l_start}, {"enable", l_enable}, {"disable", l_disable},
  {"flush", l_flush}, {"stats", l_stats}, {"stop", l_stop}, {"wait", l_wait},
  {"is_running", l_is_running}, {NULL, NULL}};

static const luaL_Reg metameth[] = {
  {"__gc", l_gc}, {"__close", l_gc}, {"__tostring", l_tostring}, {NULL, NULL}};

void etwL_open_session(lua_State *L) {     /* stack: etw */
  luaL_newmetatable(L, ETWL_SESSION);      /* stack: etw mt */
  luaL_setfuncs(L, metameth, 0);
  luaL_newlib(L, meth);
  lua_pushcclosure(L, l_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new);
  lua_setfield(L, -2, "Session");
  lua_pushcfunction(L, l_sessions);
  lua_setfield(L, -2, "sessions");
  lua_pushcfunction(L, l_stop_name);
  lua_setfield(L, -2, "stop_session");
}
