/*
** eng_files.h: .etl files as one record source, merged by timestamp (equal
** times in the order given), read by src/etl on every platform. What
** etw.Consumer{files=...} reads unless the backend's own reader is asked
** for (eng_consumer_open_files: Windows' OpenTraceW). Damage never ends the
** stream: each bad record, or bad rest of a buffer, comes as an
** REC_KIND_CORRUPT record at its place.
*/
#ifndef ENG_FILES_H
#define ENG_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "etl.h"

typedef struct eng_files eng_files;

/* Open every path. Returns ENG_OK and *out, or ENG_E_NOTFOUND / ENG_E_ACCESS
** / ENG_E_IO / ENG_E_CORRUPT (not an ETL file) / ENG_E_NOMEM / ENG_E_ARG
** with `why` = "path: why" (the IO case: the reader's "cannot ..." text). */
int eng_files_open(const char *const *paths, size_t n, eng_files **out, char *why, size_t cap);

/* Next record; its pointers stay valid until the next call. ENG_OK (an
** event, or an REC_KIND_CORRUPT notice with src_offset set), ENG_E_STOPPED
** at the end (and after), ENG_E_INTERRUPTED once after eng_files_stop (a
** pause: the next call goes on), ENG_E_NOMEM (call again). */
int eng_files_next(eng_files *f, rec_record *rec);

/* Async-signal-safe. */
void eng_files_stop(eng_files *f);
void eng_files_close(eng_files *f);   /* NULL ok */

/* The last CORRUPT notice: message; *file its path, *offset. */
const char *eng_files_corrupt_detail(const eng_files *f, const char **file, uint64_t *offset);

/* The files, for their header facts (etl_get_info / etl_get_stats). */
size_t eng_files_count(const eng_files *f);
const etl_reader *eng_files_reader(const eng_files *f, size_t i, const char **path);

#endif
