/*
** win_sources.c: engine.h kernel sources on the ETW backend. None yet: the
** Windows kernel providers by name are issue 12's Windows half; until then
** every name is a TraceLogging or manifest provider id (eng_session_enable).
*/
#include "engine.h"

int eng_source_is_kernel(const char *name) {
  (void)name;
  return 0;
}

int eng_session_enable_source(eng_session *s, const char *name, uint8_t level, uint64_t any,
                              uint64_t all, const eng_enable_opts *opts) {
  (void)s; (void)name; (void)level; (void)any; (void)all; (void)opts;
  return ENG_E_UNSUPPORTED;
}

int eng_session_disable_source(eng_session *s, const char *name) {
  (void)s; (void)name;
  return ENG_E_UNSUPPORTED;
}

/* ETW has the list (TdhEnumerateProviders, or the registered providers of
** running processes through EnumerateTraceGuidsEx): not read yet. */
int eng_user_providers(int (*fn)(void *ctx, const eng_user_provider *in), void *ctx) {
  (void)fn; (void)ctx;
  return ENG_OK;
}

int eng_kernel_sources(int tracepoints, int (*fn)(void *ctx, const eng_source_info *in),
                       void *ctx) {
  (void)tracepoints; (void)fn; (void)ctx;
  return ENG_OK;
}
