/*
** lsignal.c: SIGINT, SIGTERM and SIGHUP for blocking calls and the host
** (see lsignal.h for the rules).
*/
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L     /* sigaction */
#endif
#include <errno.h>
#include <signal.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "lsignal.h"

#ifdef _WIN32
static const int sigs[ETWL_NSIGNALS] = {SIGINT, SIGTERM, SIGBREAK};
static void (*saved[ETWL_NSIGNALS])(int);
#else
static const int sigs[ETWL_NSIGNALS] = {SIGINT, SIGTERM, SIGHUP};
static struct sigaction saved[ETWL_NSIGNALS];
#endif

/* Written by the handler, read and cleared by the thread running Lua. */
static volatile sig_atomic_t pending;
/* Innermost open scope; the handler walks the chain to wake every wait. */
static etwL_sigscope *volatile top;

/* POSIX: the handler interrupts the Lua thread itself, so the chain cannot
** change under it. Windows: the CRT handler runs on a thread the console
** creates, so the chain is locked (the handler may block, it is a thread). */
#ifdef _WIN32
static SRWLOCK chain_lock = SRWLOCK_INIT;
#define CHAIN_WRITE() AcquireSRWLockExclusive(&chain_lock)
#define CHAIN_WRITE_END() ReleaseSRWLockExclusive(&chain_lock)
#define CHAIN_READ() AcquireSRWLockShared(&chain_lock)
#define CHAIN_READ_END() ReleaseSRWLockShared(&chain_lock)
#else
#define CHAIN_WRITE() ((void)0)
#define CHAIN_WRITE_END() ((void)0)
#define CHAIN_READ() ((void)0)
#define CHAIN_READ_END() ((void)0)
#endif

static void set_disposition(int sig, void (*handler)(int), int save, int i) {
#ifdef _WIN32
  void (*old)(int) = signal(sig, handler);
  if (save) saved[i] = old == SIG_ERR ? SIG_DFL : old;
#else
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  for (int k = 0; k < ETWL_NSIGNALS; k++) sigaddset(&sa.sa_mask, sigs[k]);
  /* SA_RESTART: output a handler writes meanwhile is not cut short; the
  ** waits themselves are woken by the scope's wake function or sleep in
  ** short slices (nanosleep is never restarted). */
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, save ? &saved[i] : NULL);
#endif
}

static void on_signal(int sig) {
  int e = errno;
#ifdef _WIN32
  signal(sig, on_signal);          /* the CRT resets it before calling us */
#else
  if (pending) {                   /* the first one is still untaken: give up */
    signal(sig, SIG_DFL);
    raise(sig);                    /* delivered when this handler returns */
    errno = e;
    return;
  }
#endif
  pending = sig;
  CHAIN_READ();
  for (etwL_sigscope *s = top; s; s = s->prev)
    if (s->wake) s->wake(s->ctx);
  CHAIN_READ_END();
  errno = e;
}

void etwL_signal_enter(etwL_sigscope *sc, etwL_wake_fn wake, void *ctx) {
  sc->wake = wake;
  sc->ctx = ctx;
  CHAIN_WRITE();
  sc->prev = top;
  top = sc;                        /* published before a signal can call wake */
  CHAIN_WRITE_END();
  if (sc->prev) return;            /* an outer scope installed the handlers */
  for (int i = 0; i < ETWL_NSIGNALS; i++) set_disposition(sigs[i], on_signal, 1, i);
}

void etwL_signal_leave(etwL_sigscope *sc) {
  CHAIN_WRITE();
  top = sc->prev;                  /* after this, no handler touches sc or its ctx */
  CHAIN_WRITE_END();
  if (sc->prev) return;
  for (int i = 0; i < ETWL_NSIGNALS; i++) {
#ifdef _WIN32
    signal(sigs[i], saved[i]);
#else
    sigaction(sigs[i], &saved[i], NULL);
#endif
  }
  int sig = pending;
  if (sig) {                       /* nobody took it: the previous disposition does */
    pending = 0;
    raise(sig);
  }
}

int etwL_signal_pending(void) { return pending; }

int etwL_signal_take(void) {
  int sig = pending;
  pending = 0;
  return sig;
}

const char *etwL_signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
#ifdef SIGHUP
  if (sig == SIGHUP) return "SIGHUP";
#endif
#ifdef SIGBREAK
  if (sig == SIGBREAK) return "SIGBREAK";
#endif
#ifdef SIGKILL
  if (sig == SIGKILL) return "SIGKILL";
#endif
  return "signal";
}

int etwL_signal_number(const char *name) {
  static const int known[] = {
    SIGINT, SIGTERM,
#ifdef SIGHUP
    SIGHUP,
#endif
#ifdef SIGBREAK
    SIGBREAK,
#endif
#ifdef SIGKILL
    SIGKILL,
#endif
  };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(name, etwL_signal_name(known[i])) == 0) return known[i];
  return 0;
}

void etwL_signal_host(void (*handler)(int)) {
  for (int i = 0; i < ETWL_NSIGNALS; i++) set_disposition(sigs[i], handler ? handler : SIG_DFL, 0, i);
}
