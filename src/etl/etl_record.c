/*
** etl_record.c: one ETL record: framing (size + timestamp, spec §3) and
** full decoding into an rec_record (spec §3.1-3.4, §4). Works on a byte
** span whose bounds the caller guarantees; checks everything inside it.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"
#include "tlg_guid.h"

const etl_hdr_shape etl_hdr_shapes[ETL_HT_INSTANCE64 + 1] = {
  [ETL_HT_SYSTEM32] = {REC_HDR_SYSTEM, 4, ETL_SYSTEM_HDR_SIZE, 0x10, 4},
  [ETL_HT_SYSTEM64] = {REC_HDR_SYSTEM, 8, ETL_SYSTEM_HDR_SIZE, 0x10, 4},
  [ETL_HT_COMPACT32] = {REC_HDR_COMPACT, 4, ETL_COMPACT_HDR_SIZE, 0x10, 4},
  [ETL_HT_COMPACT64] = {REC_HDR_COMPACT, 8, ETL_COMPACT_HDR_SIZE, 0x10, 4},
  [ETL_HT_PERFINFO32] = {REC_HDR_PERFINFO, 4, ETL_PERFINFO_HDR_SIZE, 0x08, 4},
  [ETL_HT_PERFINFO64] = {REC_HDR_PERFINFO, 8, ETL_PERFINFO_HDR_SIZE, 0x08, 4},
  [ETL_HT_EVENT32] = {REC_HDR_EVENT, 4, ETL_EVENT_HDR_SIZE, 0x10, 0},
  [ETL_HT_EVENT64] = {REC_HDR_EVENT, 8, ETL_EVENT_HDR_SIZE, 0x10, 0},
  [ETL_HT_FULL32] = {REC_HDR_CLASSIC, 4, ETL_FULL_HDR_SIZE, 0x10, 0},
  [ETL_HT_FULL64] = {REC_HDR_CLASSIC, 8, ETL_FULL_HDR_SIZE, 0x10, 0},
  [ETL_HT_INSTANCE32] = {REC_HDR_INSTANCE, 4, ETL_INSTANCE_HDR_SIZE, 0x10, 0},
  [ETL_HT_INSTANCE64] = {REC_HDR_INSTANCE, 8, ETL_INSTANCE_HDR_SIZE, 0x10, 0},
};

/* Shape of typed header `type`; fills *s and returns 1, or 0 if unknown. */
static int shape_of(unsigned type, etl_hdr_shape *s) {
  const etl_hdr_shape *t = etl_typed_shape(type);
  if (!t) return 0;
  *s = *t;
  return 1;
}

/* Bytes of a WPP header including its optional parts; *ts_at = offset of
** the timestamp or 0 when absent. */
static uint32_t message_header_size(uint16_t opt, uint32_t *ts_at) {
  uint32_t n = ETL_MESSAGE_HDR_SIZE;
  if (opt & ETL_MSG_SEQUENCE) n += 4;
  if (opt & ETL_MSG_GUID) n += 16;
  else if (opt & ETL_MSG_COMPONENTID) n += 4;
  *ts_at = (opt & ETL_MSG_TIMESTAMP) ? n : 0;
  if (opt & ETL_MSG_TIMESTAMP) n += 8;
  if (opt & ETL_MSG_SYSTEMINFO) n += 8;
  return n;
}

/* WPP: top nibble 0x9 (TRACE_HEADER_FLAG | TRACE_MESSAGE); 0xB0 is the
** obsolete ULONG32_TIME form, not a message. */
static int is_message(uint32_t marker) {
  return (marker >> 28) == ((ETL_HDR_FLAG_TRACE | ETL_HDR_FLAG_MESSAGE) >> 28);
}

static int is_typed(uint32_t marker) {
  return (marker & (ETL_HDR_FLAG_TRACE | ETL_HDR_FLAG_TYPED)) ==
         (ETL_HDR_FLAG_TRACE | ETL_HDR_FLAG_TYPED);
}

/* Header size (incl. inline items) and timestamp offset of a framed record;
** 0 when the marker is not one we decode. `p` has >= 8 bytes. */
static uint32_t header_size(const uint8_t *p, uint32_t marker, uint32_t *ts_at,
                            uint32_t *size) {
  etl_hdr_shape s;
  if (is_message(marker)) {
    *size = marker & 0xFFFF;
    return message_header_size(tlg_le16(p + 6), ts_at);
  }
  if (!is_typed(marker) || !shape_of(marker >> 16 & 0xFF, &s)) return 0;
  *ts_at = s.ts_at;
  if (s.size_at == 0) { *size = marker & 0xFFFF; return s.fixed; }
  *size = tlg_le16(p + 4);
  return s.fixed + etl_kernel_inline_bytes(tlg_le16(p));
}

int etl_record_frame(const uint8_t *p, uint32_t avail, int64_t prev_ts,
                     uint32_t *size, int64_t *ts, char *why, size_t why_len) {
  if (avail < 4) return ETL_FRAME_END;
  uint32_t marker = tlg_le32(p), ts_at = 0, hs;
  if (marker == ETL_MARKER_END) return ETL_FRAME_END;
  if (avail < 8) return ETL_FRAME_END;  /* spec §9.4: fewer than 8 bytes left */
  if (is_typed(marker) && (marker >> 16 & 0xFF) == ETL_HT_ERROR) {
    *size = marker & 0xFFFF;
    if (*size < 8 || *size > avail) {
      snprintf(why, why_len, "error-record size %u outside 8..%u", *size, avail);
      return ETL_FRAME_BAD;
    }
    *ts = prev_ts;
    return ETL_FRAME_SKIP;
  }
  hs = header_size(p, marker, &ts_at, size);
  if (hs == 0) {
    snprintf(why, why_len, "unknown record header (marker 0x%08x)", marker);
    return ETL_FRAME_BAD;
  }
  if (*size < hs || *size > avail) {
    snprintf(why, why_len, "record size %u outside %u..%u (marker 0x%08x)", *size, hs,
             avail, marker);
    return ETL_FRAME_BAD;
  }
  *ts = ts_at ? tlg_le_i64(p + ts_at) : prev_ts;
  return ETL_FRAME_OK;
}

/* Make room for n ext items in r->ext. Returns 0 or -1. */
static int ext_reserve(etl_reader *r, uint32_t n) {
  if (n <= r->ext_cap) return 0;
  uint32_t cap = r->ext_cap ? r->ext_cap : 8;
  while (cap < n) cap *= 2;
  rec_ext_item *e = realloc(r->ext, cap * sizeof *e);
  if (!e) return -1;
  r->ext = e;
  r->ext_cap = cap;
  return 0;
}

/* Extended items from `*pos` (spec §4); advances *pos past the last one. */
static int parse_ext(etl_reader *r, const uint8_t *p, uint32_t size, uint32_t *pos,
                     rec_record *out, char *why, size_t why_len, uint32_t *bad_at) {
  uint32_t n = 0, at = *pos, more = 1;
  while (more) {
    if (size - at < ETL_EXT_HDR_SIZE) {
      *bad_at = at;
      snprintf(why, why_len, "extended item header past the record end (size %u)", size);
      return -1;
    }
    uint16_t item = tlg_le16(p + at), dlen = tlg_le16(p + at + 6);
    if (item < ETL_EXT_HDR_SIZE || item > size - at || dlen > item - ETL_EXT_HDR_SIZE) {
      *bad_at = at;
      snprintf(why, why_len, "extended item size %u / data size %u does not fit", item, dlen);
      return -1;
    }
    if (ext_reserve(r, n + 1)) return -2;
    rec_ext_item *it = &r->ext[n++];
    it->type = tlg_le16(p + at + 2);
    it->size = dlen;
    it->data = p + at + ETL_EXT_HDR_SIZE;
    more = tlg_le16(p + at + 4) & 1;
    at += item;
  }
  for (uint32_t i = 0; i < n; i++) rec_ext_apply(out, &r->ext[i]);
  out->ext = r->ext;
  out->ext_count = n;
  *pos = at;
  return 0;
}

static int nonzero(const tlg_guid *g) {
  uint64_t a, b;
  memcpy(&a, g->b, 8);
  memcpy(&b, g->b + 8, 8);
  return (a | b) != 0;
}

static void decode_event(const uint8_t *p, rec_record *out) {
  out->header_flags = tlg_le16(p + 4);
  out->event_property = tlg_le16(p + 6);
  out->tid = tlg_le32(p + 8);
  out->pid = tlg_le32(p + 0x0C);
  etl_guid_at(p + 0x18, &out->provider_id);
  tlg_desc_unpack(p + 0x28, &out->desc);
  out->kernel_time = tlg_le32(p + 0x38);
  out->user_time = tlg_le32(p + 0x3C);
  etl_guid_at(p + 0x40, &out->activity_id);
  if (nonzero(&out->activity_id)) out->flags |= REC_ACTIVITY;
}

static void decode_classic(const uint8_t *p, rec_record *out) {
  out->desc.opcode = p[4];
  out->desc.level = p[5];
  out->mof_version = tlg_le16(p + 6);
  out->desc.version = (uint8_t)out->mof_version;
  out->tid = tlg_le32(p + 8);
  out->pid = tlg_le32(p + 0x0C);
  etl_guid_at(p + 0x18, &out->provider_id);
  out->kernel_time = tlg_le32(p + 0x28);
  out->user_time = tlg_le32(p + 0x2C);
  if (out->header_kind == REC_HDR_INSTANCE) {
    out->instance_id = tlg_le32(p + 0x30);
    out->parent_instance_id = tlg_le32(p + 0x34);
    etl_guid_at(p + 0x38, &out->parent_guid);
  }
}

static void decode_kernel(const uint8_t *p, rec_record *out) {
  out->mof_version = tlg_le16(p);
  out->desc.version = (uint8_t)out->mof_version;
  out->hook_id = tlg_le16(p + 6);
  out->desc.opcode = (uint8_t)out->hook_id;
  etl_kernel_provider(out->hook_id, &out->provider_id);
  if (out->header_kind == REC_HDR_PERFINFO) {
    out->tid = out->pid = 0xFFFFFFFFu;
    return;
  }
  out->tid = tlg_le32(p + 8);
  out->pid = tlg_le32(p + 0x0C);
  if (out->header_kind == REC_HDR_SYSTEM) {
    out->kernel_time = tlg_le32(p + 0x18);
    out->user_time = tlg_le32(p + 0x1C);
  }
}

static void decode_message(const uint8_t *p, uint32_t file_ptr, rec_record *out) {
  uint16_t opt = tlg_le16(p + 6);
  uint32_t at = ETL_MESSAGE_HDR_SIZE;
  out->header_flags = opt;
  out->hook_id = tlg_le16(p + 4);
  out->desc.id = out->hook_id;
  out->tid = out->pid = 0xFFFFFFFFu;
  out->pointer_size = (opt & ETL_MSG_POINTER64) ? 8 : (opt & ETL_MSG_POINTER32) ? 4
                                                  : (uint8_t)file_ptr;
  if (opt & ETL_MSG_SEQUENCE) { out->instance_id = tlg_le32(p + at); at += 4; }
  if (opt & ETL_MSG_GUID) { etl_guid_at(p + at, &out->provider_id); at += 16; }
  else if (opt & ETL_MSG_COMPONENTID) { out->parent_instance_id = tlg_le32(p + at); at += 4; }
  if (opt & ETL_MSG_TIMESTAMP) at += 8;
  if (opt & ETL_MSG_SYSTEMINFO) {
    out->tid = tlg_le32(p + at);
    out->pid = tlg_le32(p + at + 4);
  }
}

/* Kind, pointer size and header length of a framed record. */
static void classify(const uint8_t *p, rec_record *out) {
  uint32_t marker = tlg_le32(p), ts_at, size;
  etl_hdr_shape s = {0, 0, 0, 0, 0};
  out->raw_header_len = header_size(p, marker, &ts_at, &size);
  if (is_message(marker)) { out->header_kind = REC_HDR_MESSAGE; return; }
  shape_of(marker >> 16 & 0xFF, &s);
  out->header_kind = s.kind;
  out->pointer_size = s.ptr;
}

int etl_record_decode(etl_reader *r, const etl_ctx *ctx, const uint8_t *p, uint32_t size,
                      int64_t ts_hint, rec_record *out, char *why, size_t why_len,
                      uint32_t *bad_at) {
  uint32_t marker = tlg_le32(p), type = marker >> 16 & 0xFF;
  const etl_hdr_shape *sh = NULL;
  memset(out, 0, sizeof *out);
  if (is_typed(marker) && (type == ETL_HT_EVENT64 || type == ETL_HT_EVENT32)) {
    out->header_kind = REC_HDR_EVENT;  /* the most common: classify without the table */
    out->pointer_size = type == ETL_HT_EVENT64 ? 8 : 4;
    out->raw_header_len = ETL_EVENT_HDR_SIZE;
  } else if (is_typed(marker) && (sh = etl_typed_shape(type))) {
    out->header_kind = sh->kind;      /* classify's other typed headers, inline */
    out->pointer_size = sh->ptr;
    out->raw_header_len = sh->fixed + (sh->size_at ? etl_kernel_inline_bytes(tlg_le16(p)) : 0);
  } else {
    classify(p, out);
  }
  out->flags = REC_HEADER;
  out->cpu = ctx->cpu;
  out->raw_timestamp = ts_hint;
  out->timestamp = etl_clock_fast(ctx->clock, ts_hint);
  out->raw_header = p;
  out->src_offset = ctx->buffer_off;
  out->src_buffer_flags = ctx->buffer_flags;
  uint32_t pos = out->raw_header_len;
  switch (out->header_kind) {
  case REC_HDR_EVENT:
    decode_event(p, out);
    if (out->header_flags & ETL_EVF_EXTENDED_INFO) {
      int rc = parse_ext(r, p, size, &pos, out, why, why_len, bad_at);
      if (rc) return rc;
    }
    break;
  case REC_HDR_CLASSIC: case REC_HDR_INSTANCE: decode_classic(p, out); break;
  case REC_HDR_MESSAGE: decode_message(p, ctx->file_ptr_size, out); break;
  default: decode_kernel(p, out); break;
  }
  out->data = p + pos;
  out->data_len = size - pos;
  return 0;
}

uint16_t etl_consumer_flags(const rec_record *rec) {
  uint16_t f = rec->header_kind == REC_HDR_EVENT ? rec->header_flags : 0;
  if (rec->pointer_size == 4) f |= ETL_EVF_32_BIT_HEADER;
  else if (rec->pointer_size == 8) f |= ETL_EVF_64_BIT_HEADER;
  if (rec->header_kind != REC_HDR_EVENT && rec->header_kind != REC_HDR_NONE)
    f |= ETL_EVF_CLASSIC_HEADER;
  if (rec->header_kind == REC_HDR_MESSAGE) f |= ETL_EVF_TRACE_MESSAGE;
  if (rec->src_buffer_flags & ETL_BUF_FLAG_PROC_INDEX) f |= ETL_EVF_PROCESSOR_INDEX;
  return f;
}

const char *etl_header_name(const rec_record *rec) {
  static const char *const names[][2] = {
    {"NONE", "NONE"}, {"EVENT_HEADER32", "EVENT_HEADER64"},
    {"FULL_HEADER32", "FULL_HEADER64"}, {"INSTANCE32", "INSTANCE64"},
    {"SYSTEM32", "SYSTEM64"}, {"COMPACT32", "COMPACT64"},
    {"PERFINFO32", "PERFINFO64"}, {"MESSAGE", "MESSAGE"},
  };
  if (rec->header_kind >= sizeof names / sizeof names[0]) return "UNKNOWN";
  return names[rec->header_kind][rec->pointer_size == 8];
}
