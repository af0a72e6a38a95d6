/*
** inflate_mini.h: just enough gzip/DEFLATE (RFC 1951/1952) for the tests
** to read the reference files stored gzipped in ../shared/etl-samples.
** Test support code; not part of etwlua.
*/
#ifndef INFLATE_MINI_H
#define INFLATE_MINI_H

#include <stddef.h>
#include <stdint.h>

/* Decompress a .gz image (all members). Returns a malloc'd buffer with a
** NUL appended (so text can be used as a C string) and its length in
** *out_len, or NULL when the data is not valid gzip/DEFLATE. */
uint8_t *gz_inflate(const uint8_t *gz, size_t len, size_t *out_len);

/* Read a whole file; if `path` ends in ".gz" it is inflated. Returns a
** malloc'd, NUL-terminated buffer or NULL. */
uint8_t *read_file_maybe_gz(const char *path, size_t *out_len);

#endif
