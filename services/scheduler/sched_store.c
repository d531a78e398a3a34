/* The scheduler's database: per-extension settings, the last schedule
 * received and the last decision published (so `since` survives restarts),
 * and the active overrides. Loaded whole at start: a restart, even after
 * kill -9, finds every override and expires the ones that passed. */
#include <stdio.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/store.h"
#include "sched.h"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE extensions ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  planning_on INTEGER NOT NULL DEFAULT 1,"
        "  schedule TEXT,"                /* last schedule payload */
        "  desired TEXT,"                 /* last desired payload */
        "  PRIMARY KEY (site, ext));"
        "CREATE TABLE overrides ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  until INTEGER,"                /* NULL: until cleared */
        "  reason TEXT NOT NULL DEFAULT '',"
        "  by_who TEXT NOT NULL DEFAULT '',"
        "  set_at INTEGER NOT NULL,"
        "  PRIMARY KEY (site, ext));"},
};

int sched_store_open(const char *data_dir, struct pb_store **out) {
  char path[512];
  int rc = pb_store_path(data_dir, "scheduler", path, sizeof path);
  if (rc)
    return rc;
  return pb_store_open(path, migrations, sizeof migrations / sizeof migrations[0],
                       out);
}

static int ensure_row(struct sched *s, const struct sched_ext *e) {
  struct pb_stmt *st = pb_store_stmt(s->store,
      "INSERT OR IGNORE INTO extensions(site, ext) VALUES (?1, ?2)");
  if (!st || pb_stmt_bind_text(st, 1, e->site) || pb_stmt_bind_text(st, 2, e->ext))
    return PB_EDB;
  return pb_stmt_run(st);
}

static int save_column(struct sched *s, const struct sched_ext *e,
                       const char *sql, const char *text, int64_t num) {
  if (ensure_row(s, e))
    return PB_EDB;
  struct pb_stmt *st = pb_store_stmt(s->store, sql);
  if (!st || pb_stmt_bind_text(st, 1, e->site) || pb_stmt_bind_text(st, 2, e->ext) ||
      (text ? pb_stmt_bind_text(st, 3, text) : pb_stmt_bind_int(st, 3, num)))
    return PB_EDB;
  return pb_stmt_run(st);
}

int sched_store_save_schedule(struct sched *s, const struct sched_ext *e,
                              const char *json) {
  return save_column(s, e, "UPDATE extensions SET schedule = ?3 WHERE site = ?1 "
                     "AND ext = ?2", json, 0);
}

int sched_store_save_desired(struct sched *s, const struct sched_ext *e) {
  return save_column(s, e, "UPDATE extensions SET desired = ?3 WHERE site = ?1 "
                     "AND ext = ?2", e->last_json ? e->last_json : "", 0);
}

int sched_store_save_planning(struct sched *s, const struct sched_ext *e) {
  return save_column(s, e, "UPDATE extensions SET planning_on = ?3 WHERE "
                     "site = ?1 AND ext = ?2", NULL, e->planning_off ? 0 : 1);
}

int sched_store_save_override(struct sched *s, const struct sched_ext *e) {
  struct pb_stmt *st;
  if (!e->has_override) {
    st = pb_store_stmt(s->store, "DELETE FROM overrides WHERE site = ?1 AND ext = ?2");
    if (!st || pb_stmt_bind_text(st, 1, e->site) || pb_stmt_bind_text(st, 2, e->ext))
      return PB_EDB;
    return pb_stmt_run(st);
  }
  const struct pb_override *o = &e->override;
  st = pb_store_stmt(s->store,
      "INSERT OR REPLACE INTO overrides(site, ext, status, until, reason, by_who, "
      "set_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st || pb_stmt_bind_text(st, 1, e->site) || pb_stmt_bind_text(st, 2, e->ext) ||
      pb_stmt_bind_text(st, 3, pb_presence_name(o->status)) ||
      (o->until >= 0 ? pb_stmt_bind_int(st, 4, o->until) : pb_stmt_bind_null(st, 4)) ||
      pb_stmt_bind_text(st, 5, o->reason) || pb_stmt_bind_text(st, 6, o->by) ||
      pb_stmt_bind_int(st, 7, o->set_at))
    return PB_EDB;
  return pb_stmt_run(st);
}

static void load_json(struct sched_ext *e, const char *schedule, const char *desired) {
  char err[256];
  if (*schedule) {
    json_t *j = pb_json_parse(schedule, strlen(schedule), err, sizeof err);
    if (!j || pb_schedule_from_json(j, &e->schedule, err, sizeof err))
      pb_warn("stored schedule of %s/%s is unreadable (%s): waiting for a new one",
              e->site, e->ext, err);
    json_decref(j);
  }
  if (*desired) {
    json_t *j = pb_json_parse(desired, strlen(desired), err, sizeof err);
    if (j && pb_desired_from_json(j, &e->last, err, sizeof err) == 0) {
      e->has_last = true;
      e->last_json = strdup(desired);
    }
    json_decref(j);
  }
}

int sched_store_load(struct sched *s) {
  struct pb_stmt *st = pb_store_stmt(s->store,
      "SELECT site, ext, planning_on, COALESCE(schedule, ''), "
      "COALESCE(desired, '') FROM extensions");
  if (!st)
    return PB_EDB;
  int rc;
  size_t n = 0, ov = 0;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct sched_ext *e = sched_ext_get(s, pb_stmt_text(st, 0),
                                        pb_stmt_text(st, 1), true);
    if (!e)
      continue;
    e->planning_off = pb_stmt_int(st, 2) == 0;
    load_json(e, pb_stmt_text(st, 3), pb_stmt_text(st, 4));
    n++;
  }
  if (rc < 0)
    return rc;
  st = pb_store_stmt(s->store, "SELECT site, ext, status, until, reason, by_who, "
                     "set_at FROM overrides");
  if (!st)
    return PB_EDB;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct sched_ext *e = sched_ext_get(s, pb_stmt_text(st, 0),
                                        pb_stmt_text(st, 1), true);
    if (!e || pb_presence_parse(pb_stmt_text(st, 2), &e->override.status))
      continue;
    e->has_override = true;
    e->override.until = pb_stmt_is_null(st, 3) ? -1 : pb_stmt_int(st, 3);
    pb_strlcpy(e->override.reason, pb_stmt_text(st, 4), sizeof e->override.reason);
    pb_strlcpy(e->override.by, pb_stmt_text(st, 5), sizeof e->override.by);
    e->override.set_at = pb_stmt_int(st, 6);
    ov++;
  }
  pb_info("loaded %zu extensions and %zu overrides", n, ov);
  return rc < 0 ? rc : 0;
}
