/*
** win_props.c: EVENT_TRACE_PROPERTIES blocks as bytes (spec windows-etw §2.1,
** §2.2, §2.5) and session-name rules (§2.1, §6); UTF-16 is src/tlg's
** (tlg_utf16.h).
** Pure: compiled and tested on every platform.
*/
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "winp.h"

/* ------------------------------------------------------------- names */

int winp_name_valid(const char *name, size_t len) {
  if (!name || len == 0 || len > WINP_SESSION_NAME_MAX) return 0;
  if (memchr(name, 0, len)) return 0;
  uint8_t tmp[WINP_SESSION_NAME_MAX * 2];
  return tlg_utf8_to_utf16(name, len, tmp, WINP_SESSION_NAME_MAX, NULL) > 0;
}

int winp_name_is_ours(const char *name) {
  const char *pre = WINP_NAME_PREFIX;
  size_t n = strlen(pre);
  if (!name) return 0;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)name[i]) != pre[i]) return 0;
  return 1;
}

int winp_name_make(char *out, size_t cap, const char *purpose, uint32_t pid) {
  int n = snprintf(out, cap, "%s%s-%lu", WINP_NAME_PREFIX, purpose, (unsigned long)pid);
  if (n < 0 || (size_t)n >= cap || n > WINP_SESSION_NAME_MAX) return -1;
  return n;
}

uint32_t winp_name_pid(const char *name) {
  size_t n = strlen(name), i = n;
  while (i > 0 && isdigit((unsigned char)name[i - 1])) i--;
  if (i == n || i == 0 || name[i - 1] != '-' || n - i > 10) return 0;
  uint64_t v = 0;
  for (; i < n; i++) v = v * 10 + (uint64_t)(name[i] - '0');
  return v > 0xFFFFFFFFu ? 0 : (uint32_t)v;
}

/* ------------------------------------------------- properties block */

uint32_t winp_flush_seconds(uint32_t flush_ms, int realtime) {
  if (flush_ms == 0) return realtime ? 1 : 0;
  uint32_t s = flush_ms / 1000 + (flush_ms % 1000 != 0);
  return s ? s : 1;
}

uint32_t winp_logfile_mode(const winp_props_in *in) {
  uint32_t m = WINP_MODE_INDEPENDENT_SESSION;
  switch (in->mode) {
    case WINP_REALTIME:
      if (in->newfile) return 0;
      m |= WINP_MODE_REAL_TIME;
      break;
    case WINP_FILE:
      if (in->newfile) {
        if (!in->file || !strstr(in->file, "%d")) return 0;
        m |= WINP_MODE_NEWFILE;
      } else {
        m |= WINP_MODE_SEQUENTIAL;
      }
      if (in->realtime_too) m |= WINP_MODE_REAL_TIME;
      break;
    case WINP_CIRCULAR:
      if (in->newfile) return 0;
      m |= WINP_MODE_CIRCULAR;
      if (in->realtime_too) m |= WINP_MODE_REAL_TIME;
      break;
    default: return 0;
  }
  if (in->no_per_processor) m |= WINP_MODE_NO_PER_PROCESSOR;
  if (in->system_logger) m |= WINP_MODE_SYSTEM_LOGGER;
  return m;
}

void winp_props_query(uint8_t out[WINP_PROPS_BLOCK]) {
  memset(out, 0, WINP_PROPS_BLOCK);
  tlg_put32(out + WINP_OFF_WNODE_BUFFERSIZE, WINP_PROPS_BLOCK);
  tlg_put32(out + WINP_OFF_LOGGERNAMEOFF, WINP_PROPS_SIZE);
  tlg_put32(out + WINP_OFF_LOGFILENAMEOFF, WINP_PROPS_SIZE + WINP_NAME_BYTES);
}

int winp_props_build(uint8_t out[WINP_PROPS_BLOCK], const winp_props_in *in) {
  memset(out, 0, WINP_PROPS_BLOCK);
  uint32_t mode = winp_logfile_mode(in);
  if (!mode) return -1;
  int has_file = in->mode != WINP_REALTIME;
  if (has_file && (!in->file || !*in->file)) return -1;
  uint32_t kb = in->buffer_kb ? in->buffer_kb : 64;
  if (kb < 4 || kb > 16384) return -1;
  uint32_t maxb = in->max_buffers;
  if (!maxb) {
    uint32_t cpus = in->cpus ? in->cpus : 1;
    maxb = cpus > 16 ? 4 * cpus : 64;
  }
  if (in->min_buffers && maxb < in->min_buffers) maxb = in->min_buffers;
  uint32_t file_mb = in->max_file_mb;
  if (!file_mb && (in->mode == WINP_CIRCULAR || in->newfile)) file_mb = WINP_DEFAULT_FILE_MB;

  tlg_put32(out + WINP_OFF_WNODE_BUFFERSIZE, WINP_PROPS_BLOCK);
  tlg_put32(out + WINP_OFF_WNODE_CLIENTCTX, WINP_CLOCK_QPC);
  tlg_put32(out + WINP_OFF_WNODE_FLAGS, WINP_WNODE_FLAG_TRACED_GUID);
  tlg_put32(out + WINP_OFF_BUFFERSIZE, kb);
  tlg_put32(out + WINP_OFF_MINBUFFERS, in->min_buffers);
  tlg_put32(out + WINP_OFF_MAXBUFFERS, maxb);
  tlg_put32(out + WINP_OFF_MAXFILESIZE, has_file ? file_mb : 0);
  tlg_put32(out + WINP_OFF_LOGFILEMODE, mode);
  tlg_put32(out + WINP_OFF_FLUSHTIMER,
             winp_flush_seconds(in->flush_ms, !has_file || in->realtime_too));
  tlg_put32(out + WINP_OFF_LOGGERNAMEOFF, WINP_PROPS_SIZE);
  tlg_put32(out + WINP_OFF_ENABLEFLAGS, in->enable_flags);
  if (in->guid) memcpy(out + WINP_OFF_WNODE_GUID, in->guid, 16);
  if (has_file) {
    uint8_t *dst = out + WINP_PROPS_SIZE + WINP_NAME_BYTES;
    int n = (int)tlg_utf8_to_utf16(in->file, strlen(in->file), dst, 1023, NULL);
    if (n <= 0) { memset(out, 0, WINP_PROPS_BLOCK); return -1; }
    tlg_put16(dst + 2 * n, 0);
    tlg_put32(out + WINP_OFF_LOGFILENAMEOFF, WINP_PROPS_SIZE + WINP_NAME_BYTES);
  }
  return 0;
}

static void read_name(const uint8_t *block, size_t len, uint32_t off, char *out, size_t cap) {
  out[0] = 0;
  if (off < WINP_PROPS_SIZE || off >= len) return;
  tlg_utf16_to_utf8(block + off, (len - off) / 2, out, cap);
}

void winp_props_read(const uint8_t *block, size_t len, winp_props_stats *st) {
  memset(st, 0, sizeof *st);
  if (len < WINP_PROPS_SIZE) return;
  st->handle = tlg_le64(block + WINP_OFF_WNODE_HISTCTX);
  st->buffer_kb = tlg_le32(block + WINP_OFF_BUFFERSIZE);
  st->min_buffers = tlg_le32(block + WINP_OFF_MINBUFFERS);
  st->max_buffers = tlg_le32(block + WINP_OFF_MAXBUFFERS);
  st->max_file_mb = tlg_le32(block + WINP_OFF_MAXFILESIZE);
  st->log_file_mode = tlg_le32(block + WINP_OFF_LOGFILEMODE);
  st->flush_timer = tlg_le32(block + WINP_OFF_FLUSHTIMER);
  st->buffers = tlg_le32(block + WINP_OFF_NUMBUFFERS);
  st->free_buffers = tlg_le32(block + WINP_OFF_FREEBUFFERS);
  st->events_lost = tlg_le32(block + WINP_OFF_EVENTSLOST);
  st->buffers_written = tlg_le32(block + WINP_OFF_BUFFERSWRITTEN);
  st->log_buffers_lost = tlg_le32(block + WINP_OFF_LOGBUFFERSLOST);
  st->rt_buffers_lost = tlg_le32(block + WINP_OFF_RTBUFFERSLOST);
  read_name(block, len, tlg_le32(block + WINP_OFF_LOGGERNAMEOFF), st->name, sizeof st->name);
  read_name(block, len, tlg_le32(block + WINP_OFF_LOGFILENAMEOFF), st->file, sizeof st->file);
}

/* ------------------------------------------------ NEWFILE file names */

/* append src[0..n) to out at *o, doubling '%' (ETW formats the name) */
static int put_escaped(char *out, size_t cap, size_t *o, const char *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t need = src[i] == '%' ? 2 : 1;
    if (*o + need >= cap) return -1;
    out[(*o)++] = src[i];
    if (need == 2) out[(*o)++] = '%';
  }
  return 0;
}

int winp_newfile_pattern(const char *path, char *out, size_t cap) {
  if (!path || !out || cap == 0) return -1;
  size_t len = strlen(path), o = 0;
  if (strstr(path, "%d")) {
    if (len >= cap) return -1;
    memcpy(out, path, len + 1);
    return (int)len;
  }
  /* the extension: the last '.' after the last directory separator (as
  ** etl_rotated_path names the shm engine's rotated files) */
  const char *base = path, *dot = NULL;
  for (const char *p = path; *p; p++)
    if (*p == '/' || *p == '\\') base = p + 1;
  for (const char *p = base; *p; p++)
    if (*p == '.' && p != base) dot = p;
  size_t stem = dot ? (size_t)(dot - path) : len;
  if (put_escaped(out, cap, &o, path, stem) < 0 || o + 3 >= cap) { out[0] = 0; return -1; }
  memcpy(out + o, "_%d", 3);
  o += 3;
  if (dot && put_escaped(out, cap, &o, dot, len - stem) < 0) { out[0] = 0; return -1; }
  out[o] = 0;
  return (int)o;
}
