/*
** shm_provreg.c: which TraceLogging providers the running processes of
** this user registered (engine.h eng_user_providers, `etwlua providers`).
** The shared registry keeps provider ids only, and for sessions; names are
** known to the registering process alone. So each process that has
** providers keeps a small text file in the runtime directory,
** providers.PID: a first line "etwlua-providers START PIDNS" (its start
** time and pid namespace, so a recycled pid is not taken for it), then
** "GUID NAME" per provider. It is rewritten (temp file + rename, so a
** reader sees the old or the new list) when a provider is registered or
** unregistered, removed with its last provider; a process that died leaves
** it behind, and the lister removes such files. Best effort: a failure
** here never fails a registration.
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlg_guid.h"
#include "shm_int.h"

#define NAME_MAX_LEN 256

typedef struct reg_entry {
  tlg_guid id;
  char name[NAME_MAX_LEN];
  unsigned refs;
} reg_entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static reg_entry *g_list;
static size_t g_n, g_cap;

/* The provider name in a traits blob (u16 size, then the NUL-terminated name). */
static int traits_name(const uint8_t *traits, size_t len, char *out) {
  if (len < 3) return -1;
  const uint8_t *z = memchr(traits + 2, 0, len - 2);
  size_t n = z ? (size_t)(z - (traits + 2)) : 0;
  if (!z || n == 0 || n >= NAME_MAX_LEN) return -1;
  for (size_t i = 0; i < n; i++)
    if (traits[2 + i] < 0x20 || traits[2 + i] == 0x7f) return -1;   /* one line per provider */
  memcpy(out, traits + 2, n);
  out[n] = 0;
  return 0;
}

static void file_path(char *out, size_t cap, const char *dir, int32_t pid, const char *suffix) {
  snprintf(out, cap, "%s/providers.%d%s", dir, (int)pid, suffix);
}

/* Under g_lock: write the list as this process's file (none when empty). */
static void rewrite(void) {
  char dir[SHM_PATH_MAX], path[SHM_PATH_MAX + 64], tmp[SHM_PATH_MAX + 64];
  if (shm_runtime_dir(dir, sizeof dir) != ENG_OK) return;
  int32_t pid = shm_pid();
  file_path(path, sizeof path, dir, pid, "");
  if (g_n == 0) { unlink(path); return; }
  file_path(tmp, sizeof tmp, dir, pid, ".tmp");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  FILE *f = fdopen(fd, "w");
  if (!f) { close(fd); unlink(tmp); return; }
  fprintf(f, "etwlua-providers %llu %llu\n", (unsigned long long)shm_pid_start(),
          (unsigned long long)shm_pidns());
  for (size_t i = 0; i < g_n; i++) {
    char g[TLG_GUID_TEXT];
    tlg_guid_format(&g_list[i].id, g);
    fprintf(f, "%s %s\n", g, g_list[i].name);
  }
  if (fclose(f) != 0 || rename(tmp, path) != 0) unlink(tmp);
}

static int find(const tlg_guid *id, const char *name) {
  for (size_t i = 0; i < g_n; i++)
    if (memcmp(&g_list[i].id, id, sizeof *id) == 0 && strcmp(g_list[i].name, name) == 0)
      return (int)i;
  return -1;
}

void shm_provreg_add(const tlg_guid *id, const uint8_t *traits, size_t len) {
  char name[NAME_MAX_LEN];
  if (traits_name(traits, len, name) != 0) return;      /* nameless: nothing to list */
  pthread_mutex_lock(&g_lock);
  int i = find(id, name);
  if (i >= 0) g_list[i].refs++;
  else {
    if (g_n == g_cap) {
      size_t cap = g_cap ? g_cap * 2 : 8;
      reg_entry *p = realloc(g_list, cap * sizeof *p);
      if (!p) { pthread_mutex_unlock(&g_lock); return; }
      g_list = p;
      g_cap = cap;
    }
    g_list[g_n].id = *id;
    snprintf(g_list[g_n].name, sizeof g_list[g_n].name, "%s", name);
    g_list[g_n].refs = 1;
    g_n++;
    rewrite();
  }
  pthread_mutex_unlock(&g_lock);
}

void shm_provreg_remove(const tlg_guid *id, const uint8_t *traits, size_t len) {
  char name[NAME_MAX_LEN];
  if (traits_name(traits, len, name) != 0) return;
  pthread_mutex_lock(&g_lock);
  int i = find(id, name);
  if (i >= 0 && --g_list[i].refs == 0) {
    g_list[i] = g_list[--g_n];
    rewrite();
  }
  pthread_mutex_unlock(&g_lock);
}

/* ================================================================ listing */

/* One providers.PID file: its providers to fn if its process runs, else
** the file is removed. Returns fn's non-zero to stop. */
static int list_file(const char *dir, const char *fname, int32_t pid,
                     int (*fn)(void *ctx, const eng_user_provider *in), void *ctx) {
  char path[SHM_PATH_MAX + 300], line[NAME_MAX_LEN + 64];
  snprintf(path, sizeof path, "%s/%s", dir, fname);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!f) { if (fd >= 0) close(fd); return 0; }
  unsigned long long start, ns;
  int r = 0;
  if (!fgets(line, sizeof line, f) ||
      sscanf(line, "etwlua-providers %llu %llu", &start, &ns) != 2) {
    fclose(f);
    return 0;                                    /* not ours, or being written */
  }
  if (!shm_proc_alive_ns(pid, (uint64_t)start, (uint64_t)ns)) {
    fclose(f);
    unlink(path);                                /* its process died without unregistering */
    return 0;
  }
  while (!r && fgets(line, sizeof line, f)) {
    char *sp = strchr(line, ' ');
    size_t n = strcspn(line, "\n");
    line[n] = 0;
    eng_user_provider in;
    if (!sp || tlg_guid_parse(line, (size_t)(sp - line), &in.id) != TLG_OK) continue;
    in.name = sp + 1;
    in.pid = (uint32_t)pid;
    r = fn(ctx, &in);
  }
  fclose(f);
  return r;
}

int eng_user_providers(int (*fn)(void *ctx, const eng_user_provider *in), void *ctx) {
  char dir[SHM_PATH_MAX];
  if (!fn) return ENG_E_ARG;
  int st = shm_runtime_dir(dir, sizeof dir);
  if (st != ENG_OK) return st;
  DIR *d = opendir(dir);
  if (!d) return shm_errno_status(errno);
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    if (strncmp(e->d_name, "providers.", 10) != 0) continue;
    long pid = strtol(e->d_name + 10, &end, 10);
    if (*end || pid <= 0 || pid > INT32_MAX) continue;   /* the .tmp files too */
    if (list_file(dir, e->d_name, (int32_t)pid, fn, ctx)) break;
  }
  closedir(d);
  return ENG_OK;
}
