/*
** etl_write_int.h: what the ETL writer's files share (etl_write.c decides,
** etl_write_hdr.c lays out the header buffer and buffer headers).
*/
#ifndef ETL_WRITE_INT_H
#define ETL_WRITE_INT_H

#include <stdint.h>

#include "etl_write.h"

/* Values spec §12 prescribes for the header buffer and record. */
#define W_LFH_VERSION 0x0501000Au     /* OS 10.0, log-file layout 1.5 */
#define W_TIMER_RESOLUTION 156250u
#define W_LOGMODE_SEQUENTIAL 0x00000001u
#define W_LOGMODE_CIRCULAR 0x00000002u  /* EVENT_TRACE_FILE_MODE_CIRCULAR */
#define W_PERF_FREQ 10000000
#define W_BUF_STATE_FLUSH 3u
#define W_BUF_TYPE_HEADER 4u
#define W_HOOK_PARTITION_INFO 0x0050u

/* WMI_BUFFER_HEADER (spec §2, §12) at p: ETL_BUF_HDR_SIZE bytes. */
void etlw_put_bufhdr(uint8_t *p, uint32_t bufsize, uint16_t logger_id, uint32_t used, int64_t ts,
                     uint64_t seq, uint16_t cpu, uint16_t flags, uint16_t type);

/* Buffer 0 (spec §12 "Buffer 0") into b (bufsize bytes) for the file named
** `name` (else o->logfile_name). Returns the bytes used in it. */
uint32_t etlw_build_header(uint8_t *b, uint32_t bufsize, const etl_write_opts *o,
                           uint32_t num_processors, const char *name);

/* The header fields that change while logging (spec §12 "At close"). */
void etlw_patch_header(uint8_t *hdr, uint32_t num_processors, int64_t end_time, uint32_t buffers,
                       uint32_t lost);

#endif
