/*
** win_compat.h: what mingw-w64 10's ETW headers lack (spec windows-etw §8,
** windows-build §1), with ETWC_-prefixed names for values the SDK defines
** as enum members so they never clash with a newer mingw or MSVC. Include
** after <windows.h>, <evntrace.h>, <evntprov.h>, <evntcons.h>, <tdh.h>.
** The _Static_asserts pin the x64 layouts the spec measured (and the byte
** builders of pure/winp.h rely on).
*/
#ifndef ENG_WIN_COMPAT_H
#define ENG_WIN_COMPAT_H

#include <stddef.h>

/* evntprov.h: EVENT_INFO_CLASS members (Wine's header has SetTraits = 1: wrong) */
#define ETWC_EventProviderSetTraits ((EVENT_INFO_CLASS)2)
#define ETWC_EventProviderUseDescriptorType ((EVENT_INFO_CLASS)3)

/* EVENT_DATA_DESCRIPTOR.Type = low byte of Reserved in mingw */
#define ETWC_DESC_TYPE_NONE 0u
#define ETWC_DESC_TYPE_EVENT_METADATA 1u
#define ETWC_DESC_TYPE_PROVIDER_METADATA 2u
#define ETWC_SET_DESC_TYPE(d, t) ((d)->Reserved = (ULONG)(t))

#ifndef EVENT_FILTER_TYPE_PID
#define EVENT_FILTER_TYPE_PID 0x80000004u
#endif
#ifndef EVENT_FILTER_TYPE_EXECUTABLE_NAME
#define EVENT_FILTER_TYPE_EXECUTABLE_NAME 0x80000008u
#endif
#ifndef EVENT_FILTER_TYPE_EVENT_ID
#define EVENT_FILTER_TYPE_EVENT_ID 0x80000200u
#endif
#ifndef EVENT_FILTER_TYPE_EVENT_NAME
#define EVENT_FILTER_TYPE_EVENT_NAME 0x80000400u
#endif

/* evntcons.h: extended item types 9..0x12 */
#ifndef EVENT_HEADER_EXT_TYPE_EVENT_SCHEMA_TL
#define EVENT_HEADER_EXT_TYPE_EVENT_SCHEMA_TL 0x000B
#endif
#ifndef EVENT_HEADER_EXT_TYPE_PROV_TRAITS
#define EVENT_HEADER_EXT_TYPE_PROV_TRAITS 0x000C
#endif
#ifndef EVENT_HEADER_EXT_TYPE_PROCESS_START_KEY
#define EVENT_HEADER_EXT_TYPE_PROCESS_START_KEY 0x000D
#endif
#ifndef EVENT_HEADER_FLAG_DECODE_GUID
#define EVENT_HEADER_FLAG_DECODE_GUID 0x0080
#endif
#ifndef EVENT_ENABLE_PROPERTY_IGNORE_KEYWORD_0
#define EVENT_ENABLE_PROPERTY_IGNORE_KEYWORD_0 0x00000010
#endif
#ifndef EVENT_ENABLE_PROPERTY_PROCESS_START_KEY
#define EVENT_ENABLE_PROPERTY_PROCESS_START_KEY 0x00000080
#endif

/* evntrace.h */
#ifndef EVENT_TRACE_INDEPENDENT_SESSION_MODE
#define EVENT_TRACE_INDEPENDENT_SESSION_MODE 0x08000000
#endif
#define ETWC_EVENT_TRACE_CONTROL_CONVERT_TO_REALTIME 5

/* tdh.h */
#define ETWC_DecodingSourceTlg ((DECODING_SOURCE)3)

/* GUIDs as our own constants (no mingw import library defines them) */
static const GUID ETWC_EventTraceGuid = {0x68fdd900, 0x4a3e, 0x11d1, {0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3}};
static const GUID ETWC_RT_LostEventGuid = {0x6a399ae0, 0x4bc6, 0x4de9, {0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e}};
#define ETWC_RT_LOST_EVENT 32
#define ETWC_RT_LOST_BUFFER 33
#define ETWC_RT_LOST_FILE 34

#ifndef ERROR_CTX_CLOSE_PENDING
#define ERROR_CTX_CLOSE_PENDING 7007L
#endif
#ifndef ERROR_WMI_INSTANCE_NOT_FOUND
#define ERROR_WMI_INSTANCE_NOT_FOUND 4201L
#endif
#ifndef ERROR_ACTIVE_CONNECTIONS
#define ERROR_ACTIVE_CONNECTIONS 2402L
#endif

#if defined(_WIN64)
_Static_assert(sizeof(EVENT_RECORD) == 112, "EVENT_RECORD");
_Static_assert(sizeof(EVENT_HEADER) == 80, "EVENT_HEADER");
_Static_assert(sizeof(EVENT_TRACE_PROPERTIES) == 120, "EVENT_TRACE_PROPERTIES");
_Static_assert(sizeof(EVENT_TRACE_PROPERTIES_V2) == 144, "EVENT_TRACE_PROPERTIES_V2");
_Static_assert(offsetof(EVENT_TRACE_PROPERTIES, LogFileMode) == 64, "LogFileMode");
_Static_assert(offsetof(EVENT_TRACE_PROPERTIES, FlushTimer) == 68, "FlushTimer");
_Static_assert(offsetof(EVENT_TRACE_PROPERTIES, EventsLost) == 88, "EventsLost");
_Static_assert(offsetof(EVENT_TRACE_PROPERTIES, LogFileNameOffset) == 112, "LogFileNameOffset");
_Static_assert(offsetof(EVENT_TRACE_PROPERTIES, LoggerNameOffset) == 116, "LoggerNameOffset");
_Static_assert(sizeof(ENABLE_TRACE_PARAMETERS) == 48, "ENABLE_TRACE_PARAMETERS");
_Static_assert(sizeof(EVENT_TRACE_LOGFILEW) == 448, "EVENT_TRACE_LOGFILEW");
_Static_assert(offsetof(EVENT_TRACE_LOGFILEW, LogfileHeader) == 120, "LogfileHeader");
_Static_assert(offsetof(EVENT_TRACE_LOGFILEW, Context) == 440, "Context");
_Static_assert(offsetof(TRACE_EVENT_INFO, EventPropertyInfoArray) == 112, "TRACE_EVENT_INFO");
_Static_assert(sizeof(EVENT_PROPERTY_INFO) == 24, "EVENT_PROPERTY_INFO");
_Static_assert(sizeof(EVENT_DATA_DESCRIPTOR) == 16, "EVENT_DATA_DESCRIPTOR");
_Static_assert(sizeof(EVENT_DESCRIPTOR) == 16, "EVENT_DESCRIPTOR");
#endif

#endif
