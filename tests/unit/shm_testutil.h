/*
** shm_testutil.h: helpers of the shm engine tests (test_shm_*.c): a
** private runtime directory per test process (never a user's real
** sessions; tests run in parallel), alarm guards, events to write. The
** counters, check and skip are unit_check.h's.
*/
#ifndef SHM_TESTUTIL_H
#define SHM_TESTUTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "unit_check.h"

static char test_dir[256];
static pid_t test_owner;          /* only the process that made test_dir removes it */

/* CHECK(ok, fmt, ...): a check of unit_check.h that names its source line. */
#define CHECK(ok, ...) check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

static inline void test_cleanup(void) {
  if (test_dir[0] && getpid() == test_owner) nftw(test_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A process that removes test_dir once every holder of the pipe's write
** end (this test and the children it forks) is gone, however they ended:
** the alarm guard, an ASan abort or SIGKILL skip atexit. It is a
** grandchild (reparented at once), so that tests waiting for their own
** children never wait for it; it ignores the terminal's signals so that a
** Ctrl+C of the run still cleans up, and holds none of the test's output. */
static inline void test_watchdog(void) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t a = fork();
  if (a == 0) {
    close(fds[1]);
    if (fork() == 0) {
      int null = open("/dev/null", O_RDWR);
      for (int fd = 0; fd < 3 && null >= 0; fd++) dup2(null, fd);
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_IGN);
      signal(SIGHUP, SIG_IGN);
      char c;
      ssize_t r;
      do r = read(fds[0], &c, 1); while (r > 0 || (r < 0 && errno == EINTR));
      nftw(test_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    _exit(0);
  }
  close(fds[0]);
  if (a > 0) waitpid(a, NULL, 0);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);              /* programs the test runs do not hold it */
}

/* Private ETWLUA_RUNTIME_DIR (mkdtemp: 0700), removed at exit (or by the
** watchdog); alarm guard. */
static inline void test_setup(unsigned alarm_s) {
  alarm(alarm_s);
  const char *bases[] = {"/dev/shm", "/tmp"};
  for (int i = 0; i < 2; i++) {
    snprintf(test_dir, sizeof test_dir, "%s/etwlua-test-XXXXXX", bases[i]);
    if (mkdtemp(test_dir)) break;
    test_dir[0] = 0;
  }
  if (!test_dir[0]) {
    check(0, "mkdtemp: %s", strerror(errno));
    exit(unit_finish());
  }
  setenv("ETWLUA_RUNTIME_DIR", test_dir, 1);
  test_owner = getpid();
  atexit(test_cleanup);
  test_watchdog();
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int64_t now_filetime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 10000000 + ts.tv_nsec / 100 + 116444736000000000LL;
}

static inline uint32_t my_tid(void) { return (uint32_t)syscall(SYS_gettid); }

/* ----- events: a fixed provider, traits and metadata; a payload naming its
** writer (producer index, thread index, tid) and a per-thread counter. */
static const tlg_guid T_PROV = {{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}};
static const uint8_t T_TRAITS[] = {12, 0, 'T', 'e', 's', 't', '.', 'P', 'r', 'o', 'v', 0};
static const uint8_t T_META[] = {14, 0, 0, 'E', 'v', 0, 'n', 0, 10, 'x', 0, 8, 'y', 0};

typedef struct t_payload {
  uint32_t producer, thread, tid, pad;
  uint64_t counter;
} t_payload;

static inline int t_write(eng_provider *p, uint8_t level, uint64_t kw, uint16_t id, const t_payload *pl,
                   const tlg_guid *act, const tlg_guid *rel) {
  tlg_desc d = {.id = id, .version = 1, .channel = 11, .level = level, .opcode = 2,
                .task = 7, .keyword = kw};
  eng_data dd[3] = {{T_TRAITS, sizeof T_TRAITS, ENG_DATA_PROVIDER_META, {0}},
                    {T_META, sizeof T_META, ENG_DATA_EVENT_META, {0}},
                    {pl, sizeof *pl, ENG_DATA_PAYLOAD, {0}}};
  return eng_provider_write(p, &d, act, rel, 3, dd);
}

static inline int t_payload_of(const rec_record *r, t_payload *pl) {
  if (r->kind != REC_KIND_EVENT || r->data_len != sizeof *pl) return 0;
  memcpy(pl, r->data, sizeof *pl);
  return 1;
}

/* Wait for a child; its exit status (or 128 + signal). */
static inline int wait_child(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline eng_session *t_start(const char *name, uint32_t buffer_kb, uint32_t min_buffers,
                            uint32_t flush_ms) {
  eng_session_opts o = {0};
  o.buffer_kb = buffer_kb;
  o.min_buffers = min_buffers;
  o.flush_ms = flush_ms;
  eng_session *s = NULL;
  int st = eng_session_start(name, &o, &s);
  CHECK(st == ENG_OK, "start %s: %s", name, eng_strerror(st));
  return s;
}

/* t_start and a consumer of the session in *c; NULL (nothing left
** running) when either failed. */
static inline eng_session *t_start_read(const char *name, uint32_t buffer_kb,
                                        uint32_t min_buffers, uint32_t flush_ms, eng_consumer **c) {
  eng_session *s = t_start(name, buffer_kb, min_buffers, flush_ms);
  *c = NULL;
  if (!s) return NULL;
  int st = eng_consumer_open(name, c);
  CHECK(st == ENG_OK, "consumer of %s: %s", name, eng_strerror(st));
  if (st == ENG_OK) return s;
  *c = NULL;
  eng_session_stop(s);
  eng_session_close(s);
  return NULL;
}

#endif
