/*
** eng_sysprov.c: the tables of eng_sysprov.h. Flag values are those of
** EVENT_TRACE_PROPERTIES' EnableFlags (EVENT_TRACE_FLAG_*, spec
** windows-etw §3); the Windows build checks them against evntrace.h
** (win_session.c). GUIDs are SystemEvents.man's.
*/
#include <string.h>

#include "eng_sysprov.h"

const eng_kernel_alias eng_kernel_aliases[] = {
  {"Linux-Kernel-Process", "Microsoft-Windows-Kernel-Process",
   "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716"},
  {"Linux-Kernel-File", "Microsoft-Windows-Kernel-File", "edd08927-9cc4-4e65-b970-c2560fb5c289"},
  {"Linux-Kernel-Network", "Microsoft-Windows-Kernel-Network",
   "7dd42a49-5329-4832-8dfd-43d979153a88"},
  {NULL, NULL, NULL}};

/* disk_io adds DISK_FILE_IO (0x200): the FileIo/Name events that give
** disk I/O its file names, and which ETW accepts only with DISK_IO.
** file_io adds FILE_IO_INIT (0x04000000): the request events (create,
** read, write ...), where FILE_IO alone gives only their completions. */
const eng_kernel_group eng_kernel_groups[] = {
  {"process", 0x00000001u},                  /* PROCESS */
  {"thread", 0x00000002u},                   /* THREAD */
  {"image_load", 0x00000004u},               /* IMAGE_LOAD */
  {"cswitch", 0x00000010u},                  /* CSWITCH */
  {"disk_io", 0x00000100u | 0x00000200u},    /* DISK_IO | DISK_FILE_IO */
  {"file_io", 0x02000000u | 0x04000000u},    /* FILE_IO | FILE_IO_INIT */
  {"network", 0x00010000u},                  /* NETWORK_TCPIP */
  {"registry", 0x00020000u},                 /* REGISTRY */
  {NULL, 0}};

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++)
    if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) return 0;
  return 1;
}

const eng_kernel_alias *eng_kernel_alias_find(const char *name, size_t len) {
  if (!name) return NULL;
  for (const eng_kernel_alias *a = eng_kernel_aliases; a->name; a++)
    if (ieq(name, len, a->name)) return a;
  return NULL;
}

uint32_t eng_kernel_group_flags(const char *name) {
  if (!name) return 0;
  for (const eng_kernel_group *g = eng_kernel_groups; g->name; g++)
    if (strcmp(g->name, name) == 0) return g->flags;
  return 0;
}

const char *eng_kernel_group_list(void) {
  return "process, thread, image_load, cswitch, disk_io, file_io, network, registry";
}

int eng_is_kernel_logger(const char *name) {
  return name && ieq(name, strlen(name), "NT Kernel Logger");
}
