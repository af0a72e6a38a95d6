/*
** lsignal.h: the one way etwlua reacts to SIGINT, SIGTERM and SIGHUP
** (Windows: SIGINT, SIGTERM, SIGBREAK). Prefix etwL_signal_.
**
** Blocking calls (c:run, c:events while it waits, s:wait, p:wait) open a
** scope: for its duration the three signals only record which one arrived
** and wake the engine wait (the scope's wake function, async-signal-safe).
** The call then returns "interrupted" and takes the signal (reports it).
** Scopes nest (a handler inside c:run may call s:wait); the outermost one
** installs the handlers and restores the dispositions it found, on every
** exit path (callers pair enter/leave around code that cannot raise, or
** leave before re-raising). When the
** outermost scope ends with a signal nobody took, it is raised again
** under the restored disposition (the host's "interrupted!", or death), so
** a signal is never swallowed. A second signal while the first is still
** untaken gets the default action (POSIX): Ctrl+C twice always ends a
** stuck program.
*/
#ifndef LSIGNAL_H
#define LSIGNAL_H

#define ETWL_NSIGNALS 3

typedef void (*etwL_wake_fn)(void *ctx);

typedef struct etwL_sigscope {
  struct etwL_sigscope *prev;
  etwL_wake_fn wake;           /* NULL: nothing to wake */
  void *ctx;
} etwL_sigscope;

/* Open / close a scope (sc lives until leave, usually on the C stack). */
void etwL_signal_enter(etwL_sigscope *sc, etwL_wake_fn wake, void *ctx);
void etwL_signal_leave(etwL_sigscope *sc);

/* The signal that arrived and was not taken yet (0: none). */
int etwL_signal_pending(void);
/* Same, and mark it taken (reported to the script). */
int etwL_signal_take(void);

/* "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", or "signal N". */
const char *etwL_signal_name(int sig);
/* The number for one of the names above, "SIGKILL", or 0. */
int etwL_signal_number(const char *name);

/* The host (main.c): install `handler` for the three signals, or put the
** default disposition back (handler NULL). */
void etwL_signal_host(void (*handler)(int));

#endif
