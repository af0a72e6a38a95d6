/*
** shm_os.c: what the POSIX engine asks of the OS: the runtime directory and
** its files (ownership and mode checked on every open), process identity
** and liveness, the futex, the clock, fork bookkeeping.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#endif

#include "shm_int.h"
#include "eng_detail.h"

_Atomic unsigned shm_fork_gen = 1;
int shm_clock_kind_cached;
static _Atomic int32_t g_pid;
static _Atomic uint64_t g_start;
static _Atomic uint64_t g_pidns;
static _Thread_local uint32_t t_tid;
static _Thread_local unsigned t_tid_gen;

int shm_errno_status(int err) {
  switch (err) {
  case EACCES: case EPERM: return ENG_E_ACCESS;
  case ENOMEM: return ENG_E_NOMEM;
  default: return ENG_E_IO;
  }
}

/* ========================================================= runtime dir */

/* Where the runtime directory came from, for the fix a refusal suggests. */
static const char *dir_fix(int source) {
  switch (source) {
  case 0: return "set ETWLUA_RUNTIME_DIR to a private directory of yours (mode 0700)";
  case 1: return "fix or remove it, or set ETWLUA_RUNTIME_DIR to a private directory of yours";
  default: return "remove it, or set XDG_RUNTIME_DIR (sessions then live in $XDG_RUNTIME_DIR/etwlua) "
                  "or ETWLUA_RUNTIME_DIR to a private directory of yours";
  }
}

/* A directory we may use: ours, a real directory (not a symlink), private.
** A refusal records its reason and fix (eng_detail). */
static int check_dir(const char *path, int source) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    int e = errno, status = shm_errno_status(e);
    eng_detail_set(status, "runtime directory %s: %s: %s", path, strerror(e), dir_fix(source));
    return status;
  }
  const char *why = NULL;
  char buf[96];
  if (S_ISLNK(st.st_mode)) why = "is a symbolic link (refused: it could point anywhere)";
  else if (!S_ISDIR(st.st_mode)) why = "is not a directory";
  else if (st.st_uid != geteuid()) {
    snprintf(buf, sizeof buf, "is owned by uid %u, not by you (uid %u)", (unsigned)st.st_uid,
             (unsigned)geteuid());
    why = buf;
  } else if ((st.st_mode & 077) != 0) {
    snprintf(buf, sizeof buf, "is open to other users (mode %04o; chmod 700 fixes it)",
             (unsigned)(st.st_mode & 07777));
    why = buf;
  }
  if (!why) return ENG_OK;
  eng_detail_set(ENG_E_ACCESS, "runtime directory %s %s: %s", path, why, dir_fix(source));
  return ENG_E_ACCESS;
}

static int make_dir(const char *path, int source) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST) {
    int e = errno, status = shm_errno_status(e);
    eng_detail_set(status, "cannot create runtime directory %s: %s: %s", path, strerror(e),
                   dir_fix(source));
    return status;
  }
  return check_dir(path, source);
}

int shm_runtime_dir(char *out, size_t cap) {
  const char *env = getenv("ETWLUA_RUNTIME_DIR");
  int n, source;
  if (env && *env) {
    n = snprintf(out, cap, "%s", env);
    source = 0;
  } else if ((env = getenv("XDG_RUNTIME_DIR")) && *env) {
    n = snprintf(out, cap, "%s/etwlua", env);
    source = 1;
  } else {
    struct stat st;
    const char *base = (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)) ? "/dev/shm" : "/tmp";
    n = snprintf(out, cap, "%s/etwlua-%u", base, (unsigned)geteuid());
    source = 2;
  }
  if (n <= 0 || (size_t)n >= cap - 32) {
    eng_detail_set(ENG_E_ARG, "runtime directory path too long (%d bytes)", n);
    return ENG_E_ARG;
  }
  return make_dir(out, source);
}

/* ================================================================ files */

static int check_file(const char *path, int fd, uint64_t *size) {
  struct stat st;
  if (fstat(fd, &st) != 0) return shm_errno_status(errno);
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    eng_detail_set(ENG_E_ACCESS, "engine file %s is not a private regular file of yours "
                   "(uid %u, mode %04o): remove it", path, (unsigned)st.st_uid,
                   (unsigned)(st.st_mode & 07777));
    return ENG_E_ACCESS;
  }
  *size = (uint64_t)st.st_size;
  return ENG_OK;
}

int shm_file_open(const char *path, int *fd, uint64_t *size) {
  int f = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (f < 0) {
    if (errno == ENOENT) return ENG_E_NOTFOUND;
    int e = errno, status = shm_errno_status(e);
    eng_detail_set(status, "engine file %s: %s", path, strerror(e));
    return status;
  }
  int st = check_file(path, f, size);
  if (st != ENG_OK) { close(f); return st; }
  *fd = f;
  return ENG_OK;
}

int shm_file_create(const char *path, uint64_t size, int *fd) {
  int f = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (f < 0) return errno == EEXIST ? ENG_E_EXISTS : shm_errno_status(errno);
  if (fchmod(f, 0600) != 0 || ftruncate(f, (off_t)size) != 0) {
    int st = shm_errno_status(errno);
    close(f);
    unlink(path);
    return st;
  }
  *fd = f;
  return ENG_OK;
}

int shm_map(int fd, uint64_t off, uint64_t len, void **out) {
  void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
  if (p == MAP_FAILED) return errno == ENOMEM ? ENG_E_NOMEM : ENG_E_IO;
  *out = p;
  return ENG_OK;
}

/* ============================================================ processes */

/* The state letter, field 20 (num_threads) and field 22 (starttime) of
** /proc/<pid>/stat; the comm field may contain spaces and parentheses, so
** parse after the last ')'. */
static int read_stat(int32_t pid, char *state, long *threads, uint64_t *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return -1;
  *state = p[2];
  p += 2;
  for (int field = 3; field < 22; field++) {   /* p points at field 3 */
    if (field == 20) *threads = strtol(p, NULL, 10);
    p = strchr(p, ' ');
    if (!p) return -1;
    p++;
  }
  *start = strtoull(p, NULL, 10);
  return 0;
}

uint64_t shm_proc_start(int32_t pid) {
  char state;
  long threads;
  uint64_t start;
  return read_stat(pid, &state, &threads, &start) == 0 ? start : 0;
}

/* A process whose main thread called pthread_exit() shows state Z while its
** other threads run on: only a zombie with no thread left besides the
** exited leader is dead. */
int shm_proc_alive(int32_t pid, uint64_t start) {
  if (pid <= 0) return 0;
  if (kill(pid, 0) != 0 && errno != EPERM) return 0;
  char state;
  long threads = 0;
  uint64_t now;
  if (read_stat(pid, &state, &threads, &now) != 0) return 1;   /* no /proc: trust kill() */
  if (state == 'X' || (state == 'Z' && threads <= 1)) return 0;
  return start == 0 || now == start;
}

uint64_t shm_pidns(void) {
  uint64_t ns = atomic_load_explicit(&g_pidns, memory_order_relaxed);
  if (ns == 0) {
    struct stat st;
    ns = stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 1;   /* 1: unknown */
    atomic_store_explicit(&g_pidns, ns, memory_order_relaxed);
  }
  return ns == 1 ? 0 : ns;
}

/* kill(pid, 0) and /proc speak of this pid namespace only: a process of
** another one (a container sharing the runtime directory) cannot be judged,
** so it counts as alive; `stop NAME` still removes its sessions. */
int shm_proc_alive_ns(int32_t pid, uint64_t start, uint64_t ns) {
  uint64_t mine = shm_pidns();
  if (ns != 0 && mine != 0 && ns != mine) return 1;
  return shm_proc_alive(pid, start);
}

int shm_not_mine(int32_t owner, const char *what) {
  eng_detail_set(ENG_E_BUSY, "this %s belongs to process %d (inherited across fork): "
                 "open or start your own", what, (int)owner);
  return ENG_E_BUSY;
}

int32_t shm_pid(void) {
  int32_t p = atomic_load_explicit(&g_pid, memory_order_relaxed);
  if (SHM_UNLIKELY(p == 0)) {
    p = (int32_t)getpid();
    atomic_store_explicit(&g_pid, p, memory_order_relaxed);
  }
  return p;
}

uint64_t shm_pid_start(void) {
  uint64_t s = atomic_load_explicit(&g_start, memory_order_relaxed);
  if (s == 0) {
    s = shm_proc_start(shm_pid());
    atomic_store_explicit(&g_start, s, memory_order_relaxed);
  }
  return s;
}

uint32_t shm_gettid(void) {
  unsigned fg = atomic_load_explicit(&shm_fork_gen, memory_order_relaxed);
  if (SHM_UNLIKELY(t_tid_gen != fg)) {
    t_tid = (uint32_t)syscall(SYS_gettid);
    t_tid_gen = fg;
  }
  return t_tid;
}

static void atfork_child(void) {
  atomic_fetch_add_explicit(&shm_fork_gen, 1, memory_order_relaxed);
  atomic_store_explicit(&g_pid, 0, memory_order_relaxed);
  atomic_store_explicit(&g_start, 0, memory_order_relaxed);
  atomic_store_explicit(&g_pidns, 0, memory_order_relaxed);   /* the parent may have unshared */
}

static void os_init_once(void) {
  pthread_atfork(NULL, NULL, atfork_child);
  shm_clock_kind();
}

void shm_os_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, os_init_once);
}

/* ================================================================ futex */

void shm_futex_wait(_Atomic uint32_t *w, uint32_t val, int timeout_ms) {
#ifdef __linux__
  struct timespec ts, *tp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
    tp = &ts;
  }
  syscall(SYS_futex, w, FUTEX_WAIT, val, tp, NULL, 0);
#else
  (void)w; (void)val;
  struct timespec ts = {0, 1000000L};             /* portable fallback: poll */
  if (timeout_ms > 0) nanosleep(&ts, NULL);
#endif
}

void shm_futex_wake(_Atomic uint32_t *w) {
#ifdef __linux__
  syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
#else
  (void)w;
#endif
}

void shm_wake(shm_sess_hdr *h) {
  atomic_fetch_add_explicit(&h->wake_seq, 1, memory_order_release);
  shm_futex_wake(&h->wake_seq);
}

/* ================================================================ clock */

int64_t shm_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t shm_real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* TSC only where the kernel itself keeps time with it: then it is invariant
** and synchronised across CPUs (the kernel demotes an unstable TSC). */
int shm_clock_kind(void) {
  if (shm_clock_kind_cached) return shm_clock_kind_cached;
  int kind = SHM_CLOCK_MONO;
#if defined(__x86_64__)
  char buf[32] = {0};
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) > 0 && strncmp(buf, "tsc\n", 4) == 0) kind = SHM_CLOCK_TSC;
    close(fd);
  }
#endif
  shm_clock_kind_cached = kind;
  return kind;
}

uint32_t shm_cpu_slow(void) {
  int c = sched_getcpu();
  return c < 0 ? 0 : (uint32_t)c;
}
