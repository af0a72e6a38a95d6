/*
** win_ctrl.c: Ctrl+C, Ctrl+Break and console close (spec windows-etw §6).
** A fixed registry of the sessions this process started (names and
** preallocated property blocks, so stopping needs no allocation) and of the
** live consumers. The handler runs on a thread the system creates:
**   CTRL_C / CTRL_BREAK  first the host's handler for SIGINT / SIGTERM
**                        marks the interruption (Lua's "interrupted!", the
**                        binding's run / wait), then every consumer is woken
**                        (next() returns "interrupted"). If a consumer wait
**                        was blocked, it must return within 3 s -- else, or
**                        on a second press before it returned, stop every
**                        owned session and exit. Per run: once it returned,
**                        the next press is a first one again.
**   CLOSE                the SIGHUP counterpart: SIGTERM's handler, wake,
**                        up to 4 s for the Lua thread to stop its sessions,
**                        then stop the rest (the process dies on return).
**   LOGOFF / SHUTDOWN    stop every owned session at once.
** The order of the steps is pure/win_ctrl_plan.c's (unit-tested).
** atexit: best-effort stop of sessions still owned.
*/
#ifdef _WIN32

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "win_int.h"

#define MAX_OWNED 64
#define MAX_CONSUMERS 64

static SRWLOCK lock = SRWLOCK_INIT;
static struct owned {
  int used;
  WCHAR name[WINP_SESSION_NAME_MAX + 1];
  uint8_t block[WINP_PROPS_BLOCK];
} owned[MAX_OWNED];
static struct eng_consumer *consumers[MAX_CONSUMERS];

void win_owned_add(const WCHAR *name) {
  AcquireSRWLockExclusive(&lock);
  for (int i = 0; i < MAX_OWNED; i++)
    if (!owned[i].used) {
      owned[i].used = 1;
      wcsncpy(owned[i].name, name, WINP_SESSION_NAME_MAX);
      owned[i].name[WINP_SESSION_NAME_MAX] = 0;
      break;
    }
  ReleaseSRWLockExclusive(&lock);
}

void win_owned_remove(const WCHAR *name) {
  AcquireSRWLockExclusive(&lock);
  for (int i = 0; i < MAX_OWNED; i++)
    if (owned[i].used && _wcsicmp(owned[i].name, name) == 0) owned[i].used = 0;
  ReleaseSRWLockExclusive(&lock);
}

static int owned_count(void) {
  int n = 0;
  AcquireSRWLockShared(&lock);
  for (int i = 0; i < MAX_OWNED; i++) n += owned[i].used;
  ReleaseSRWLockShared(&lock);
  return n;
}

void win_owned_stop_all(void) {
  AcquireSRWLockExclusive(&lock);
  for (int i = 0; i < MAX_OWNED; i++) {
    if (!owned[i].used) continue;
    winp_props_query(owned[i].block);
    ControlTraceW(0, owned[i].name, (PEVENT_TRACE_PROPERTIES)(void *)owned[i].block,
                  EVENT_TRACE_CONTROL_STOP);
    owned[i].used = 0;
  }
  ReleaseSRWLockExclusive(&lock);
}

void win_consumers_add(struct eng_consumer *c) {
  AcquireSRWLockExclusive(&lock);
  for (int i = 0; i < MAX_CONSUMERS; i++)
    if (!consumers[i]) { consumers[i] = c; break; }
  ReleaseSRWLockExclusive(&lock);
}

void win_consumers_remove(struct eng_consumer *c) {
  AcquireSRWLockExclusive(&lock);
  for (int i = 0; i < MAX_CONSUMERS; i++)
    if (consumers[i] == c) consumers[i] = NULL;
  ReleaseSRWLockExclusive(&lock);
}

static void wake_consumers(void) {
  AcquireSRWLockShared(&lock);
  for (int i = 0; i < MAX_CONSUMERS; i++)
    if (consumers[i]) eng_consumer_stop(consumers[i]);
  ReleaseSRWLockShared(&lock);
}

/* ---- blocked consumer waits, and the watchdog of an interrupted one ---- */

static volatile LONG waiting;      /* eng_consumer_next calls blocked right now */
static volatile LONG wait_returns; /* bumped each time one returns */
static volatile LONG watched;      /* a watchdog waits for the interrupted run */

void win_ctrl_wait_begin(void) { InterlockedIncrement(&waiting); }

void win_ctrl_wait_end(void) {
  InterlockedIncrement(&wait_returns);
  InterlockedDecrement(&waiting);
}

#define WATCHDOG_MS 3000

/* The interrupted run must return (its next() give back ENG_E_INTERRUPTED)
** within 3 s; if it is stuck (inside ETW, in a handler), stop what we own
** and exit. Once it returns, the next Ctrl+C is a first press again, so a
** line interrupted at `etwlua -i` leaves the prompt alive. */
static DWORD WINAPI watchdog(LPVOID arg) {
  LONG seen = (LONG)(INT_PTR)arg;
  for (int t = 0; t < WATCHDOG_MS; t += 50) {
    Sleep(50);
    if (wait_returns != seen || waiting == 0) {
      InterlockedExchange(&watched, 0);
      return 0;
    }
  }
  win_owned_stop_all();
  ExitProcess(130);
}

/* `seen`: wait_returns before the consumers were woken, so a wait that
** returns at once still counts as returned */
static void arm_watchdog(LONG seen) {
  if (InterlockedCompareExchange(&watched, 1, 0) != 0) return;
  HANDLE t = CreateThread(NULL, 0, watchdog, (LPVOID)(INT_PTR)seen, 0, NULL);
  if (t) CloseHandle(t);
  else InterlockedExchange(&watched, 0);
}

/* Give the Lua thread (interrupted by the host's handler) time to stop
** its sessions and finish its files before a console close ends us. */
static void wait_owned(void) {
  for (int t = 0; t < 4000 && owned_count() > 0; t += 50) Sleep(50);
}

/* The host's disposition for `sig`, and its handler. signal() is the only
** way to read it: the pair below runs before any consumer is woken, while
** the Lua thread is still blocked (it changes its handlers only around a
** run or wait), and puts back whatever the Lua thread set meanwhile. */
static int host_disposition(int sig, void (**fn)(int)) {
  void (*h)(int) = signal(sig, SIG_IGN);
  void (*back)(int) = signal(sig, h);
  if (back != SIG_IGN && back != SIG_ERR) { signal(sig, back); h = back; }
  *fn = h;
  if (h == SIG_IGN) return WINP_HOST_IGNORE;
  if (h == SIG_DFL || h == SIG_ERR) return WINP_HOST_DEFAULT;
  return WINP_HOST_HANDLER;
}

static BOOL WINAPI handler(DWORD type) {
  int sig = winp_ctrl_signal(type);
  LONG seen = wait_returns;
  void (*fn)(int) = NULL;
  int host = sig ? host_disposition(sig, &fn) : WINP_HOST_DEFAULT;
  winp_ctrl_plan plan;
  winp_ctrl_decide(type, host, waiting > 0, watched != 0, &plan);
  for (int i = 0; plan.steps[i] != WINP_STEP_END; i++) {
    switch (plan.steps[i]) {
      case WINP_STEP_CALL_HOST: if (fn) fn(sig); break;   /* marks the interruption */
      case WINP_STEP_WAKE: wake_consumers(); break;
      case WINP_STEP_ARM_WATCHDOG: arm_watchdog(seen); break;
      case WINP_STEP_WAIT_OWNED: wait_owned(); break;
      case WINP_STEP_STOP_OWNED: win_owned_stop_all(); break;
      case WINP_STEP_EXIT: ExitProcess(130);
      default: break;
    }
  }
  return plan.handled ? TRUE : FALSE;
}

static void at_exit(void) { win_owned_stop_all(); }

void win_ctrl_install(void) {
  static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
  BOOL pending = FALSE;
  if (!InitOnceBeginInitialize(&once, 0, &pending, NULL)) return;
  if (!pending) return;
  SetConsoleCtrlHandler(handler, TRUE);
  atexit(at_exit);
  InitOnceComplete(&once, 0, NULL);
}

#endif
