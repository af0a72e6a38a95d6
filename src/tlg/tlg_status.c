/*
** tlg_status.c: messages for tlg_status codes. Each names the rule broken,
** so bindings can put it straight into an error.
*/
#include "tlg_types.h"

static const char *const messages[TLG_STATUS_COUNT] = {
  [TLG_OK] = "ok",
  [TLG_E_STATE] = "EventBuilder is in an error state: call reset() first",
  [TLG_E_TAG] = "tag must fit in 28 bits (0..0x0FFFFFFF)",
  [TLG_E_NAME_NUL] = "name must not contain NUL",
  [TLG_E_FIELDS] = "too many fields (max 128)",
  [TLG_E_META] = "event exceeds 32768 metadata bytes",
  [TLG_E_DATA] = "event exceeds 65536 data bytes",
  [TLG_E_GUID_SIZE] = "GUID bytes must be 16 bytes",
  [TLG_E_SYSTEMTIME_SIZE] = "SYSTEMTIME bytes must be 16 bytes",
  [TLG_E_SID_SIZE] = "SID bytes must be 8 + 4 * SubAuthorityCount bytes",
  [TLG_E_STRUCT_COUNT] = "struct field count must be 1..127",
  [TLG_E_UTF16_ODD] = "UTF-16LE bytes must have an even length",
  [TLG_E_COUNTED] = "counted value exceeds 65535 bytes",
  [TLG_E_SEQ] = "sequence exceeds 65535 items",
  [TLG_E_NOMEM] = "out of memory",
  [TLG_E_ARG] = "invalid argument",
  [TLG_E_TRUNCATED] = "blob ends inside an item",
  [TLG_E_SIZE] = "size prefix does not match the blob length",
  [TLG_E_MALFORMED] = "malformed metadata",
  [TLG_E_DEPTH] = "structs nested too deeply",
  [TLG_E_TRAILING] = "data bytes left after the last field",
  [TLG_E_LIMIT] = "decoder work limit reached",
  [TLG_E_UTF8] = "text must be valid UTF-8",
  [TLG_E_FLOAT] = "value too large for float32",
  [TLG_E_STRUCT_OPEN] = "a struct has fewer fields than it declares",
};

const char *tlg_strerror(int status) {
  if (status < 0 || status >= TLG_STATUS_COUNT || !messages[status]) return "unknown error";
  return messages[status];
}

#define NAME(c) [c] = #c
static const char *const names[TLG_STATUS_COUNT] = {
  NAME(TLG_OK), NAME(TLG_E_STATE), NAME(TLG_E_TAG), NAME(TLG_E_NAME_NUL),
  NAME(TLG_E_FIELDS), NAME(TLG_E_META), NAME(TLG_E_DATA), NAME(TLG_E_GUID_SIZE),
  NAME(TLG_E_SYSTEMTIME_SIZE), NAME(TLG_E_SID_SIZE), NAME(TLG_E_STRUCT_COUNT),
  NAME(TLG_E_UTF16_ODD), NAME(TLG_E_COUNTED), NAME(TLG_E_SEQ), NAME(TLG_E_NOMEM),
  NAME(TLG_E_ARG), NAME(TLG_E_TRUNCATED), NAME(TLG_E_SIZE), NAME(TLG_E_MALFORMED),
  NAME(TLG_E_DEPTH), NAME(TLG_E_TRAILING), NAME(TLG_E_LIMIT),
  NAME(TLG_E_UTF8), NAME(TLG_E_FLOAT), NAME(TLG_E_STRUCT_OPEN),
};

const char *tlg_status_name(int status) {
  if (status < 0 || status >= TLG_STATUS_COUNT || !names[status]) return "TLG_E_UNKNOWN";
  return names[status];
}
