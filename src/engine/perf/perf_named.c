/*
** perf_named.c: the named kernel providers as data (perf_named.h), and
** the few values no tracepoint carries: a new process's parent (from the
** fork seen earlier, else /proc/PID/stat), its command line
** (/proc/PID/cmdline when the bridge reads the sample: empty if the
** process is already gone) and its exit code (from exit_group seen
** earlier, else the zombie's /proc/PID/stat), and the paths unlink and
** rename were given (read from the process's memory: upath).
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "perf_named.h"

/* Windows Microsoft-Windows-Kernel-Process keywords. */
#define KW_PROCESS 0x10
#define KW_THREAD 0x20
#define CLONE_THREAD_FLAG 0x10000

#define COND(op, f, v) {PERF_C_##op, f, v}

static const perf_map process_maps[] = {
  {NULL, "task", "task_newtask", 4, 0, KW_PROCESS, 0,
   {COND(BITS_CLEAR, "clone_flags", CLONE_THREAD_FLAG)}, {{"", PERF_F_NOTE_PARENT, "pid"}}},
  {"ThreadStart", "task", "task_newtask", 4, 1, KW_THREAD, 0,
   {COND(BITS_SET, "clone_flags", CLONE_THREAD_FLAG)},
   {{"ProcessID", PERF_F_SAMPLE_PID, NULL}, {"ThreadID", PERF_F_INT, "pid"}}},
  {NULL, "syscalls", "sys_enter_exit_group", 4, 0, KW_PROCESS, 1, {{0}},
   {{"", PERF_F_NOTE_EXIT, "error_code"}}},
  {"ProcessStart", "sched", "sched_process_exec", 4, 1, KW_PROCESS, 0, {{0}},
   {{"ProcessID", PERF_F_INT, "pid"}, {"ParentProcessID", PERF_F_PARENT, "pid"},
    {"ImageName", PERF_F_STR, "filename"}, {"CommandLine", PERF_F_CMDLINE, "pid"}}},
  {"ProcessStop", "sched", "sched_process_exit", 4, 2, KW_PROCESS, 0,
   {COND(NONZERO, "group_dead", 0)},
   {{"ProcessID", PERF_F_SAMPLE_PID, NULL}, {"ExitCode", PERF_F_EXITCODE, NULL},
    {"ImageName", PERF_F_STR, "comm"}}},
  {"ThreadStop", "sched", "sched_process_exit", 4, 2, KW_THREAD, 0, {{0}},
   {{"ProcessID", PERF_F_SAMPLE_PID, NULL}, {"ThreadID", PERF_F_INT, "pid"}}},
};

/* Windows Microsoft-Windows-Kernel-File keywords (FILEIO 0x20, CREATE 0x80,
** DELETE_PATH 0x400, RENAME_SETLINK_PATH 0x800). */
#define KW_FILEIO 0x20
#define KW_CREATE 0x80
#define KW_DELETE 0x400
#define KW_RENAME 0x800

static const perf_map file_maps[] = {
  {"FileOpen", "syscalls", "sys_exit_openat", 4, 0, KW_CREATE, 0, {COND(NONNEG, "ret", 0)},
   {{"FileName", PERF_F_FDPATH, "ret"}, {"FileDescriptor", PERF_F_INT, "ret"}}},
  {"FileOpen", "syscalls", "sys_exit_openat2", 4, 0, KW_CREATE, 1, {COND(NONNEG, "ret", 0)},
   {{"FileName", PERF_F_FDPATH, "ret"}, {"FileDescriptor", PERF_F_INT, "ret"}}},
  {"FileOpen", "syscalls", "sys_exit_open", 4, 0, KW_CREATE, 1, {COND(NONNEG, "ret", 0)},
   {{"FileName", PERF_F_FDPATH, "ret"}, {"FileDescriptor", PERF_F_INT, "ret"}}},
  {"FileClose", "syscalls", "sys_enter_close", 4, 0, KW_FILEIO, 0, {{0}},
   {{"FileDescriptor", PERF_F_INT, "fd"}}},
  /* the syscall tracepoints carry only the path's address: upath() */
  {"FileDelete", "syscalls", "sys_enter_unlinkat", 4, 0, KW_DELETE, 0, {{0}},
   {{"FileName", PERF_F_UPATH, "pathname"}}},
  {"FileDelete", "syscalls", "sys_enter_unlink", 4, 0, KW_DELETE, 1, {{0}},
   {{"FileName", PERF_F_UPATH, "pathname"}}},
  {"FileRename", "syscalls", "sys_enter_renameat2", 4, 0, KW_RENAME, 0, {{0}},
   {{"FileName", PERF_F_UPATH, "oldname"}, {"NewFileName", PERF_F_UPATH, "newname"}}},
  {"FileRename", "syscalls", "sys_enter_renameat", 4, 0, KW_RENAME, 1, {{0}},
   {{"FileName", PERF_F_UPATH, "oldname"}, {"NewFileName", PERF_F_UPATH, "newname"}}},
  {"FileRename", "syscalls", "sys_enter_rename", 4, 0, KW_RENAME, 1, {{0}},
   {{"FileName", PERF_F_UPATH, "oldname"}, {"NewFileName", PERF_F_UPATH, "newname"}}},
};

/* Windows Microsoft-Windows-Kernel-Network's keyword for IPv4/IPv6 TCP. */
#define KW_TCP 0x10
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define PROTO_TCP 6

#define NET_FIELDS                                                                  \
  {{"saddr", PERF_F_ADDR, "saddr"}, {"daddr", PERF_F_ADDR, "daddr"},               \
   {"sport", PERF_F_U16, "sport"}, {"dport", PERF_F_U16, "dport"},                 \
   {"OldState", PERF_F_INT, "oldstate"}, {"NewState", PERF_F_INT, "newstate"}}

static const perf_map network_maps[] = {
  {"TcpConnect", "sock", "inet_sock_set_state", 4, 0, KW_TCP, 0,   /* connected: both ports */
   {COND(EQ, "protocol", PROTO_TCP), COND(EQ, "oldstate", TCP_SYN_SENT),
    COND(EQ, "newstate", TCP_ESTABLISHED)}, NET_FIELDS},
  {"TcpAccept", "sock", "inet_sock_set_state", 4, 0, KW_TCP, 0,
   {COND(EQ, "protocol", PROTO_TCP), COND(EQ, "oldstate", TCP_SYN_RECV),
    COND(EQ, "newstate", TCP_ESTABLISHED)}, NET_FIELDS},
  {"TcpClose", "sock", "inet_sock_set_state", 4, 0, KW_TCP, 0,
   {COND(EQ, "protocol", PROTO_TCP), COND(EQ, "newstate", TCP_CLOSE)}, NET_FIELDS},
  {"TcpState", "sock", "inet_sock_set_state", 5, 0, KW_TCP, 0,
   {COND(EQ, "protocol", PROTO_TCP)}, NET_FIELDS},
};

#define TABLE(x) x, sizeof x / sizeof *x
static const perf_named process = {"Linux-Kernel-Process", TABLE(process_maps)};
static const perf_named file = {"Linux-Kernel-File", TABLE(file_maps)};
static const perf_named network = {"Linux-Kernel-Network", TABLE(network_maps)};

static const perf_named *const all[] = {&process, &file, &network, NULL};

const perf_named *perf_named_find(const char *name) {
  for (int i = 0; name && all[i]; i++)
    if (strcasecmp(all[i]->name, name) == 0) return all[i];
  return NULL;
}

const perf_named *const *perf_named_all(void) { return all; }

/* ================================================================= state */

/* Small direct-mapped tables keyed by pid: a lost entry only means a
** fallback to /proc, never a wrong answer for another pid (the key is kept). */
#define NOTES 4096
static struct { uint32_t pid, value; } parents[NOTES], exits[NOTES];
static pthread_mutex_t g_notes = PTHREAD_MUTEX_INITIALIZER;

static void note(void *tab, uint32_t pid, uint32_t value) {
  struct { uint32_t pid, value; } *t = tab;
  pthread_mutex_lock(&g_notes);
  t[pid % NOTES].pid = pid;
  t[pid % NOTES].value = value;
  pthread_mutex_unlock(&g_notes);
}

/* A parent stays noted (a process may exec again; the next fork of that
** pid overwrites it); an exit code is taken once. */
static int recall(void *tab, uint32_t pid, uint32_t *value, int take) {
  struct { uint32_t pid, value; } *t = tab;
  pthread_mutex_lock(&g_notes);
  int ok = pid != 0 && t[pid % NOTES].pid == pid;
  if (ok) { *value = t[pid % NOTES].value; if (take) t[pid % NOTES].pid = 0; }
  pthread_mutex_unlock(&g_notes);
  return ok;
}

static size_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  return (size_t)n;
}

/* Field `k` (1-based, after the command name in parentheses) of /proc/PID/stat. */
static int stat_field(uint32_t pid, int k, long long *v) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%u/stat", pid);
  if (!read_small(path, buf, sizeof buf)) return -1;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p++;
  for (int i = 2; i < k && p; i++) p = strchr(p + 1, ' ');
  return p && sscanf(p, " %lld", v) == 1 ? 0 : -1;
}

static uint32_t parent_of(uint32_t pid) {
  uint32_t v;
  long long pp;
  if (recall(parents, pid, &v, 0)) return v;
  return stat_field(pid, 4, &pp) == 0 ? (uint32_t)pp : 0;
}

/* exit_group's code, else the wait status of a zombie (signals as 128 + n,
** as shells say), else 0xFFFFFFFF (unknown: killed and already reaped). */
static uint32_t exit_code_of(uint32_t pid) {
  uint32_t v;
  long long st;
  if (recall(exits, pid, &v, 1)) return v;
  if (stat_field(pid, 52, &st) != 0) return 0xFFFFFFFFu;
  return (st & 0x7f) ? 128u + (uint32_t)(st & 0x7f) : (uint32_t)((st >> 8) & 0xff);
}

static size_t cmdline_of(uint32_t pid, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/cmdline", pid);
  size_t n = read_small(path, buf, cap);
  while (n && buf[n - 1] == 0) n--;
  for (size_t i = 0; i < n; i++)
    if (buf[i] == 0) buf[i] = ' ';
  return n;
}

static uint64_t int_of(const tpf_format *f, const char *name, const uint8_t *raw, size_t len) {
  int k = tpf_find(f, name);
  return k < 0 ? 0 : tpf_get_int(&f->fields[k], raw, len);
}

/* Where fd `fd` of process `pid` points now ("" if it is gone). */
static size_t fd_path(uint32_t pid, uint32_t fd, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%u/fd/%u", pid, fd);
  ssize_t n = readlink(path, buf, cap - 1);
  return n > 0 ? (size_t)n : 0;
}

/* The NUL-terminated string at address `addr` of process pid (at most
** cap - 1 bytes, page by page so an unmapped next page does not lose the
** first): its length, 0 when unreadable (process gone, address unmapped). */
static size_t user_str(uint32_t pid, uint64_t addr, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    size_t page = 4096 - (size_t)((addr + n) & 4095), want = cap - 1 - n;
    if (want > page) want = page;
    struct iovec local = {buf + n, want}, remote = {(void *)(uintptr_t)(addr + n), want};
    ssize_t got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
    if (got <= 0) break;
    char *z = memchr(buf + n, 0, (size_t)got);
    if (z) return (size_t)(z - buf);
    n += (size_t)got;
  }
  return 0;                           /* no NUL within cap: not a path we can give */
}

/* The dfd field that goes with path field `from` (oldname: olddfd, ...). */
static int dfd_of(const tpf_format *f, const char *from, const uint8_t *raw, size_t len) {
  const char *name = strcmp(from, "oldname") == 0 ? "olddfd"
                     : strcmp(from, "newname") == 0 ? "newdfd" : "dfd";
  int k = tpf_find(f, name);
  return k < 0 ? AT_FDCWD : (int)(int32_t)tpf_get_int(&f->fields[k], raw, len);
}

/* The path a path syscall was given, read from the process's memory when the
** bridge handles the sample (the tracepoint holds only its address), made
** absolute against the dfd (the process's cwd for AT_FDCWD) as it is then.
** "" when the process is gone or the memory unreadable. */
static size_t upath(const tpf_format *f, const char *from, uint32_t pid, const uint8_t *raw,
                    size_t len, char *buf, size_t cap) {
  char rel[2048];
  size_t n = user_str(pid, int_of(f, from, raw, len), rel, sizeof rel);
  if (n == 0) return 0;
  if (rel[0] == '/') {
    memcpy(buf, rel, n < cap ? n : cap);
    return n < cap ? n : cap;
  }
  char link[64];
  int dfd = dfd_of(f, from, raw, len);
  if (dfd == AT_FDCWD) snprintf(link, sizeof link, "/proc/%u/cwd", pid);
  else snprintf(link, sizeof link, "/proc/%u/fd/%d", pid, dfd);
  ssize_t b = readlink(link, buf, cap - 1);
  if (b <= 0) return 0;
  int w = snprintf(buf + b, cap - (size_t)b, "/%.*s", (int)n, rel);
  size_t total = (size_t)b + (w > 0 ? (size_t)w : 0);
  return total < cap ? total : cap - 1;
}

/* "a.b.c.d" from u8 array `name`, or the IPv6 text of `name`_v6 when the
** sample's family is AF_INET6 (10). */
static size_t addr_text(const tpf_format *f, const char *name, const uint8_t *raw, size_t len,
                        char *buf, size_t cap) {
  char v6[TPF_NAME_MAX + 4];
  int fam = (int)int_of(f, "family", raw, len);
  snprintf(v6, sizeof v6, "%s_v6", name);
  int k = tpf_find(f, fam == 10 ? v6 : name);
  if (k < 0) return 0;
  const tpf_field *fl = &f->fields[k];
  if ((size_t)fl->offset + fl->size > len) return 0;
  const uint8_t *a = raw + fl->offset;
  if (fam == 10 && fl->size == 16)
    return inet_ntop(AF_INET6, a, buf, (socklen_t)cap) ? strlen(buf) : 0;
  if (fl->size != 4) return 0;
  int n = snprintf(buf, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  return n > 0 ? (size_t)n : 0;
}

/* ================================================================ fields */

int perf_map_check(const perf_map *m, const tpf_format *f) {
  for (int i = 0; i < PERF_MAP_CONDS && m->conds[i].op; i++) {
    int k = tpf_find(f, m->conds[i].field);
    if (k < 0 || f->fields[k].kind != TPF_INT) return -1;
  }
  for (int i = 0; i < PERF_MAP_FIELDS && m->fields[i].name; i++) {
    const perf_field_map *fm = &m->fields[i];
    if (!fm->from) continue;
    int k = tpf_find(f, fm->from);
    if (k < 0) return -1;
    uint8_t kind = f->fields[k].kind;
    int ok = fm->kind == PERF_F_STR ? kind == TPF_STR || kind == TPF_LOC_STR
             : fm->kind == PERF_F_ADDR ? kind == TPF_ARRAY && f->fields[k].size == 4
             : kind == TPF_INT;
    if (!ok) return -1;
  }
  return 0;
}

static int add_u32(tlg_builder *b, const char *name, uint32_t v, uint64_t out) {
  tlg_build_field tf = {name, strlen(name), out, 0};
  return tlg_build_add_fixed(b, &tf, TLG_IN_UINT32, v);
}

static int add_str(tlg_builder *b, const char *name, const char *s, size_t n) {
  tlg_build_field tf = {name, strlen(name), TLG_OUT_UTF8, 0};
  return tlg_build_add_bytes(b, &tf, TLG_IN_ANSISTRING, s, n);
}

static int is_live(uint8_t kind) { return kind == PERF_F_CMDLINE || kind == PERF_F_UPATH; }

/* A live value read now (into buf). */
static size_t read_live(const perf_field_map *fm, const tpf_format *f, uint32_t pid,
                        const uint8_t *raw, size_t len, char *buf, size_t cap) {
  if (fm->kind == PERF_F_CMDLINE) return cmdline_of((uint32_t)int_of(f, fm->from, raw, len), buf, cap);
  return upath(f, fm->from, pid, raw, len, buf, cap);
}

int perf_map_live(const perf_map *m) {
  for (int i = 0; m && i < PERF_MAP_FIELDS && m->fields[i].name; i++)
    if (is_live(m->fields[i].kind)) return 1;
  return 0;
}

size_t perf_map_preread(const perf_map *m, const tpf_format *f, uint32_t pid, const uint8_t *raw,
                        size_t len, uint8_t *out, size_t cap) {
  size_t w = 0;
  char buf[4096];
  for (int i = 0; m && i < PERF_MAP_FIELDS && m->fields[i].name; i++) {
    if (!is_live(m->fields[i].kind)) continue;
    size_t n = read_live(&m->fields[i], f, pid, raw, len, buf, sizeof buf);
    if (w + 2 + n > cap) return 0;
    out[w] = (uint8_t)(n & 0xff);
    out[w + 1] = (uint8_t)(n >> 8);
    memcpy(out + w + 2, buf, n);
    w += 2 + n;
  }
  return w;
}

/* The k-th live value of h->pre (k counts live fields from 0), or -1. */
static int pre_value(const perf_hdr *h, int k, const char **s, size_t *n) {
  size_t at = 0;
  for (int i = 0; h->pre && at + 2 <= h->pre_len; i++) {
    size_t l = (size_t)h->pre[at] | (size_t)h->pre[at + 1] << 8;
    if (at + 2 + l > h->pre_len) return -1;
    if (i == k) { *s = (const char *)h->pre + at + 2; *n = l; return 0; }
    at += 2 + l;
  }
  return -1;
}

static int add_one(const perf_field_map *fm, int live_k, const tpf_format *f, const perf_hdr *h,
                   const uint8_t *raw, size_t len, tlg_builder *b) {
  uint32_t from = fm->from ? (uint32_t)int_of(f, fm->from, raw, len) : 0;
  char buf[4096];
  size_t n = 0;
  switch (fm->kind) {
  case PERF_F_INT: return add_u32(b, fm->name, from, 0);
  case PERF_F_SAMPLE_PID: return add_u32(b, fm->name, h->pid, TLG_OUT_PID);
  case PERF_F_SAMPLE_TID: return add_u32(b, fm->name, h->tid, TLG_OUT_TID);
  case PERF_F_PARENT: return add_u32(b, fm->name, parent_of(from), TLG_OUT_PID);
  case PERF_F_EXITCODE: return add_u32(b, fm->name, exit_code_of(h->pid), 0);
  case PERF_F_CMDLINE:
  case PERF_F_UPATH: {
    const char *s;
    if (pre_value(h, live_k, &s, &n) == 0) return add_str(b, fm->name, s, n);
    n = read_live(fm, f, h->pid, raw, len, buf, sizeof buf);
    return add_str(b, fm->name, buf, n);
  }
  case PERF_F_STR: {
    int k = tpf_find(f, fm->from);
    const char *s = k < 0 ? NULL : tpf_get_str(&f->fields[k], raw, len, &n);
    return add_str(b, fm->name, s ? s : "", s ? n : 0);
  }
  case PERF_F_FDPATH:                 /* a closed fd may be another file by now: no name */
    n = h->fd_closed ? 0 : fd_path(h->pid, from, buf, sizeof buf);
    return add_str(b, fm->name, buf, n);
  case PERF_F_U16: {
    tlg_build_field tf = {fm->name, strlen(fm->name), 0, 0};
    return tlg_build_add_fixed(b, &tf, TLG_IN_UINT16, from & 0xffff);
  }
  case PERF_F_ADDR:
    n = addr_text(f, fm->from, raw, len, buf, sizeof buf);
    return add_str(b, fm->name, buf, n);
  case PERF_F_NOTE_PARENT: note(parents, from, h->pid); return TLG_OK;
  case PERF_F_NOTE_EXIT: note(exits, h->pid, from); return TLG_OK;
  default: return TLG_OK;
  }
}

static int holds(const perf_cond *c, const tpf_format *f, const uint8_t *raw, size_t len) {
  uint64_t v = int_of(f, c->field, raw, len);
  switch (c->op) {
  case PERF_C_NONZERO: return v != 0;
  case PERF_C_EQ: return v == c->value;
  case PERF_C_BITS_SET: return (v & c->value) == c->value;
  case PERF_C_BITS_CLEAR: return (v & c->value) == 0;
  case PERF_C_NONNEG: return (int64_t)v >= 0;
  default: return 1;
  }
}

int perf_map_fields(const perf_map *m, const tpf_format *f, const perf_hdr *h, const uint8_t *raw,
                    size_t len, tlg_builder *b) {
  for (int i = 0; i < PERF_MAP_CONDS && m->conds[i].op; i++)
    if (!holds(&m->conds[i], f, raw, len)) return 1;
  for (int i = 0, k = 0; i < PERF_MAP_FIELDS && m->fields[i].name; i++) {
    if (add_one(&m->fields[i], k, f, h, raw, len, b) != TLG_OK) return -1;
    k += is_live(m->fields[i].kind);
  }
  return m->event ? 0 : 1;
}

/* The integer field a map of kind `kind` reads, if it has one. */
static int fd_field(const perf_map *m, uint8_t kind, const tpf_format *f, const uint8_t *raw,
                    size_t len, uint32_t *fd) {
  for (int i = 0; m && i < PERF_MAP_FIELDS && m->fields[i].name; i++)
    if (m->fields[i].kind == kind && m->fields[i].from) {
      *fd = (uint32_t)int_of(f, m->fields[i].from, raw, len);
      return 1;
    }
  return 0;
}

int perf_map_opens(const perf_map *m, const tpf_format *f, const uint8_t *raw, size_t len,
                   uint32_t *fd) {
  return fd_field(m, PERF_F_FDPATH, f, raw, len, fd);
}

int perf_map_closes(const perf_map *m, const tpf_format *f, const uint8_t *raw, size_t len,
                    uint32_t *fd) {
  return m && strcmp(m->tracepoint, "sys_enter_close") == 0 &&
         fd_field(m, PERF_F_INT, f, raw, len, fd);
}
