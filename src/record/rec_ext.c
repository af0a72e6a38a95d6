/*
** rec_ext.c: extended data items -> rec_record fields. Every record source
** (ETL reader, Windows ETW callback) maps the same items the same way, so
** an event carries its schema and related activity id alike from a file
** and from a live session.
*/
#include "rec_record.h"

#include <string.h>

void rec_ext_apply(rec_record *rec, const rec_ext_item *it) {
  switch (it->type) {
  case REC_EXT_RELATED_ACTIVITYID:
    if (it->size == 16 && !(rec->flags & REC_RELATED)) {
      memcpy(rec->related_activity_id.b, it->data, 16);
      rec->flags |= REC_RELATED;
    }
    break;
  case REC_EXT_EVENT_SCHEMA_TL:
    if (!rec->meta) {
      rec->meta = it->data;
      rec->meta_len = it->size;
      rec->flags |= REC_TRACELOGGING;
    }
    break;
  case REC_EXT_PROV_TRAITS:
    if (!rec->traits) {
      rec->traits = it->data;
      rec->traits_len = it->size;
    }
    break;
  default:
    break;
  }
}
