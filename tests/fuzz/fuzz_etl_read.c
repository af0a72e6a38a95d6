/*
** fuzz_etl_read.c: libFuzzer target for the ETL reader: the input is an
** .etl image; every record is delivered and checked against the API's
** promises (pointers inside the record, timestamps ordered, errors naming
** their offset), TraceLogging records are decoded, times are formatted.
** Seed corpus: tests/fuzz/corpus/fuzz_etl_read: std*.etl are the synthetic
** files `ETL_WRITE_CORPUS=<dir> test_etl_corrupt` writes (every record type,
** 32/64-bit, compressed, cut); the hash-named files are inputs libFuzzer
** derived from them, kept by `fuzz_etl_read -merge=1 -max_len=2100`.
** No bytes of the real samples in ../shared are in the corpus.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "tlg_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)

static int inside(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi) {
  return n == 0 || (p && p >= lo && p + n <= hi);
}

static int names_offset(const etl_error *e) {
  char want[40];
  snprintf(want, sizeof want, "offset 0x%llx", (unsigned long long)e->offset);
  return strncmp(e->message, want, strlen(want)) == 0;
}

/* Every pointer of a record lies within its bytes [raw_header, data end). */
static void check_record(const rec_record *r) {
  const uint8_t *lo = r->raw_header, *hi = r->data + r->data_len;
  REQUIRE(lo && r->data >= lo + r->raw_header_len);
  REQUIRE(inside(r->meta, r->meta_len, lo, hi) && inside(r->traits, r->traits_len, lo, hi));
  for (uint32_t i = 0; i < r->ext_count; i++)
    REQUIRE(inside(r->ext[i].data, r->ext[i].size, lo, hi));
  volatile uint8_t sink = 0;
  if (r->data_len) sink ^= r->data[0] ^ r->data[r->data_len - 1];
  (void)sink;
  if (r->flags & REC_TRACELOGGING) {
    tlg_decoder d;
    tlg_item it;
    if (tlg_decode_start(&d, r->meta, r->meta_len, r->data, r->data_len) == TLG_OK)
      while (tlg_decode_next(&d, &it)) {}
  }
  char iso[ETL_ISO_SIZE];
  REQUIRE(etl_filetime_to_iso(r->timestamp, iso) < ETL_ISO_SIZE);
  etl_consumer_flags(r);
  REQUIRE(etl_header_name(r) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  etl_options opt = {.max_buffer_size = 1u << 20, .cache_bytes = 4u << 20,
                     .max_decompressed = 64u << 20};  /* bound work per input */
  if (size & 1) opt.cache_bytes = 256;  /* odd sizes: buffers unloaded and loaded again */
  etl_reader *r;
  etl_error e;
  rec_record rec;
  int st = etl_open_memory(in, size, &opt, &r, &e);
  if (st != ETL_OK) {
    REQUIRE(st == ETL_ERR_DATA && r == NULL && names_offset(&e));
    return 0;
  }
  int64_t last = INT64_MIN;
  uint64_t records = 0;
  while ((st = etl_next(r, &rec, &e)) != ETL_END) {
    if (st == ETL_OK) {
      check_record(&rec);
      records++;
      REQUIRE(rec.raw_timestamp >= last);  /* a merge of sorted runs */
      last = rec.raw_timestamp;
    } else {
      REQUIRE(st == ETL_ERR_DATA && names_offset(&e));
      REQUIRE(e.offset <= size);
    }
  }
  REQUIRE(etl_get_stats(r)->records == records);
  REQUIRE(etl_next(r, &rec, &e) == ETL_END);
  etl_close(r);
  return 0;
}
