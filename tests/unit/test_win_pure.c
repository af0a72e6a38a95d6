/*
** test_win_pure.c: the pure pieces of the Windows ETW backend
** (src/engine/win/pure): EVENT_TRACE_PROPERTIES block, EnableTraceEx2
** parameters and filter payloads, TDH property walker on hand-built
** TRACE_EVENT_INFO blobs, time conversion, Win32 result mapping, NEWFILE
** names, the console handler's plan. Offsets and values are those of
** shared/spec/windows-etw.md (§2.1, §2.2, §2.4, §4.4, §5.3, §5.4). Runs on
** Linux and, in the Windows build, under Wine, where it also compares the
** offsets with mingw's own structures.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "eng_sysprov.h"
#include "win/pure/winp.h"
#include "sch_tdh.h"
#include "schema_map.h"
#include "unit_check.h"

#ifdef _WIN32
#include <windows.h>
#include <initguid.h>   /* SystemTraceControlGuid's storage: no import library has it */
#include <evntrace.h>
#include <evntprov.h>
#include <tdh.h>
#include <stddef.h>
#endif


/* ------------------------------------------------------------ props */

static int u16eq(const uint8_t *p, const char *ascii) {
  for (size_t i = 0; ascii[i]; i++)
    if (tlg_le16(p + 2 * i) != (uint8_t)ascii[i]) return 0;
  return tlg_le16(p + 2 * strlen(ascii)) == 0;
}

static void test_props(void) {
  static uint8_t b[WINP_PROPS_BLOCK];
  winp_props_in in;
  memset(&in, 0, sizeof in);
  in.mode = WINP_REALTIME;
  in.cpus = 4;
  check(winp_props_build(b, &in) == 0, "realtime props build");
  check(WINP_PROPS_BLOCK == 4216, "block is 120 + 2048 + 2048");
  check(tlg_le32(b + 0) == 4216, "Wnode.BufferSize @0 = whole block");
  check(tlg_le32(b + 44) == 0x00020000, "Wnode.Flags @44 = TRACED_GUID");
  check(tlg_le32(b + 40) == 1, "Wnode.ClientContext @40 = 1 (QPC)");
  check(tlg_le32(b + 48) == 64, "BufferSize @48 default 64 KB");
  check(tlg_le32(b + 52) == 0, "MinimumBuffers @52 default 0 (ETW chooses)");
  check(tlg_le32(b + 56) == 64, "MaximumBuffers @56 = max(64, 4 x cpus)");
  check(tlg_le32(b + 64) == (0x100 | 0x08000000), "LogFileMode @64 = REAL_TIME | INDEPENDENT");
  check(tlg_le32(b + 68) == 1, "FlushTimer @68 real-time default 1 s");
  check(tlg_le32(b + 116) == 120, "LoggerNameOffset @116 = 120");
  check(tlg_le32(b + 112) == 0, "LogFileNameOffset @112 = 0 without a file");
  check(tlg_le32(b + 120) == 0, "name left for StartTraceW to copy");
  check(tlg_le64(b + 8) == 0 && tlg_le32(b + 24) == 0, "handle and GUID zero");

  in.cpus = 32;
  winp_props_build(b, &in);
  check(tlg_le32(b + 56) == 128, "MaximumBuffers = 4 x 32 cpus");

  memset(&in, 0, sizeof in);
  in.mode = WINP_FILE;
  in.file = "C:\\t\\x.etl";
  in.buffer_kb = 128;
  in.min_buffers = 8;
  in.max_buffers = 4;
  check(winp_props_build(b, &in) == 0, "file props build");
  check(tlg_le32(b + 64) == (0x1 | 0x08000000), "file: SEQUENTIAL | INDEPENDENT");
  check(tlg_le32(b + 68) == 0, "file: FlushTimer 0 (flush when full)");
  check(tlg_le32(b + 112) == 120 + 2048, "LogFileNameOffset = 120 + 2048");
  check(u16eq(b + 2168, "C:\\t\\x.etl"), "file name UTF-16LE after the name slot");
  check(tlg_le32(b + 48) == 128 && tlg_le32(b + 52) == 8, "buffer kb / min");
  check(tlg_le32(b + 56) == 8, "max raised to min");
  check(tlg_le32(b + 60) == 0, "sequential: MaximumFileSize 0 = unlimited");

  in.realtime_too = 1;
  in.flush_ms = 1500;
  winp_props_build(b, &in);
  check(tlg_le32(b + 64) == (0x1 | 0x100 | 0x08000000), "file + real time");
  check(tlg_le32(b + 68) == 2, "1500 ms -> 2 s");

  memset(&in, 0, sizeof in);
  in.mode = WINP_CIRCULAR;
  in.file = "c.etl";
  check(winp_props_build(b, &in) == 0, "circular build");
  check(tlg_le32(b + 64) == (0x2 | 0x08000000), "CIRCULAR | INDEPENDENT");
  check(tlg_le32(b + 60) == WINP_DEFAULT_FILE_MB, "circular needs a size: default");
  in.newfile = 1;
  check(winp_props_build(b, &in) == -1, "circular + newfile refused");
  memset(&in, 0, sizeof in);
  in.mode = WINP_FILE;
  in.newfile = 1;
  in.file = "n.etl";
  check(winp_props_build(b, &in) == -1, "newfile without %%d refused");
  in.file = "n%d.etl";
  in.max_file_mb = 10;
  check(winp_props_build(b, &in) == 0 && tlg_le32(b + 64) == (0x8 | 0x08000000) &&
        tlg_le32(b + 60) == 10, "NEWFILE rotation");
  in.mode = WINP_FILE; in.newfile = 0; in.file = NULL;
  check(winp_props_build(b, &in) == -1, "file mode without a path refused");
  memset(&in, 0, sizeof in);
  in.buffer_kb = 2;
  check(winp_props_build(b, &in) == -1, "buffer_kb < 4 refused");
  in.buffer_kb = 16385;
  check(winp_props_build(b, &in) == -1, "buffer_kb > 16384 refused");
  in.buffer_kb = 16384; in.no_per_processor = 1;
  check(winp_props_build(b, &in) == 0 && (tlg_le32(b + 64) & 0x10000000), "no-per-processor opt-in");

  check(winp_flush_seconds(0, 1) == 1 && winp_flush_seconds(0, 0) == 0, "flush 0");
  check(winp_flush_seconds(1, 1) == 1 && winp_flush_seconds(1000, 1) == 1 &&
        winp_flush_seconds(1001, 0) == 2 && winp_flush_seconds(100, 0) == 1, "flush rounds up");

  winp_props_query(b);
  check(tlg_le32(b) == 4216 && tlg_le32(b + 116) == 120 && tlg_le32(b + 112) == 2168 &&
        tlg_le32(b + 64) == 0 && tlg_le32(b + 44) == 0, "query block");

  /* a block as ControlTraceW(QUERY) fills it */
  tlg_put64(b + 8, 0x1234);
  tlg_put32(b + 88, 7);
  tlg_put32(b + 100, 3);
  tlg_put32(b + 80, 40);
  tlg_put32(b + 92, 11);
  tlg_utf8_to_utf16("etwlua-x-12", 11, b + 120, 1024, NULL);
  tlg_utf8_to_utf16("C:\\a.etl", 8, b + 2168, 1024, NULL);
  winp_props_stats st;
  winp_props_read(b, sizeof b, &st);
  check(st.handle == 0x1234 && st.events_lost == 7 && st.rt_buffers_lost == 3 &&
        st.buffers == 40 && st.buffers_written == 11, "stats read back");
  check(strcmp(st.name, "etwlua-x-12") == 0 && strcmp(st.file, "C:\\a.etl") == 0, "names read back");
}

static void test_names(void) {
  char n[256];
  check(winp_name_make(n, sizeof n, "selftest", 4242) > 0 && strcmp(n, "etwlua-selftest-4242") == 0,
        "generated name");
  check(winp_name_is_ours(n) && winp_name_is_ours("ETWLUA-capture-1") && !winp_name_is_ours("etw") &&
        !winp_name_is_ours("NT Kernel Logger"), "prefix rule, case-insensitive");
  check(winp_name_pid(n) == 4242 && winp_name_pid("etwlua-x") == 0 && winp_name_pid("a-") == 0,
        "pid from name");
  char big[202];
  memset(big, 'a', 201); big[201] = 0;
  check(!winp_name_valid(big, 201) && winp_name_valid(big, 200) && !winp_name_valid("", 0) &&
        !winp_name_valid("a\0b", 3), "name length 1..200, no NUL");
  check(!winp_name_valid("\xff", 1), "name must be UTF-8");

  uint8_t u[16];
  check(tlg_utf8_to_utf16("\xc3\xa9\xf0\x9f\x98\x80", 6, u, 8, NULL) == 3 && tlg_le16(u) == 0xE9 &&
        tlg_le16(u + 2) == 0xD83D && tlg_le16(u + 4) == 0xDE00, "UTF-16 with surrogates");
  char back[16];
  tlg_put16(u + 6, 0);
  check(tlg_utf16_to_utf8(u, 8, back, sizeof back) == 6 && strcmp(back, "\xc3\xa9\xf0\x9f\x98\x80") == 0,
        "UTF-16 back to UTF-8");
}

/* ---------------------------------------------------------- filters */

static void test_filters(void) {
  uint8_t p[64];
  uint32_t pids[] = {4, 0x12345678};
  check(winp_filter_pids(p, sizeof p, pids, 2) == 8 && tlg_le32(p) == 4 &&
        tlg_le32(p + 4) == 0x12345678, "PID filter: 32-bit PIDs, Size 4n");
  uint32_t nine[9] = {0};
  check(winp_filter_pids(p, sizeof p, nine, 9) == -1, "at most 8 PIDs");
  uint16_t ids[] = {1, 300};
  check(winp_filter_event_ids(p, sizeof p, ids, 2, 1) == 8 && p[0] == 1 && p[1] == 0 &&
        tlg_le16(p + 2) == 2 && tlg_le16(p + 4) == 1 && tlg_le16(p + 6) == 300,
        "EVENT_ID filter {FilterIn, 0, Count, Ids}");
  check(winp_filter_exe(p, sizeof p, "a.exe;b.exe") == 24 && u16eq(p, "a.exe;b.exe"),
        "EXE filter: UTF-16, ';'-joined, Size incl. NUL");
  const char *names[] = {"Ev1", "Ev22"};
  check(winp_filter_event_names(p, sizeof p, names, 2, 1, 5, 0xF0, 0x10) == 20 + 4 + 5 &&
        tlg_le64(p) == 0xF0 && tlg_le64(p + 8) == 0x10 && p[16] == 5 && p[17] == 1 &&
        tlg_le16(p + 18) == 2 && memcmp(p + 20, "Ev1\0Ev22\0", 9) == 0,
        "EVENT_NAME filter: 20-byte head + names");

  static winp_enable_block eb;
  winp_enable_in in;
  memset(&in, 0, sizeof in);
  uint8_t src[16];
  for (int i = 0; i < 16; i++) src[i] = (uint8_t)(i + 1);
  in.properties = WINP_PROP_SID | WINP_PROP_PROCESS_START_KEY;
  in.source_id = src;
  in.pids = pids; in.npids = 2;
  in.event_ids = ids; in.nids = 2; in.ids_in = 1;
  in.exe_names = "x.exe";
  check(winp_enable_build(&eb, &in) == 0, "enable block build");
  uint8_t *e = eb.buf;
  check(tlg_le32(e) == 2 && tlg_le32(e + 4) == 0x81 && tlg_le32(e + 8) == 0 &&
        memcmp(e + 12, src, 16) == 0, "ENABLE_TRACE_PARAMETERS v2, property, SourceId @12");
  check(tlg_le32(e + 40) == 3 && eb.nfilters == 3, "FilterDescCount @40");
  uint8_t *d = (uint8_t *)(uintptr_t)tlg_le64(e + 32);
  check(d == e + 48, "EnableFilterDesc @32 points at the array after the 48 bytes");
  check(tlg_le32(d + 12) == 0x80000004 && tlg_le32(d + 8) == 8 &&
        tlg_le32((uint8_t *)(uintptr_t)tlg_le64(d) + 4) == 0x12345678, "desc 0: PID");
  check(tlg_le32(d + 16 + 12) == 0x80000008 && tlg_le32(d + 16 + 8) == 12, "desc 1: EXE");
  check(tlg_le32(d + 32 + 12) == 0x80000200 && tlg_le32(d + 32 + 8) == 8 &&
        ((uintptr_t)tlg_le64(d + 32) & 7) == 0, "desc 2: EVENT_ID, aligned");
  memset(&in, 0, sizeof in);
  check(winp_enable_build(&eb, &in) == 0 && tlg_le32(eb.buf + 40) == 0 &&
        tlg_le64(eb.buf + 32) == 0, "no filters: NULL / 0");
}

/* ------------------------------------------------------------- time */

static void test_time(void) {
  check(winp_filetime_to_unix_ns(116444736000000000LL) == 0, "epoch");
  check(winp_filetime_to_unix_ns(116444736000000001LL) == 100, "100 ns tick");
  check(winp_unix_ns_to_filetime(1700000000123456789LL) == 133444736001234567LL, "unix -> filetime");
  winp_clock c = {1, 10000000, 0, 133000000000000000LL, 5000};
  check(winp_raw_to_filetime(&c, 5000, 0) == 133000000000000000LL, "QPC first stamp = start");
  check(winp_raw_to_filetime(&c, 5000 + 10000000, 0) == 133000000010000000LL, "QPC 10 MHz: 1 s");
  c.perf_freq = 3000000;
  check(winp_raw_to_filetime(&c, 5000 + 3000000, 0) == 133000000010000000LL, "QPC 3 MHz: 1 s");
  c.perf_freq = 0;
  check(winp_raw_to_filetime(&c, 5000 + 1000, 1000) == 133000000010000000LL, "fallback frequency");
  c.clock_type = 2;
  check(winp_raw_to_filetime(&c, 5123, 0) == 133000000000000123LL, "system time: scale 1");
  c.clock_type = 3; c.cpu_mhz = 2000;
  check(winp_raw_to_filetime(&c, 5000 + 2000000000LL, 0) == 133000000010000000LL, "cycles: 10 / MHz");
  c.clock_type = 1; c.perf_freq = 10000000;
  check(winp_raw_to_filetime(&c, 5000 + 864000000000000LL, 0) == 133000000000000000LL + 864000000000000LL,
        "QPC long span without overflow");
}

/* ------------------------------------------------------- TDH walker */

typedef struct tei_b {
  uint8_t buf[2048];
  size_t strs;    /* where the next string goes */
  uint32_t n;
} tei_b;

static void tei_init(tei_b *t, uint32_t nprops, uint32_t top) {
  memset(t, 0, sizeof *t);
  t->n = nprops;
  tlg_put32(t->buf + 100, nprops);
  tlg_put32(t->buf + 104, top);
  t->strs = 112 + 24 * nprops;
}

static uint32_t tei_str(tei_b *t, const char *s) {
  uint32_t off = (uint32_t)t->strs;
  int n = (int)tlg_utf8_to_utf16(s, strlen(s), t->buf + off, 200, NULL);
  tlg_put16(t->buf + off + 2 * n, 0);
  t->strs += 2 * (size_t)n + 2;
  return off;
}

static void tei_prop(tei_b *t, uint32_t i, const char *name, uint32_t flags, uint16_t in, uint16_t out,
                     uint16_t count, uint16_t length) {
  uint8_t *p = t->buf + 112 + 24 * i;
  tlg_put32(p, flags);
  tlg_put32(p + 4, tei_str(t, name));
  tlg_put16(p + 8, in);
  tlg_put16(p + 10, out);
  tlg_put16(p + 16, count);
  tlg_put16(p + 18, length);
}

typedef struct rec { int n; sch_walk_item it[64]; char names[64][32]; } rec;

static int collect(void *ctx, const sch_walk_item *it) {
  rec *r = ctx;
  if (r->n < 64) {
    r->it[r->n] = *it;
    r->names[r->n][0] = 0;
    if (it->name) tlg_utf16_to_utf8(it->name, 31, r->names[r->n], 32);
    r->n++;
  }
  return 0;
}

static void test_walk(void) {
  tei_b t;
  /* 0 Count u32; 1 Items u16[Count]; 2 Ptr pointer(length 99 ignored); 3 Name
     UNICODESTRING; 4 Tag ANSISTRING length 3; 5 Flag BOOLEAN; 6 Pair struct
     {7 A u8, 8 B u16} x2; 9 Blob BINARY length=Count (ParamLength); 10 Sid SID */
  tei_init(&t, 11, 7);
  tei_prop(&t, 0, "Count", 0, SCH_IN_UINT32, 0, 1, 0);
  tei_prop(&t, 1, "Items", SCH_PF_PARAM_COUNT, SCH_IN_UINT16, 0, 0, 0);
  tei_prop(&t, 2, "Ptr", 0, SCH_IN_POINTER, 0, 1, 99);
  tei_prop(&t, 3, "Name", 0, SCH_IN_UNICODESTRING, 0, 1, 0);
  tei_prop(&t, 4, "Tag", 0, SCH_IN_ANSISTRING, 0, 1, 3);
  tei_prop(&t, 5, "Flag", 0, SCH_IN_BOOLEAN, 0, 1, 0);
  tei_prop(&t, 6, "Pair", SCH_PF_STRUCT, 7, 2, 2, 0);
  tei_prop(&t, 7, "A", 0, SCH_IN_UINT8, 0, 1, 0);
  tei_prop(&t, 8, "B", 0, SCH_IN_UINT16, 0, 1, 0);
  tei_prop(&t, 9, "Blob", SCH_PF_PARAM_LENGTH, SCH_IN_BINARY, 0, 1, 0);
  tei_prop(&t, 10, "Sid", 0, SCH_IN_SID, 0, 1, 0);
  /* top-level = 0..6 only; make 9 and 10 reachable by bumping top to 7 and
     reordering is not needed: walk 0..6 first */
  static const uint8_t data64[] = {
    2, 0, 0, 0,                 /* Count = 2 */
    0x11, 0, 0x22, 0,           /* Items */
    1, 2, 3, 4, 5, 6, 7, 8,     /* Ptr (8) */
    'h', 0, 'i', 0, 0, 0,       /* Name "hi" */
    'a', 'b', 'c',              /* Tag */
    1, 0, 0, 0,                 /* Flag */
    9, 0x34, 0x12, 8, 0x78, 0x56 /* Pair x2 */
  };
  rec r;
  memset(&r, 0, sizeof r);
  check(sch_tdh_walk(t.buf, sizeof t.buf, data64, sizeof data64, 8, collect, &r) == 0, "walk ok (8-byte pointers)");
  check(r.n == 19, "walk item count");
  check(r.it[0].kind == SCH_W_VALUE && r.it[0].is_int && r.it[0].u == 2 && strcmp(r.names[0], "Count") == 0,
        "Count = 2");
  check(r.it[1].kind == SCH_W_ARRAY_BEGIN && r.it[1].count == 2 && r.it[2].u == 0x11 &&
        r.it[3].u == 0x22 && r.it[3].index == 1 && r.it[4].kind == SCH_W_ARRAY_END, "ParamCount array");
  check(r.it[5].len == 8 && r.it[5].u == 0x0807060504030201ULL, "pointer = 8 bytes, not length");
  check(r.it[6].len == 4 && memcmp(r.it[6].ptr, "h\0i\0", 4) == 0, "NUL-terminated UTF-16");
  check(r.it[7].len == 3 && memcmp(r.it[7].ptr, "abc", 3) == 0, "fixed-length ANSI");
  check(r.it[8].len == 4 && r.it[8].u == 1, "BOOLEAN is 4 bytes");
  check(r.it[9].kind == SCH_W_ARRAY_BEGIN && r.it[9].count == 2 && r.it[10].kind == SCH_W_STRUCT_BEGIN &&
        r.it[11].u == 9 && r.it[11].depth == 1 && r.it[12].u == 0x1234 && r.it[13].kind == SCH_W_STRUCT_END &&
        r.it[15].u == 8 && r.it[17].kind == SCH_W_STRUCT_END && r.it[18].kind == SCH_W_ARRAY_END, "struct repeated count times");

  /* the same event from a 32-bit process: 4-byte pointer */
  static const uint8_t data32[] = {
    1, 0, 0, 0, 0x33, 0, 0xAA, 0xBB, 0xCC, 0xDD, 0, 0, 'x', 'y', 'z', 0, 0, 0, 0,
    1, 2, 0, 3, 4, 0};
  memset(&r, 0, sizeof r);
  check(sch_tdh_walk(t.buf, sizeof t.buf, data32, sizeof data32, 4, collect, &r) == 0, "walk ok (4-byte pointers)");
  check(r.it[4].len == 4 && r.it[4].u == 0xDDCCBBAA, "pointer = 4 bytes from header flags");

  /* overrun: data cut inside Tag -> rest emitted raw, -2 */
  memset(&r, 0, sizeof r);
  check(sch_tdh_walk(t.buf, sizeof t.buf, data64, 23, 8, collect, &r) == -2, "overrun -> -2");
  check(r.n > 0 && r.it[r.n - 1].kind == SCH_W_REST && r.it[r.n - 1].len == 1, "rest handed up raw");

  /* properties 9 and 10 as top level of another schema: ParamLength, SID,
     unterminated string at the end, IPv6 binary, counted strings, WBEMSID */
  tei_init(&t, 8, 8);
  tei_prop(&t, 0, "Len", 0, SCH_IN_UINT16, 0, 1, 0);
  tei_prop(&t, 1, "Blob", SCH_PF_PARAM_LENGTH, SCH_IN_BINARY, 0, 1, 0);
  tei_prop(&t, 2, "Sid", 0, SCH_IN_SID, 0, 1, 0);
  tei_prop(&t, 3, "Ip", 0, SCH_IN_BINARY, SCH_OUT_IPV6, 1, 0);
  tei_prop(&t, 4, "Cs", 0, SCH_IN_COUNTEDSTRING, 0, 1, 0);
  tei_prop(&t, 5, "Rc", 0, SCH_IN_REVERSEDCOUNTEDANSISTRING, 0, 1, 0);
  tei_prop(&t, 6, "W", 0, SCH_IN_WBEMSID, 0, 1, 0);
  tei_prop(&t, 7, "Tail", 0, SCH_IN_ANSISTRING, 0, 1, 0);
  uint8_t d2[128];
  size_t o = 0;
  d2[o++] = 3; d2[o++] = 0;                          /* Len 3 */
  d2[o++] = 0xA; d2[o++] = 0xB; d2[o++] = 0xC;       /* Blob */
  static const uint8_t sid[] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};
  memcpy(d2 + o, sid, sizeof sid); o += sizeof sid;  /* S-1-5-32-544 */
  for (int i = 0; i < 16; i++) d2[o++] = (uint8_t)i; /* IPv6 */
  d2[o++] = 4; d2[o++] = 0; d2[o++] = 'o'; d2[o++] = 0; d2[o++] = 'k'; d2[o++] = 0;   /* Cs */
  d2[o++] = 0; d2[o++] = 2; d2[o++] = 'q'; d2[o++] = 'r';                           /* Rc big-endian */
  d2[o++] = 0; d2[o++] = 0; d2[o++] = 0; d2[o++] = 0;                               /* W: NULL */
  d2[o++] = 'e'; d2[o++] = 'n'; d2[o++] = 'd';                                      /* Tail, no NUL */
  memset(&r, 0, sizeof r);
  check(sch_tdh_walk(t.buf, sizeof t.buf, d2, o, 8, collect, &r) == 0, "second schema walks");
  check(r.n == 8, "second schema item count");
  check(r.it[1].len == 3 && r.it[1].ptr[2] == 0xC, "ParamLength from an earlier property");
  check(r.it[2].len == 16, "SID = 8 + 4 x SubAuthorityCount");
  check(r.it[3].len == 16 && r.it[3].ptr[15] == 15, "BINARY + IPV6 length 0 = 16");
  check(r.it[4].len == 4 && r.it[4].ptr[0] == 'o', "counted string: u16 byte count");
  check(r.it[5].len == 2 && r.it[5].ptr[0] == 'q', "reversed counted: big-endian count");
  check(r.it[6].len == 0, "WBEMSID NULL = 4 zero bytes");
  check(r.it[7].len == 3 && memcmp(r.it[7].ptr, "end", 3) == 0, "unterminated string runs to the end");

  /* malformed schemas */
  check(sch_tdh_walk(t.buf, 100, d2, o, 8, collect, &r) == -1, "blob shorter than the header");
  tlg_put32(t.buf + 100, 60);
  check(sch_tdh_walk(t.buf, 200, d2, o, 8, collect, &r) == -1, "property array past the blob");
  tlg_put32(t.buf + 100, 8);
  check(sch_tdh_walk(t.buf, sizeof t.buf, d2, o, 3, collect, &r) == -1, "pointer size must be 4 or 8");
  tei_init(&t, 1, 1);
  tei_prop(&t, 0, "Self", SCH_PF_STRUCT, 0, 1, 1, 0);   /* struct containing itself */
  check(sch_tdh_walk(t.buf, sizeof t.buf, d2, o, 8, collect, &r) == -1, "recursive struct refused");

  /* fixed-length UNICODESTRING: `length` counts WCHARs. The EVENT_PROPERTY_INFO
     page says "size in bytes" for every type, but the SDK's tdh.h documents
     the string types exactly: for UNICODESTRING, length (or the value of the
     lengthPropertyIndex property) "contains number of WCHARs in the string";
     for ANSISTRING and BINARY a number of bytes. */
  tei_init(&t, 4, 4);
  tei_prop(&t, 0, "Fix", SCH_PF_PARAM_FIXED_LEN, SCH_IN_UNICODESTRING, 0, 1, 3);
  tei_prop(&t, 1, "N", 0, SCH_IN_UINT16, 0, 1, 0);
  tei_prop(&t, 2, "Var", SCH_PF_PARAM_LENGTH, SCH_IN_UNICODESTRING, 0, 1, 1);
  tei_prop(&t, 3, "After", 0, SCH_IN_UINT8, 0, 1, 0);
  static const uint8_t d3[] = {'a', 0, 'b', 0, 'c', 0,   /* Fix: 3 WCHARs = 6 bytes, no NUL */
                               2, 0,                     /* N = 2 */
                               'x', 0, 'y', 0,           /* Var: N WCHARs */
                               0x5A};                    /* After */
  memset(&r, 0, sizeof r);
  check(sch_tdh_walk(t.buf, sizeof t.buf, d3, sizeof d3, 8, collect, &r) == 0 && r.n == 4,
        "fixed-length strings walk");
  check(r.it[0].len == 6 && memcmp(r.it[0].ptr, "a\0b\0c\0", 6) == 0, "UNICODESTRING length 3 = 3 WCHARs");
  check(r.it[2].len == 4 && memcmp(r.it[2].ptr, "x\0y\0", 4) == 0, "ParamLength UNICODESTRING in WCHARs");
  check(r.it[3].is_int && r.it[3].u == 0x5A, "the field after them is in place");

  /* names out of the blob */
  tei_init(&t, 0, 0);
  uint32_t off = tei_str(&t, "Microsoft-Windows-Kernel-Process");
  tlg_put32(t.buf + SCH_TEI_OFF_PROVIDER_NAME, off);
  char s[64];
  sch_tei_string(t.buf, sizeof t.buf, tlg_le32(t.buf + 52), s, sizeof s);
  check(strcmp(s, "Microsoft-Windows-Kernel-Process") == 0, "provider name @52");

  winp_schema_key a, b;
  memset(&a, 0, sizeof a);
  a.id = 1; a.version = 2; a.opcode = 3; a.level = 4;
  b = a;
  check(winp_schema_key_hash(&a) == winp_schema_key_hash(&b), "equal keys hash equal");
  b.opcode = 4;
  check(winp_schema_key_hash(&a) != winp_schema_key_hash(&b), "opcode is part of the key");
  b = a; b.classic = 1;
  check(winp_schema_key_hash(&a) != winp_schema_key_hash(&b), "classic flag is part of the key");
}


/* ------------------------------------------- Win32 results (win_errors.c) */

static int fake_alive_pid;
static int fake_alive(uint32_t pid) { return (int)pid == fake_alive_pid; }

static void test_errors(void) {
  check(winp_status(0) == ENG_OK && winp_status(5) == ENG_E_ACCESS && winp_status(183) == ENG_E_EXISTS &&
        winp_status(4201) == ENG_E_NOTFOUND && winp_status(1450) == ENG_E_FULL &&
        winp_status(87) == ENG_E_ARG && winp_status(31) == ENG_E_IO, "Win32 -> eng_status");

  /* issue 14.4: ProcessTrace's status is the consumer's end, not always "stopped" */
  check(winp_trace_end_status(0, 0) == ENG_E_STOPPED, "ProcessTrace 0: stopped");
  check(winp_trace_end_status(1223, 0) == ENG_E_STOPPED, "ProcessTrace 1223 (BufferCallback FALSE): stopped");
  check(winp_trace_end_status(4201, 0) == ENG_E_NOTFOUND, "ProcessTrace 4201: misspelt / file-only session -> NOTFOUND");
  check(winp_trace_end_status(998, 0) == ENG_E_IO, "ProcessTrace 998 (callback fault): an error, not a stop");
  check(winp_trace_end_status(5, 0) == ENG_E_ACCESS, "ProcessTrace 5: access");
  check(winp_trace_end_status(6, 0) == ENG_E_IO && winp_trace_end_status(1901, 0) == ENG_E_IO,
        "ProcessTrace 6 / 1901: errors");
  check(winp_trace_end_status(4201, 1) == ENG_E_STOPPED && winp_trace_end_status(998, 1) == ENG_E_STOPPED,
        "any status after our own close is a stop");

  check(winp_consumer_precheck(4201, 0) == ENG_E_NOTFOUND, "precheck: no such session");
  check(winp_consumer_precheck(0, 0x100 | 0x08000000) == ENG_OK, "precheck: real-time session");
  check(winp_consumer_precheck(234, 0x101) == ENG_OK, "precheck: 234 still answered");
  check(winp_consumer_precheck(0, 0x1 | 0x08000000) == ENG_E_BUSY, "precheck: file-only session");
  check(winp_consumer_precheck(5, 0) == ENG_E_ACCESS, "precheck: access denied");
  check(winp_consumer_precheck(31, 0) == ENG_OK, "precheck: other errors left to OpenTraceW");

  /* issue 14.8: a taken name is not stopped unless stale or asked for */
  fake_alive_pid = 4242;
  check(winp_start_takeover("EventLog-System", 0, fake_alive) == 0, "taken: a Windows session stays");
  check(winp_start_takeover("othertool", 0, fake_alive) == 0, "taken: another tool's session stays");
  check(winp_start_takeover("etwlua-capture-4242", 0, fake_alive) == 0, "taken: a live etwlua's stays");
  check(winp_start_takeover("etwlua-capture-4243", 0, fake_alive) == 1, "taken: a stale etwlua's is taken over");
  check(winp_start_takeover("ETWLUA-watch-7", 0, fake_alive) == 1, "taken: prefix is case-insensitive");
  check(winp_start_takeover("etwlua-mine", 0, fake_alive) == 0, "taken: our prefix without a pid stays");
  check(winp_start_takeover("EventLog-System", 1, fake_alive) == 1 &&
        winp_start_takeover("etwlua-capture-4242", 1, fake_alive) == 1, "taken: replace takes any");

  /* issue 14.9: transient TDH failures are asked again */
  check(winp_tdh_failure_cacheable(1168) && winp_tdh_failure_cacheable(2) && winp_tdh_failure_cacheable(87),
        "TDH: no schema / binary missing / bad record are remembered");
  check(!winp_tdh_failure_cacheable(4208) && !winp_tdh_failure_cacheable(8) && !winp_tdh_failure_cacheable(14) &&
        !winp_tdh_failure_cacheable(122), "TDH: WMI down, memory, size race are not");
}

/* a fake Win32 call whose answer grows `grow` times between calls */
typedef struct fake_sized { uint32_t need, grow, calls, first_rc; } fake_sized;
static uint32_t fake_call(void *ctx, uint8_t *buf, uint32_t *size) {
  fake_sized *f = ctx;
  f->calls++;
  if (f->first_rc) return f->first_rc;
  if (!buf || *size < f->need) {
    *size = f->need;
    if (buf && f->grow) { f->grow--; f->need += 50; *size = f->need; }
    return 122;
  }
  if (f->grow) { f->grow--; f->need += 50; *size = f->need; return 122; }
  for (uint32_t i = 0; i < f->need; i++) buf[i] = (uint8_t)i;
  *size = f->need;
  return 0;
}

static void test_two_call(void) {
  uint8_t *b = NULL;
  uint32_t len = 0;
  fake_sized f = {100, 0, 0, 0};
  check(winp_two_call(fake_call, &f, 4, &b, &len) == 0 && b && len == 100 && b[99] == 99 && f.calls == 2,
        "two calls: size, then fill");
  free(b);
  fake_sized g = {100, 2, 0, 0};   /* the answer grows twice between the calls */
  check(winp_two_call(fake_call, &g, 4, &b, &len) == 0 && b && len == 200 && b[199] == 199,
        "two calls: a grown answer is retried with its new size");
  free(b);
  fake_sized h = {100, 100, 0, 0};  /* keeps growing */
  check(winp_two_call(fake_call, &h, 3, &b, &len) == 122 && !b && len == 0 && h.calls == 4,
        "two calls: bounded rounds, then the size error");
  fake_sized k = {0, 0, 0, 1168};
  check(winp_two_call(fake_call, &k, 3, &b, &len) == 1168 && !b && k.calls == 1, "two calls: a plain failure");
}

static void test_newfile(void) {
  char o[64];
  check(winp_newfile_pattern("C:\\t\\out.etl", o, sizeof o) > 0 && strcmp(o, "C:\\t\\out_%d.etl") == 0,
        "pattern before the extension");
  check(winp_newfile_pattern("trace", o, sizeof o) > 0 && strcmp(o, "trace_%d") == 0, "pattern without extension");
  check(winp_newfile_pattern("d.x\\f", o, sizeof o) > 0 && strcmp(o, "d.x\\f_%d") == 0,
        "a dot in the folder is not the extension");
  check(winp_newfile_pattern("c:\\.etl", o, sizeof o) > 0 && strcmp(o, "c:\\.etl_%d") == 0, "dot file");
  check(winp_newfile_pattern("run%d.etl", o, sizeof o) > 0 && strcmp(o, "run%d.etl") == 0, "user's %%d kept");
  check(winp_newfile_pattern("50%.x.etl", o, sizeof o) > 0 && strcmp(o, "50%%.x_%d.etl") == 0,
        "other %% doubled (ETW formats the name)");
  check(winp_newfile_pattern("out.etl", o, 10) == -1, "too long refused");
  check(winp_newfile_pattern("out.etl", o, 11) == 10 && strcmp(o, "out_%d.etl") == 0, "exactly fits");

  /* issue 14.7: max_mb rotation is NEWFILE + size, not SEQUENTIAL (which stops) */
  static uint8_t b[WINP_PROPS_BLOCK];
  winp_props_in in;
  memset(&in, 0, sizeof in);
  in.mode = WINP_FILE;
  in.newfile = 1;
  in.max_file_mb = 5;
  winp_newfile_pattern("C:\\t\\out.etl", o, sizeof o);
  in.file = o;
  check(winp_props_build(b, &in) == 0 && (tlg_le32(b + 64) & 0x9) == 0x8 && tlg_le32(b + 60) == 5 &&
        u16eq(b + 2168, "C:\\t\\out_%d.etl"), "rotating file: NEWFILE, size, generated pattern");
}

/* ------------------------------------ schema cache (win_schema_cache.c) */

static void test_schema_cache(void) {
  /* issue 14.9: the old fixed table stopped caching after 6,144 event kinds;
     this one grows, and blobs keep their address while it does */
  enum { KINDS = 10000 };
  winp_schema_cache *c = winp_schema_cache_new(1u << 16);
  check(c != NULL, "cache made");
  if (!c) return;
  static const uint8_t *first[KINDS];
  int put_ok = 1;
  for (int i = 0; i < KINDS; i++) {
    winp_schema_key k;
    memset(&k, 0, sizeof k);
    k.provider[0] = (uint8_t)(i >> 8);
    k.id = (uint16_t)i;
    k.level = 4;
    uint8_t *blob = NULL;
    if (i % 7) {   /* every 7th kind: "TDH has no schema" */
      blob = malloc(8);
      if (blob) tlg_put32(blob, (uint32_t)i);
    }
    first[i] = blob;
    put_ok &= winp_schema_cache_put(c, &k, blob, 8) == 0;
  }
  check(put_ok && winp_schema_cache_count(c) == KINDS, "10,000 event kinds cached");
  int all = 1;
  for (int i = 0; i < KINDS; i++) {
    winp_schema_key k;
    memset(&k, 0, sizeof k);
    k.provider[0] = (uint8_t)(i >> 8);
    k.id = (uint16_t)i;
    k.level = 4;
    const uint8_t *b = NULL;
    uint32_t len = 99;
    if (!winp_schema_cache_find(c, &k, &b, &len) || b != first[i] || len != (first[i] ? 8u : 0u) ||
        (b && tlg_le32(b) != (uint32_t)i))
      all = 0;
  }
  check(all, "every kind found, blobs at their first address after growing");
  winp_schema_key other;
  memset(&other, 0, sizeof other);
  other.id = 3;
  other.level = 5;   /* level is part of the key */
  const uint8_t *b;
  uint32_t len;
  check(!winp_schema_cache_find(c, &other, &b, &len), "an unknown key is a miss");
  winp_schema_cache_free(c);

  c = winp_schema_cache_new(3);
  uint8_t *x = malloc(4);
  int r[4];
  for (int i = 0; i < 4; i++) {
    other.id = (uint16_t)(100 + i);
    r[i] = winp_schema_cache_put(c, &other, i == 3 ? x : NULL, 4);
  }
  check(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == -1, "past max_entries: refused, blob left to the caller");
  free(x);
  winp_schema_cache_free(c);
}

/* ------------------------------------- console handler (win_ctrl_plan.c) */

static int step_at(const winp_ctrl_plan *p, int step) {
  for (int i = 0; p->steps[i]; i++)
    if (p->steps[i] == step) return i;
  return -1;
}

static void test_ctrl_plan(void) {
  winp_ctrl_plan p;
  check(winp_ctrl_signal(0) == 2 && winp_ctrl_signal(1) == 15 && winp_ctrl_signal(2) == 15 &&
        winp_ctrl_signal(5) == 0, "Ctrl+C SIGINT, Break and close SIGTERM");
  winp_ctrl_decide(0, WINP_HOST_HANDLER, 1, 0, &p);
  check(p.sig == 2 && p.handled && step_at(&p, WINP_STEP_CALL_HOST) == 0 && step_at(&p, WINP_STEP_WAKE) == 1 &&
        step_at(&p, WINP_STEP_ARM_WATCHDOG) == 2 && step_at(&p, WINP_STEP_EXIT) < 0,
        "Ctrl+C: mark the interruption first, then wake, then watch the run");
  winp_ctrl_decide(0, WINP_HOST_HANDLER, 0, 0, &p);
  check(step_at(&p, WINP_STEP_ARM_WATCHDOG) < 0 && step_at(&p, WINP_STEP_EXIT) < 0,
        "no blocked run: no watchdog (an idle etwlua -i survives)");
  winp_ctrl_decide(0, WINP_HOST_HANDLER, 1, 1, &p);
  check(step_at(&p, WINP_STEP_STOP_OWNED) == 0 && step_at(&p, WINP_STEP_EXIT) == 1,
        "second press before the run returned: stop and exit");
  winp_ctrl_decide(1, WINP_HOST_HANDLER, 1, 0, &p);
  check(p.sig == 15 && step_at(&p, WINP_STEP_CALL_HOST) == 0 && step_at(&p, WINP_STEP_WAKE) == 1,
        "Ctrl+Break: SIGTERM's handler, the same path");
  winp_ctrl_decide(0, WINP_HOST_DEFAULT, 1, 0, &p);
  check(!p.handled && step_at(&p, WINP_STEP_STOP_OWNED) >= 0 && step_at(&p, WINP_STEP_CALL_HOST) < 0,
        "no host handler: stop owned sessions, let the default handler end it");
  winp_ctrl_decide(0, WINP_HOST_IGNORE, 1, 0, &p);
  check(p.handled && p.steps[0] == WINP_STEP_END, "host ignores SIGINT: nothing");
  winp_ctrl_decide(2, WINP_HOST_HANDLER, 0, 0, &p);
  check(!p.handled && step_at(&p, WINP_STEP_CALL_HOST) == 0 && step_at(&p, WINP_STEP_WAKE) == 1 &&
        step_at(&p, WINP_STEP_WAIT_OWNED) == 2 && step_at(&p, WINP_STEP_STOP_OWNED) == 3,
        "console close: SIGTERM path, time to finish, then stop the rest");
  winp_ctrl_decide(6, WINP_HOST_HANDLER, 0, 0, &p);
  check(!p.handled && step_at(&p, WINP_STEP_STOP_OWNED) >= 0 && step_at(&p, WINP_STEP_CALL_HOST) < 0,
        "shutdown: stop at once");
}


/* ------------------------------------------- kernel groups and aliases */

static void test_sysprov(void) {
  /* EVENT_TRACE_FLAG_* values of Microsoft's EVENT_TRACE_PROPERTIES page */
  check(eng_kernel_group_flags("process") == 0x1, "process = PROCESS 0x1");
  check(eng_kernel_group_flags("thread") == 0x2, "thread = THREAD 0x2");
  check(eng_kernel_group_flags("image_load") == 0x4, "image_load = IMAGE_LOAD 0x4");
  check(eng_kernel_group_flags("cswitch") == 0x10, "cswitch = CSWITCH 0x10");
  check(eng_kernel_group_flags("disk_io") == 0x300, "disk_io = DISK_IO | DISK_FILE_IO");
  check(eng_kernel_group_flags("file_io") == 0x06000000, "file_io = FILE_IO | FILE_IO_INIT");
  check(eng_kernel_group_flags("network") == 0x10000, "network = NETWORK_TCPIP 0x10000");
  check(eng_kernel_group_flags("registry") == 0x20000, "registry = REGISTRY 0x20000");
  check(eng_kernel_group_flags("Process") == 0, "group names are exact (lower case)");
  check(eng_kernel_group_flags("bogus") == 0 && eng_kernel_group_flags(NULL) == 0, "unknown: 0");
  int n = 0;
  for (const eng_kernel_group *g = eng_kernel_groups; g->name; g++, n++)
    check(strstr(eng_kernel_group_list(), g->name) != NULL, "group list names %s", g->name);
  check(n == 8, "8 groups (got %d)", n);

  const eng_kernel_alias *a = eng_kernel_alias_find("Linux-Kernel-Process", 20);
  check(a && strcmp(a->windows_name, "Microsoft-Windows-Kernel-Process") == 0 &&
            strcmp(a->windows_guid, "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716") == 0,
        "Linux-Kernel-Process -> Kernel-Process {22fb2cd6-...}");
  a = eng_kernel_alias_find("linux-kernel-file", 17);
  check(a && strcmp(a->windows_guid, "edd08927-9cc4-4e65-b970-c2560fb5c289") == 0,
        "Linux-Kernel-File, any case -> Kernel-File {edd08927-...}");
  a = eng_kernel_alias_find("Linux-Kernel-Network", 20);
  check(a && strcmp(a->windows_guid, "7dd42a49-5329-4832-8dfd-43d979153a88") == 0,
        "Linux-Kernel-Network -> Kernel-Network {7dd42a49-...}");
  check(!eng_kernel_alias_find("Linux-Kernel-Process", 19), "a prefix is not an alias");
  check(!eng_kernel_alias_find("Linux-Kernel-ProcessX", 21), "a longer name is not an alias");
  check(eng_is_kernel_logger("NT Kernel Logger") && eng_is_kernel_logger("nt kernel logger"),
        "kernel logger name, any case");
  check(!eng_is_kernel_logger("NT Kernel Logger2") && !eng_is_kernel_logger(NULL),
        "other names are not the kernel logger");
}

static void test_kernel_plan(void) {
  static uint8_t b[WINP_PROPS_BLOCK];
  static const uint8_t fresh[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  static const uint8_t stcg[16] = {0xad, 0x4a, 0x81, 0x9e, 0x04, 0x32, 0xd2, 0x11,
                                   0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39};
  winp_props_in in;
  memset(&in, 0, sizeof in);
  in.mode = WINP_REALTIME;
  check(winp_kernel_plan("NT Kernel Logger", 0x1 | 0x10000, fresh, &in) == 0, "kernel logger plan");
  check(winp_props_build(b, &in) == 0, "kernel logger props build");
  check(memcmp(b + 24, stcg, 16) == 0, "Wnode.Guid @24 = SystemTraceControlGuid {9e814aad-...}");
  check(tlg_le32(b + 72) == 0x10001, "EnableFlags @72 = PROCESS | NETWORK_TCPIP");
  check(tlg_le32(b + 64) == (0x100 | 0x08000000), "kernel logger: no SYSTEM_LOGGER_MODE");

  memset(&in, 0, sizeof in);
  in.mode = WINP_REALTIME;
  check(winp_kernel_plan("nt kernel logger", 0, fresh, &in) == -1,
        "kernel logger without groups refused");
  memset(&in, 0, sizeof in);
  in.mode = WINP_FILE;
  in.newfile = 1;
  check(winp_kernel_plan("NT Kernel Logger", 0x1, fresh, &in) == -1,
        "kernel logger with NEWFILE rotation (max_mb) refused");
  check(winp_kernel_plan("etwlua-kern-file", 0x1, fresh, &in) == 0,
        "a system logger may rotate");

  memset(&in, 0, sizeof in);
  in.mode = WINP_REALTIME;
  check(winp_kernel_plan("etwlua-kern", 0x1, fresh, &in) == 0, "system logger plan");
  winp_props_build(b, &in);
  check(tlg_le32(b + 64) == (0x100 | 0x08000000 | 0x02000000),
        "private name: LogFileMode adds SYSTEM_LOGGER_MODE 0x02000000");
  check(memcmp(b + 24, fresh, 16) == 0, "system logger: its own fresh Wnode.Guid");
  check(tlg_le32(b + 72) == 0x1, "system logger EnableFlags = PROCESS");

  memset(&in, 0, sizeof in);
  in.mode = WINP_REALTIME;
  check(winp_kernel_plan("etwlua-plain", 0, fresh, &in) == 0, "no groups: plan ok");
  winp_props_build(b, &in);
  check(tlg_le32(b + 64) == (0x100 | 0x08000000) && tlg_le32(b + 72) == 0 &&
            tlg_le32(b + 24) == 0,
        "no groups: a normal session (no system mode, flags 0, GUID left to ETW)");
}

/* ------------------------------------------------ provider enumeration */

typedef struct pei_b {
  uint8_t b[1024];
  uint32_t n, top;
} pei_b;

static void pei_init(pei_b *p, uint32_t n) {
  memset(p, 0, sizeof *p);
  p->n = n;
  tlg_put32(p->b, n);
  p->top = WINP_PEI_HEAD + n * WINP_TPI_SIZE;
}

/* Entry i: GUID bytes all `tag`, SchemaSource, name (ASCII) appended. */
static void pei_add(pei_b *p, uint32_t i, uint8_t tag, uint32_t source, const char *name) {
  uint8_t *e = p->b + WINP_PEI_HEAD + i * WINP_TPI_SIZE;
  memset(e, tag, 16);
  tlg_put32(e + 16, source);
  tlg_put32(e + 20, p->top);
  for (size_t k = 0; name[k]; k++, p->top += 2) tlg_put16(p->b + p->top, (uint8_t)name[k]);
  tlg_put16(p->b + p->top, 0);
  p->top += 2;
}

static int find(const pei_b *p, size_t len, const char *name, uint8_t *tag) {
  uint8_t g[16];
  if (winp_provenum_find(p->b, len, name, strlen(name), g) < 0) return -1;
  *tag = g[0];
  return 0;
}

static void test_provenum(void) {
  pei_b p;
  uint8_t tag = 0;
  pei_init(&p, 4);
  pei_add(&p, 0, 0x11, 0, "Microsoft-Windows-Kernel-Process");
  pei_add(&p, 1, 0x22, 1, "MSNT_SystemTrace");
  pei_add(&p, 2, 0x33, 1, "Dup");
  pei_add(&p, 3, 0x44, 0, "dup");
  check(find(&p, p.top, "Microsoft-Windows-Kernel-Process", &tag) == 0 && tag == 0x11,
        "exact name found");
  check(find(&p, p.top, "microsoft-windows-kernel-PROCESS", &tag) == 0 && tag == 0x11,
        "case-insensitive like Windows");
  check(find(&p, p.top, "MSNT_SystemTrace", &tag) == 0 && tag == 0x22, "MOF provider found");
  check(find(&p, p.top, "DUP", &tag) == 0 && tag == 0x44,
        "two matches: the manifest one (SchemaSource 0) wins over the earlier MOF one");
  check(find(&p, p.top, "Microsoft-Windows-Kernel-Proces", &tag) < 0, "prefix: not found");
  check(find(&p, p.top, "Microsoft-Windows-Kernel-ProcessX", &tag) < 0, "longer: not found");
  check(find(&p, p.top, "Nope", &tag) < 0, "unknown name: not found");

  /* a blob cut short: entries or names past its end are never read */
  check(find(&p, WINP_PEI_HEAD + WINP_TPI_SIZE, "MSNT_SystemTrace", &tag) < 0,
        "count cut to the entries that fit");
  uint32_t name0 = tlg_le32(p.b + WINP_PEI_HEAD + 20);
  check(find(&p, name0 + 10, "Microsoft-Windows-Kernel-Process", &tag) < 0,
        "name running past the blob's end: no match");
  pei_b q = p;
  tlg_put32(q.b + WINP_PEI_HEAD + 20, 0xFFFFFFF0u);
  check(find(&q, q.top, "Microsoft-Windows-Kernel-Process", &tag) < 0,
        "offset outside the blob: entry skipped");
  tlg_put32(q.b, 0xFFFFFFFFu);
  check(find(&q, q.top, "MSNT_SystemTrace", &tag) == 0 && tag == 0x22,
        "huge count: only the entries that fit are read");
  check(winp_provenum_find(p.b, 4, "Dup", 3, (uint8_t[16]){0}) < 0, "blob shorter than its head");
  check(winp_provenum_find(p.b, p.top, "\xff", 1, (uint8_t[16]){0}) < 0, "bad UTF-8 name");
  check(winp_provenum_find(p.b, p.top, "", 0, (uint8_t[16]){0}) < 0, "empty name");
}

/* ------------------------------------------------------ TDH value maps */

/* An EVENT_MAP_INFO as TdhGetEventMapInformation returns it: head, entries
** {OutputOffset, Value}, then the UTF-16 texts. */
typedef struct emi_b { uint8_t buf[512]; uint32_t len; } emi_b;

static void emi_make(emi_b *m, uint32_t flag, uint32_t valuetype, uint32_t n,
                     const uint32_t *values, const char *const *texts) {
  memset(m, 0, sizeof *m);
  tlg_put32(m->buf + 4, flag);
  tlg_put32(m->buf + 8, n);
  tlg_put32(m->buf + 12, valuetype);
  uint32_t at = 16 + 8 * n;
  for (uint32_t k = 0; k < n; k++) {
    tlg_put32(m->buf + 16 + 8 * k, at);
    tlg_put32(m->buf + 16 + 8 * k + 4, values ? values[k] : 0xEEEE);
    int w = (int)tlg_utf8_to_utf16(texts[k], strlen(texts[k]), m->buf + at, 60, NULL);
    tlg_put16(m->buf + at + 2 * w, 0);
    at += 2 * (uint32_t)w + 2;
  }
  m->len = at;
}

typedef struct fetcher { emi_b maps[4]; const char *names[4]; int n, calls; } fetcher;

static uint32_t fetch_map(void *ctx, const uint8_t *name, uint8_t **info, uint32_t *len) {
  fetcher *f = ctx;
  f->calls++;
  for (int i = 0; i < f->n; i++)
    if (u16eq(name, f->names[i])) {
      *info = malloc(f->maps[i].len);
      memcpy(*info, f->maps[i].buf, f->maps[i].len);
      *len = f->maps[i].len;
      return 0;
    }
  return 1168; /* ERROR_NOT_FOUND */
}

static uint32_t prop_map(const uint8_t *b, uint32_t i) { return tlg_le32(b + 112 + 24 * i + 12); }

static const char *lookup(const uint8_t *b, uint32_t len, uint32_t prop, uint64_t v) {
  static char out[128];
  schema_map_lookup(b, len, prop_map(b, prop), v, out, sizeof out);
  return out;
}

static void test_tdh_maps(void) {
  static tei_b t;
  static fetcher f = {.n = 4, .names = {"StateMap", "FlagMap", "Idx", "Pat"}};
  tei_init(&t, 6, 6);
  tei_prop(&t, 0, "State", 0, SCH_IN_UINT32, 0, 1, 0);
  tei_prop(&t, 1, "Again", 0, SCH_IN_UINT32, 0, 1, 0);
  tei_prop(&t, 2, "Flags", 0, SCH_IN_UINT32, 0, 1, 0);
  tei_prop(&t, 3, "Mof", 0, SCH_IN_UINT32, 0, 1, 0);
  tei_prop(&t, 4, "Pattern", 0, SCH_IN_UINT32, 0, 1, 0);
  tei_prop(&t, 5, "Missing", 0, SCH_IN_UINT32, 0, 1, 0);
  uint32_t state = tei_str(&t, "StateMap");
  tlg_put32(t.buf + 112 + 12, state);
  tlg_put32(t.buf + 112 + 24 + 12, state);      /* two properties, one map */
  tlg_put32(t.buf + 112 + 48 + 12, tei_str(&t, "FlagMap"));
  tlg_put32(t.buf + 112 + 72 + 12, tei_str(&t, "Idx"));
  tlg_put32(t.buf + 112 + 96 + 12, tei_str(&t, "Pat"));
  tlg_put32(t.buf + 112 + 120 + 12, tei_str(&t, "NoSuchMap"));
  uint32_t tei_len = (uint32_t)t.strs;
  emi_make(&f.maps[0], 0x1, 0, 2, (const uint32_t[]){1, 2}, (const char *const[]){"Running ", "Stopped"});
  emi_make(&f.maps[1], 0x2, 0, 3, (const uint32_t[]){1, 2, 4}, (const char *const[]){"A", "B", "C"});
  emi_make(&f.maps[2], 0x8 | 0x40, 0, 3, NULL, (const char *const[]){"Zero", "One", "Two"});
  emi_make(&f.maps[3], 0x4, 0, 1, (const uint32_t[]){1}, (const char *const[]){"P"});

  uint8_t *out = NULL;
  uint32_t len = 0;
  check(winp_tdh_add_maps(t.buf, tei_len, fetch_map, &f, &out, &len) == 0 && out,
        "maps: a copy with maps appended");
  check(f.calls == 5, "maps: each distinct map fetched once (%d calls)", f.calls);
  check(out && len > tei_len && memcmp(out, t.buf, 112) == 0, "maps: the TEI head unchanged");
  if (!out) return;
  check(strcmp(lookup(out, len, 0, 2), "Stopped") == 0, "value map: 2 -> Stopped");
  check(strcmp(lookup(out, len, 0, 1), "Running") == 0, "value map: trailing blank dropped");
  check(strcmp(lookup(out, len, 1, 1), "Running") == 0, "second property, same map");
  check(lookup(out, len, 0, 3)[0] == 0, "value map: no entry for 3");
  check(strcmp(lookup(out, len, 2, 5), "A|C") == 0, "bitmap: 5 -> A|C");
  check(strcmp(lookup(out, len, 3, 2), "Two") == 0, "MOF Values without ValueMap: index 2 -> Two");
  check(lookup(out, len, 4, 1)[0] == 0, "pattern map: not a number map, none");
  check(lookup(out, len, 5, 1)[0] == 0, "a map TDH does not have: none");
  check(u16eq(out + tlg_le32(out + 112 + 4), "State"), "property names untouched");
  free(out);

  /* hostile EVENT_MAP_INFO: a count past its end, a text offset outside */
  f.calls = 0;
  tlg_put32(f.maps[0].buf + 8, 0x40000000);
  tlg_put32(f.maps[1].buf + 16, 5000);
  check(winp_tdh_add_maps(t.buf, tei_len, fetch_map, &f, &out, &len) == 0 && out,
        "hostile maps: still a copy");
  if (!out) return;
  check(lookup(out, len, 0, 2)[0] == 0, "count past the end: map dropped");
  check(strcmp(lookup(out, len, 2, 6), "B|C") == 0, "text outside: that entry dropped");
  free(out);

  /* no maps at all: nothing to copy; a truncated TEI: nothing read */
  tei_init(&t, 1, 1);
  tei_prop(&t, 0, "Plain", 0, SCH_IN_UINT32, 0, 1, 0);
  f.calls = 0;
  check(winp_tdh_add_maps(t.buf, (uint32_t)t.strs, fetch_map, &f, &out, &len) == 0 && !out &&
            f.calls == 0, "no maps: the TEI is used as is");
  tlg_put32(t.buf + 100, 1000);
  check(winp_tdh_add_maps(t.buf, (uint32_t)t.strs, fetch_map, &f, &out, &len) == 0 && !out,
        "property count past the blob: nothing read");
}

#ifdef _WIN32
/* the byte offsets against mingw's own structures */
static void test_mingw_layout(void) {
  check(sizeof(EVENT_TRACE_PROPERTIES) == WINP_PROPS_SIZE, "sizeof EVENT_TRACE_PROPERTIES");
  check(offsetof(EVENT_TRACE_PROPERTIES, LogFileMode) == WINP_OFF_LOGFILEMODE, "LogFileMode");
  check(offsetof(EVENT_TRACE_PROPERTIES, FlushTimer) == WINP_OFF_FLUSHTIMER, "FlushTimer");
  check(offsetof(EVENT_TRACE_PROPERTIES, EventsLost) == WINP_OFF_EVENTSLOST, "EventsLost");
  check(offsetof(EVENT_TRACE_PROPERTIES, RealTimeBuffersLost) == WINP_OFF_RTBUFFERSLOST, "RT lost");
  check(offsetof(EVENT_TRACE_PROPERTIES, LogFileNameOffset) == WINP_OFF_LOGFILENAMEOFF, "LogFileNameOffset");
  check(offsetof(EVENT_TRACE_PROPERTIES, LoggerNameOffset) == WINP_OFF_LOGGERNAMEOFF, "LoggerNameOffset");
  check(offsetof(EVENT_TRACE_PROPERTIES, Wnode.ClientContext) == WINP_OFF_WNODE_CLIENTCTX, "ClientContext");
  check(offsetof(EVENT_TRACE_PROPERTIES, Wnode.Flags) == WINP_OFF_WNODE_FLAGS, "Wnode.Flags");
  check(offsetof(EVENT_TRACE_PROPERTIES, Wnode.Guid) == WINP_OFF_WNODE_GUID, "Wnode.Guid");
  check(offsetof(EVENT_TRACE_PROPERTIES, Wnode.HistoricalContext) == WINP_OFF_WNODE_HISTCTX, "HistoricalContext");
  check(sizeof(ENABLE_TRACE_PARAMETERS) == WINP_ETP_SIZE, "sizeof ENABLE_TRACE_PARAMETERS");
  check(offsetof(ENABLE_TRACE_PARAMETERS, SourceId) == WINP_ETP_OFF_SOURCEID, "SourceId");
  check(offsetof(ENABLE_TRACE_PARAMETERS, EnableFilterDesc) == WINP_ETP_OFF_FILTERDESC, "EnableFilterDesc");
  check(offsetof(ENABLE_TRACE_PARAMETERS, FilterDescCount) == WINP_ETP_OFF_FILTERCOUNT, "FilterDescCount");
  check(sizeof(EVENT_FILTER_DESCRIPTOR) == WINP_EFD_SIZE, "sizeof EVENT_FILTER_DESCRIPTOR");
  check(offsetof(TRACE_EVENT_INFO, DecodingSource) == SCH_TEI_OFF_DECODING_SOURCE, "DecodingSource");
  check(offsetof(TRACE_EVENT_INFO, PropertyCount) == SCH_TEI_OFF_PROPERTY_COUNT, "PropertyCount");
  check(offsetof(TRACE_EVENT_INFO, TopLevelPropertyCount) == SCH_TEI_OFF_TOP_COUNT, "TopLevelPropertyCount");
  check(offsetof(TRACE_EVENT_INFO, EventPropertyInfoArray) == SCH_TEI_OFF_PROPS, "EventPropertyInfoArray");
  check(sizeof(EVENT_PROPERTY_INFO) == SCH_EPI_SIZE, "sizeof EVENT_PROPERTY_INFO");
  check(sizeof(TRACE_PROVIDER_INFO) == WINP_TPI_SIZE, "sizeof TRACE_PROVIDER_INFO");
  check(offsetof(TRACE_PROVIDER_INFO, SchemaSource) == WINP_TPI_OFF_SOURCE, "SchemaSource");
  check(offsetof(TRACE_PROVIDER_INFO, ProviderNameOffset) == WINP_TPI_OFF_NAME, "ProviderNameOffset");
  check(offsetof(PROVIDER_ENUMERATION_INFO, TraceProviderInfoArray) == WINP_PEI_HEAD,
        "TraceProviderInfoArray");
  check(memcmp(&SystemTraceControlGuid, winp_system_trace_guid, 16) == 0,
        "SystemTraceControlGuid bytes");
}
#endif

int main(void) {
  test_props();
  test_names();
  test_filters();
  test_time();
  test_walk();
  test_errors();
  test_two_call();
  test_newfile();
  test_ctrl_plan();
  test_schema_cache();
  test_sysprov();
  test_kernel_plan();
  test_provenum();
  test_tdh_maps();
#ifdef _WIN32
  test_mingw_layout();
#endif
  return unit_finish();
}
