/*
** tlg_types.h: types shared by the TraceLogging codec (src/tlg).
** Pure data definitions; no Lua, no I/O. Layouts follow
** shared/spec/tracelogging-format.md (cited as "spec §N").
*/
#ifndef TLG_TYPES_H
#define TLG_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Limits (spec §4). */
#define TLG_MAX_FIELDS     128    /* field slots; a sequence or binary costs 2 */
#define TLG_MAX_META       32768  /* whole metadata blob incl. its u16 size */
#define TLG_MAX_DATA       65536  /* field data bytes */
#define TLG_MAX_STRUCT     127    /* members of one struct */
#define TLG_MAX_SEQ        65535  /* items of one sequence (u16 count) */
#define TLG_MAX_TAG        0x0FFFFFFFu
/* Struct nesting, shared by builder and decoder: a field's depth is the
** number of structs around it, and must stay below this. The builder
** refuses a struct whose members would be that deep (TLG_E_DEPTH), so it
** never writes an event the decoder refuses to read. */
#define TLG_MAX_DEPTH      32
#define TLG_CHANNEL_TRACELOGGING 11

/* A GUID in Windows memory order (what the spec calls bytes_le). */
typedef struct tlg_guid {
  uint8_t b[16];
} tlg_guid;

/* EVENT_DESCRIPTOR field values (spec §3.1); tlg_desc_pack gives the 16 bytes. */
typedef struct tlg_desc {
  uint16_t id;
  uint8_t version;
  uint8_t channel;
  uint8_t level;
  uint8_t opcode;
  uint16_t task;
  uint64_t keyword;
} tlg_desc;

/* InType numbers (spec §2.6) and the flag bits sharing the InMeta byte. */
enum tlg_intype {
  TLG_IN_NULL = 0, TLG_IN_UNICODESTRING = 1, TLG_IN_ANSISTRING = 2,
  TLG_IN_INT8 = 3, TLG_IN_UINT8 = 4, TLG_IN_INT16 = 5, TLG_IN_UINT16 = 6,
  TLG_IN_INT32 = 7, TLG_IN_UINT32 = 8, TLG_IN_INT64 = 9, TLG_IN_UINT64 = 10,
  TLG_IN_FLOAT = 11, TLG_IN_DOUBLE = 12, TLG_IN_BOOL32 = 13, TLG_IN_BINARY = 14,
  TLG_IN_GUID = 15, TLG_IN_POINTER = 16, TLG_IN_FILETIME = 17,
  TLG_IN_SYSTEMTIME = 18, TLG_IN_SID = 19, TLG_IN_HEXINT32 = 20,
  TLG_IN_HEXINT64 = 21, TLG_IN_COUNTEDSTRING = 22,
  TLG_IN_COUNTEDANSISTRING = 23, TLG_IN_STRUCT = 24, TLG_IN_COUNTEDBINARY = 25
};
#define TLG_IN_TYPE_MASK 0x1F
#define TLG_IN_CCOUNT    0x20
#define TLG_IN_VCOUNT    0x40
#define TLG_IN_CUSTOM    0x60
#define TLG_IN_CHAIN     0x80

/* OutType numbers (spec §2.5). */
enum tlg_outtype {
  TLG_OUT_NULL = 0, TLG_OUT_NOPRINT = 1, TLG_OUT_STRING = 2,
  TLG_OUT_BOOLEAN = 3, TLG_OUT_HEX = 4, TLG_OUT_PID = 5, TLG_OUT_TID = 6,
  TLG_OUT_PORT = 7, TLG_OUT_IPV4 = 8, TLG_OUT_IPV6 = 9,
  TLG_OUT_SOCKETADDRESS = 10, TLG_OUT_XML = 11, TLG_OUT_JSON = 12,
  TLG_OUT_WIN32ERROR = 13, TLG_OUT_NTSTATUS = 14, TLG_OUT_HRESULT = 15,
  TLG_OUT_FILETIME = 16, TLG_OUT_SIGNED = 17, TLG_OUT_UNSIGNED = 18,
  TLG_OUT_CULTURE_INSENSITIVE_DATETIME = 33, TLG_OUT_UTF8 = 35,
  TLG_OUT_PKCS7_WITH_TYPE_INFO = 36, TLG_OUT_CODE_POINTER = 37,
  TLG_OUT_DATETIME_UTC = 38
};
#define TLG_OUT_TYPE_MASK 0x7F
#define TLG_OUT_CHAIN     0x80

/* Status codes of every tlg_ function; tlg_strerror gives the message. */
typedef enum tlg_status {
  TLG_OK = 0,
  TLG_E_STATE,          /* builder not reset yet */
  TLG_E_TAG,            /* tag outside 0..0x0FFFFFFF */
  TLG_E_NAME_NUL,       /* name contains a 0x00 byte */
  TLG_E_FIELDS,         /* too many fields (max 128) */
  TLG_E_META,           /* metadata exceeds 32768 bytes */
  TLG_E_DATA,           /* event exceeds 65536 data bytes */
  TLG_E_GUID_SIZE,      /* GUID bytes must be 16 */
  TLG_E_SYSTEMTIME_SIZE,/* SYSTEMTIME bytes must be 16 */
  TLG_E_SID_SIZE,       /* SID bytes must be 8 + 4 * SubAuthorityCount */
  TLG_E_STRUCT_COUNT,   /* struct field count must be 1..127 */
  TLG_E_UTF16_ODD,      /* UTF-16LE bytes must have an even length */
  TLG_E_COUNTED,        /* counted value exceeds 65535 bytes */
  TLG_E_SEQ,            /* sequence exceeds 65535 items */
  TLG_E_NOMEM,          /* allocation failed */
  TLG_E_ARG,            /* other invalid argument */
  /* decoder */
  TLG_E_TRUNCATED,      /* blob ends inside an item */
  TLG_E_SIZE,           /* size prefix does not match the blob */
  TLG_E_MALFORMED,      /* metadata grammar violated */
  TLG_E_DEPTH,          /* struct nesting beyond the decoder's cap */
  TLG_E_TRAILING,       /* data left over after the last field */
  TLG_E_LIMIT,          /* decoder work limit reached */
  /* builder (added by the encoder) */
  TLG_E_UTF8,           /* text is not valid UTF-8 (UTF-16 conversion) */
  TLG_E_FLOAT,          /* value too large for float32 */
  TLG_E_STRUCT_OPEN,    /* a struct has fewer members than it declares */
  TLG_STATUS_COUNT
} tlg_status;

/* Message for a status code; never NULL. */
const char *tlg_strerror(int status);
/* The code's name, e.g. "TLG_E_TRUNCATED"; never NULL. */
const char *tlg_status_name(int status);

#endif
