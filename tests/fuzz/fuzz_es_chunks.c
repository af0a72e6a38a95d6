/*
** fuzz_es_chunks.c: libFuzzer target for the EventSource manifest chunk
** reassembly (src/schema/sch_es.c). Input: a sequence of records, each
** 1 byte provider (low 2 bits: one of 4 GUIDs), 2 bytes length (LE), then
** that many payload bytes (cut short at the end of the input). Every
** result is checked for consistency: a complete manifest is never larger
** than the bytes fed so far, and errors always say why.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sch_es.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  sch_es *s = sch_es_new();
  if (!s) return 0;
  size_t fed = 0;
  for (size_t i = 0; i + 3 <= size;) {
    uint8_t g[16] = {0};
    g[0] = (uint8_t)(in[i] & 3);
    size_t n = (size_t)in[i + 1] | (size_t)in[i + 2] << 8;
    i += 3;
    if (n > size - i) n = size - i;
    const uint8_t *xml = NULL;
    size_t len = 7;
    char err[300];
    int rc = sch_es_add(s, g, in + i, n, &xml, &len, err, sizeof err);
    fed += n;
    if (rc == SCH_ES_DONE) {
      REQUIRE(xml != NULL && len <= fed);
      volatile uint8_t sum = 0;
      for (size_t k = 0; k < len; k++) sum ^= xml[k];   /* readable, all of it */
      (void)sum;
    } else {
      REQUIRE(xml == NULL && len == 0);
    }
    if (rc < 0) REQUIRE(err[0] != 0 && strlen(err) < sizeof err);
    REQUIRE(rc >= SCH_ES_ERROR_AGAIN && rc <= SCH_ES_SAME);
    i += n;
  }
  sch_es_free(s);
  return 0;
}
