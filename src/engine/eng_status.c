/*
** eng_status.c: messages for eng_status codes, shared by every backend.
** Each names what went wrong so bindings can put it straight into an error.
*/
#include <stdarg.h>
#include <stdio.h>

#include "engine.h"
#include "eng_detail.h"

static const char *const messages[ENG_STATUS_COUNT] = {
  [ENG_OK] = "ok",
  [ENG_E_ARG] = "invalid argument",
  [ENG_E_NOMEM] = "out of memory",
  [ENG_E_NOTFOUND] = "no such session",
  [ENG_E_EXISTS] = "a running session already has this name",
  [ENG_E_ACCESS] = "permission denied (session or runtime directory of another user)",
  [ENG_E_FULL] = "table full (64 sessions, provider table, or 8 sessions per provider)",
  [ENG_E_BUSY] = "the session already has a consumer (a file-mode session is consumed by its file writer)",
  [ENG_E_UNSUPPORTED] = "not supported by this backend",
  [ENG_E_TIMEOUT] = "timed out",
  [ENG_E_STOPPED] = "the session was stopped",
  [ENG_E_INTERRUPTED] = "interrupted",
  [ENG_E_LOST] = "event lost: session buffer full",
  [ENG_E_TOOBIG] = "event too large for the session buffers",
  [ENG_E_VERSION] = "shared memory of an incompatible etwlua version",
  [ENG_E_CORRUPT] = "shared memory is corrupt",
  [ENG_E_IO] = "system call failed",
};

const char *eng_strerror(int status) {
  if (status < 0 || status >= ENG_STATUS_COUNT || !messages[status]) return "unknown error";
  return messages[status];
}

/* The calling thread's last detailed failure (status 0 = none). */
static _Thread_local int t_detail_status;
static _Thread_local char t_detail[1024];

void eng_detail_set(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t_detail, sizeof t_detail, fmt, ap);
  va_end(ap);
  t_detail_status = status;
}

void eng_detail_clear(void) { t_detail_status = 0; }

const char *eng_detail(int status) {
  return status != ENG_OK && status == t_detail_status ? t_detail : eng_strerror(status);
}
