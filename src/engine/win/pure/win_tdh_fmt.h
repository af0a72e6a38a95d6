/*
** win_tdh_fmt.h: manifest / MOF event fields from their TDH schema, as our
** codec's items and text (win_tdh_fmt.c). Separate from winp.h because it
** builds on src/tlg's item and formatting types.
*/
#ifndef ENG_WIN_TDH_FMT_H
#define ENG_WIN_TDH_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "winp.h"
#include "../../../tlg/tlg_decode.h"
#include "../../../tlg/tlg_format.h"

#define WINP_TDH_NAME_MAX 256      /* bytes of a property name as UTF-8, NUL included */

typedef struct winp_tdh_event {
  const uint8_t *tei;        /* TRACE_EVENT_INFO bytes */
  uint32_t tei_len;
  const uint8_t *data;       /* UserData */
  uint32_t data_len;
  unsigned ptr_size;         /* 4 or 8 */
} winp_tdh_event;

enum { WINP_TDH_OK = 0, WINP_TDH_SHORT = 1, WINP_TDH_BAD_SCHEMA = 2 };

/* Walk the event's fields with fn (NULL: just check them). Returns
** WINP_TDH_*; *prop (may be NULL) = the property the payload ran out at
** (WINP_TDH_SHORT). fn returning nonzero ends the walk as BAD_SCHEMA. */
int winp_tdh_run(const winp_tdh_event *t, winp_walk_fn fn, void *ctx, uint32_t *prop);

/* A walked value as the tlg_item of the TraceLogging field of the same
** type (same value bytes); its name (UTF-8) is written to `name`. */
void winp_tdh_item(const winp_tdh_event *t, const winp_walk_item *w, int in_array, tlg_item *it,
                   char name[WINP_TDH_NAME_MAX]);

/* EventName, else TaskName (MOF: "Task/Opcode"); "" when it has none. */
size_t winp_tdh_event_name(const winp_tdh_event *t, char *out, size_t cap);
size_t winp_tdh_provider_name(const winp_tdh_event *t, char *out, size_t cap);

/* Write the fields as JSON or text (TLG_FMT_*), like tlg_fmt_fields;
** returns and sets *prop as winp_tdh_run. */
int winp_tdh_fmt_fields(const tlg_sink *o, const winp_tdh_event *t, int mode, uint32_t *prop);

/* The ev.decode_error text for a status of the above. */
void winp_tdh_error(const winp_tdh_event *t, int status, uint32_t prop, char *out, size_t cap);

#endif
