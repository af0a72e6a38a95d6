/*
** win_kernel.c: how a session gets kernel events (spec windows-etw §3):
** the NT kernel logger or a private system logger, and its properties.
*/
#include <string.h>

#include "winp.h"
#include "eng_sysprov.h"

const uint8_t winp_system_trace_guid[16] = {0xad, 0x4a, 0x81, 0x9e, 0x04, 0x32, 0xd2, 0x11,
                                            0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39};

int winp_kernel_plan(const char *name, uint32_t flags, const uint8_t fresh[16],
                     winp_props_in *in) {
  in->enable_flags = flags;
  in->system_logger = 0;
  in->guid = NULL;
  if (eng_is_kernel_logger(name)) {
    /* NEWFILE (max_mb rotation) is not for the kernel logger (Logging Mode Constants) */
    if (!flags || in->newfile) return -1;
    in->guid = winp_system_trace_guid;   /* ETW forces it for this name anyway */
    return 0;
  }
  if (!flags) return 0;
  in->system_logger = 1;
  in->guid = fresh;
  return 0;
}
