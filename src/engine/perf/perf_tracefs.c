/*
** perf_tracefs.c: where tracefs is, mounting it when it is not mounted and
** we may (as perf does; never unmounted: others may use it after us), and
** reading an event's `format` file into a tpf_format. ETWLUA_TRACEFS names
** another directory (tests; containers with tracefs elsewhere); it is then
** used as it is, never mounted.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eng_detail.h"
#include "perf_int.h"

static const char *const default_dirs[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static int has_events(const char *dir) {
  char p[PERF_PATH_MAX];
  struct stat st;
  snprintf(p, sizeof p, "%s/events", dir);
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int perf_tracefs(char *out, size_t cap) {
  const char *env = getenv("ETWLUA_TRACEFS");
  if (env && *env) {
    snprintf(out, cap, "%s", env);
    if (has_events(env)) return ENG_OK;
    eng_detail_set(ENG_E_NOTFOUND, "no tracefs at %s (ETWLUA_TRACEFS): %s/events is not a directory",
                   env, env);
    return ENG_E_NOTFOUND;
  }
  for (size_t i = 0; i < sizeof default_dirs / sizeof *default_dirs; i++)
    if (has_events(default_dirs[i])) { snprintf(out, cap, "%s", default_dirs[i]); return ENG_OK; }
  /* /sys/kernel/tracing unreadable (0700 root) reads as "no events": say ACCESS */
  if (access(default_dirs[0], X_OK) != 0 && errno == EACCES) {
    eng_detail_set(ENG_E_ACCESS, "tracefs at %s is not readable (needs root or CAP_PERFMON; "
                   "perf_event_paranoid=%d)", default_dirs[0], perf_paranoid());
    return ENG_E_ACCESS;
  }
  pthread_mutex_lock(&g_lock);
  int ok = mount("nodev", default_dirs[0], "tracefs", 0, NULL) == 0 || errno == EBUSY;
  int err = errno;
  pthread_mutex_unlock(&g_lock);
  if (ok && has_events(default_dirs[0])) { snprintf(out, cap, "%s", default_dirs[0]); return ENG_OK; }
  int st = err == EPERM || err == EACCES ? ENG_E_ACCESS : ENG_E_NOTFOUND;
  eng_detail_set(st, "tracefs is not mounted at %s and mounting it failed: %s (as root: "
                 "mount -t tracefs nodev %s)", default_dirs[0], strerror(err), default_dirs[0]);
  return st;
}

int perf_paranoid(void) {
  int v = -100;
  FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
  if (f) {
    if (fscanf(f, "%d", &v) != 1) v = -100;
    fclose(f);
  }
  return v;
}

/* GROUP and NAME: letters, digits and '_' only (they become a path). */
static int safe(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return 0;
  return 1;
}

int perf_read_format(const char *group, const char *name, tpf_format *out) {
  if (!safe(group) || !safe(name)) {
    eng_detail_set(ENG_E_ARG, "tracepoint '%s:%s': group and name are letters, digits and '_'",
                   group, name);
    return ENG_E_ARG;
  }
  char dir[PERF_PATH_MAX], path[PERF_PATH_MAX + 160];
  int st = perf_tracefs(dir, sizeof dir);
  if (st != ENG_OK) return st;
  snprintf(path, sizeof path, "%s/events/%s/%s/format", dir, group, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) {
      eng_detail_set(ENG_E_NOTFOUND, "no tracepoint %s:%s (see %s/events)", group, name, dir);
      return ENG_E_NOTFOUND;
    }
    st = e == EACCES || e == EPERM ? ENG_E_ACCESS : ENG_E_IO;
    eng_detail_set(st, "%s: %s (needs root or CAP_PERFMON; perf_event_paranoid=%d)", path,
                   strerror(e), perf_paranoid());
    return st;
  }
  size_t cap = 64 * 1024, len = 0;
  char *buf = malloc(cap);
  ssize_t r = 0;
  while (buf && len < cap && (r = read(fd, buf + len, cap - len)) > 0) len += (size_t)r;
  close(fd);
  if (!buf) return ENG_E_NOMEM;
  char err[200];
  if (r < 0 || tpf_parse(buf, len, out, err, sizeof err) != 0) {
    eng_detail_set(ENG_E_IO, "%s: %s", path, r < 0 ? strerror(errno) : err);
    free(buf);
    return ENG_E_IO;
  }
  free(buf);
  return ENG_OK;
}
