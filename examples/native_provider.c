/*
** native_provider.c: a C program as a TraceLogging provider through the
** etwlua C API. Writes COUNT events "Tick" (4 integers + a string) of
** provider "EtwLua.Native", building each only when a session listens.
**   native_provider [COUNT [DELAY_MS]]     e.g. with `etwlua watch -p EtwLua.Native`
*/
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etwlua.h"

int main(int argc, char **argv) {
  long count = argc > 1 ? atol(argv[1]) : 10;
  long delay_ms = argc > 2 ? atol(argv[2]) : 0;
  etwlua_provider *p;
  int st = etwlua_provider_register("EtwLua.Native", NULL, NULL, &p);
  if (st != ETWLUA_OK) {
    fprintf(stderr, "native_provider: %s\n", etwlua_strerror(st));
    return 1;
  }
  etwlua_event *e = etwlua_event_new();
  etwlua_desc d = ETWLUA_DESC(4 /* info */, 0x1);
  long written = 0;
  for (long i = 0; i < count; i++) {
    if (etwlua_enabled(p, d.level, d.keyword)) {     /* nothing is built when nobody listens */
      etwlua_event_reset(e, "Tick", &d);
      etwlua_add_int32(e, "i", (int32_t)i);
      etwlua_add_int64(e, "square", (int64_t)i * i);
      etwlua_add_uint32(e, "pid_low", (uint32_t)i & 0xFFFF);
      etwlua_add_uint64(e, "big", UINT64_C(1) << 63 | (uint64_t)i);
      etwlua_add_str(e, "msg", "hello-etw", 9);
      if (etwlua_write(p, e, NULL, NULL) == ETWLUA_OK) written++;
    }
    if (delay_ms > 0) {
      struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  printf("native_provider: %ld of %ld events written\n", written, count);
#ifdef __linux__
  FILE *f = fopen("/proc/self/status", "r");   /* resident memory, for bench/bench_consumer.lua */
  char line[128];
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) printf("native_provider: %s", line);
  if (f) fclose(f);
#endif
  etwlua_event_free(e);
  etwlua_provider_unregister(p);
  return 0;
}
