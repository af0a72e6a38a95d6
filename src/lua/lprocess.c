/*
** lprocess.c: etw.spawn / etw.Process, a child process in its own process
** group that a blocking wait can be interrupted out of (lsignal.h), so a
** command that runs a child (`etwlua capture -- cmd`) can forward a signal
** to the child's whole group, wait for it, and only then finish its own work.
**
**   etw.spawn({cmd, arg...}) -> process, or nil, "CODE: cmd: why", "CODE"
**   p.pid
**   p:wait([timeout_ms]) -> "exit", code | "signal", number | "timeout"
**                           | "interrupted", "SIGINT" / "SIGTERM" / "SIGHUP"
**   p:kill([signal])     -> true, or nil, err, code: the child's process
**                           group ("SIGTERM" default, "SIGINT", "SIGHUP",
**                           "SIGKILL")
**
** POSIX: posix_spawnp into a new process group. When our stdin is the
** terminal and we are its foreground group, the terminal goes to the
** child's group while it runs (so an interactive command can read it and
** Ctrl+C goes to it, as a shell does) and comes back when it is reaped.
** Windows: CreateProcessW with CREATE_NEW_PROCESS_GROUP; SIGINT/SIGBREAK
** become CTRL_BREAK_EVENT for that group, other signals TerminateProcess.
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
extern char **environ;
#endif

#include "lauxetw.h"
#include "lsignal.h"
#include "engine.h"

typedef struct lprocess {
  int reaped;
  int signaled;          /* status: killed by signal `code`, else exited with `code` */
  int code;
#ifdef _WIN32
  HANDLE h;
  DWORD pid;
#else
  pid_t pid;
  int has_tty;           /* the terminal was handed to the child's group */
#endif
} lprocess;

static lprocess *checkprocess(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, ETWL_PROCESS);
}

/* errno of a failed start -> the failure triple. */
static int push_spawn_fail(lua_State *L, const char *cmd, int err) {
  int st = err == ENOENT || err == ENOTDIR ? ENG_E_NOTFOUND
         : err == EACCES || err == EPERM ? ENG_E_ACCESS : ENG_E_IO;
  lua_pushfstring(L, "%s: %s", cmd, strerror(err));
  return etwL_pushengfail_detail(L, st, lua_tostring(L, -1));
}

/* The argument list at idx: 1..4096 strings without NUL bytes. */
static lua_Integer check_argv(lua_State *L, int idx) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, idx);
  luaL_argcheck(L, n >= 1 && n <= 4096, idx, "command must be a list of 1..4096 strings");
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    if (lua_geti(L, idx, i) != LUA_TSTRING)
      luaL_argerror(L, idx, lua_pushfstring(L, "item %d must be a string", (int)i));
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len || (i == 1 && len == 0))
      luaL_argerror(L, idx, lua_pushfstring(L, "item %d must be a non-empty string without NUL", (int)i));
    lua_pop(L, 1);                            /* kept alive by the table */
  }
  return n;
}

/* ===================================================================== POSIX */
#ifndef _WIN32

/* Give the terminal to `pgid` (our stdin is a terminal in the foreground);
** SIGTTOU blocked, as a background process changing it would get one. */
static void give_tty(pid_t pgid) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  tcsetpgrp(STDIN_FILENO, pgid);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static int spawn_os(lua_State *L, lprocess *p, char **argv) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);        /* its own group: a kill reaches all of it */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int e = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (e != 0) return push_spawn_fail(L, argv[0], e);
  p->pid = pid;
  if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp()) {
    give_tty(pid);
    p->has_tty = 1;
    kill(-pid, SIGCONT);                      /* if it read the terminal before it was its */
  }
  return 0;
}

static void take_tty_back(lprocess *p) {
  if (!p->has_tty) return;
  give_tty(getpgrp());
  p->has_tty = 0;
}

/* Reap without blocking; 1 once the child has ended. */
static int poll_child(lprocess *p) {
  if (p->reaped) return 1;
  int status;
  pid_t r = waitpid(p->pid, &status, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR)) return 0;
  p->reaped = 1;
  take_tty_back(p);
  if (r < 0) { p->code = 127; return 1; }     /* reaped elsewhere: unknown */
  p->signaled = WIFSIGNALED(status);
  p->code = p->signaled ? WTERMSIG(status) : WEXITSTATUS(status);
  return 1;
}

static int kill_group(lprocess *p, int sig) {
  /* the child may have made a group of its own (a shell with job control) */
  if (kill(-p->pid, sig) != 0 && (errno != ESRCH || kill(p->pid, sig) != 0)) return errno;
  kill(-p->pid, SIGCONT);                     /* a stopped child acts on it too */
  return 0;
}

static void close_os(lprocess *p) { take_tty_back(p); }

/* =================================================================== Windows */
#else

/* One argument quoted as CommandLineToArgvW and the C runtimes parse it. */
static void add_quoted(luaL_Buffer *b, const char *a) {
  if (*a && !strpbrk(a, " \t\n\v\"")) { luaL_addstring(b, a); return; }
  luaL_addchar(b, '"');
  for (const char *s = a;; s++) {
    size_t bs = 0;
    while (*s == '\\') { s++; bs++; }
    if (!*s) { for (size_t i = 0; i < 2 * bs; i++) luaL_addchar(b, '\\'); break; }
    if (*s == '"') { for (size_t i = 0; i < 2 * bs + 1; i++) luaL_addchar(b, '\\'); }
    else { for (size_t i = 0; i < bs; i++) luaL_addchar(b, '\\'); }
    luaL_addchar(b, *s);
  }
  luaL_addchar(b, '"');
}

static WCHAR *to_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
  WCHAR *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
  if (w) MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
  return w;
}

static int spawn_os(lua_State *L, lprocess *p, char **argv) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; argv[i]; i++) {
    if (i) luaL_addchar(&b, ' ');
    add_quoted(&b, argv[i]);
  }
  luaL_pushresult(&b);
  WCHAR *cmd = to_wide(lua_tostring(L, -1));
  lua_pop(L, 1);
  if (!cmd) return luaL_error(L, "etw.spawn: out of memory");
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NEW_PROCESS_GROUP, NULL, NULL,
                           &si, &pi);
  DWORD err = GetLastError();
  free(cmd);
  if (!ok)
    return push_spawn_fail(L, argv[0], err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND
                                       ? ENOENT : err == ERROR_ACCESS_DENIED ? EACCES : EIO);
  CloseHandle(pi.hThread);
  p->h = pi.hProcess;
  p->pid = pi.dwProcessId;
  return 0;
}

static int poll_child(lprocess *p) {
  if (p->reaped) return 1;
  if (WaitForSingleObject(p->h, 0) != WAIT_OBJECT_0) return 0;
  DWORD code = 1;
  GetExitCodeProcess(p->h, &code);
  p->reaped = 1;
  p->code = (int)code;
  return 1;
}

static int kill_group(lprocess *p, int sig) {
  if (sig == SIGINT || sig == SIGBREAK)
    return GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, p->pid) ? 0 : EPERM;
  return TerminateProcess(p->h, 128 + (unsigned)sig) ? 0 : EPERM;
}

static void close_os(lprocess *p) {
  if (p->h) CloseHandle(p->h);
  p->h = NULL;
}

#endif

/* ================================================================ Lua side */

/* etw.spawn(argv) */
static int l_spawn(lua_State *L) {
  lua_Integer n = check_argv(L, 1);
  char **argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *argv, 0);  /* freed by the GC */
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    /* exec takes char *const[]; never written; kept alive by the table at 1 */
    argv[i - 1] = (char *)(uintptr_t)lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  argv[n] = NULL;
  lprocess *p = lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  int nret = spawn_os(L, p, argv);
  if (nret) return nret;
  luaL_setmetatable(L, ETWL_PROCESS);
  return 1;
}

static int push_status(lua_State *L, lprocess *p) {
  lua_pushstring(L, p->signaled ? "signal" : "exit");
  lua_pushinteger(L, p->code);
  return 2;
}

/* p:wait([timeout_ms]): polls in short slices inside a signal scope. */
static int l_wait(lua_State *L) {
  lprocess *p = checkprocess(L, 1);
  lua_Integer timeout = luaL_optinteger(L, 2, -1);
  luaL_argcheck(L, lua_isnoneornil(L, 2) || timeout >= 0, 2, "timeout_ms must be >= 0");
  int64_t deadline = etwL_deadline_ms(timeout);
  if (poll_child(p)) return push_status(L, p);
  etwL_sigscope sc;
  int sig = 0, done = 0;
  etwL_signal_enter(&sc, NULL, NULL);
  for (;;) {
    if ((done = poll_child(p)) != 0) break;
    if ((sig = etwL_signal_take()) != 0) break;
    int left = etwL_wait_ms(deadline);
    if (left == 0) break;
    etwL_sleep_ms(left < 0 || left > 20 ? 20 : left);
  }
  etwL_signal_leave(&sc);
  if (done) return push_status(L, p);
  if (!sig) {
    lua_pushliteral(L, "timeout");
    return 1;
  }
  lua_pushliteral(L, "interrupted");
  lua_pushstring(L, etwL_signal_name(sig));
  return 2;
}

/* p:kill([signal]) */
static int l_kill(lua_State *L) {
  lprocess *p = checkprocess(L, 1);
  const char *name = luaL_optstring(L, 2, "SIGTERM");
  int sig = etwL_signal_number(name);
#ifdef _WIN32
  if (!sig && strcmp(name, "SIGKILL") == 0) sig = 9;   /* TerminateProcess */
#endif
  if (!sig)
    return luaL_argerror(L, 2, "signal must be one of SIGINT, SIGTERM, SIGHUP, SIGKILL");
  if (poll_child(p)) {           /* gone: never signal a group id that may be reused */
    lua_pushboolean(L, 1);
    return 1;
  }
  int e = kill_group(p, sig);
  if (e) return push_spawn_fail(L, "kill", e);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_gc(lua_State *L) {
  lprocess *p = checkprocess(L, 1);
  close_os(p);
  return 0;
}

static int l_index(lua_State *L) {
  lprocess *p = checkprocess(L, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "pid") == 0) {
    lua_pushinteger(L, (lua_Integer)p->pid);
    return 1;
  }
  return 0;
}

static int l_tostring(lua_State *L) {
  lprocess *p = checkprocess(L, 1);
  lua_pushfstring(L, "etw.Process %d (%s)", (int)p->pid, p->reaped ? "ended" : "running");
  return 1;
}

static const luaL_Reg meth[] = {{"wait", l_wait}, {"kill", l_kill}, {NULL, NULL}};

static const luaL_Reg metameth[] = {{"__gc", l_gc}, {"__tostring", l_tostring}, {NULL, NULL}};

void etwL_open_process(lua_State *L) {   /* stack: etw */
  luaL_newmetatable(L, ETWL_PROCESS);
  luaL_setfuncs(L, metameth, 0);
  luaL_newlib(L, meth);
  lua_pushcclosure(L, l_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_spawn);
  lua_setfield(L, -2, "spawn");
}
