/*
** shm_resolve.c: eng_provider_resolve on the shared-memory engine. No
** registry of manifest providers exists here: every name is a TraceLogging
** name, except the Linux-Kernel-* names, which only a kernel source can
** serve; hashing them would enable a provider nobody writes, silently.
*/
#include "engine.h"
#include "eng_detail.h"
#include "eng_sysprov.h"

int eng_provider_resolve(const char *name, size_t len, tlg_guid *out) {
  (void)out;
  const eng_kernel_alias *a = eng_kernel_alias_find(name, len);
  if (!a) return ENG_E_NOTFOUND;
  eng_detail_set(ENG_E_UNSUPPORTED,
                 "%s is a kernel source, which this build cannot read (no Linux kernel "
                 "tracepoint support); on Windows it stands for %s",
                 a->name, a->windows_name);
  return ENG_E_UNSUPPORTED;
}
