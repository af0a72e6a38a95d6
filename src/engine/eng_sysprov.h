/*
** eng_sysprov.h: names of system (kernel) event sources that every backend
** and the Lua layer read the same way (issue 12): the Linux-Kernel-*
** provider names and the Windows providers they stand for, and the group
** names of the `kernel` session option with their EVENT_TRACE_FLAG_* bits.
** Pure tables, no system calls; built on every platform.
*/
#ifndef ENG_SYSPROV_H
#define ENG_SYSPROV_H

#include <stddef.h>
#include <stdint.h>

#include "tlg_types.h"

/* Keywords of Microsoft-Windows-Kernel-Process (WINEVENT_KEYWORD_*), which
** Linux-Kernel-Process uses too, so one `any` selects on both. */
#define ENG_KW_PROCESS 0x10u
#define ENG_KW_THREAD 0x20u
#define ENG_KW_IMAGE 0x40u

/* One Linux-Kernel-* name and the Windows manifest provider it stands for. */
typedef struct eng_kernel_alias {
  const char *name;          /* "Linux-Kernel-Process" */
  const char *windows_name;  /* "Microsoft-Windows-Kernel-Process" */
  const char *windows_guid;  /* its GUID (SystemEvents.man), as text */
} eng_kernel_alias;

/* The alias of `name` (len bytes; ASCII case-insensitive, as Windows
** compares provider names), or NULL. */
const eng_kernel_alias *eng_kernel_alias_find(const char *name, size_t len);

/* The alias table, NULL-terminated. */
extern const eng_kernel_alias eng_kernel_aliases[];

/* Groups of the `kernel` session option (NT kernel logger / system
** logger EnableFlags, Windows only). */
typedef struct eng_kernel_group {
  const char *name;          /* "process" */
  uint32_t flags;            /* EVENT_TRACE_FLAG_* bits it sets */
} eng_kernel_group;
extern const eng_kernel_group eng_kernel_groups[];   /* NULL-terminated */

/* EnableFlags bits of group `name` (exact, lower case); 0 if unknown. */
uint32_t eng_kernel_group_flags(const char *name);

/* "process, thread, ..." : every group name, for error messages. */
const char *eng_kernel_group_list(void);

/* Is `name` the NT kernel logger's session name ("NT Kernel Logger",
** compared ASCII case-insensitively like every ETW session name)? */
int eng_is_kernel_logger(const char *name);

#endif
