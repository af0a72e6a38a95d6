/*
** sch_tdh_plan.c: the plan of a flat schema (sch_tdh.h): most manifest
** events are a row of scalars, maybe with an array whose count is an
** earlier field (a stack, a list of offsets). Walking them property by
** property with a callback per item costs more than the values; the plan
** reads the schema once and then only the payload. It locates exactly
** what sch_tdh_walk.c would visit: the same sizing (sch_tdh_size), the
** same counts; anything it does not cover makes the schema unplanned, and
** any event it cannot locate goes back to the walker.
*/
#include <string.h>

#include "sch_tdh.h"
#include "tlg_le.h"

/* Bytes of one item of an InType whose size the data cannot change (the
** walker's sizes; vo 0, vl = size), SCH_PLAN_PTR, or 0. */
static uint8_t fixed_size(uint16_t t) {
  switch (t) {
    case SCH_IN_INT8: case SCH_IN_UINT8: case SCH_IN_ANSICHAR: return 1;
    case SCH_IN_INT16: case SCH_IN_UINT16: case SCH_IN_UNICODECHAR: return 2;
    case SCH_IN_INT32: case SCH_IN_UINT32: case SCH_IN_HEXINT32: case SCH_IN_FLOAT:
    case SCH_IN_BOOLEAN: return 4;
    case SCH_IN_INT64: case SCH_IN_UINT64: case SCH_IN_HEXINT64: case SCH_IN_DOUBLE:
    case SCH_IN_FILETIME: return 8;
    case SCH_IN_GUID: case SCH_IN_SYSTEMTIME: return 16;
    case SCH_IN_POINTER: case SCH_IN_SIZET: return SCH_PLAN_PTR;
    default: return 0;
  }
}

/* Whether step `ref` may give step i its count or length: an earlier
** scalar integer (the walker takes the last value decoded for it; for a
** later or non-integer one that is 0, which the plan does not model). */
static int param_ok(const sch_plan_step *out, size_t i, uint16_t ref) {
  return ref < i && !out[ref].is_array && out[ref].size != 0 && sch_tdh_is_int(out[ref].intype);
}

static int compile_step(const uint8_t *p, sch_plan_step *out, size_t i) {
  sch_plan_step *s = &out[i];
  memset(s, 0, sizeof *s);
  s->flags = tlg_le32(p);
  s->intype = tlg_le16(p + 8);
  s->outtype = tlg_le16(p + 10);
  s->count = tlg_le16(p + 16);
  s->length = tlg_le16(p + 18);
  if (s->flags & SCH_PF_STRUCT) return 0;
  s->size = fixed_size(s->intype);
  s->tlg_in = sch_tdh_tlg_in(s->intype);
  s->tlg_out = sch_tdh_tlg_out(s->outtype);
  if (s->flags & SCH_PF_PARAM_COUNT) {
    if (!param_ok(out, i, s->count)) return 0;
    out[s->count].is_param = 1;
  }
  if (s->flags & SCH_PF_PARAM_LENGTH) {
    if (!param_ok(out, i, s->length)) return 0;
    out[s->length].is_param = 1;
  }
  s->is_array = (s->flags & (SCH_PF_PARAM_COUNT | SCH_PF_PARAM_FIXED_COUNT)) || s->count != 1;
  return !s->is_array || s->size != 0;       /* arrays of fixed-size items only */
}

size_t sch_plan_compile(const uint8_t *tei, size_t tei_len, sch_plan_step *out) {
  if (!tei || tei_len < SCH_TEI_OFF_PROPS) return 0;
  uint32_t nprops = tlg_le32(tei + SCH_TEI_OFF_PROPERTY_COUNT);
  uint32_t top = tlg_le32(tei + SCH_TEI_OFF_TOP_COUNT);
  if (top == 0 || top > SCH_PLAN_MAX || top > nprops || nprops > 65535 ||
      (size_t)SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * nprops > tei_len)
    return 0;
  for (size_t i = 0; i < top; i++)
    if (!compile_step(tei + SCH_TEI_OFF_PROPS + (size_t)SCH_EPI_SIZE * i, out, i)) return 0;
  return top;
}

static uint32_t capped(uint64_t v) {
  return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
}

/* The walker's step limit (MAX_STEPS + 4 per byte) is never reached here:
** at most SCH_PLAN_MAX scalars, and array items are at least a byte each
** and all inside the payload. */
int sch_plan_locate(const sch_plan_step *s, size_t n, const uint8_t *data, size_t data_len,
                    unsigned ptr_size, sch_plan_span *out) {
  static const uint8_t none[1];
  uint64_t ints[SCH_PLAN_MAX];
  size_t pos = 0;
  if (!data) data = none, data_len = 0;
  if (n > SCH_PLAN_MAX || (ptr_size != 4 && ptr_size != 8)) return 0;
  for (size_t i = 0; i < n; i++) {
    const sch_plan_step *st = &s[i];
    size_t r = data_len - pos, size = st->size == SCH_PLAN_PTR ? ptr_size : st->size;
    uint32_t count = st->flags & SCH_PF_PARAM_COUNT ? capped(ints[st->count]) : st->count;
    if (st->is_array) {
      if (count > r / size) return 0;         /* the walker: some items, then the rest raw */
      out[i] = (sch_plan_span){(uint32_t)pos, (uint32_t)size, count};
      pos += (size_t)count * size;
    } else if (size) {
      if (size > r) return 0;
      out[i] = (sch_plan_span){(uint32_t)pos, (uint32_t)size, 1};
      if (st->is_param) ints[i] = tlg_get_le(data + pos, (unsigned)size);
      pos += size;
    } else {
      uint32_t length = st->flags & SCH_PF_PARAM_LENGTH ? capped(ints[st->length]) : st->length;
      size_t total, vo, vl;
      if (sch_tdh_size(data + pos, r, st->intype, st->outtype, st->flags, length, ptr_size, &total,
                       &vo, &vl) < 0)
        return 0;
      out[i] = (sch_plan_span){(uint32_t)(pos + vo), (uint32_t)vl, 1};
      pos += total;
    }
  }
  return 1;
}
