/*
** win_errors.c: what the Windows backend makes of Win32 results (spec
** windows-etw §2.3, §2.5, §4.3, §5.3): error -> eng_status, how a consumer's
** ProcessTrace ended, whether a taken session name may be taken over, which
** TDH failures are remembered. Pure: unit-tested on Linux.
*/
#include <string.h>

#include "winp.h"
#include "engine.h"

int winp_status(uint32_t err) {
  switch (err) {
    case WINP_ERR_SUCCESS: return ENG_OK;
    case WINP_ERR_ACCESS_DENIED: return ENG_E_ACCESS;
    case WINP_ERR_ALREADY_EXISTS: return ENG_E_EXISTS;
    case WINP_ERR_NO_SYSTEM_RESOURCES: return ENG_E_FULL;
    case WINP_ERR_NOT_ENOUGH_MEMORY: case WINP_ERR_OUTOFMEMORY: return ENG_E_NOMEM;
    case WINP_ERR_WMI_INSTANCE_NOT_FOUND: return ENG_E_NOTFOUND;
    case WINP_ERR_BAD_LENGTH: case WINP_ERR_INVALID_PARAMETER: case WINP_ERR_BAD_PATHNAME:
      return ENG_E_ARG;
    case WINP_ERR_TIMEOUT: return ENG_E_TIMEOUT;
    case WINP_ERR_CALL_NOT_IMPLEMENTED: case WINP_ERR_NOT_SUPPORTED: return ENG_E_UNSUPPORTED;
    default: return ENG_E_IO;
  }
}

int winp_trace_end_status(uint32_t pt, int stopping) {
  if (stopping) return ENG_E_STOPPED;
  switch (pt) {
    case WINP_ERR_SUCCESS: case WINP_ERR_CANCELLED: return ENG_E_STOPPED;
    case WINP_ERR_WMI_INSTANCE_NOT_FOUND: return ENG_E_NOTFOUND;
    case WINP_ERR_ACCESS_DENIED: return ENG_E_ACCESS;
    case WINP_ERR_NOT_ENOUGH_MEMORY: case WINP_ERR_OUTOFMEMORY: return ENG_E_NOMEM;
    default: return ENG_E_IO;   /* 998 callback fault, 6, 1901, ... */
  }
}

#define WINP_MODE_REAL_TIME_BIT 0x00000100u

int winp_consumer_precheck(uint32_t query_rc, uint32_t mode) {
  if (query_rc == WINP_ERR_SUCCESS || query_rc == WINP_ERR_MORE_DATA)
    return (mode & WINP_MODE_REAL_TIME_BIT) ? ENG_OK : ENG_E_BUSY;
  if (query_rc == WINP_ERR_WMI_INSTANCE_NOT_FOUND) return ENG_E_NOTFOUND;
  if (query_rc == WINP_ERR_ACCESS_DENIED) return ENG_E_ACCESS;
  /* anything else: let OpenTraceW / ProcessTrace give the answer */
  return ENG_OK;
}

int winp_start_takeover(const char *name, int replace, int (*alive)(uint32_t pid)) {
  if (replace) return 1;
  if (!name || !winp_name_is_ours(name)) return 0;   /* owner unknown: not ours to stop */
  uint32_t pid = winp_name_pid(name);
  if (!pid) return 0;
  return alive ? !alive(pid) : 0;
}

int winp_tdh_failure_cacheable(uint32_t err) {
  return err == WINP_ERR_NOT_FOUND || err == WINP_ERR_FILE_NOT_FOUND ||
         err == WINP_ERR_INVALID_PARAMETER;
}
