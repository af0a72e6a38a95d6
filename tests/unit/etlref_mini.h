/*
** etlref_mini.h: loads the reference decodes stored next to each ETL sample
** in ../shared/etl-samples (X.etl.etlscan.json, X.etl.etlscan.jsonl[.gz],
** X.etl.dissect.jsonl[.gz]) into plain structs, in file order.
** Test support code; not part of etwlua.
*/
#ifndef ETLREF_MINI_H
#define ETLREF_MINI_H

#include <stddef.h>
#include <stdint.h>

#include "json_mini.h"
#include "tlg_types.h"

typedef struct ref_ext {
  uint16_t type, item_size, linkage, data_size;
  uint8_t *data;             /* data_size bytes */
} ref_ext;

/* One record line of the etlscan jsonl (+ the matching dissect line). */
typedef struct ref_rec {
  uint64_t buf_off;          /* file offset of the buffer */
  uint32_t rec_off, size;    /* offset in the (decompressed) buffer; Size */
  char hdr[24];              /* "EVENT_HEADER64", "SYSTEM32", ... */
  int64_t ts;                /* raw */
  int has_ids;               /* tid/pid present (null for PERFINFO) */
  uint32_t tid, pid;
  uint16_t proc_index, buffer_flag; /* of the buffer */
  /* EVENT_HEADER */
  uint16_t evflags, evprop;
  tlg_guid provider, activity;
  tlg_desc desc;
  uint32_t kernel_time, user_time;
  uint32_t next;
  ref_ext *ext;
  uint32_t user_data_len;    /* full length */
  uint8_t *user_data;        /* first bytes (the scanner keeps up to 1 KiB) */
  uint32_t user_data_have;
  char tl_event[64];         /* TraceLogging event name the scanner decoded, or "" */
  /* classic */
  uint8_t cls_type, cls_level;
  uint16_t cls_version;
  /* kernel */
  uint16_t version;
  uint8_t group, type;
  uint32_t payload_len, inline_ext;
  /* dissect */
  int has_dissect;
  tlg_guid dprov;
  uint8_t *dpayload;         /* bytes after the fixed header (truncated) */
  uint32_t dpayload_len;
} ref_rec;

typedef struct ref_file {
  jm_value *scan;            /* X.etl.etlscan.json */
  ref_rec *recs;
  size_t n;
  size_t dissect_n;          /* dissect records read */
} ref_file;

/* Load the references of `etl_path` (the .etl path; the reference files sit
** next to it). Returns 0, or -1 with a message in err. */
int ref_load(const char *etl_path, ref_file *rf, char *err, size_t err_len);

void ref_free(ref_file *rf);

/* Parse hex text into bytes (malloc'd); *n = byte count. NULL on bad hex. */
uint8_t *ref_hex(const char *hex, uint32_t *n);

#endif
