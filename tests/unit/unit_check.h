/*
** unit_check.h: the counters and check() of the C unit tests, and the
** closing "N passed, N failed, N skipped" line ctest and CI read.
** Header-only: each test program includes it once.
*/
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int passed, failed, skipped;

/* Count one check; print the formatted message when it failed. */
static void check(int ok, const char *fmt, ...) {
  va_list ap;
  if (ok) { passed++; return; }
  failed++;
  printf("FAIL ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout); /* keep FAIL lines in order with a crash report */
}

/* Print the closing line; the exit status: 1 if a check failed, 77
** (ctest's SKIP_RETURN_CODE) if nothing ran because everything was skipped. */
static int unit_finish(void) {
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (failed) return 1;
  return passed == 0 && skipped ? 77 : 0;
}

#endif
