/*
** man_types.c: manifest type and well-known names -> numbers: inType /
** outType (TDH_INTYPE / TDH_OUTTYPE values), and the win: levels, opcodes
** and keywords every manifest may use without defining them (winmeta.xml),
** with the display names TDH gives them.
*/
#include <string.h>

#include "man_types.h"

typedef struct tname {
  const char *name;
  unsigned value;
} tname;

static const tname intypes[] = {
  {"win:UnicodeString", 1}, {"win:AnsiString", 2}, {"win:Int8", 3}, {"win:UInt8", 4},
  {"win:Int16", 5}, {"win:UInt16", 6}, {"win:Int32", 7}, {"win:UInt32", 8}, {"win:Int64", 9},
  {"win:UInt64", 10}, {"win:Float", 11}, {"win:Double", 12}, {"win:Boolean", 13},
  {"win:Binary", 14}, {"win:GUID", 15}, {"win:Pointer", 16}, {"win:FILETIME", 17},
  {"win:SYSTEMTIME", 18}, {"win:SID", 19}, {"win:HexInt32", 20}, {"win:HexInt64", 21},
  {"win:CountedString", 300}, {"win:CountedAnsiString", 301},
  {"win:ReversedCountedString", 302}, {"win:ReversedCountedAnsiString", 303},
  {"win:NonNullTerminatedString", 304}, {"win:NonNullTerminatedAnsiString", 305},
  {"win:UnicodeChar", 306}, {"win:AnsiChar", 307}, {"win:SizeT", 308}, {"win:HexDump", 309},
  {"win:WbemSID", 310}, {NULL, 0}};

static const tname outtypes[] = {
  {"xs:string", 1}, {"xs:dateTime", 2}, {"xs:byte", 3}, {"xs:unsignedByte", 4},
  {"xs:short", 5}, {"xs:unsignedShort", 6}, {"xs:int", 7}, {"xs:unsignedInt", 8},
  {"xs:long", 9}, {"xs:unsignedLong", 10}, {"xs:float", 11}, {"xs:double", 12},
  {"xs:boolean", 13}, {"xs:GUID", 14}, {"xs:hexBinary", 15}, {"win:HexInt8", 16},
  {"win:HexInt16", 17}, {"win:HexInt32", 18}, {"win:HexInt64", 19}, {"win:PID", 20},
  {"win:TID", 21}, {"win:Port", 22}, {"win:IPv4", 23}, {"win:IPv6", 24},
  {"win:SocketAddress", 25}, {"win:CIMDateTime", 26}, {"win:ETWTIME", 27}, {"win:Xml", 28},
  {"win:ErrorCode", 29}, {"win:Win32Error", 30}, {"win:NTSTATUS", 31}, {"win:HResult", 32},
  {"win:DateTimeCultureInsensitive", 33}, {"win:Json", 34}, {"win:Utf8", 35},
  {"win:Pkcs7WithTypeInfo", 36}, {"win:CodePointer", 37}, {"win:DateTimeUtc", 38},
  {NULL, 0}};

static int lookup(const tname *t, const char *name, unsigned *out) {
  for (; t->name; t++)
    if (strcmp(t->name, name) == 0) { *out = t->value; return 0; }
  return -1;
}

int man_intype(const char *name, unsigned *out) { return lookup(intypes, name, out); }
int man_outtype(const char *name, unsigned *out) { return lookup(outtypes, name, out); }

static const man_wellknown levels[] = {
  {"win:LogAlways", 0, "Log Always"}, {"win:Critical", 1, "Critical"}, {"win:Error", 2, "Error"},
  {"win:Warning", 3, "Warning"}, {"win:Informational", 4, "Information"},
  {"win:Verbose", 5, "Verbose"}, {NULL, 0, NULL}};

static const man_wellknown opcodes[] = {
  {"win:Info", 0, "Info"}, {"win:Start", 1, "Start"}, {"win:Stop", 2, "Stop"},
  {"win:DC_Start", 3, "DCStart"}, {"win:DC_Stop", 4, "DCStop"}, {"win:Extension", 5, "Extension"},
  {"win:Reply", 6, "Reply"}, {"win:Resume", 7, "Resume"}, {"win:Suspend", 8, "Suspend"},
  {"win:Send", 9, "Send"}, {"win:Receive", 240, "Receive"}, {NULL, 0, NULL}};

static const man_wellknown keywords[] = {
  {"win:AnyKeyword", 0, NULL}, {"win:ResponseTime", 0x0001000000000000ULL, NULL},
  {"win:WDIContext", 0x0002000000000000ULL, NULL}, {"win:WDIDiag", 0x0004000000000000ULL, NULL},
  {"win:SQM", 0x0008000000000000ULL, NULL}, {"win:AuditFailure", 0x0010000000000000ULL, NULL},
  {"win:AuditSuccess", 0x0020000000000000ULL, NULL},
  {"win:CorrelationHint", 0x0040000000000000ULL, NULL},
  {"win:EventlogClassic", 0x0080000000000000ULL, NULL}, {NULL, 0, NULL}};

static const man_wellknown channels[] = {
  {"System", 8, NULL}, {"Application", 9, NULL}, {"Security", 10, NULL},
  {"TraceClassic", 0, NULL}, {NULL, 0, NULL}};

static const man_wellknown *wk(const man_wellknown *t, const char *name) {
  for (; name && t->name; t++)
    if (strcmp(t->name, name) == 0) return t;
  return NULL;
}

const man_wellknown *man_win_level(const char *name) { return wk(levels, name); }
const man_wellknown *man_win_opcode(const char *name) { return wk(opcodes, name); }
const man_wellknown *man_win_keyword(const char *name) { return wk(keywords, name); }
const man_wellknown *man_win_channel(const char *name) { return wk(channels, name); }
