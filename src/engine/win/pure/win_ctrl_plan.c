/*
** win_ctrl_plan.c: what the console control handler does, in which order
** (spec windows-etw §6; engine/win/win_ctrl.c runs the plan). Pure, so the
** order -- mark the interruption, then wake -- and the per-run watchdog
** rules are unit-tested on Linux.
*/
#include <string.h>

#include "winp.h"

/* wincon.h values */
enum { CTRL_C = 0, CTRL_BREAK = 1, CTRL_CLOSE = 2, CTRL_LOGOFF = 5, CTRL_SHUTDOWN = 6 };

int winp_ctrl_signal(uint32_t type) {
  switch (type) {
    case CTRL_C: return 2;                       /* SIGINT */
    case CTRL_BREAK: case CTRL_CLOSE: return 15; /* SIGTERM (the SIGHUP counterpart too) */
    default: return 0;
  }
}

void winp_ctrl_decide(uint32_t type, int host, int waiting, int watched, winp_ctrl_plan *p) {
  int n = 0;
  memset(p, 0, sizeof *p);
  p->sig = winp_ctrl_signal(type);
  if (type == CTRL_C || type == CTRL_BREAK) {
    if (watched) {
      /* second press while the interrupted run has not returned: now */
      p->steps[n++] = WINP_STEP_STOP_OWNED;
      p->steps[n++] = WINP_STEP_EXIT;
      p->handled = 1;
    } else if (host == WINP_HOST_HANDLER) {
      p->steps[n++] = WINP_STEP_CALL_HOST;
      p->steps[n++] = WINP_STEP_WAKE;
      if (waiting) p->steps[n++] = WINP_STEP_ARM_WATCHDOG;
      p->handled = 1;
    } else if (host == WINP_HOST_IGNORE) {
      p->handled = 1;                            /* the host ignores it: so do we */
    } else {
      /* nobody interrupts Lua: the default handler ends the process */
      p->steps[n++] = WINP_STEP_WAKE;
      p->steps[n++] = WINP_STEP_STOP_OWNED;
      p->handled = 0;
    }
  } else if (type == CTRL_CLOSE) {
    /* the process ends when the handler returns (about 5 s at most):
    ** interrupt as for SIGTERM, let the Lua thread finish its files and
    ** sessions, stop whatever it did not */
    if (host == WINP_HOST_HANDLER) p->steps[n++] = WINP_STEP_CALL_HOST;
    p->steps[n++] = WINP_STEP_WAKE;
    if (host == WINP_HOST_HANDLER) p->steps[n++] = WINP_STEP_WAIT_OWNED;
    p->steps[n++] = WINP_STEP_STOP_OWNED;
    p->handled = 0;
  } else if (type == CTRL_LOGOFF || type == CTRL_SHUTDOWN) {
    p->steps[n++] = WINP_STEP_WAKE;
    p->steps[n++] = WINP_STEP_STOP_OWNED;
    p->handled = 0;
  }
  p->steps[n] = WINP_STEP_END;
}
