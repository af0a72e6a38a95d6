/*
** eng_none.c: the engine on platforms without a backend yet (Windows until
** engine/win lands). Providers register and are never enabled, as with ETW
** when no session listens; session and consumer calls say ENG_E_UNSUPPORTED.
*/
#include <stdlib.h>

#include "../engine.h"

struct eng_provider {
  eng_provider_head head; /* must be first: eng_enabled reads it */
};

static const eng_enable_state never_enabled; /* level_plus1 == 0: disabled */

int eng_provider_register(const tlg_guid *id, const void *traits, size_t traits_len,
                          eng_provider **out) {
  *out = NULL;
  if (!id || (traits_len && !traits) || traits_len > 65535) return ENG_E_ARG;
  eng_provider *p = malloc(sizeof *p);
  if (!p) return ENG_E_NOMEM;
  p->head.state = &never_enabled;
  *out = p;
  return ENG_OK;
}

int eng_provider_write(eng_provider *p, const tlg_desc *desc, const tlg_guid *activity,
                       const tlg_guid *related, size_t n, const eng_data *data) {
  (void)activity; (void)related; (void)data;
  if (!p || !desc || (n && !data)) return ENG_E_ARG;
  return ENG_OK; /* nobody listening */
}

void eng_provider_unregister(eng_provider *p) { free(p); }

int eng_session_start(const char *name, const eng_session_opts *opts, eng_session **out) {
  (void)name; (void)opts;
  *out = NULL;
  return ENG_E_UNSUPPORTED;
}

int eng_session_open(const char *name, eng_session **out) {
  (void)name;
  *out = NULL;
  return ENG_E_UNSUPPORTED;
}

/* No handle can exist, so the handle calls are unreachable; answer anyway. */
int eng_session_enable_ex(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any,
                          uint64_t all, const eng_enable_opts *o) {
  (void)s; (void)id; (void)level; (void)any; (void)all; (void)o;
  return ENG_E_UNSUPPORTED;
}

int eng_session_enable(eng_session *s, const tlg_guid *id, uint8_t level, uint64_t any, uint64_t all) {
  (void)s; (void)id; (void)level; (void)any; (void)all;
  return ENG_E_UNSUPPORTED;
}
int eng_session_disable(eng_session *s, const tlg_guid *id) { (void)s; (void)id; return ENG_E_UNSUPPORTED; }
int eng_session_flush(eng_session *s) { (void)s; return ENG_E_UNSUPPORTED; }
int eng_session_query(eng_session *s, eng_session_stats *st) { (void)s; (void)st; return ENG_E_UNSUPPORTED; }
int eng_session_stop(eng_session *s) { (void)s; return ENG_E_UNSUPPORTED; }
int eng_session_stop_name(const char *name) { (void)name; return ENG_E_UNSUPPORTED; }
void eng_session_close(eng_session *s) { (void)s; }

int eng_sessions_list(eng_session_info *out, size_t cap, size_t *count) {
  (void)out; (void)cap;
  *count = 0;
  return ENG_E_UNSUPPORTED;
}

int eng_consumer_open(const char *name, eng_consumer **out) {
  (void)name;
  *out = NULL;
  return ENG_E_UNSUPPORTED;
}
int eng_consumer_next(eng_consumer *c, eng_record *rec, int timeout_ms) {
  (void)c; (void)rec; (void)timeout_ms;
  return ENG_E_UNSUPPORTED;
}
/* .etl files are read by src/etl on this platform (lfiles.c) */
int eng_consumer_open_files(const char *const *paths, size_t n, eng_consumer **out) {
  (void)paths; (void)n;
  if (out) *out = NULL;
  return ENG_E_UNSUPPORTED;
}

int eng_consumer_file_info(eng_consumer *c, size_t i, eng_file_info *out) {
  (void)c; (void)i; (void)out;
  return ENG_E_UNSUPPORTED;
}

void eng_consumer_stop(eng_consumer *c) { (void)c; }
void eng_consumer_close(eng_consumer *c) { (void)c; }
