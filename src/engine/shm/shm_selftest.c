/*
** shm_selftest.c: the shared-memory engine's part of `etwlua --selftest`
** (eng_selftest_os.h): a private runtime directory for the run, and the
** checks that only make sense here (enable filters are refused).
*/
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eng_selftest_os.h"
#include "tlg_guid.h"
#include "win/pure/winp.h"

uint32_t eng_st_pid(void) { return (uint32_t)getpid(); }

void eng_st_sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int eng_st_os_enabled(const eng_provider *p, uint8_t level, uint64_t keyword) {
  (void)p; (void)level; (void)keyword;
  return -1;
}

const char *eng_st_oversize_skip(void) { return "an ETW limit (ERROR_ARITHMETIC_OVERFLOW)"; }
const char *eng_st_loss_skip(void) { return NULL; }

void eng_st_temp_etl(char *path, size_t cap, const char *name) {
  snprintf(path, cap, "/tmp/%s.etl", name);
}

void eng_st_file_more(const char *path, const tlg_guid *id, int n, int64_t first,
                      int64_t last, int ok, eng_report_fn report) {
  (void)path; (void)id; (void)n; (void)first; (void)last; (void)ok; (void)report;
}

static eng_report_fn report;

/* provider-side filters are ETW's: the shm engine must refuse them clearly */
static void check_linux_enable_ex(void) {
  eng_session *s = NULL;
  char name[64];
  winp_name_make(name, sizeof name, "selftest-filter", eng_st_pid());
  if (eng_session_start(name, NULL, &s)) {
    report("enable filters refused by the shm engine", -1, "no session");
    return;
  }
  tlg_guid id;
  tlg_provider_id("etwlua.SelfTest", 15, &id);
  const char *names[1] = {"SelfTest"};
  eng_enable_opts o;
  memset(&o, 0, sizeof o);
  o.event_names = names;
  o.nnames = 1;
  int st = eng_session_enable_ex(s, &id, 5, 0, 0, &o);
  int plain = eng_session_enable_ex(s, &id, 5, 0, 0, NULL);
  eng_session_stop(s);
  eng_session_close(s);
  report("enable filters refused by the shm engine", st == ENG_E_UNSUPPORTED && plain == ENG_OK,
         "enable_ex did not answer UNSUPPORTED / OK");
}

static char rtdir[256];
static void private_runtime_dir(void) {
  snprintf(rtdir, sizeof rtdir, "/tmp/etwlua-selftest-XXXXXX");
  if (mkdtemp(rtdir)) setenv("ETWLUA_RUNTIME_DIR", rtdir, 1);
  else rtdir[0] = 0;
}
static void remove_runtime_dir(void) {
  if (!rtdir[0]) return;
  DIR *d = opendir(rtdir);
  if (d) {
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(p, sizeof p, "%s/%s", rtdir, e->d_name);
        remove(p);
      }
    closedir(d);
  }
  rmdir(rtdir);
}

const char *eng_st_begin(void) {
  printf("etwlua self-test: shared-memory engine (private runtime directory)\n");
  private_runtime_dir();
  return NULL;
}

void eng_st_end(void) { remove_runtime_dir(); }

void eng_st_backend_checks(const char *skip_why, eng_report_fn rep) {
  (void)skip_why;   /* neither check needs the session of the common ones */
  report = rep;
  report("manifest decode (Microsoft-Windows-Kernel-Process)", -1,
         "no manifest providers outside Windows");
  report("kernel provider by name (TdhEnumerateProviders)", -1,
         "no manifest providers outside Windows");
  report("NT kernel logger: process group, Process/Start", -1, "no NT kernel logger outside Windows");
  check_linux_enable_ex();
}
