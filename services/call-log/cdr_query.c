/* The call log's `search` and `get` answers: the filters of a request
 * turned into one of a few fixed statements (each shape of filter has its
 * own, so SQLite plans each with the index that fits: a number by its
 * reversed digits, an extension by (extension, start), otherwise start),
 * newest first, a page at a time (docs/call-log.md). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "calllog.h"
#include "pb/log.h"
#include "pb/store.h"

/* ?1 site, ?2 the number as given, ?3..?4 its reversed digits (exact: ?3
 * only), ?5 extension and ?10 its reversed digits, ?6 direction, ?7 status,
 * ?8..?9 start in [from, to). NULL means "any". */
#define W_COMMON                                                               \
  " WHERE (?1 IS NULL OR site = ?1) AND (?6 IS NULL OR direction = ?6) AND "   \
  "(?7 IS NULL OR status = ?7)"
/* "+start" keeps SQLite off the start index where a number or extension
 * index narrows far more. */
#define T_IDX " AND start >= ?8 AND start < ?9"
#define T_NOIDX " AND +start >= ?8 AND +start < ?9"
#define N_EXACT                                                                \
  " AND ((from_rev = ?3 AND from_num = ?2) OR (to_rev = ?3 AND to_num = ?2))"
#define N_SUFFIX                                                               \
  " AND ((from_rev >= ?3 AND from_rev < ?4) OR (to_rev >= ?3 AND to_rev < "    \
  "?4))"
/* An internal call is the caller's (its `extension`); the callee finds it
 * by its number. */
#define E_EXT                                                                  \
  " AND (extension = ?5 OR (to_rev = ?10 AND to_num = ?5 AND direction = "     \
  "'internal'))"

#define VARIANTS(head, tail)                                                   \
  {                                                                            \
    head W_COMMON T_IDX tail, head W_COMMON T_NOIDX E_EXT tail,                \
        head W_COMMON T_NOIDX N_EXACT tail,                                    \
        head W_COMMON T_NOIDX N_EXACT E_EXT tail,                              \
        head W_COMMON T_NOIDX N_SUFFIX tail,                                   \
        head W_COMMON T_NOIDX N_SUFFIX E_EXT tail                              \
  }

static const char *const SQL[CALLLOG_SQL__COUNT][6] = {
    [CALLLOG_SQL_COUNT] = VARIANTS("SELECT COUNT(*) FROM cdrs", ""),
    [CALLLOG_SQL_PAGE] = VARIANTS("SELECT " CALLLOG_CDR_COLUMNS " FROM cdrs",
                                  " ORDER BY start DESC, id DESC LIMIT ?11 "
                                  "OFFSET ?12"),
    [CALLLOG_SQL_STREAM] =
        VARIANTS("SELECT start, status = 'answered', talk_seconds, extension, "
                 "peer, id FROM cdrs",
                 " ORDER BY start, id"),
};

struct pb_stmt *calllog_filter_stmt(struct pb_store *store,
                                    enum calllog_sql kind,
                                    const struct calllog_filter *f) {
  int variant = (int)f->match * 2 + (f->ext[0] ? 1 : 0);
  struct pb_stmt *st = pb_store_stmt(store, SQL[kind][variant]);
  if (!st || pb_stmt_bind_text(st, 1, f->site[0] ? f->site : NULL) ||
      pb_stmt_bind_text(st, 6, f->direction) ||
      pb_stmt_bind_text(st, 7, f->status) ||
      pb_stmt_bind_int(st, 8, f->from >= 0 ? f->from : INT64_MIN) ||
      pb_stmt_bind_int(st, 9, f->to >= 0 ? f->to : INT64_MAX))
    return NULL;
  if (f->match == CALLLOG_MATCH_EXACT && (pb_stmt_bind_text(st, 2, f->number) ||
                                          pb_stmt_bind_text(st, 3, f->key_lo)))
    return NULL;
  if (f->match == CALLLOG_MATCH_SUFFIX &&
      (pb_stmt_bind_text(st, 3, f->key_lo) ||
       pb_stmt_bind_text(st, 4, f->key_hi)))
    return NULL;
  if (f->ext[0]) {
    char rev[PB_NUMBER_MAX];
    calllog_number_rev(f->ext, rev, sizeof rev);
    if (pb_stmt_bind_text(st, 5, f->ext) || pb_stmt_bind_text(st, 10, rev))
      return NULL;
  }
  return st;
}

json_t *calllog_search_run(struct pb_store *store,
                           const struct calllog_search *s,
                           const struct pb_tz *tz) {
  struct pb_stmt *st = calllog_filter_stmt(store, CALLLOG_SQL_COUNT, &s->f);
  if (!st || pb_stmt_step(st) != PB_STMT_ROW)
    return NULL;
  int64_t total = pb_stmt_int(st, 0);
  json_t *cdrs = json_array();
  json_t *out = json_pack("{sI sI sI so}", "total", (json_int_t)total, "page",
                          (json_int_t)s->page, "page_size",
                          (json_int_t)s->page_size, "cdrs", cdrs);
  if (total <= (s->page - 1) * s->page_size)
    return out; /* past the last page: none */
  st = calllog_filter_stmt(store, CALLLOG_SQL_PAGE, &s->f);
  if (!st || pb_stmt_bind_int(st, 11, s->page_size) ||
      pb_stmt_bind_int(st, 12, (s->page - 1) * s->page_size)) {
    json_decref(out);
    return NULL;
  }
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct pb_cdr c;
    calllog_cdr_from_row(st, &c);
    json_array_append_new(cdrs, pb_cdr_to_json(&c, tz));
  }
  if (rc < 0) {
    json_decref(out);
    return NULL;
  }
  return out;
}
