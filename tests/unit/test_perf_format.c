/*
** test_perf_format.c: the tracefs format parser and the sample decoder
** (src/engine/perf/tp_format.c). Format texts are embedded (copied from a
** 6.18 kernel, plus hand-made edge cases); samples are built by hand, and
** the decoded TraceLogging event is printed with the tlg text formatter and
** compared with the text expected. Then every format file of this
** machine's tracefs, when readable, must parse (skipped otherwise).
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "perf/perf_int.h"
#include "perf/tp_format.h"
#include "tlg_format.h"
#include "unit_check.h"

static const char sched_switch[] =
    "name: sched_switch\n"
    "ID: 372\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
    "\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
    "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
    "\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
    "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
    "\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n"
    "\n"
    "print fmt: \"prev_comm=%s prev_pid=%d\", REC->prev_comm, REC->prev_pid\n";

static const char exec_fmt[] =
    "name: sched_process_exec\n"
    "ID: 365\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
    "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
    "\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n";

/* hand-made: pointer, fixed integer array, __rel_loc string, __data_loc u32
** array, an odd-size blob */
static const char mixed_fmt[] =
    "name: mixed\nID: 7\nformat:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:const char * ptr;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:u16 ports[2];\toffset:16;\tsize:4;\tsigned:0;\n"
    "\tfield:__rel_loc char[] rs;\toffset:20;\tsize:4;\tsigned:0;\n"
    "\tfield:__data_loc u32[] ids;\toffset:24;\tsize:4;\tsigned:0;\n"
    "\tfield:struct odd blob;\toffset:28;\tsize:3;\tsigned:0;\n"
    "\tfield:s8 small;\toffset:31;\tsize:1;\tsigned:1;\n";

static void put(uint8_t *p, size_t off, const void *v, size_t n) { memcpy(p + off, v, n); }

typedef struct text_buf { char s[2048]; size_t n; } text_buf;
static void text_write(void *ctx, const char *s, size_t n) {
  text_buf *t = ctx;
  if (t->n + n < sizeof t->s) { memcpy(t->s + t->n, s, n); t->n += n; t->s[t->n] = 0; }
}

/* Decode raw by f; the fields as one text line, "" on failure; *nskip. */
static const char *decode_text(const tpf_format *f, const uint8_t *raw, size_t len, int *nskip) {
  static text_buf t;
  tlg_builder b;
  tlg_desc d = {0, 0, 11, 4, 0, 0, 0};
  tlg_build_init(&b, 0, 0);
  t.n = 0;
  t.s[0] = 0;
  if (tlg_build_reset(&b, f->name, strlen(f->name), &d, 0) != TLG_OK) return t.s;
  *nskip = tpf_decode(f, raw, len, &b);
  size_t ml, dl;
  const uint8_t *m = tlg_build_meta(&b, &ml), *dd = tlg_build_data(&b, &dl);
  tlg_decoder dec;
  tlg_sink sink = {text_write, &t};
  if (*nskip >= 0 && tlg_decode_start(&dec, m, ml, dd, dl) == TLG_OK)
    tlg_fmt_fields(&sink, &dec, TLG_FMT_TEXT);
  tlg_build_free(&b);
  return t.s;
}

static void test_sched_switch(void) {
  tpf_format f;
  char err[200];
  check(tpf_parse(sched_switch, strlen(sched_switch), &f, err, sizeof err) == 0,
        "sched_switch parses: %s", err);
  check(f.id == 372 && strcmp(f.name, "sched_switch") == 0, "name/id: %s %u", f.name, f.id);
  check(f.nfields == 11, "11 fields, got %u", f.nfields);
  int k = tpf_find(&f, "prev_comm");
  check(k == 4 && f.fields[k].kind == TPF_STR && f.fields[k].offset == 8 && f.fields[k].size == 16,
        "prev_comm is a 16-byte string at 8");
  k = tpf_find(&f, "prev_state");
  check(k >= 0 && f.fields[k].kind == TPF_INT && f.fields[k].is_signed && f.fields[k].size == 8,
        "prev_state: signed 8-byte int");
  check(f.fields[0].common && !f.fields[4].common, "common_* marked");

  uint8_t raw[64] = {0};
  int32_t pid = 1234, prio = 120, npid = 0, nprio = -1;
  int64_t state = 1;
  put(raw, 8, "etwlua", 6);
  put(raw, 24, &pid, 4);
  put(raw, 28, &prio, 4);
  put(raw, 32, &state, 8);
  put(raw, 40, "swapper/0\0junk", 14);
  put(raw, 56, &npid, 4);
  put(raw, 60, &nprio, 4);
  int nskip = -2;
  const char *s = decode_text(&f, raw, sizeof raw, &nskip);
  const char *want = "prev_comm=\"etwlua\" prev_pid=1234 prev_prio=120 prev_state=1 "
                     "next_comm=\"swapper/0\" next_pid=0 next_prio=-1";
  check(nskip == 0 && strcmp(s, want) == 0, "sched_switch decodes:\n  got  %s\n  want %s", s, want);
  /* a sample cut short: the fields past its end are skipped, the rest decode */
  s = decode_text(&f, raw, 40, &nskip);
  check(nskip == 3 && strcmp(s, "prev_comm=\"etwlua\" prev_pid=1234 prev_prio=120 prev_state=1") == 0,
        "truncated sample: %d skipped, %s", nskip, s);
}

static void test_data_loc(void) {
  tpf_format f;
  char err[200];
  check(tpf_parse(exec_fmt, strlen(exec_fmt), &f, err, sizeof err) == 0, "exec parses: %s", err);
  int k = tpf_find(&f, "filename");
  check(k >= 0 && f.fields[k].kind == TPF_LOC_STR, "filename is a __data_loc string");
  uint8_t raw[40] = {0};
  uint32_t loc = (uint32_t)(10u << 16 | 20u);          /* 10 bytes at offset 20 */
  int32_t pid = 77, old = 77;
  put(raw, 8, &loc, 4);
  put(raw, 12, &pid, 4);
  put(raw, 16, &old, 4);
  put(raw, 20, "/bin/true", 10);
  int nskip;
  const char *s = decode_text(&f, raw, 30, &nskip);
  check(nskip == 0 && strcmp(s, "filename=\"/bin/true\" pid=77 old_pid=77") == 0, "exec: %s", s);
  loc = (uint32_t)(40u << 16 | 20u);                    /* runs past the sample */
  put(raw, 8, &loc, 4);
  s = decode_text(&f, raw, 30, &nskip);
  check(nskip == 1 && strcmp(s, "pid=77 old_pid=77") == 0, "bad __data_loc skipped: %s", s);
  size_t n;
  check(tpf_get_str(&f.fields[k], raw, 30, &n) == NULL, "tpf_get_str refuses it too");
}

static void test_mixed(void) {
  tpf_format f;
  char err[200];
  check(tpf_parse(mixed_fmt, strlen(mixed_fmt), &f, err, sizeof err) == 0, "mixed parses: %s", err);
  check(f.fields[1].is_ptr && f.fields[1].kind == TPF_INT, "pointer is an int");
  check(f.fields[2].kind == TPF_ARRAY && f.fields[2].elem == 2, "u16[2] array");
  check(f.fields[3].kind == TPF_LOC_STR && f.fields[3].rel, "__rel_loc string");
  check(f.fields[4].kind == TPF_LOC_ARRAY && f.fields[4].elem == 4, "__data_loc u32[]");
  check(f.fields[5].kind == TPF_BYTES, "3-byte struct as bytes");
  uint8_t raw[64] = {0};
  uint64_t ptr = 0xffff888012345678ull;
  uint16_t ports[2] = {80, 443};
  uint32_t rel = (uint32_t)(3u << 16 | 8u);       /* from the end of the field (24): 32 */
  uint32_t ids_loc = (uint32_t)(8u << 16 | 36u), ids[2] = {5, 6};
  int8_t small = -3;
  put(raw, 8, &ptr, 8);
  put(raw, 16, ports, 4);
  put(raw, 20, &rel, 4);
  put(raw, 24, &ids_loc, 4);
  put(raw, 28, "\x01\x02\x03", 3);
  put(raw, 31, &small, 1);
  put(raw, 32, "ab", 3);
  put(raw, 36, ids, 8);
  int nskip;
  const char *s = decode_text(&f, raw, 44, &nskip);
  const char *want = "ptr=0xffff888012345678 ports=[80,443] rs=\"ab\" ids=[5,6] blob=0x010203 small=-3";
  check(nskip == 0 && strcmp(s, want) == 0, "mixed decodes:\n  got  %s\n  want %s", s, want);
}

static void bad(const char *text, const char *why) {
  tpf_format f;
  char err[200] = "";
  int r = tpf_parse(text, strlen(text), &f, err, sizeof err);
  check(r == -1 && err[0], "refused (%s): r=%d err=%s", why, r, err);
}

static void test_errors(void) {
  bad("ID: 1\nformat:\n", "no name");
  bad("name: x\nformat:\n", "no ID");
  bad("name: x\nID: 1\n", "no format");
  bad("name: x\nID: abc\nformat:\n", "ID not a number");
  bad("name: x\nID: 1\nformat:\n\tfield:int a;\tsize:4;\tsigned:1;\n", "no offset");
  bad("name: x\nID: 1\nformat:\n\tfield:int a;\toffset:65535;\tsize:4;\tsigned:1;\n", "past 65535");
  bad("name: x\nID: 1\nformat:\n\tfield:int;\toffset:0;\tsize:4;\tsigned:1;\n", "no name");
  bad("name: x\nID: 1\nformat:\n\tfield:__data_loc char[] s;\toffset:0;\tsize:8;\tsigned:0;\n",
      "data_loc not 4 bytes");
  bad("name: x\nID: 1\n\tfield:int a;\toffset:0;\tsize:4;\tsigned:1;\nformat:\n",
      "field before format");
  char big[8192];
  size_t n = (size_t)snprintf(big, sizeof big, "name: x\nID: 1\nformat:\n");
  for (int i = 0; i < TPF_MAX_FIELDS + 1; i++)
    n += (size_t)snprintf(big + n, sizeof big - n, "\tfield:int f%d;\toffset:%d;\tsize:4;\tsigned:1;\n",
                          i, i * 4);
  bad(big, "too many fields");
  tpf_format f;
  char err[200];
  check(tpf_parse("name: x\nID: 1\nformat:\n", 23, &f, err, sizeof err) == 0 && f.nfields == 0,
        "no fields is fine");
}

/* Every format file under the real tracefs parses (the kernel's own
** grammar). tracefs is found (and mounted when we may) as the engine does;
** skipped only where it cannot be read (not root, no tracefs). */
static void test_real(void) {
  char rootbuf[PERF_PATH_MAX], path[PERF_PATH_MAX + 16];
  if (perf_tracefs(rootbuf, sizeof rootbuf) != ENG_OK) {
    printf("SKIP real tracefs formats: %s\n", eng_detail(ENG_E_NOTFOUND));
    skipped++;
    return;
  }
  const char *root = rootbuf;
  snprintf(path, sizeof path, "%s/events", root);
  DIR *g = opendir(path);
  unsigned files = 0, ok = 0;
  struct dirent *ge, *ee;
  static char buf[1 << 16];
  while (g && (ge = readdir(g))) {
    if (ge->d_name[0] == '.') continue;
    char gp[PERF_PATH_MAX + 300];
    snprintf(gp, sizeof gp, "%s/%s", path, ge->d_name);
    DIR *e = opendir(gp);
    while (e && (ee = readdir(e))) {
      if (ee->d_name[0] == '.') continue;
      char fp[PERF_PATH_MAX + 600];
      snprintf(fp, sizeof fp, "%s/%s/format", gp, ee->d_name);
      FILE *fh = fopen(fp, "r");
      if (!fh) continue;
      size_t n = fread(buf, 1, sizeof buf, fh);
      fclose(fh);
      tpf_format f;
      char err[200];
      files++;
      if (tpf_parse(buf, n, &f, err, sizeof err) == 0 && strcmp(f.name, ee->d_name) == 0) ok++;
      else check(0, "%s: %s", fp, err);
    }
    if (e) closedir(e);
  }
  if (g) closedir(g);
  check(files > 100 && ok == files, "real formats: %u of %u parse", ok, files);
}

/* perf_fast.c: a format of fixed integers and integer arrays gets a copy
** plan whose data equals the builder's, for other samples too; a format
** with a string keeps the builder (state -1). */
static const char sys_enter_fmt[] =
    "name: sys_enter\nID: 24\nformat:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
    "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n"
    "\tfield:void * ptr;\toffset:64;\tsize:8;\tsigned:0;\n"
    "\tfield:short small;\toffset:72;\tsize:2;\tsigned:1;\n";

static void build(const tpf_format *f, const uint8_t *raw, size_t len, tlg_builder *b) {
  tlg_desc d = {0, 0, 11, 4, 0, 0, 0};
  tlg_build_reset(b, f->name, strlen(f->name), &d, 0);
  tpf_decode(f, raw, len, b);
}

static void test_fast(void) {
  tpf_format f;
  char err[200];
  check(tpf_parse(sys_enter_fmt, strlen(sys_enter_fmt), &f, err, sizeof err) == 0, "parses: %s",
        err);
  uint8_t raw[80], out[PERF_FAST_MAX];
  for (unsigned i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)(i * 7 + 1);
  tlg_builder b;
  tlg_build_init(&b, 0, 0);
  build(&f, raw, 74, &b);
  size_t ml, dl;
  const uint8_t *m = tlg_build_meta(&b, &ml), *d = tlg_build_data(&b, &dl);
  perf_fast fp;
  memset(&fp, 0, sizeof fp);
  perf_fast_learn(&fp, &f, raw, 74, m, ml, d, dl);
  check(fp.state == 1 && fp.meta_len == ml && memcmp(fp.meta, m, ml) == 0,
        "fixed fields: a plan, the builder's metadata kept (state %d)", fp.state);
  for (unsigned i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)(i * 13 + 5);   /* another sample */
  build(&f, raw, 74, &b);
  d = tlg_build_data(&b, &dl);
  size_t n = perf_fast_data(&fp, raw, 74, out);
  check(n == dl && memcmp(out, d, dl) == 0, "another sample: the builder's data (%zu, %zu)", n, dl);
  check(perf_fast_data(&fp, raw, 70, out) == 0, "a sample too short for the plan: none");
  perf_fast_free(&fp);
  check(tpf_parse(sched_switch, strlen(sched_switch), &f, err, sizeof err) == 0, "parses");
  uint8_t sw[64] = {0};
  build(&f, sw, sizeof sw, &b);
  m = tlg_build_meta(&b, &ml);
  d = tlg_build_data(&b, &dl);
  perf_fast_learn(&fp, &f, sw, sizeof sw, m, ml, d, dl);
  check(fp.state == -1 && fp.meta == NULL, "a string field: no plan (state %d)", fp.state);
  perf_fast_free(&fp);
  tlg_build_free(&b);
}

int main(void) {
  test_sched_switch();
  test_data_loc();
  test_mixed();
  test_fast();
  test_errors();
  test_real();
  return unit_finish();
}
