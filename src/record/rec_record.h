/*
** rec_record.h: rec_record, one event as every record source hands it up
** (live session ring, ETL file, Windows ETW callback, or an EventBuilder
** decoded in place). Pointers are borrowed: valid only until the source
** produces its next record; whoever keeps an event copies the bytes.
** This layer (src/record) sits below both src/etl and src/engine: files,
** live sessions and schemas all speak this one struct.
*/
#ifndef REC_RECORD_H
#define REC_RECORD_H

#include "tlg_types.h"

enum rec_record_flags {
  REC_ACTIVITY = 1 << 0,     /* activity_id is set */
  REC_RELATED = 1 << 1,      /* related_activity_id is set */
  REC_HEADER = 1 << 2,       /* pid/tid/cpu/timestamp are real (not from a builder) */
  REC_TRACELOGGING = 1 << 3, /* meta holds a TraceLogging event schema */
  REC_TDH_STATIC = 1 << 4    /* tdh_info is a loaded schema that outlives every event of the
                                consumer (not a per-record buffer): events point at it */
};

/* What a record is. Zero (an event) is what a zero-initialised record says,
** so sources that only ever produce events need not set it. */
enum rec_record_kind {
  REC_KIND_EVENT = 0,            /* an event: every field below */
  REC_KIND_LOST = 1,             /* in-band loss notice: `lost` events of pid/tid were dropped */
  REC_KIND_CORRUPT = 2           /* the source rejected `lost` bytes of pid/tid's stream */
};

typedef struct rec_record {
  tlg_guid provider_id;
  tlg_desc desc;
  uint32_t flags;                /* rec_record_flags */
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
  uint32_t kind;                 /* rec_record_kind */
  uint64_t seq;                  /* per producer thread sequence number (live), else 0;
                                    dropped events use numbers too, so a gap = a loss */
  uint64_t lost;                 /* REC_KIND_LOST: events dropped; REC_KIND_CORRUPT: bytes */
  /* ---- record-source details (ETL reader, src/etl); zero when absent ---- */
  uint8_t header_kind;           /* rec_header_kind: which trace header carried it */
  uint8_t pointer_size;          /* 4 or 8: pointer width of the producer; 0 unknown */
  uint16_t header_flags;         /* EVENT_HEADER.Flags as stored; WPP: OptionFlags */
  uint16_t event_property;       /* EVENT_HEADER.EventProperty as stored */
  uint16_t hook_id;              /* kernel: Group << 8 | Type; WPP: MessageNumber */
  uint16_t mof_version;          /* kernel: Version word; classic: Class.Version */
  uint32_t kernel_time, user_time; /* CPU-time counters (timer ticks), as stored */
  int64_t raw_timestamp;         /* the timestamp in the session's raw clock */
  const uint8_t *raw_header;     /* the trace header bytes (incl. inline PMC/PEBS) */
  uint32_t raw_header_len;
  uint32_t ext_count;            /* extended data items, in file order */
  const struct rec_ext_item *ext;
  uint32_t instance_id;          /* instance header: InstanceId; WPP: SequenceNumber */
  uint32_t parent_instance_id;   /* instance header: ParentInstanceId; WPP: ComponentId */
  tlg_guid parent_guid;          /* instance header: ParentGuid */
  uint64_t src_offset;           /* ETL: file offset of the buffer holding the record */
  uint32_t src_record_offset;    /* ETL: offset of the record in its (decompressed) buffer */
  uint32_t src_buffer_flags;     /* ETL: BufferFlag of that buffer */
  const uint8_t *tdh_info;       /* manifest / MOF events on Windows: the TRACE_EVENT_INFO
                                    TdhGetEventInformation returned, or NULL */
  uint32_t tdh_info_len;
} rec_record;

/* Which trace header a record came in (ETL spec §3); REC_HDR_NONE for
** records that never had one (live rings, builders). */
enum rec_header_kind {
  REC_HDR_NONE = 0,
  REC_HDR_EVENT = 1,      /* EVENT_HEADER: manifest, EventSource, TraceLogging */
  REC_HDR_CLASSIC = 2,    /* EVENT_TRACE_HEADER (TraceEvent, MOF) */
  REC_HDR_INSTANCE = 3,   /* EVENT_INSTANCE_GUID_HEADER */
  REC_HDR_SYSTEM = 4,     /* SYSTEM_TRACE_HEADER (kernel) */
  REC_HDR_COMPACT = 5,    /* compact SYSTEM_TRACE_HEADER (no CPU times) */
  REC_HDR_PERFINFO = 6,   /* PERFINFO_TRACE_HEADER (no pid/tid: both 0xFFFFFFFF) */
  REC_HDR_MESSAGE = 7     /* MESSAGE_TRACE_HEADER (WPP / TraceMessage) */
};

/* EVENT_HEADER_EXT_TYPE_*: what an extended data item holds (ETL spec §4). */
enum rec_ext_type {
  REC_EXT_RELATED_ACTIVITYID = 1, REC_EXT_SID = 2, REC_EXT_TS_ID = 3,
  REC_EXT_INSTANCE_INFO = 4, REC_EXT_STACK_TRACE32 = 5,
  REC_EXT_STACK_TRACE64 = 6, REC_EXT_PEBS_INDEX = 7,
  REC_EXT_PMC_COUNTERS = 8, REC_EXT_PSM_KEY = 9, REC_EXT_EVENT_KEY = 10,
  REC_EXT_EVENT_SCHEMA_TL = 11, REC_EXT_PROV_TRAITS = 12,
  REC_EXT_PROCESS_START_KEY = 13, REC_EXT_CONTROL_GUID = 14,
  REC_EXT_QPC_DELTA = 15, REC_EXT_CONTAINER_ID = 16,
  REC_EXT_STACK_KEY32 = 17, REC_EXT_STACK_KEY64 = 18
};

/* One extended data item (EVENT_HEADER_EXTENDED_DATA_ITEM): type and bytes,
** borrowed like every pointer of rec_record. */
typedef struct rec_ext_item {
  uint16_t type;                 /* rec_ext_type */
  uint16_t size;
  const uint8_t *data;
} rec_ext_item;

/* Take the well-known item `it` into its rec_record fields: related activity
** id (16 bytes; REC_RELATED), TraceLogging schema (meta; REC_TRACELOGGING)
** and provider traits. A field already set is kept, so the first item of a
** type wins; other types are left in rec->ext only. The fields borrow
** it->data. */
void rec_ext_apply(rec_record *rec, const rec_ext_item *it);

#endif
