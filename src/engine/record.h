/*
** record.h: eng_record, one event as every record source hands it up
** (live session ring, ETL file, Windows ETW callback, or an EventBuilder
** decoded in place). Pointers are borrowed: valid only until the source
** produces its next record; whoever keeps an event copies the bytes.
*/
#ifndef ENG_RECORD_H
#define ENG_RECORD_H

#include "../tlg/tlg_types.h"

enum eng_record_flags {
  ENG_REC_ACTIVITY = 1 << 0,     /* activity_id is set */
  ENG_REC_RELATED = 1 << 1,      /* related_activity_id is set */
  ENG_REC_HEADER = 1 << 2,       /* pid/tid/cpu/timestamp are real (not from a builder) */
  ENG_REC_TRACELOGGING = 1 << 3  /* meta holds a TraceLogging event schema */
};

typedef struct eng_record {
  tlg_guid provider_id;
  tlg_desc desc;
  uint32_t flags;                /* eng_record_flags */
  uint32_t pid, tid;
  uint32_t cpu;
  int64_t timestamp;             /* FILETIME: 100 ns units since 1601-01-01 UTC */
  tlg_guid activity_id;
  tlg_guid related_activity_id;
  const uint8_t *traits;         /* provider traits blob (spec §3.2), or NULL */
  uint32_t traits_len;
  const uint8_t *meta;           /* event metadata blob (spec §3.3), or NULL */
  uint32_t meta_len;
  const uint8_t *data;           /* payload (field data) */
  uint32_t data_len;
} eng_record;

#endif
