/*
** win_resolve.c: eng_provider_resolve on ETW. A name is, in order: a
** Linux-Kernel-* alias (eng_sysprov.h: the Windows provider it stands
** for), a provider registered on this system (TdhEnumerateProviders:
** manifest and MOF providers, what `logman query providers` lists), or
** else a TraceLogging name the caller hashes. The enumeration is read once
** per process and kept: it is several hundred KB and takes milliseconds,
** and providers installed while a script runs are rare. A failed read is
** not kept, so a later call tries again.
*/
#ifdef _WIN32

#include <stdlib.h>
#include <string.h>

#include "win_int.h"
#include "eng_sysprov.h"
#include "tlg_guid.h"

static SRWLOCK lock = SRWLOCK_INIT;
static uint8_t *blob;        /* PROVIDER_ENUMERATION_INFO, once read */
static uint32_t blob_len;

static uint32_t enum_call(void *ctx, uint8_t *buf, uint32_t *size) {
  (void)ctx;
  ULONG sz = *size;
  ULONG rc = TdhEnumerateProviders((PPROVIDER_ENUMERATION_INFO)(void *)buf, &sz);
  *size = sz;
  return rc;
}

/* Under lock: read the enumeration if not yet read. 0 when there is one. */
static int load_locked(void) {
  if (blob) return 0;
  if (win_is_wine()) return -1;      /* TDH kills the process under Wine */
  uint8_t *b;
  uint32_t len;
  if (winp_two_call(enum_call, NULL, 4, &b, &len) != WINP_ERR_SUCCESS) return -1;
  blob = b;
  blob_len = len;
  return 0;
}

int eng_provider_resolve(const char *name, size_t len, tlg_guid *out) {
  if (!name || !out || len == 0) return ENG_E_ARG;
  const eng_kernel_alias *a = eng_kernel_alias_find(name, len);
  if (a) {
    tlg_guid_parse(a->windows_guid, strlen(a->windows_guid), out);
    return ENG_OK;
  }
  AcquireSRWLockExclusive(&lock);
  int found = load_locked() == 0 && winp_provenum_find(blob, blob_len, name, len, out->b) == 0;
  ReleaseSRWLockExclusive(&lock);
  return found ? ENG_OK : ENG_E_NOTFOUND;
}

#endif
