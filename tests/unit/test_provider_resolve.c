/*
** test_provider_resolve.c: eng_provider_resolve of the backend built in
** (issue 12). Linux (shm engine): Linux-Kernel-* names are refused with a
** detail naming the Windows provider, never hashed into a provider nobody
** writes; other names are left to the TraceLogging hash. Windows: the
** aliases give the Windows providers' GUIDs (SystemEvents.man), and a name
** no provider registered is left to the hash (under Wine TDH is never
** called, so every non-alias name). Real Windows' TdhEnumerateProviders
** is checked by `etwlua --selftest`.
*/
#include <string.h>

#include "engine.h"
#include "unit_check.h"
#include "tlg_guid.h"

static int resolve(const char *name, char text[TLG_GUID_TEXT]) {
  tlg_guid g;
  memset(&g, 0, sizeof g);
  int st = eng_provider_resolve(name, strlen(name), &g);
  tlg_guid_format(&g, text);
  return st;
}

int main(void) {
  char t[TLG_GUID_TEXT];
  int st = resolve("Some.TraceLogging.Provider", t);
  check(st == ENG_E_NOTFOUND, "a TraceLogging name is left to the hash (got %d)", st);
#ifdef _WIN32
  st = resolve("Linux-Kernel-Process", t);
  check(st == ENG_OK && strcmp(t, "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716") == 0,
        "Linux-Kernel-Process = Microsoft-Windows-Kernel-Process (%d, %s)", st, t);
  st = resolve("LINUX-KERNEL-FILE", t);
  check(st == ENG_OK && strcmp(t, "edd08927-9cc4-4e65-b970-c2560fb5c289") == 0,
        "Linux-Kernel-File (any case) = Microsoft-Windows-Kernel-File (%d, %s)", st, t);
  st = resolve("Linux-Kernel-Network", t);
  check(st == ENG_OK && strcmp(t, "7dd42a49-5329-4832-8dfd-43d979153a88") == 0,
        "Linux-Kernel-Network = Microsoft-Windows-Kernel-Network (%d, %s)", st, t);
#else
  st = resolve("Linux-Kernel-Process", t);
  check(st == ENG_E_UNSUPPORTED, "Linux-Kernel-Process without a kernel source: UNSUPPORTED (%d)", st);
  check(strstr(eng_detail(st), "Microsoft-Windows-Kernel-Process") != NULL,
        "the detail names the Windows provider: %s", eng_detail(st));
  st = resolve("Microsoft-Windows-Kernel-Process", t);
  check(st == ENG_E_NOTFOUND, "a Windows manifest name is left to the hash on Linux (%d)", st);
#endif
  return unit_finish();
}
