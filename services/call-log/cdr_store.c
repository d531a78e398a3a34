/* The call log's database (call-log.db): one row per finished call, unique
 * by (site, call_id) so that the live feed, the webhook relay and every
 * catch-up may bring the same call again without counting it twice; and
 * one catch-up cursor per site. Numbers are indexed by their reversed
 * digits (number_key.c); SQLite's page cache is bounded so that a million
 * calls fit in the service's memory budget (docs/call-log.md). */
#include <stdio.h>
#include <string.h>

#include "calllog.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/store.h"

/* SQLite's page cache, in KiB (negative: a size, not a page count). */
#define CACHE_KIB "8192"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE cdrs ("
        "  id INTEGER PRIMARY KEY,"
        "  site TEXT NOT NULL,"
        "  call_id TEXT NOT NULL,"
        "  start INTEGER NOT NULL," /* Unix seconds: when it rang */
        "  answer INTEGER,"         /* NULL: never answered */
        "  end_time INTEGER NOT NULL,"
        "  from_num TEXT NOT NULL,"
        "  to_num TEXT NOT NULL,"
        "  direction TEXT NOT NULL," /* inbound, outbound, internal */
        "  status TEXT NOT NULL,"    /* answered, no_answer, ... */
        "  talk_seconds INTEGER NOT NULL,"
        "  ring_seconds INTEGER NOT NULL,"
        "  trunk TEXT,"
        "  recording TEXT,"
        "  extension TEXT,"
        "  peer TEXT," /* the outside party: from (inbound), to (outbound) */
        "  from_rev TEXT NOT NULL," /* reversed digits (number_key.c) */
        "  to_rev TEXT NOT NULL,"
        "  stored_at INTEGER NOT NULL,"
        "  UNIQUE (site, call_id));"
        "CREATE INDEX cdrs_start ON cdrs(start);"
        "CREATE INDEX cdrs_extension ON cdrs(extension, start);"
        "CREATE INDEX cdrs_peer ON cdrs(peer, start);"
        "CREATE INDEX cdrs_from_rev ON cdrs(from_rev);"
        "CREATE INDEX cdrs_to_rev ON cdrs(to_rev);"
        "CREATE TABLE cursors ("
        "  site TEXT PRIMARY KEY,"
        "  covered INTEGER NOT NULL," /* Unix seconds */
        "  updated_at INTEGER NOT NULL);"},
};

static int bounded(struct pb_store *st, struct pb_store **out) {
  if (pb_store_exec(st, "PRAGMA cache_size=-" CACHE_KIB "; "
                        "PRAGMA temp_store=FILE;")) {
    pb_store_close(st);
    return PB_EDB;
  }
  *out = st;
  return 0;
}

int calllog_store_open(const char *data_dir, struct pb_store **out) {
  struct pb_store *st = NULL;
  int rc = pb_store_open_service(data_dir, "call-log", migrations,
                                 sizeof migrations / sizeof migrations[0], &st);
  return rc ? rc : bounded(st, out);
}

int calllog_store_open_path(const char *path, struct pb_store **out) {
  struct pb_store *st = NULL;
  int rc = pb_store_open(path, migrations,
                         sizeof migrations / sizeof migrations[0], &st);
  return rc ? rc : bounded(st, out);
}

static int bind_opt_text(struct pb_stmt *st, int idx, const char *text) {
  return text && *text ? pb_stmt_bind_text(st, idx, text)
                       : pb_stmt_bind_null(st, idx);
}

int calllog_store_add(struct pb_store *store, const struct pb_cdr *c,
                      bool *added) {
  char from_rev[PB_NUMBER_MAX], to_rev[PB_NUMBER_MAX];
  const char *peer = c->direction == PB_DIR_INBOUND    ? c->from
                     : c->direction == PB_DIR_OUTBOUND ? c->to
                                                       : NULL;
  calllog_number_rev(c->from, from_rev, sizeof from_rev);
  calllog_number_rev(c->to, to_rev, sizeof to_rev);
  struct pb_stmt *st = pb_store_stmt(
      store,
      "INSERT OR IGNORE INTO cdrs(site, call_id, start, answer, end_time, "
      "from_num, to_num, direction, status, talk_seconds, ring_seconds, "
      "trunk, recording, extension, peer, from_rev, to_rev, stored_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
      "?15, ?16, ?17, ?18)");
  if (!st || pb_stmt_bind_text(st, 1, c->site) ||
      pb_stmt_bind_text(st, 2, c->call_id) ||
      pb_stmt_bind_int(st, 3, c->start) ||
      (c->answer >= 0 ? pb_stmt_bind_int(st, 4, c->answer)
                      : pb_stmt_bind_null(st, 4)) ||
      pb_stmt_bind_int(st, 5, c->end) || pb_stmt_bind_text(st, 6, c->from) ||
      pb_stmt_bind_text(st, 7, c->to) ||
      pb_stmt_bind_text(st, 8, pb_call_direction_name(c->direction)) ||
      pb_stmt_bind_text(st, 9, pb_cdr_status_name(c->status)) ||
      pb_stmt_bind_int(st, 10, c->talk_seconds) ||
      pb_stmt_bind_int(st, 11, c->ring_seconds) ||
      bind_opt_text(st, 12, c->trunk) || bind_opt_text(st, 13, c->recording) ||
      bind_opt_text(st, 14, c->extension) || bind_opt_text(st, 15, peer) ||
      pb_stmt_bind_text(st, 16, from_rev) ||
      pb_stmt_bind_text(st, 17, to_rev) ||
      pb_stmt_bind_int(st, 18, pb_clock_now()))
    return PB_EDB;
  int rc = pb_stmt_run(st);
  if (rc)
    return rc;
  if (added)
    *added = pb_store_changes(store) > 0;
  return 0;
}

int calllog_store_prune(struct pb_store *store, int64_t before, int limit,
                        int64_t *deleted) {
  /* By the start index, a batch at a time: a year of calls falling due at
   * once never holds the loop for long. */
  struct pb_stmt *st = pb_store_stmt(
      store, "DELETE FROM cdrs WHERE id IN (SELECT id FROM cdrs WHERE "
             "start < ?1 ORDER BY start LIMIT ?2)");
  *deleted = 0;
  if (!st || pb_stmt_bind_int(st, 1, before) || pb_stmt_bind_int(st, 2, limit))
    return PB_EDB;
  int rc = pb_stmt_run(st);
  if (!rc)
    *deleted = pb_store_changes(store);
  return rc;
}

int calllog_store_cursor(struct pb_store *store, const char *site,
                         int64_t *cursor) {
  struct pb_stmt *st =
      pb_store_stmt(store, "SELECT covered FROM cursors WHERE site = ?1");
  if (!st || pb_stmt_bind_text(st, 1, site))
    return PB_EDB;
  int rc = pb_stmt_step(st);
  if (rc < 0)
    return rc;
  if (rc != PB_STMT_ROW)
    return PB_ENOTFOUND;
  *cursor = pb_stmt_int(st, 0);
  return 0;
}

int calllog_store_set_cursor(struct pb_store *store, const char *site,
                             int64_t cursor) {
  struct pb_stmt *st = pb_store_stmt(
      store, "INSERT INTO cursors(site, covered, updated_at) VALUES (?1, ?2, "
             "?3) ON CONFLICT(site) DO UPDATE SET covered = excluded.covered, "
             "updated_at = excluded.updated_at");
  if (!st || pb_stmt_bind_text(st, 1, site) ||
      pb_stmt_bind_int(st, 2, cursor) ||
      pb_stmt_bind_int(st, 3, pb_clock_now()))
    return PB_EDB;
  return pb_stmt_run(st);
}

static void copy_col(struct pb_stmt *st, int col, char *dst, size_t len) {
  snprintf(dst, len, "%s", pb_stmt_text(st, col));
}

void calllog_cdr_from_row(struct pb_stmt *st, struct pb_cdr *c) {
  memset(c, 0, sizeof *c);
  copy_col(st, 0, c->site, sizeof c->site);
  copy_col(st, 1, c->call_id, sizeof c->call_id);
  c->start = pb_stmt_int(st, 2);
  c->answer = pb_stmt_is_null(st, 3) ? -1 : pb_stmt_int(st, 3);
  c->end = pb_stmt_int(st, 4);
  copy_col(st, 5, c->from, sizeof c->from);
  copy_col(st, 6, c->to, sizeof c->to);
  if (pb_call_direction_parse(pb_stmt_text(st, 7), &c->direction))
    c->direction = PB_DIR_INTERNAL;
  if (pb_cdr_status_parse(pb_stmt_text(st, 8), &c->status))
    c->status = PB_CDR_FAILED;
  c->talk_seconds = pb_stmt_int(st, 9);
  c->ring_seconds = pb_stmt_int(st, 10);
  copy_col(st, 11, c->trunk, sizeof c->trunk);
  copy_col(st, 12, c->recording, sizeof c->recording);
  copy_col(st, 13, c->extension, sizeof c->extension);
}

int calllog_store_get(struct pb_store *store, const char *site,
                      const char *call_id, struct pb_cdr *out) {
  struct pb_stmt *st =
      pb_store_stmt(store, "SELECT " CALLLOG_CDR_COLUMNS
                           " FROM cdrs WHERE site = ?1 AND call_id = ?2");
  if (!st || pb_stmt_bind_text(st, 1, site) ||
      pb_stmt_bind_text(st, 2, call_id))
    return PB_EDB;
  int rc = pb_stmt_step(st);
  if (rc < 0)
    return rc;
  if (rc != PB_STMT_ROW)
    return PB_ENOTFOUND;
  calllog_cdr_from_row(st, out);
  return 0;
}

int64_t calllog_store_count(struct pb_store *store) {
  struct pb_stmt *st = pb_store_stmt(store, "SELECT COUNT(*) FROM cdrs");
  if (!st || pb_stmt_step(st) != PB_STMT_ROW)
    return -1;
  return pb_stmt_int(st, 0);
}
