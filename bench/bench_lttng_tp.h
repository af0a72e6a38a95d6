/*
** bench_lttng_tp.h: the LTTng-UST tracepoint provider of bench_lttng.c,
** the anchor of issue 13: the 5-field shape of bench_api.lua and
** bench_capi.c (int32, int64, uint32, uint64, a string). LTTng-UST reads
** this header several times (LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ), so
** its guard is the library's pattern, not a plain include guard.
*/
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER etwlua_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "bench_lttng_tp.h"

#if !defined(BENCH_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_LTTNG_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(etwlua_bench, ev,
  LTTNG_UST_TP_ARGS(int32_t, a, int64_t, b, uint32_t, c, uint64_t, d, const char *, e),
  LTTNG_UST_TP_FIELDS(
    lttng_ust_field_integer(int32_t, a, a)
    lttng_ust_field_integer(int64_t, b, b)
    lttng_ust_field_integer(uint32_t, c, c)
    lttng_ust_field_integer(uint64_t, d, d)
    lttng_ust_field_string(e, e)))

#endif

#include <lttng/tracepoint-event.h>
