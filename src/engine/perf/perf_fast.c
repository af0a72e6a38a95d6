/*
** perf_fast.c: the raw-tracepoint payload without the TraceLogging
** builder. A format whose fields are all fixed integers and integer arrays
** decodes to the same metadata for every sample, and to data that is the
** sample's own bytes (arrays prefixed by their count): so the metadata is
** built once, and each sample's data is a few copies. The plan is checked
** against the builder's output for the first sample and used only if it
** gives the same bytes (else that tracepoint keeps the builder).
*/
#include <stdlib.h>
#include <string.h>

#include "perf_int.h"

/* The copy plan of format f, or -1 when some field is not fixed. */
static int plan(perf_fast *fp, const tpf_format *f) {
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  (void)fp; (void)f;
  return -1;                          /* TraceLogging data is little-endian */
#else
  fp->nops = 0;
  fp->min_len = 0;
  fp->data_len = 0;
  for (unsigned i = 0; i < f->nfields; i++) {
    const tpf_field *fl = &f->fields[i];
    if (fl->common) continue;
    int arr = fl->kind == TPF_ARRAY;
    if (fl->kind != TPF_INT && !(arr && fl->elem && fl->size % fl->elem == 0)) return -1;
    perf_fast_op *op = &fp->ops[fp->nops++];
    op->off = fl->offset;
    op->size = fl->size;
    op->count = arr ? (uint16_t)(fl->size / fl->elem) : 0;
    op->counted = (uint8_t)arr;
    if ((size_t)fl->offset + fl->size > fp->min_len) fp->min_len = (size_t)fl->offset + fl->size;
    fp->data_len += (arr ? 2u : 0u) + fl->size;
  }
  return 0;
#endif
}

size_t perf_fast_data(const perf_fast *fp, const uint8_t *raw, size_t len, uint8_t *out) {
  if (len < fp->min_len) return 0;
  uint8_t *p = out;
  for (unsigned i = 0; i < fp->nops; i++) {
    const perf_fast_op *op = &fp->ops[i];
    if (op->counted) {
      p[0] = (uint8_t)(op->count & 0xff);
      p[1] = (uint8_t)(op->count >> 8);
      p += 2;
    }
    memcpy(p, raw + op->off, op->size);
    p += op->size;
  }
  return (size_t)(p - out);
}

void perf_fast_learn(perf_fast *fp, const tpf_format *f, const uint8_t *raw, size_t len,
                     const uint8_t *meta, size_t meta_len, const uint8_t *data, size_t data_len) {
  fp->state = -1;
  if (plan(fp, f) != 0 || fp->data_len != data_len || data_len > PERF_FAST_MAX) return;
  uint8_t buf[PERF_FAST_MAX];
  if (perf_fast_data(fp, raw, len, buf) != data_len || memcmp(buf, data, data_len) != 0) return;
  if (!(fp->meta = malloc(meta_len ? meta_len : 1))) return;
  memcpy(fp->meta, meta, meta_len);
  fp->meta_len = meta_len;
  fp->state = 1;
}

void perf_fast_free(perf_fast *fp) {
  free(fp->meta);
  memset(fp, 0, sizeof *fp);
}
