/*
** win_sized.c: the Win32 "ask the size, then fill" call pattern (spec
** windows-etw §5.3, §5.5), with a retry when the answer grew between the two
** calls. Pure: the call is a function pointer, tested on Linux with fakes.
*/
#include <stdlib.h>

#include "winp.h"

uint32_t winp_two_call(winp_sized_fn call, void *ctx, int tries, uint8_t **out, uint32_t *len) {
  *out = NULL;
  *len = 0;
  uint32_t size = 0;
  uint32_t rc = call(ctx, NULL, &size);
  for (int round = 0; round < tries; round++) {
    if (rc != WINP_ERR_INSUFFICIENT_BUFFER) return rc == WINP_ERR_SUCCESS ? WINP_ERR_NOT_FOUND : rc;
    if (size == 0) return WINP_ERR_NOT_FOUND;   /* "too small" for nothing: no answer */
    uint8_t *buf = malloc(size);
    if (!buf) return WINP_ERR_NOT_ENOUGH_MEMORY;
    uint32_t got = size;
    rc = call(ctx, buf, &got);
    if (rc == WINP_ERR_SUCCESS) {
      *out = buf;
      *len = got <= size ? got : size;
      return rc;
    }
    free(buf);
    size = got;   /* ERROR_INSUFFICIENT_BUFFER: the size it wants now */
  }
  return rc;
}
