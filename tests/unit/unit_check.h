/*
** unit_check.h: the one check harness of the C unit tests (tests/unit/
** test_*.c): the counters, check(), skip(), and the closing
** "N passed, N failed, N skipped" line that ctest and scripts/test read.
** Header-only: each test program includes it once.
**
** The rule (README, "Tests"): a skipped case is never a pass. unit_finish()
** exits 1 when a check failed, else 77 (ctest's SKIP_RETURN_CODE) when any
** case was skipped, so ctest lists the program as Skipped, not Passed;
** scripts/test still adds its passed checks from the closing line.
*/
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Messages use C99 formats (%zu, %lld) on every target: mingw's own
** printf family has them, the Windows C runtime's may not. */
#ifdef __MINGW32__
#define UNIT_FORMAT(f, a) __attribute__((format(gnu_printf, f, a)))
#define unit_vprintf __mingw_vprintf
#else
#define UNIT_FORMAT(f, a) __attribute__((format(printf, f, a)))
#define unit_vprintf vprintf
#endif

static int passed, failed, skipped;

/* Count one check; print "FAIL [file:line: ]message" when it failed, and
** "ok ..." too when TEST_VERBOSE is set. */
static inline void check_v(int ok, const char *file, int line, const char *fmt, va_list ap) {
  if (ok) passed++;
  else failed++;
  if (ok && !getenv("TEST_VERBOSE")) return;
  printf("%s ", ok ? "ok" : "FAIL");
  if (file) printf("%s:%d: ", file, line);
  unit_vprintf(fmt, ap);
  printf("\n");
  fflush(stdout); /* keep FAIL lines in order with a crash report */
}

static inline void check(int ok, const char *fmt, ...) UNIT_FORMAT(2, 3);
static inline void check(int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  check_v(ok, NULL, 0, fmt, ap);
  va_end(ap);
}

/* check() that names the source line (the CHECK macros of the tests). */
static inline void check_at(int ok, const char *file, int line, const char *fmt, ...)
    UNIT_FORMAT(4, 5);
static inline void check_at(int ok, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  check_v(ok, file, line, fmt, ap);
  va_end(ap);
}

/* A case that could not run here (data or privilege missing): printed as
** "SKIP why", counted as skipped, never as passed or failed. */
static inline void skip(const char *fmt, ...) UNIT_FORMAT(1, 2);
static inline void skip(const char *fmt, ...) {
  va_list ap;
  skipped++;
  printf("SKIP ");
  va_start(ap, fmt);
  unit_vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

/* The ../shared folder ($ETWLUA_SHARED holding DESIGN.md), or NULL when it
** is absent: the one missing thing a case may skip for. Once the folder is
** there, a sample that does not open is a failure, not a skip. */
static inline const char *unit_shared_dir(void) {
  static char probe[1024];
  const char *dir = getenv("ETWLUA_SHARED");
  if (!dir || !*dir) return NULL;
  snprintf(probe, sizeof probe, "%s/DESIGN.md", dir);
  FILE *f = fopen(probe, "rb");
  if (!f) return NULL;
  fclose(f);
  return dir;
}

/* Print the closing line; the exit status (see the rule above). A program
** that ran no case at all fails: it tested nothing. */
static inline int unit_finish(void) {
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (failed || passed + skipped == 0) return 1;
  return skipped ? 77 : 0;
}

#endif
