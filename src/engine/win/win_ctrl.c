/*
** win_ctrl.c: Ctrl+C, Ctrl+Break and console close (spec windows-etw §6).
** A fixed registry of the sessions this process started (names and
** preallocated property blocks, so stopping needs no allocation) and of the
** live consumers. The handler runs on a thread the system creates:
**   CTRL_C / CTRL_BREAK  wake every consumer (next() returns "interrupted"),
**                        then hand the event on (SIGINT handler of the host:
**                        Lua's "interrupted!"); if owned sessions are still
**                        running 3 s later, or on a second press, stop them
**                        all and exit.
**   CLOSE / LOGOFF / SHUTDOWN  stop every owned session at once (the process
**                        dies when the handler returns).
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
static volatile LONG presses;

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

static DWORD WINAPI watchdog(LPVOID arg) {
  (void)arg;
  for (int i = 0; i < 30; i++) {
    Sleep(100);
    if (owned_count() == 0) return 0;   /* the Lua close code stopped them */
  }
  win_owned_stop_all();
  ExitProcess(130);
}

static BOOL WINAPI handler(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT: {
      LONG n = InterlockedIncrement(&presses);
      wake_consumers();
      if (n > 1) {                       /* second press: stop everything now */
        win_owned_stop_all();
        ExitProcess(130);
      }
      if (owned_count() > 0) {
        HANDLE t = CreateThread(NULL, 0, watchdog, NULL, 0, NULL);
        if (t) CloseHandle(t);
      }
      /* hand it on: the host's SIGINT handler interrupts Lua */
      void (*h)(int) = signal(SIGINT, SIG_IGN);
      signal(SIGINT, h);
      if (h != SIG_DFL && h != SIG_IGN && h != SIG_ERR) {
        h(SIGINT);
        return TRUE;
      }
      if (h == SIG_IGN) return TRUE;
      /* nobody interrupts Lua: stop what we own and let the default handler exit */
      win_owned_stop_all();
      return FALSE;
    }
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      wake_consumers();
      win_owned_stop_all();
      return FALSE;
    default:
      return FALSE;
  }
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
