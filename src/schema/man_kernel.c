/*
** man_kernel.c: the built-in schema table of the NT kernel logger's classic
** / system / perfinfo records (MOF classes). Each class is compact data:
** group GUID, task name, its event types, the versions sharing one layout,
** and the field list ("TYPE Name" pairs). The table is turned into
** manifest XML and compiled by the manifest loader (man_parse +
** man_compile), so the blobs are the same TRACE_EVENT_INFO layout the one
** TDH walker decodes; there is no second blob builder.
**
** Keys: a kernel record has no event id; its event type (the opcode) is
** the key's id (schema_kernel_find), version and group GUID as stored.
** Pointer-sized fields are win:Pointer, so one schema serves 32- and
** 64-bit traces (the walker takes the width from the record).
** Names: provider MSNT_SystemTrace, event "Task/Opcode" (the event's own
** name in the blob, as TDH names MOF events).
**
** Field types: p pointer, u8..u64 / i8..i64 integers, x32 / x64 hex, s
** ANSI string, w UTF-16 string, wN fixed UTF-16 of N units, bN N bytes,
** sid the TOKEN_USER + SID of Process (win:WbemSID), ip4 / ip6 addresses,
** port (network order), guid.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

typedef struct kclass {
  const char *guid;
  const char *task;
  const char *types;       /* "TYPE Opcode TYPE Opcode ..." */
  const char *versions;    /* "V V ..." sharing this layout */
  const char *fields;      /* "TYPE Name, TYPE Name, ..." */
} kclass;

#define G_EVENTTRACE "68fdd900-4a3e-11d1-84f4-0000f80464e3"
#define G_DISKIO "3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c"
#define G_PAGEFAULT "3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c"
#define G_PROCESS "3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c"
#define G_FILEIO "90cbdc39-4a3e-11d1-84f4-0000f80464e3"
#define G_THREAD "3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c"
#define G_TCPIP "9a280ac0-c8e0-11d1-84e2-00c04fb998a2"
#define G_UDPIP "bf3a50c5-a9c9-4988-a005-2df0b7c80f80"
#define G_REGISTRY "ae53722e-c863-11d2-8659-00c04fa321a1"
#define G_SYSCONFIG "01853a65-418f-4f36-aefc-dc0f1d2fd235"
#define G_PERFINFO "ce1dbfb4-137e-4da6-87b0-3f59aa102cbc"
#define G_IMAGE "2cb15d1d-5fc1-11d2-abe1-00a0c911f518"
#define G_STACKWALK "def2fe46-7bd6-4b80-bd94-f57fe20d0ce3"
#define G_LOST "6a399ae0-4bc6-4de9-870b-3657f8947e7e"
#define G_SYSCONFIGEX "9b79ee91-b5fd-41c0-a243-4248e266e9d0"

#define TCP4 "u32 PID, u32 size, ip4 daddr, ip4 saddr, port dport, port sport"
#define TCP6 "u32 PID, u32 size, ip6 daddr, ip6 saddr, port dport, port sport"
#define TCPCONN ", u16 mss, u16 sackopt, u16 tsopt, u16 wsopt, u32 rcvwin, i16 rcvwinscale, " \
  "i16 sndwinscale, u32 seqnum, p connid"
#define FILEIO_TYPES_SIMPLE "65 Cleanup 66 Close 73 Flush"
#define FILEIO_TYPES_INFO "69 SetInfo 70 Delete 71 Rename 74 QueryInfo 75 FSControl"

static const kclass classes[] = {
  /* EventTrace: the log header (type 0), its extensions, rundown markers */
  {G_EVENTTRACE, "EventTrace", "0 Header", "0 1 2",
   "u32 BufferSize, u32 Version, u32 ProviderVersion, u32 NumberOfProcessors, i64 EndTime, "
   "u32 TimerResolution, u32 MaxFileSize, u32 LogFileMode, u32 BuffersWritten, "
   "u32 StartBuffers, u32 PointerSize, u32 EventsLost, u32 CPUSpeed, p LoggerName, "
   "p LogFileName, b176 TimeZoneInformation, i64 BootTime, i64 PerfFreq, i64 StartTime, "
   "u32 ReservedFlags, u32 BuffersLost, w SessionNameString, w LogFileNameString"},
  {G_EVENTTRACE, "EventTrace", "5 Extension 32 EndExtension", "0 1 2",
   "u32 GroupMask1, u32 GroupMask2, u32 GroupMask3, u32 GroupMask4, u32 GroupMask5, "
   "u32 GroupMask6, u32 GroupMask7, u32 GroupMask8, u32 KernelEventVersion"},
  {G_EVENTTRACE, "EventTrace", "8 RundownComplete 64 PartitionInfoExtension", "0 1 2", ""},
  /* Process */
  {G_PROCESS, "Process", "1 Start 2 End 3 DCStart 4 DCEnd 39 Defunct", "3",
   "p UniqueProcessKey, u32 ProcessId, u32 ParentId, u32 SessionId, i32 ExitStatus, "
   "p DirectoryTableBase, sid UserSID, s ImageFileName, w CommandLine"},
  {G_PROCESS, "Process", "1 Start 2 End 3 DCStart 4 DCEnd 39 Defunct", "4",
   "p UniqueProcessKey, u32 ProcessId, u32 ParentId, u32 SessionId, i32 ExitStatus, "
   "p DirectoryTableBase, u32 Flags, sid UserSID, s ImageFileName, w CommandLine, "
   "w PackageFullName, w ApplicationId"},
  {G_PROCESS, "Process", "11 Terminate", "2", "u32 ProcessId"},
  {G_PROCESS, "Process", "32 PerfCtr 33 PerfCtrRundown", "2",
   "u32 ProcessId, u32 PageFaultCount, u32 HandleCount, u32 Reserved, p PeakVirtualSize, "
   "p PeakWorkingSetSize, p PeakPagefileUsage, p QuotaPeakPagedPoolUsage, "
   "p QuotaPeakNonPagedPoolUsage, p VirtualSize, p WorkingSetSize, p PagefileUsage, "
   "p QuotaPagedPoolUsage, p QuotaNonPagedPoolUsage, p PrivatePageCount"},
  /* Thread */
  {G_THREAD, "Thread", "1 Start 2 End 3 DCStart 4 DCEnd", "2",
   "u32 ProcessId, u32 TThreadId, p StackBase, p StackLimit, p UserStackBase, "
   "p UserStackLimit, p StartAddr, p Win32StartAddr, p TebBase, u32 SubProcessTag"},
  {G_THREAD, "Thread", "1 Start 2 End 3 DCStart 4 DCEnd", "3",
   "u32 ProcessId, u32 TThreadId, p StackBase, p StackLimit, p UserStackBase, "
   "p UserStackLimit, p Affinity, p Win32StartAddr, p TebBase, u32 SubProcessTag, "
   "u8 BasePriority, u8 PagePriority, u8 IoPriority, u8 ThreadFlags"},
  {G_THREAD, "Thread", "36 CSwitch", "2 3 4",
   "u32 NewThreadId, u32 OldThreadId, i8 NewThreadPriority, i8 OldThreadPriority, "
   "u8 PreviousCState, i8 SpareByte, i8 OldThreadWaitReason, i8 OldThreadWaitMode, "
   "i8 OldThreadState, i8 OldThreadWaitIdealProcessor, u32 NewThreadWaitTime, u32 Reserved"},
  {G_THREAD, "Thread", "50 ReadyThread", "2",
   "u32 TThreadId, i8 AdjustReason, i8 AdjustIncrement, i8 Flag, i8 Reserved"},
  {G_THREAD, "Thread", "72 SetName", "2", "u32 ProcessId, u32 ThreadId, w ThreadName"},
  /* Image */
  {G_IMAGE, "Image", "10 Load 2 UnLoad 3 DCStart 4 DCEnd", "2",
   "p ImageBase, p ImageSize, u32 ProcessId, u32 ImageChecksum, u32 TimeDateStamp, "
   "u32 Reserved0, p DefaultBase, u32 Reserved1, u32 Reserved2, u32 Reserved3, "
   "u32 Reserved4, w FileName"},
  {G_IMAGE, "Image", "10 Load 2 UnLoad 3 DCStart 4 DCEnd", "3",
   "p ImageBase, p ImageSize, u32 ProcessId, u32 ImageChecksum, u32 TimeDateStamp, "
   "u8 SignatureLevel, u8 SignatureType, u16 Reserved0, p DefaultBase, u32 Reserved1, "
   "u32 Reserved2, u32 Reserved3, u32 Reserved4, w FileName"},
  /* DiskIo */
  {G_DISKIO, "DiskIo", "10 Read 11 Write", "2",
   "u32 DiskNumber, u32 IrpFlags, u32 TransferSize, u32 Reserved, i64 ByteOffset, "
   "p FileObject, p Irp, u64 HighResResponseTime"},
  {G_DISKIO, "DiskIo", "10 Read 11 Write", "3",
   "u32 DiskNumber, u32 IrpFlags, u32 TransferSize, u32 Reserved, i64 ByteOffset, "
   "p FileObject, p Irp, u64 HighResResponseTime, u32 IssuingThreadId"},
  {G_DISKIO, "DiskIo", "12 ReadInit 13 WriteInit 15 FlushInit", "2", "p Irp"},
  {G_DISKIO, "DiskIo", "12 ReadInit 13 WriteInit 15 FlushInit", "3",
   "p Irp, u32 IssuingThreadId"},
  {G_DISKIO, "DiskIo", "14 FlushBuffers", "2",
   "u32 DiskNumber, u32 IrpFlags, u64 HighResResponseTime, p Irp"},
  {G_DISKIO, "DiskIo", "14 FlushBuffers", "3",
   "u32 DiskNumber, u32 IrpFlags, u64 HighResResponseTime, p Irp, u32 IssuingThreadId"},
  /* FileIo: version 2 (TTID pointer-sized, before FileObject), version 3 (after) */
  {G_FILEIO, "FileIo", "0 Name 32 FileCreate 35 FileDelete 36 FileRundown", "2 3",
   "p FileObject, w FileName"},
  {G_FILEIO, "FileIo", "64 Create", "2",
   "p IrpPtr, p TTID, p FileObject, u32 CreateOptions, u32 FileAttributes, "
   "u32 ShareAccess, w OpenPath"},
  {G_FILEIO, "FileIo", "64 Create", "3",
   "p IrpPtr, p FileObject, u32 TTID, u32 CreateOptions, u32 FileAttributes, "
   "u32 ShareAccess, w OpenPath"},
  {G_FILEIO, "FileIo", "67 Read 68 Write", "2",
   "u64 Offset, p IrpPtr, p TTID, p FileObject, p FileKey, u32 IoSize, u32 IoFlags"},
  {G_FILEIO, "FileIo", "67 Read 68 Write", "3",
   "u64 Offset, p IrpPtr, p FileObject, p FileKey, u32 TTID, u32 IoSize, u32 IoFlags"},
  {G_FILEIO, "FileIo", FILEIO_TYPES_SIMPLE, "2", "p IrpPtr, p TTID, p FileObject, p FileKey"},
  {G_FILEIO, "FileIo", FILEIO_TYPES_SIMPLE, "3", "p IrpPtr, p FileObject, p FileKey, u32 TTID"},
  {G_FILEIO, "FileIo", FILEIO_TYPES_INFO, "2",
   "p IrpPtr, p TTID, p FileObject, p FileKey, p ExtraInfo, u32 InfoClass"},
  {G_FILEIO, "FileIo", FILEIO_TYPES_INFO, "3",
   "p IrpPtr, p FileObject, p FileKey, p ExtraInfo, u32 TTID, u32 InfoClass"},
  {G_FILEIO, "FileIo", "72 DirEnum 77 DirNotify", "2",
   "p IrpPtr, p TTID, p FileObject, p FileKey, u32 Length, u32 InfoClass, u32 FileIndex, "
   "w FileName"},
  {G_FILEIO, "FileIo", "72 DirEnum 77 DirNotify", "3",
   "p IrpPtr, p FileObject, p FileKey, u32 TTID, u32 Length, u32 InfoClass, u32 FileIndex, "
   "w FileName"},
  {G_FILEIO, "FileIo", "76 OperationEnd", "2 3", "p IrpPtr, p ExtraInfo, u32 NtStatus"},
  /* TcpIp */
  {G_TCPIP, "TcpIp", "10 Send", "2",
   TCP4 ", u32 startime, u32 endtime, u32 seqnum, p connid"},
  {G_TCPIP, "TcpIp", "11 Recv 13 Disconnect 14 Retransmit 16 Reconnect 18 TCPCopy", "2",
   TCP4 ", u32 seqnum, p connid"},
  {G_TCPIP, "TcpIp", "12 Connect 15 Accept", "2", TCP4 TCPCONN},
  {G_TCPIP, "TcpIp", "26 SendIPV6", "2",
   TCP6 ", u32 startime, u32 endtime, u32 seqnum, p connid"},
  {G_TCPIP, "TcpIp",
   "27 RecvIPV6 29 DisconnectIPV6 30 RetransmitIPV6 32 ReconnectIPV6 34 TCPCopyIPV6", "2",
   TCP6 ", u32 seqnum, p connid"},
  {G_TCPIP, "TcpIp", "28 ConnectIPV6 31 AcceptIPV6", "2", TCP6 TCPCONN},
  {G_TCPIP, "TcpIp", "17 Fail", "2", "u16 Proto, u16 FailureCode"},
  /* UdpIp */
  {G_UDPIP, "UdpIp", "10 Send 11 Recv", "2", TCP4 ", u32 seqnum, p connid"},
  {G_UDPIP, "UdpIp", "26 SendIPV6 27 RecvIPV6", "2", TCP6 ", u32 seqnum, p connid"},
  {G_UDPIP, "UdpIp", "17 Fail", "2", "u16 Proto, u16 FailureCode"},
  /* Registry */
  {G_REGISTRY, "Registry",
   "10 Create 11 Open 12 Delete 13 Query 14 SetValue 15 DeleteValue 16 QueryValue "
   "17 EnumerateKey 18 EnumerateValueKey 19 QueryMultipleValue 20 SetInformation 21 Flush "
   "22 KCBCreate 23 KCBDelete 24 KCBRundownBegin 25 KCBRundownEnd 26 Virtualize 27 Close",
   "2", "i64 InitialTime, u32 Status, u32 Index, p KeyHandle, w KeyName"},
  /* PageFault */
  {G_PAGEFAULT, "PageFault",
   "10 TransitionFault 11 DemandZeroFault 12 CopyOnWrite 13 GuardPageFault "
   "14 HardPageFault 15 AccessViolation", "2", "p VirtualAddress, p ProgramCounter"},
  {G_PAGEFAULT, "PageFault", "32 HardFault", "2",
   "u64 InitialTime, u64 ReadOffset, p VirtualAddress, p FileObject, u32 TThreadId, "
   "u32 ByteCount"},
  /* PerfInfo */
  {G_PERFINFO, "PerfInfo", "46 SampleProf", "2",
   "p InstructionPointer, u32 ThreadId, u16 Count, u16 Reserved"},
  {G_PERFINFO, "PerfInfo", "51 SysClEnter", "2", "p SysCallAddress"},
  {G_PERFINFO, "PerfInfo", "52 SysClExit", "2", "u32 SysCallNtStatus"},
  {G_PERFINFO, "PerfInfo", "67 ISR", "2",
   "u64 InitialTime, p Routine, u8 ReturnValue, u16 Vector, u8 Reserved"},
  {G_PERFINFO, "PerfInfo", "66 ThreadedDPC 68 DPC 69 TimerDPC", "2",
   "u64 InitialTime, p Routine"},
  {G_PERFINFO, "PerfInfo", "73 CollectionStart 74 CollectionEnd", "2 3",
   "u32 Source, u32 NewInterval, u32 OldInterval, w SourceName"},
  /* StackWalk: the header fields; the return addresses that follow (as many
  ** as the payload holds) stay in ev.payload */
  {G_STACKWALK, "StackWalk", "32 Stack", "2",
   "u64 EventTimeStamp, u32 StackProcess, u32 StackThread"},
  /* compressed stacks: a key's definition (addresses follow, in ev.payload) and references */
  {G_STACKWALK, "StackWalk", "35 KeyDelete 36 KeyRundown", "2", "p StackKey"},
  {G_STACKWALK, "StackWalk", "37 StackKeyKernel 38 StackKeyUser", "2",
   "u64 EventTimeStamp, u32 StackProcess, u32 StackThread, p StackKey"},
  /* SysConfig */
  {G_SYSCONFIG, "SysConfig", "10 CPU", "2",
   "u32 MHz, u32 NumberOfProcessors, u32 MemSize, u32 PageSize, u32 AllocationGranularity, "
   "w256 ComputerName, w134 DomainName, p HyperThreadingFlag"},
  {G_SYSCONFIG, "SysConfig", "10 CPU", "3",
   "u32 MHz, u32 NumberOfProcessors, u32 MemSize, u32 PageSize, u32 AllocationGranularity, "
   "w256 ComputerName, w134 DomainName, p HyperThreadingFlag, p HighestUserAddress, "
   "u16 ProcessorArchitecture, u16 ProcessorLevel, u16 ProcessorRevision, u8 PaeEnabled, "
   "u8 NxEnabled, u32 MemorySpeed"},
  {G_SYSCONFIG, "SysConfig", "11 PhyDisk", "2",
   "u32 DiskNumber, u32 BytesPerSector, u32 SectorsPerTrack, u32 TracksPerCylinder, "
   "u64 Cylinders, u32 SCSIPort, u32 SCSIPath, u32 SCSITarget, u32 SCSILun, "
   "w256 Manufacturer, u32 PartitionCount, u8 WriteCacheEnabled, u8 Pad, "
   "w3 BootDriveLetter, w2 Spare"},
  {G_SYSCONFIG, "SysConfig", "15 Services", "2 3",
   "u32 ProcessId, u32 ServiceState, u32 SubProcessTag, w ServiceName, w DisplayName, "
   "w ProcessName"},
  {G_SYSCONFIG, "SysConfig", "16 Power", "2",
   "u8 S1, u8 S2, u8 S3, u8 S4, u8 S5, u8 Pad1, u8 Pad2, u8 Pad3"},
  {G_SYSCONFIG, "SysConfig", "22 PnP", "2",
   "u32 IDLength, u32 DescriptionLength, u32 FriendlyNameLength, w DeviceID, "
   "w DeviceDescription, w FriendlyName"},
  /* version 4: the device class first; the filter names that follow stay in ev.payload */
  {G_SYSCONFIG, "SysConfig", "22 PnP", "4",
   "guid ClassGuid, u32 UpperFilterCount, u32 LowerFilterCount, w DeviceID, "
   "w DeviceDescription, w FriendlyName, w PdoName, w ServiceName"},
  /* the system configuration events of the rundown (classic header, own GUID) */
  {G_SYSCONFIGEX, "SysConfig", "32 BuildInfo", "0",
   "i64 InstallDate, w BuildLab, w ProductName"},
  {G_SYSCONFIGEX, "SysConfig", "33 SystemPaths", "0", "w SystemDirectory, w SystemWindowsDirectory"},
  {G_SYSCONFIGEX, "SysConfig", "34 UnknownVolume", "0", "w Value"},
  {G_SYSCONFIGEX, "SysConfig", "35 VolumeMapping", "0", "w NtPath, w DosPath"},
  /* Lost_Event: real-time loss notices, no payload */
  {G_LOST, "Lost_Event", "32 RTLostEvent 33 RTLostBuffer 34 RTLostFile", "0 1 2", ""},
};

/* A decimal number at *s; *s moves past it (strtoul's end pointer, kept const). */
static unsigned number(const char **s) {
  unsigned v = 0;
  while (**s >= '0' && **s <= '9') v = v * 10 + (unsigned)(*(*s)++ - '0');
  return v;
}

/* ---- growing text ---- */

typedef struct tbuf {
  char *p;
  size_t n, cap;
  int oom;
} tbuf;

static void tput(tbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void tput(tbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) { b->oom = 1; return; }
    if (b->p && (size_t)k < b->cap - b->n) { b->n += (size_t)k; return; }
    size_t cap = b->cap ? b->cap * 2 : 65536;
    while (cap - b->n <= (size_t)k) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return; }
    b->p = p;
    b->cap = cap;
  }
}

/* One "TYPE Name" field as a <data> element. */
static int field_xml(tbuf *b, const char *type, size_t tn, const char *name, size_t nn) {
  static const struct { const char *t, *in, *out; } simple[] = {
    {"p", "win:Pointer", NULL}, {"u8", "win:UInt8", NULL}, {"u16", "win:UInt16", NULL},
    {"u32", "win:UInt32", NULL}, {"u64", "win:UInt64", NULL}, {"i8", "win:Int8", NULL},
    {"i16", "win:Int16", NULL}, {"i32", "win:Int32", NULL}, {"i64", "win:Int64", NULL},
    {"x32", "win:HexInt32", NULL}, {"x64", "win:HexInt64", NULL},
    {"s", "win:AnsiString", NULL}, {"w", "win:UnicodeString", NULL},
    {"sid", "win:WbemSID", NULL}, {"ip4", "win:UInt32", "win:IPv4"},
    {"ip6", "win:Binary", "win:IPv6"}, {"port", "win:UInt16", "win:Port"},
    {"guid", "win:GUID", NULL}};
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
    if (strlen(simple[i].t) == tn && memcmp(simple[i].t, type, tn) == 0) {
      tput(b, "<data name='%.*s' inType='%s'", (int)nn, name, simple[i].in);
      if (simple[i].out) tput(b, " outType='%s'", simple[i].out);
      if (strcmp(simple[i].t, "ip6") == 0) tput(b, " length='16'");
      tput(b, "/>\n");
      return 0;
    }
  /* wN / bN: fixed length */
  if (tn >= 2 && (type[0] == 'w' || type[0] == 'b')) {
    tput(b, "<data name='%.*s' inType='%s' length='%.*s'/>\n", (int)nn, name,
         type[0] == 'w' ? "win:UnicodeString" : "win:Binary", (int)tn - 1, type + 1);
    return 0;
  }
  return -1;
}

static int class_xml(tbuf *b, size_t ci) {
  const kclass *k = &classes[ci];
  tput(b, "<provider name='MSNT_SystemTrace' guid='{%s}' symbol='K%u'>\n<events>\n", k->guid, (unsigned)ci);
  for (const char *v = k->versions; *v;) {
    unsigned ver = number(&v);
    for (const char *t = k->types; *t;) {
      unsigned type = number(&t);
      while (*t == ' ') t++;
      size_t on = strcspn(t, " ");
      tput(b, "<event value='%u' version='%u' name='%s/%.*s'%s/>\n", type, ver, k->task,
           (int)on, t, *k->fields ? " template='T'" : "");
      t += on;
      while (*t == ' ') t++;
    }
    while (*v == ' ') v++;
  }
  tput(b, "</events>\n");
  if (*k->fields) {
    tput(b, "<templates><template tid='T'>\n");
    for (const char *f = k->fields; *f;) {
      while (*f == ' ' || *f == ',') f++;
      size_t tn = strcspn(f, " ");
      const char *name = f + tn + 1;
      size_t nn = strcspn(name, ",");
      if (field_xml(b, f, tn, name, nn) < 0) return -1;
      f = name + nn;
    }
    tput(b, "</template></templates>\n");
  }
  tput(b, "</provider>\n");
  return 0;
}

#define KERNEL_TABLE_NAME "(built-in kernel table)"

int schema_kernel_man(schema_man **out, char *err, size_t cap) {
  tbuf b = {NULL, 0, 0, 0};
  tput(&b, "<instrumentationManifest xmlns='http://schemas.microsoft.com/win/2004/08/events' "
           "xmlns:win='http://manifests.microsoft.com/win/2004/08/windows/events'>\n"
           "<instrumentation><events>\n");
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if (class_xml(&b, i) < 0) {
      free(b.p);
      snprintf(err, cap, "%s: class %zu has an unknown field type", KERNEL_TABLE_NAME, i);
      return -1;
    }
  tput(&b, "</events></instrumentation></instrumentationManifest>\n");
  if (b.oom) {
    free(b.p);
    snprintf(err, cap, "%s: out of memory", KERNEL_TABLE_NAME);
    return -1;
  }
  int rc = schema_man_parse(KERNEL_TABLE_NAME, b.p, b.n, out, err, cap);
  free(b.p);
  return rc;
}

schema_reg *schema_kernel_reg(char *err, size_t cap) {
  schema_man *m = NULL;
  schema_reg *r = schema_reg_new();
  char warn[8];
  if (!r) { snprintf(err, cap, "out of memory"); return NULL; }
  if (schema_kernel_man(&m, err, cap) < 0) { schema_reg_free(r); return NULL; }
  if (schema_reg_add(r, m, KERNEL_TABLE_NAME, warn, sizeof warn) < 0) {
    schema_man_free(m);
    schema_reg_free(r);
    snprintf(err, cap, "out of memory");
    return NULL;
  }
  return r;
}

const uint8_t *schema_kernel_find(const schema_reg *kernel, const uint8_t group[16], uint8_t type,
                                  uint8_t version, uint32_t *len) {
  return schema_reg_find(kernel, group, type, version, len);
}
