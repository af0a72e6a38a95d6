/*
** etl_header.c: the header buffer's first record, EventTrace/Header
** (SYSTEM header, hook 0) = TRACE_LOGFILE_HEADER + session name + log file
** name (spec §6, §9 steps 1-2). Everything needed to interpret the rest of
** the file comes from here.
*/
#include <stdlib.h>
#include <string.h>

#include "etl_int.h"
#include "tlg_utf16.h"

char *etl_utf16_to_utf8(const uint8_t *p, size_t n) {
  char *s = malloc(n * 3 + 1);  /* a unit never needs more than 3 bytes */
  if (s) tlg_utf16_to_utf8(p, n, s, n * 3 + 1);
  return s;
}

/* Number of UTF-16 units before the first NUL (or n). */
static size_t units_to_nul(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n && tlg_le16(p + 2 * i) != 0) i++;
  return i;
}

/* The two names after the fixed header: session name, log file name. */
static int parse_names(etl_reader *r, const uint8_t *p, size_t bytes) {
  size_t n = bytes / 2, a = units_to_nul(p, n);
  size_t b_at = a < n ? a + 1 : n;
  r->logger_name = etl_utf16_to_utf8(p, a);
  r->log_file_name = etl_utf16_to_utf8(p + 2 * b_at, n - b_at);
  if (!r->logger_name || !r->log_file_name) return -1;
  r->info.logger_name = r->logger_name;
  r->info.log_file_name = r->log_file_name;
  return 0;
}

/* TRACE_LOGFILE_HEADER at `h`; `is64` picks the layout (spec §6 table). */
static void parse_fields(etl_info *in, const uint8_t *h, int is64) {
  uint32_t d = is64 ? 0 : 8;  /* 32-bit layout: fields after the names move down */
  in->buffer_size = tlg_le32(h);
  in->version = tlg_le32(h + 0x04);
  in->os_major = h[4]; in->os_minor = h[5];
  in->layout_major = h[6]; in->layout_minor = h[7];
  in->os_build = tlg_le32(h + 0x08);
  in->num_processors = tlg_le32(h + 0x0C);
  in->end_time = tlg_le_i64(h + 0x10);
  in->timer_resolution = tlg_le32(h + 0x18);
  in->max_file_size = tlg_le32(h + 0x1C);
  in->log_file_mode = tlg_le32(h + 0x20);
  in->buffers_written = tlg_le32(h + 0x24);
  in->start_buffers = tlg_le32(h + 0x28);
  in->pointer_size = tlg_le32(h + 0x2C);
  in->events_lost = tlg_le32(h + 0x30);
  in->cpu_speed_mhz = tlg_le32(h + 0x34);
  in->logger_name_ptr = is64 ? tlg_le64(h + 0x38) : tlg_le32(h + 0x38);
  in->log_file_name_ptr = is64 ? tlg_le64(h + 0x40) : tlg_le32(h + 0x3C);
  in->time_zone = h + 0x48 - d;
  in->tz_bias = (int32_t)tlg_le32(h + 0x48 - d);
  in->boot_time = tlg_le_i64(h + 0xF8 - d);
  in->perf_freq = tlg_le_i64(h + 0x100 - d);
  in->start_time = tlg_le_i64(h + 0x108 - d);
  in->clock_type = tlg_le32(h + 0x110 - d);
  in->buffers_lost = tlg_le32(h + 0x114 - d);
}

/* Find the header record in buffer 0; returns it or NULL with `err` set. */
static const uint8_t *find_header_record(etl_reader *r, uint32_t *size, etl_error *err) {
  const uint8_t *b = r->head;
  if (r->len < ETL_BUF_HDR_SIZE + ETL_SYSTEM_HDR_SIZE) {
    etl_fail(err, ETL_ERR_DATA, 0, "%llu bytes are too few for an ETL file",
             (unsigned long long)r->len);
    return NULL;
  }
  if (tlg_le16(b + ETL_BUF_FLAG) & ETL_BUF_FLAG_COMPRESSED) {
    etl_fail(err, ETL_ERR_DATA, 0, "the header buffer is compressed");
    return NULL;
  }
  uint64_t end = tlg_le32(b + ETL_BUF_OFFSET);
  if (end > tlg_le32(b + ETL_BUF_SIZE)) end = tlg_le32(b + ETL_BUF_SIZE);
  if (end > r->head_len) end = r->head_len;  /* head_len: min(len, the largest record) */
  const uint8_t *p = b + ETL_BUF_HDR_SIZE;
  uint32_t marker = tlg_le32(p), type = marker >> 16 & 0xFF;
  if ((marker >> 24) != 0xC0 || (type != ETL_HT_SYSTEM32 && type != ETL_HT_SYSTEM64) ||
      tlg_le16(p + 6) != 0) {
    etl_fail(err, ETL_ERR_DATA, ETL_BUF_HDR_SIZE,
             "not an ETL file (first record is not EventTrace/Header: "
             "marker 0x%08x, hook 0x%04x)", marker, tlg_le16(p + 6));
    return NULL;
  }
  *size = tlg_le16(p + 4);
  uint32_t need = ETL_SYSTEM_HDR_SIZE + (type == ETL_HT_SYSTEM64 ? ETL_LFH_SIZE64 : ETL_LFH_SIZE32);
  if (*size < need || ETL_BUF_HDR_SIZE + (uint64_t)*size > end) {
    etl_fail(err, ETL_ERR_DATA, ETL_BUF_HDR_SIZE,
             "EventTrace/Header size %u outside %u..%llu", *size, need,
             (unsigned long long)(end < ETL_BUF_HDR_SIZE ? 0 : end - ETL_BUF_HDR_SIZE));
    return NULL;
  }
  return p;
}

/* Non-fatal header checks, reported before the first record. */
static void header_warnings(etl_reader *r, int is64) {
  etl_info *in = &r->info;
  uint32_t lfh = ETL_BUF_HDR_SIZE + ETL_SYSTEM_HDR_SIZE, d = is64 ? 0 : 8;
  if (in->pointer_size != (uint32_t)in->header_pointer_size)
    etl_add_error(r, lfh + 0x2C, 0, 0, "PointerSize %u disagrees with the %d-bit header record",
                  in->pointer_size, in->header_pointer_size * 8);
  if (in->clock_type > ETL_CLOCK_CPU_CYCLE)
    etl_add_error(r, lfh + 0x110 - d, 0, 0, "unknown clock type %u, timestamps taken as QPC",
                  in->clock_type);
  if (in->clock_type != ETL_CLOCK_SYSTEM && in->clock_type != ETL_CLOCK_CPU_CYCLE &&
      in->perf_freq <= 0)
    etl_add_error(r, lfh + 0x100 - d, 0, 0, "clock frequency %lld unusable, 10 MHz assumed",
                  (long long)in->perf_freq);
  r->early_count = r->nerrs;
}

static int stride_valid(const etl_reader *r, uint32_t c) {
  return c >= ETL_BUF_HDR_SIZE && c <= r->opt.max_buffer_size;
}

/* Does the file look like buffers of `c` bytes: the next buffer header (if
** any) says c, or the file ends right there? */
static int stride_fits(etl_reader *r, uint32_t c) {
  uint8_t tmp[4];
  if (!stride_valid(r, c)) return 0;
  if (c + (uint64_t)ETL_BUF_HDR_SIZE > r->len) return c == r->len;
  const uint8_t *p = etl_input(r, c + ETL_BUF_SIZE, 4, tmp);
  return p && tlg_le32(p) == c;
}

/* The stride used to step over (and resync past) uncompressed buffers:
** buffer 0's BufferSize or the logfile header's, whichever the file agrees
** with, so that one damaged copy does not misalign every buffer. */
static void choose_stride(etl_reader *r) {
  uint32_t own = tlg_le32(r->head + ETL_BUF_SIZE), lfh = r->info.buffer_size;
  r->stride = 0;
  if (r->info.log_file_mode & ETL_LOGMODE_COMPRESSED) return;
  if (stride_fits(r, own)) r->stride = own;
  else if (stride_fits(r, lfh)) r->stride = lfh;
  else if (stride_valid(r, own)) r->stride = own;
  else if (stride_valid(r, lfh)) r->stride = lfh;
}

int etl_header_parse(etl_reader *r, etl_error *err) {
  uint32_t size;
  const uint8_t *p = find_header_record(r, &size, err);
  if (!p) return ETL_ERR_DATA;
  int is64 = (tlg_le32(p) >> 16 & 0xFF) == ETL_HT_SYSTEM64;
  uint32_t fixed = is64 ? ETL_LFH_SIZE64 : ETL_LFH_SIZE32;
  etl_info *in = &r->info;
  parse_fields(in, p + ETL_SYSTEM_HDR_SIZE, is64);
  in->header_pointer_size = is64 ? 8 : 4;
  in->header_timestamp = tlg_le_i64(p + 0x10);
  in->file_size = r->len;
  if (parse_names(r, p + ETL_SYSTEM_HDR_SIZE + fixed, size - ETL_SYSTEM_HDR_SIZE - fixed))
    return etl_fail(err, ETL_ERR_NOMEM, 0, "out of memory");
  etl_clock_init(&r->clock, in);
  header_warnings(r, is64);
  choose_stride(r);
  return ETL_OK;
}
