/*
** perf_list.c: what kernel sources can be enabled (etwlua providers): the
** named providers' events from their table, then every tracepoint tracefs
** lists (events/GROUP/NAME directories with a format file), like
** `bpftrace -l`.
*/
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "perf_int.h"
#include "perf_named.h"

static int list_named(int (*fn)(void *, const eng_source_info *), void *ctx) {
  const perf_named *const *all = perf_named_all();
  for (int i = 0; all[i]; i++)
    for (unsigned j = 0; j < all[i]->nmaps; j++) {
      const perf_map *m = &all[i]->maps[j];
      if (!m->event) continue;                       /* state only */
      char tp[160];
      snprintf(tp, sizeof tp, "%s:%s", m->group, m->tracepoint);
      eng_source_info in = {all[i]->name, m->event, tp, m->keyword, m->level, m->opcode};
      if (fn(ctx, &in)) return 1;
    }
  return 0;
}

/* Each events/GROUP/NAME with a format file, as tracepoint:GROUP:NAME. */
static int list_group(const char *root, const char *group,
                      int (*fn)(void *, const eng_source_info *), void *ctx) {
  char dir[PERF_PATH_MAX + 300];
  snprintf(dir, sizeof dir, "%s/events/%s", root, group);
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int stop = 0;
  while (!stop && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char fmt[PERF_PATH_MAX + 600];
    struct stat st;
    snprintf(fmt, sizeof fmt, "%s/%s/format", dir, e->d_name);
    if (stat(fmt, &st) != 0) continue;
    char prov[600], tp[600];
    snprintf(prov, sizeof prov, "tracepoint:%s:%s", group, e->d_name);
    snprintf(tp, sizeof tp, "%s:%s", group, e->d_name);
    eng_source_info in = {prov, e->d_name, tp, 0, 4, 0};
    stop = fn(ctx, &in);
  }
  closedir(d);
  return stop;
}

int perf_list(int tracepoints, int (*fn)(void *, const eng_source_info *), void *ctx) {
  if (!fn) return ENG_E_ARG;
  if (list_named(fn, ctx) || !tracepoints) return ENG_OK;
  char root[PERF_PATH_MAX];
  int st = perf_tracefs(root, sizeof root);
  if (st != ENG_OK) return st;
  char events[PERF_PATH_MAX + 16];
  snprintf(events, sizeof events, "%s/events", root);
  DIR *d = opendir(events);
  if (!d) return ENG_E_IO;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && list_group(root, e->d_name, fn, ctx)) break;
  closedir(d);
  return ENG_OK;
}
