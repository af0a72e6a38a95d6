// capi_cxx_test.cpp: include/etwlua.h from C++ (the header must compile and
// link as C++, where C11's _Atomic does not exist) and the C API called
// from it. Run by capi_cxx_test.sh twice:
//   capi_cxx_test none      no session: nothing is enabled, writes still succeed
//   capi_cxx_test session   under `etwlua capture -p EtwLua.Cxx:info:0x1`:
//                           level <= 4 with keyword bit 0 is enabled, writes 3 events
#include <cstdio>
#include <cstring>

#include "etwlua.h"
#include "unit_check.h"

namespace {

void check_version() {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%d.%d", ETWLUA_VERSION_MAJOR, ETWLUA_VERSION_MINOR,
                ETWLUA_VERSION_PATCH);
  check(std::strcmp(buf, ETWLUA_VERSION_STRING) == 0, "version macros agree: %s vs %s", buf,
        ETWLUA_VERSION_STRING);
}

void check_guid_parse() {
  // Windows memory order: Data1..Data3 little-endian, Data4 as written
  static const unsigned char want[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                         0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  etwlua_guid g;
  check(etwlua_guid_parse("{00112233-4455-6677-8899-AABBCCDDEEFF}", &g) == ETWLUA_OK, "guid parses");
  check(std::memcmp(g.b, want, 16) == 0, "guid bytes in Windows order");
  int st = etwlua_guid_parse("not-a-guid", &g);
  check(st != ETWLUA_OK && std::strlen(etwlua_strerror(st)) > 0, "bad guid: status %d named", st);
}

// the inline check (GNU builtins over the plain fields) and the library's
// out-of-line one (C11 atomics over the engine's _Atomic fields) agree
void check_enabled_agree(const etwlua_provider *p) {
  static const uint64_t kws[] = {0, 1, 2, 3, UINT64_C(0x8000000000000000)};
  for (unsigned level = 0; level <= 6; level++)
    for (uint64_t kw : kws)
      check(etwlua_enabled(p, (uint8_t)level, kw) == etwlua_is_enabled(p, (uint8_t)level, kw),
            "inline and library agree at level %u keyword %#llx", level, (unsigned long long)kw);
}

int build_tick(etwlua_event *e, int i) {
  etwlua_desc d = ETWLUA_DESC(4, 0x1);
  etwlua_guid g = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
  int bad = 0;
  bad += etwlua_event_reset(e, "CxxTick", &d) != ETWLUA_OK;
  bad += etwlua_add_int32(e, "i", i) != ETWLUA_OK;
  bad += etwlua_add_uint64(e, "big", UINT64_C(1) << 63) != ETWLUA_OK;
  bad += etwlua_add_double(e, "half", 0.5) != ETWLUA_OK;
  bad += etwlua_add_bool(e, "yes", 1) != ETWLUA_OK;
  bad += etwlua_add_str(e, "msg", "from C++", 8) != ETWLUA_OK;
  bad += etwlua_add_binary(e, "raw", "\x00\x01", 2) != ETWLUA_OK;
  bad += etwlua_add_guid(e, "id", &g) != ETWLUA_OK;
  bad += etwlua_add_struct(e, "pair", 2) != ETWLUA_OK;
  bad += etwlua_add_int64(e, "a", -1) != ETWLUA_OK;
  bad += etwlua_add_hex64(e, "b", 0xff) != ETWLUA_OK;
  return bad;
}

}  // namespace

int main(int argc, char **argv) {
  bool session = argc > 1 && std::strcmp(argv[1], "session") == 0;
  check_version();
  check_guid_parse();

  etwlua_provider *p = nullptr;
  int st = etwlua_provider_register("", nullptr, nullptr, &p);
  check(st != ETWLUA_OK && p == nullptr, "empty provider name refused (status %d)", st);
  st = etwlua_provider_register("EtwLua.Cxx", nullptr, nullptr, &p);
  check(st == ETWLUA_OK && p != nullptr, "register: %s", etwlua_strerror(st));
  if (!p) return unit_finish();

  check_enabled_agree(p);
  if (session) {
    check(etwlua_enabled(p, 4, 0x1) == 1, "info, keyword 0x1: enabled");
    check(etwlua_enabled(p, 1, 0) == 1, "critical, any keyword: enabled");
    check(etwlua_enabled(p, 5, 0x1) == 0, "verbose: above the session's level");
    check(etwlua_enabled(p, 4, 0x2) == 0, "keyword 0x2: not in the session's mask");
  } else {
    check(etwlua_enabled(p, 0, 0) == 0, "no session: nothing enabled");
  }

  etwlua_event *e = etwlua_event_new();
  check(e != nullptr, "event_new");
  for (int i = 0; e && i < 3; i++) {
    check(build_tick(e, i) == 0, "event %d: every field added", i);
    st = etwlua_write(p, e, nullptr, nullptr);
    check(st == ETWLUA_OK, "event %d written: %s", i, etwlua_strerror(st));
  }
  etwlua_event_free(e);
  etwlua_provider_unregister(p);
  return unit_finish();
}
