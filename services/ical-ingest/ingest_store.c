/* ical-ingest's database: sources, their weekly slots, which extensions
 * have a published schedule (so one that loses all its slots gets an empty
 * schedule rather than keeping a stale retained one), and the extensions'
 * own time zones. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "pb/buf.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/store.h"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE sources ("
        "  id TEXT PRIMARY KEY,"
        "  kind TEXT NOT NULL," /* weekly */
        "  site TEXT NOT NULL,"
        "  priority INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL);"
        "CREATE TABLE weekly_slots ("
        "  source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
        "  ext TEXT NOT NULL,"
        "  wday INTEGER NOT NULL,"
        "  start_min INTEGER NOT NULL,"
        "  end_min INTEGER NOT NULL,"
        "  status TEXT NOT NULL,"
        "  line INTEGER NOT NULL);"
        "CREATE INDEX weekly_slots_ext ON weekly_slots(ext);"
        "CREATE TABLE published ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  PRIMARY KEY (site, ext));"},
    /* Calendar URLs, uploaded .ics and hand-typed slots (source_store.c). */
    {2, "ALTER TABLE sources ADD COLUMN name TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE sources ADD COLUMN spec TEXT NOT NULL DEFAULT '{}';"
        "ALTER TABLE sources ADD COLUMN sealed TEXT;"
        "CREATE TABLE source_targets ("
        "  source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,"
        "  ext TEXT NOT NULL,"
        "  PRIMARY KEY (source_id, ext));"
        "CREATE TABLE source_content ("
        "  source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,"
        "  body BLOB NOT NULL,"
        "  sha256 TEXT NOT NULL,"
        "  etag TEXT NOT NULL DEFAULT '',"
        "  last_modified TEXT NOT NULL DEFAULT '',"
        "  stored_at INTEGER NOT NULL);"
        "CREATE TABLE source_fetch ("
        "  source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,"
        "  last_attempt INTEGER NOT NULL DEFAULT -1,"
        "  last_success INTEGER NOT NULL DEFAULT -1,"
        "  last_change INTEGER NOT NULL DEFAULT -1,"
        "  failures INTEGER NOT NULL DEFAULT 0,"
        "  http_status INTEGER NOT NULL DEFAULT 0,"
        "  error TEXT NOT NULL DEFAULT '');"},
    /* A server's Retry-After, kept across restarts; each extension's own
     * time zone, as its retained settings last said (handle_settings.c), so
     * that the first schedules after a start are already in it. */
    {3, "ALTER TABLE source_fetch ADD COLUMN not_before INTEGER NOT NULL "
        "DEFAULT 0;"
        "CREATE TABLE ext_zones ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  zone TEXT NOT NULL,"
        "  PRIMARY KEY (site, ext));"},
};

int ingest_store_open(const char *data_dir, struct pb_store **out) {
  return pb_store_open_service(data_dir, "ical-ingest", migrations,
                               sizeof migrations / sizeof migrations[0], out);
}

int ingest_store_save_weekly(struct pb_store *st, const char *source,
                             const char *site, int priority,
                             const struct weekly_plan *plan) {
  int64_t now = pb_clock_now();
  if (pb_store_begin(st))
    return PB_EDB;
  struct pb_stmt *s = pb_store_stmt(
      st,
      "INSERT INTO sources(id, kind, site, priority, created_at, updated_at) "
      "VALUES (?1, 'weekly', ?2, ?3, ?4, ?4) ON CONFLICT(id) DO UPDATE SET "
      "site = ?2, priority = ?3, updated_at = ?4");
  if (!s || pb_stmt_bind_text(s, 1, source) || pb_stmt_bind_text(s, 2, site) ||
      pb_stmt_bind_int(s, 3, priority) || pb_stmt_bind_int(s, 4, now) ||
      pb_stmt_run(s))
    goto fail;
  s = pb_store_stmt(st, "DELETE FROM weekly_slots WHERE source_id = ?1");
  if (!s || pb_stmt_bind_text(s, 1, source) || pb_stmt_run(s))
    goto fail;
  for (size_t i = 0; i < plan->count; i++) {
    const struct weekly_slot *w = &plan->slots[i];
    s = pb_store_stmt(
        st,
        "INSERT INTO weekly_slots(source_id, ext, wday, start_min, end_min, "
        "status, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s || pb_stmt_bind_text(s, 1, source) ||
        pb_stmt_bind_text(s, 2, w->ext) || pb_stmt_bind_int(s, 3, w->wday) ||
        pb_stmt_bind_int(s, 4, w->start_min) ||
        pb_stmt_bind_int(s, 5, w->end_min) ||
        pb_stmt_bind_text(s, 6, pb_presence_name(w->status)) ||
        pb_stmt_bind_int(s, 7, w->line) || pb_stmt_run(s))
      goto fail;
  }
  if (pb_store_commit(st))
    goto fail;
  return 0;
fail:
  pb_store_rollback(st);
  return PB_EDB;
}

int ingest_store_each_extension(struct pb_store *st, ingest_ext_cb *cb,
                                void *ud) {
  struct pb_stmt *s = pb_store_stmt(
      st,
      "SELECT s.site, w.ext FROM weekly_slots w JOIN sources s ON s.id = "
      "w.source_id UNION SELECT s.site, t.ext FROM source_targets t JOIN "
      "sources s ON s.id = t.source_id UNION SELECT site, ext FROM published "
      "ORDER BY 1, 2");
  if (!s)
    return PB_EDB;
  /* Copy first: the callback may run other statements. */
  struct {
    char site[PB_ID_MAX], ext[PB_ID_MAX];
  } *rows = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = pb_stmt_step(s)) == PB_STMT_ROW) {
    if (pb_array_grow(&rows, &cap, n + 1, sizeof *rows,
                      SIZE_MAX / sizeof *rows)) {
      free(rows);
      return PB_ENOMEM;
    }
    pb_strlcpy(rows[n].site, pb_stmt_text(s, 0), sizeof rows[n].site);
    pb_strlcpy(rows[n].ext, pb_stmt_text(s, 1), sizeof rows[n].ext);
    n++;
  }
  for (size_t i = 0; rc == PB_STMT_DONE && i < n; i++)
    cb(rows[i].site, rows[i].ext, ud);
  free(rows);
  return rc < 0 ? rc : 0;
}

int ingest_store_each_weekly(struct pb_store *st, const char *site,
                             const char *ext, ingest_slot_cb *cb, void *ud) {
  struct pb_stmt *s = pb_store_stmt(
      st, "SELECT w.wday, w.start_min, w.end_min, w.status, w.line, s.id, "
          "s.priority FROM weekly_slots w JOIN sources s ON s.id = w.source_id "
          "WHERE s.site = ?1 AND w.ext = ?2");
  if (!s || pb_stmt_bind_text(s, 1, site) || pb_stmt_bind_text(s, 2, ext))
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(s)) == PB_STMT_ROW) {
    struct weekly_slot w = {
        .wday = (int)pb_stmt_int(s, 0),
        .start_min = (int)pb_stmt_int(s, 1),
        .end_min = (int)pb_stmt_int(s, 2),
        .line = (int)pb_stmt_int(s, 4),
    };
    pb_strlcpy(w.ext, ext, sizeof w.ext);
    if (pb_presence_parse(pb_stmt_text(s, 3), &w.status))
      continue;
    cb(&w, pb_stmt_text(s, 5), (int)pb_stmt_int(s, 6), ud);
  }
  return rc < 0 ? rc : 0;
}

int ingest_store_mark_published(struct pb_store *st, const char *site,
                                const char *ext, bool has_slots) {
  struct pb_stmt *s = pb_store_stmt(
      st, has_slots
              ? "INSERT OR IGNORE INTO published(site, ext) VALUES (?1, ?2)"
              : "DELETE FROM published WHERE site = ?1 AND ext = ?2");
  if (!s || pb_stmt_bind_text(s, 1, site) || pb_stmt_bind_text(s, 2, ext))
    return PB_EDB;
  return pb_stmt_run(s);
}

bool ingest_store_extension_known(struct pb_store *st, const char *site,
                                  const char *ext) {
  struct pb_stmt *s = pb_store_stmt(
      st, "SELECT 1 FROM published WHERE site = ?1 AND ext = ?2 UNION ALL "
          "SELECT 1 FROM source_targets t JOIN sources s ON s.id = t.source_id "
          "WHERE s.site = ?1 AND t.ext = ?2 UNION ALL "
          "SELECT 1 FROM weekly_slots w JOIN sources s ON s.id = w.source_id "
          "WHERE s.site = ?1 AND w.ext = ?2 LIMIT 1");
  if (!s || pb_stmt_bind_text(s, 1, site) || pb_stmt_bind_text(s, 2, ext))
    return true; /* republishing an unknown one costs less than missing one */
  int rc = pb_stmt_step(s);
  return rc != PB_STMT_DONE;
}

int ingest_store_save_zone(struct pb_store *st, const char *site,
                           const char *ext, const char *zone) {
  bool own = zone && *zone;
  struct pb_stmt *s = pb_store_stmt(
      st, own ? "INSERT INTO ext_zones(site, ext, zone) VALUES (?1, ?2, ?3) "
                "ON CONFLICT(site, ext) DO UPDATE SET zone = ?3"
              : "DELETE FROM ext_zones WHERE site = ?1 AND ext = ?2");
  if (!s || pb_stmt_bind_text(s, 1, site) || pb_stmt_bind_text(s, 2, ext) ||
      (own && pb_stmt_bind_text(s, 3, zone)))
    return PB_EDB;
  return pb_stmt_run(s);
}

int ingest_store_each_zone(struct pb_store *st, ingest_zone_cb *cb, void *ud) {
  struct pb_stmt *s =
      pb_store_stmt(st, "SELECT site, ext, zone FROM ext_zones ORDER BY 1, 2");
  if (!s)
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(s)) == PB_STMT_ROW)
    cb(pb_stmt_text(s, 0), pb_stmt_text(s, 1), pb_stmt_text(s, 2), ud);
  return rc < 0 ? rc : 0;
}
