/*
** main.c: the etwlua host. Behaves like the `lua` command (script + args,
** -e -l -i -v -E -W, - for stdin, REPL) with `etw` and `cjson` preloaded and
** the lua/ library embedded; a first argument naming a built-in subcommand
** (lua/etwlua/cli/NAME.lua) runs that subcommand instead.
*/
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#ifdef _WIN32
#include <io.h>
#define isatty_stdin() _isatty(_fileno(stdin))
#else
#include <unistd.h>
#define isatty_stdin() isatty(STDIN_FILENO)
#endif

#include "eng_selftest.h"
#include "etwlua_lua.h"
#include "lembed.h"
#include "lsignal.h"

#include "etwlua_version.h"  /* generated from project(VERSION) */

static const char *progname = "etwlua";
static lua_State *globalL = NULL;

/* ---- errors and signals ----
** In Lua code, SIGINT, SIGTERM and SIGHUP do what Ctrl+C does in lua.c: a
** hook raises "interrupted!" at the next VM step, the error unwinds (sessions
** and consumers are closed with their objects) and the process exits with
** 128 + the signal number, as a shell reports a death by that signal. The
** blocking calls (c:run, s:wait, ...) take the signals over while they wait
** (lsignal.c) and return "interrupted" instead. */

static volatile sig_atomic_t host_signal;

static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void on_signal(int sig) {
  signal(sig, SIG_DFL); /* a second one kills the process */
  host_signal = sig;
  lua_sethook(globalL, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  etwL_signal_host(on_signal);
  int status = lua_pcall(L, narg, nres, base);
  etwL_signal_host(NULL);
  lua_remove(L, base);
  return status;
}

/* A subcommand runs inside one signal scope (lsignal.h): a signal only
** marks it interrupted; its blocking calls return "interrupted" and it
** ends as it documents (watch, capture: stop, finalize, exit status). A
** subcommand that fails after a signal nobody took exits 128 + signal. */
static int docall_command(lua_State *L, int narg, int nres, int *sig) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  etwL_sigscope scope;
  etwL_signal_enter(&scope, NULL, NULL);
  int status = lua_pcall(L, narg, nres, base);
  *sig = etwL_signal_take();
  etwL_signal_leave(&scope);
  lua_remove(L, base);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod or -l g=mod: require mod and set global g (default: mod). */
static int dolibrary(lua_State *L, char *spec) {
  char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  if (eq) *eq = '\0';
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, spec);
  return report(L, status);
}

/* ---- the arg table: script at 0, interpreter options negative ---- */

static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0; /* no script: everything is "before" it */
  lua_createtable(L, argc - script - 1 > 0 ? argc - script - 1 : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* ---- the REPL (no readline: plain lines, continuation on incomplete input) ---- */

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= 5 && strcmp(msg + lmsg - 5, "<eof>") == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

static int readline_into(luaL_Buffer *b, const char *prompt) {
  char line[1024];
  fputs(prompt, stdout);
  fflush(stdout);
  if (fgets(line, sizeof line, stdin) == NULL) return 0;
  size_t n = strlen(line);
  while (n == sizeof line - 1 && line[n - 1] != '\n') { /* long line: keep reading */
    luaL_addlstring(b, line, n);
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
    n = strlen(line);
  }
  if (n > 0 && line[n - 1] == '\n') n--;
  luaL_addlstring(b, line, n);
  return 1;
}

/* Load one statement (first as "return expr"), reading more lines while incomplete. */
static int loadline(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (!readline_into(&b, "> ")) return -1;
  luaL_pushresult(&b);
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s", line);
  if (luaL_loadbuffer(L, ret, strlen(ret), "=stdin") == LUA_OK) {
    lua_remove(L, -2); /* drop "return ..." text */
    lua_remove(L, -2); /* drop line */
    return LUA_OK;
  }
  lua_pop(L, 2); /* error message and "return ..." */
  for (;;) { /* stack: code so far */
    size_t len;
    const char *code = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, code, len, "=stdin");
    if (!incomplete(L, status)) {
      lua_remove(L, -2);
      return status;
    }
    luaL_buffinit(L, &b);
    lua_pushvalue(L, -2);
    luaL_addvalue(&b);
    luaL_addchar(&b, '\n');
    int more = readline_into(&b, ">> ");
    luaL_pushresult(&b);
    lua_remove(L, -2); /* old code */
    if (!more) {
      status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
      lua_remove(L, -2);
      return status;
    }
  }
}

static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    report(L, LUA_ERRRUN);
}

static void doREPL(lua_State *L) {
  int status;
  const char *old = progname;
  progname = NULL;
  while ((status = loadline(L)) != -1) {
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else { fprintf(stderr, "%s\n", lua_tostring(L, -1)); lua_pop(L, 1); }
  }
  lua_settop(L, 0);
  fputc('\n', stdout);
  progname = old;
}

/* ---- subcommands: lua/etwlua/cli/NAME.lua returns {run = function(args) -> code} ---- */

static int is_subcommand(const char *word) {
  char mod[128];
  if (!islower((unsigned char)word[0]) || strlen(word) > 64) return 0;
  for (const char *p = word; *p; p++)
    if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') return 0;
  snprintf(mod, sizeof mod, "etwlua.cli.%s", word);
  return etwL_find_embedded(mod) != NULL;
}

static int run_subcommand(lua_State *L, int argc, char **argv) {
  createargtable(L, argv, argc, 1);
  lua_getglobal(L, "require");
  lua_pushfstring(L, "etwlua.cli.%s", argv[1]);
  if (report(L, docall(L, 1, 1)) != LUA_OK) return EXIT_FAILURE;
  lua_getfield(L, -1, "run");
  lua_newtable(L);
  for (int i = 2; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  int sig = 0;
  if (report(L, docall_command(L, 1, 1, &sig)) != LUA_OK) return sig ? 128 + sig : EXIT_FAILURE;
  return lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_SUCCESS;
}

/* ---- option parsing, as lua.c ---- */

enum { HAS_ERROR = 1, HAS_I = 2, HAS_V = 4, HAS_E = 8, HAS_BIG_E = 16, HAS_HELP = 32 };

static void print_usage(const char *badopt) {
  if (badopt) {
    if (badopt[1] == 'e' || badopt[1] == 'l')
      fprintf(stderr, "%s: '%s' needs argument\n", progname, badopt);
    else
      fprintf(stderr, "%s: unrecognized option '%s'\n", progname, badopt);
  }
  fprintf(stderr,
    "usage: %s [options] [script [args]]\n"
    "       %s COMMAND [args]   (etwlua help lists the commands)\n"
    "Available options are:\n"
    "  -e stat   execute string 'stat'\n"
    "  -i        enter interactive mode after executing 'script'\n"
    "  -l mod    require library 'mod' into global 'mod'\n"
    "  -l g=mod  require library 'mod' into global 'g'\n"
    "  -v        show version information\n"
    "  -E        ignore environment variables\n"
    "  -W        turn warnings on\n"
    "  -h        show this help\n"
    "  --selftest  check the event backend (Windows: run elevated)\n"
    "  --        stop handling options\n"
    "  -         stop handling options and execute stdin\n",
    progname, progname);
}

/* Returns the flags; *script = index of the script (argc if none). */
static int collectargs(char **argv, int *script) {
  int flags = 0, i;
  for (i = 1; argv[i] != NULL; i++) {
    *script = i;
    if (argv[i][0] != '-') return flags;
    switch (argv[i][1]) {
      case 'h': if (argv[i][2]) return HAS_ERROR; return HAS_HELP;
      case '-':
        if (strcmp(argv[i], "--help") == 0) return HAS_HELP;
        if (argv[i][2] != '\0') return HAS_ERROR;
        *script = i + 1;
        return flags;
      case '\0': return flags;
      case 'E': if (argv[i][2]) return HAS_ERROR; flags |= HAS_BIG_E; break;
      case 'W': if (argv[i][2]) return HAS_ERROR; break;
      case 'i': if (argv[i][2]) return HAS_ERROR; flags |= HAS_I | HAS_V; break;
      case 'v': if (argv[i][2]) return HAS_ERROR; flags |= HAS_V; break;
      case 'e': flags |= HAS_E; /* FALLTHROUGH */
      case 'l':
        if (argv[i][2] == '\0') {
          i++;
          if (argv[i] == NULL || argv[i][0] == '-') return HAS_ERROR;
        }
        break;
      default: return HAS_ERROR;
    }
  }
  *script = i;
  return flags;
}

static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int opt = argv[i][1];
    if (opt == 'W') lua_warning(L, "@on", 0);
    if (opt != 'e' && opt != 'l') continue;
    char *extra = argv[i] + 2;
    if (*extra == '\0') extra = argv[++i];
    int status = opt == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
    if (status != LUA_OK) return 0;
  }
  return 1;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) { name = "=LUA_INIT"; init = getenv(name + 1); }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dochunk(L, luaL_loadfile(L, init + 1));
  return dostring(L, init, name);
}

static void print_version(void) {
  printf("etwlua %s (%s)\n", ETWLUA_VERSION_STRING, LUA_COPYRIGHT);
  fflush(stdout);
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script = argc;
  lua_settop(L, 0); /* the REPL prints whatever is on the stack */
  etwlua_openlibs(L);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (argc > 1 && is_subcommand(argv[1])) {
    lua_pushinteger(L, run_subcommand(L, argc, argv));
    return 1;
  }
  int flags = collectargs(argv, &script);
  if (flags == HAS_ERROR || flags == HAS_HELP) {
    print_usage(flags == HAS_ERROR ? argv[script] : NULL);
    lua_pushinteger(L, flags == HAS_ERROR ? EXIT_FAILURE : EXIT_SUCCESS);
    return 1;
  }
  if (flags & HAS_V) print_version();
  if (flags & HAS_BIG_E) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  createargtable(L, argv, argc, script);
  int ok = 1;
  if (!(flags & HAS_BIG_E)) ok = handle_luainit(L) == LUA_OK;
  if (ok) ok = runargs(L, argv, script);
  if (ok && script < argc) ok = handle_script(L, argv + script) == LUA_OK;
  if (ok && (flags & HAS_I)) doREPL(L);
  else if (ok && script == argc && !(flags & (HAS_E | HAS_V))) {
    /* no script: REPL on a terminal, else run stdin, as lua does */
    if (isatty_stdin()) { print_version(); doREPL(L); }
    else ok = dochunk(L, luaL_loadfile(L, NULL)) == LUA_OK;
  }
  lua_pushinteger(L, ok ? EXIT_SUCCESS : EXIT_FAILURE);
  return 1;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--selftest") == 0) /* backend checklist, no Lua */
    return etwlua_selftest() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", progname);
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : EXIT_FAILURE;
  if (status != LUA_OK) report(L, status);
  lua_close(L);                /* closes what the script left open: sessions stop */
  if (host_signal && code != EXIT_SUCCESS) code = 128 + host_signal;
  return code;
}
