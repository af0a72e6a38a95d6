/*
** eng_source.c: one record-source interface over the three ways records
** arrive (engine.h "source"): a live session and files the backend reads
** (both eng_consumer) and files src/etl reads (eng_files). The choice of
** reader for files is engine policy and lives here, not in the binding.
*/
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "eng_files.h"

struct eng_source {
  eng_consumer *c;    /* live session, or files through the backend */
  eng_files *f;       /* files through src/etl */
};

static int source_new(eng_source **out) {
  *out = calloc(1, sizeof **out);
  return *out ? ENG_OK : ENG_E_NOMEM;
}

int eng_source_open_session(const char *name, eng_source **out) {
  eng_source *s;
  int st = source_new(&s);
  if (st == ENG_OK) st = eng_consumer_open(name, &s->c);
  if (st != ENG_OK) {
    eng_source_close(s);
    s = NULL;
  }
  *out = s;
  return st;
}

/* The backend reads at most a few files and not everywhere: in AUTO mode
** those cases fall back to src/etl. */
static int open_system(eng_source *s, const char *const *paths, size_t n, eng_reader reader) {
  if (reader == ENG_READER_ETWLUA) return ENG_E_UNSUPPORTED;
  int st = eng_consumer_open_files(paths, n, &s->c);
  if (st == ENG_E_FULL && reader == ENG_READER_AUTO) return ENG_E_UNSUPPORTED;
  return st;
}

int eng_source_open_files(const char *const *paths, size_t n, eng_reader reader,
                          eng_source **out, char *why, size_t cap) {
  eng_source *s;
  if (cap) why[0] = '\0';
  int st = source_new(&s);
  if (st == ENG_OK) st = open_system(s, paths, n, reader);
  if (st == ENG_E_UNSUPPORTED && reader != ENG_READER_SYSTEM)
    st = eng_files_open(paths, n, &s->f, why, cap);
  if (st != ENG_OK) {
    eng_source_close(s);
    s = NULL;
  }
  *out = s;
  return st;
}

int eng_source_next(eng_source *s, rec_record *rec, int timeout_ms) {
  return s->f ? eng_files_next(s->f, rec) : eng_consumer_next(s->c, rec, timeout_ms);
}

void eng_source_stop(eng_source *s) {
  if (s->f) eng_files_stop(s->f);
  else eng_consumer_stop(s->c);
}

void eng_source_close(eng_source *s) {
  if (!s) return;
  eng_files_close(s->f);
  eng_consumer_close(s->c);
  free(s);
}

const char *eng_source_corrupt_detail(eng_source *s, const char **file, uint64_t *offset) {
  return s->f ? eng_files_corrupt_detail(s->f, file, offset) : NULL;
}

int eng_source_file_at(eng_source *s, size_t i, eng_source_file *out) {
  *out = (eng_source_file){0};
  if (s->f) {
    if (i >= eng_files_count(s->f)) return ENG_E_ARG;
    const etl_reader *r = eng_files_reader(s->f, i, &out->path);
    out->reader = "etwlua";
    out->etl = etl_get_info(r);
    out->stats = etl_get_stats(r);
    return ENG_OK;
  }
  out->reader = "etw";
  int st = eng_consumer_file_info(s->c, i, &out->sys);
  return st == ENG_OK ? ENG_OK : ENG_E_ARG;
}
