/* The scheduler's database (scheduler.db): per-extension settings, the
 * slots of the last schedule received, the last decision published (so
 * `since` survives restarts), the PBX directory membership (so Home
 * Assistant devices of departed extensions are removed) and the active
 * overrides. Loaded whole at start: a restart, even after kill -9, finds
 * every override and expires the ones that passed. Writes are batched into
 * one transaction per loop turn; commands flush before they answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/store.h"
#include "sched.h"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE extensions ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  planning_on INTEGER NOT NULL DEFAULT 1,"
        "  schedule TEXT," /* last schedule payload (v1 only) */
        "  desired TEXT,"  /* last desired payload */
        "  PRIMARY KEY (site, ext));"
        "CREATE TABLE overrides ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  until INTEGER," /* NULL: until cleared */
        "  reason TEXT NOT NULL DEFAULT '',"
        "  by_who TEXT NOT NULL DEFAULT '',"
        "  set_at INTEGER NOT NULL,"
        "  PRIMARY KEY (site, ext));"},
    /* Settings, directory membership, and schedules as compact blobs
     * (sched_plan.c): 10,000 extensions load in a fraction of a second.
     * Schedules stored as JSON by version 1 are converted at load. */
    {2, "ALTER TABLE extensions ADD COLUMN default_status TEXT;"
        "ALTER TABLE extensions ADD COLUMN timezone TEXT;"
        "ALTER TABLE extensions ADD COLUMN in_directory INTEGER NOT NULL "
        "DEFAULT 0;"
        "ALTER TABLE extensions ADD COLUMN name TEXT;"
        "ALTER TABLE extensions ADD COLUMN plan BLOB;"
        "ALTER TABLE extensions ADD COLUMN schedule_hash INTEGER;"},
};

int sched_store_open(const char *data_dir, struct pb_store **out) {
  return pb_store_open_service(data_dir, "scheduler", migrations,
                               sizeof migrations / sizeof migrations[0], out);
}

/* ---- batching ---- */

static int batch(struct sched *s) {
  if (s->in_batch)
    return 0;
  int rc = pb_store_begin(s->store);
  if (rc)
    return rc;
  s->in_batch = true;
  /* Due at once: runs after the timers and messages of this loop turn. */
  pb_timer_arm(s->flush, pb_clock_now_ms());
  return 0;
}

void sched_store_flush(struct sched *s) {
  if (!s->in_batch)
    return;
  s->in_batch = false;
  pb_timer_disarm(s->flush);
  if (pb_store_commit(s->store) != 0) {
    pb_error("could not commit the scheduler's changes; they are lost until "
             "the next decision");
    pb_store_rollback(s->store);
  }
}

static int ensure_row(struct sched *s, const struct sched_ext *e) {
  if (batch(s))
    return PB_EDB;
  struct pb_stmt *st = pb_store_stmt(
      s->store, "INSERT OR IGNORE INTO extensions(site, ext) VALUES (?1, ?2)");
  if (!st || pb_stmt_bind_text(st, 1, e->site) ||
      pb_stmt_bind_text(st, 2, e->ext))
    return PB_EDB;
  return pb_stmt_run(st);
}

static struct pb_stmt *ext_stmt(struct sched *s, const struct sched_ext *e,
                                const char *sql) {
  if (ensure_row(s, e))
    return NULL;
  struct pb_stmt *st = pb_store_stmt(s->store, sql);
  if (!st || pb_stmt_bind_text(st, 1, e->site) ||
      pb_stmt_bind_text(st, 2, e->ext))
    return NULL;
  return st;
}

static int bind_opt_text(struct pb_stmt *st, int idx, const char *text) {
  return text ? pb_stmt_bind_text(st, idx, text) : pb_stmt_bind_null(st, idx);
}

static int bind_opt_int(struct pb_stmt *st, int idx, int64_t v) {
  return v >= 0 ? pb_stmt_bind_int(st, idx, v) : pb_stmt_bind_null(st, idx);
}

int sched_store_save_desired(struct sched *s, const struct sched_ext *e,
                             const char *text) {
  struct pb_stmt *st = ext_stmt(s, e,
                                "UPDATE extensions SET desired = ?3 "
                                "WHERE site = ?1 AND ext = ?2");
  if (!st || pb_stmt_bind_text(st, 3, text))
    return PB_EDB;
  return pb_stmt_run(st);
}

int sched_store_save_settings(struct sched *s, const struct sched_ext *e) {
  struct pb_stmt *st =
      ext_stmt(s, e,
               "UPDATE extensions SET planning_on = ?3, default_status = ?4, "
               "timezone = ?5 WHERE site = ?1 AND ext = ?2");
  if (!st || pb_stmt_bind_int(st, 3, e->planning_off ? 0 : 1) ||
      bind_opt_text(st, 4,
                    e->default_status == PB_PRESENCE_NONE
                        ? NULL
                        : pb_presence_name(e->default_status)) ||
      bind_opt_text(st, 5, e->tz_name))
    return PB_EDB;
  return pb_stmt_run(st);
}

int sched_store_save_directory(struct sched *s, const struct sched_ext *e) {
  struct pb_stmt *st = ext_stmt(s, e,
                                "UPDATE extensions SET in_directory = ?3, "
                                "name = ?4 WHERE site = ?1 AND ext = ?2");
  if (!st || pb_stmt_bind_int(st, 3, e->in_directory) ||
      bind_opt_text(st, 4, e->name))
    return PB_EDB;
  return pb_stmt_run(st);
}

int sched_store_save_plan(struct sched *s, const struct sched_ext *e) {
  void *blob = NULL;
  size_t len = 0;
  if (e->plan && sched_plan_encode(e->plan, &blob, &len))
    return PB_ENOMEM;
  struct pb_stmt *st = ext_stmt(
      s, e,
      "UPDATE extensions SET plan = ?3, schedule_hash = ?4, schedule = NULL "
      "WHERE site = ?1 AND ext = ?2");
  int rc = PB_EDB;
  if (st &&
      !(blob ? pb_stmt_bind_blob(st, 3, blob, len)
             : pb_stmt_bind_null(st, 3)) &&
      !pb_stmt_bind_int(st, 4, (int64_t)e->schedule_hash))
    rc = pb_stmt_run(st);
  free(blob);
  return rc;
}

int sched_store_save_override(struct sched *s, const struct sched_ext *e) {
  struct pb_stmt *st;
  if (batch(s))
    return PB_EDB;
  if (!e->override) {
    st = pb_store_stmt(s->store,
                       "DELETE FROM overrides WHERE site = ?1 AND ext = ?2");
    if (!st || pb_stmt_bind_text(st, 1, e->site) ||
        pb_stmt_bind_text(st, 2, e->ext))
      return PB_EDB;
    return pb_stmt_run(st);
  }
  const struct pb_override *o = e->override;
  st = pb_store_stmt(s->store, "INSERT OR REPLACE INTO overrides(site, ext, "
                               "status, until, reason, by_who, "
                               "set_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st || pb_stmt_bind_text(st, 1, e->site) ||
      pb_stmt_bind_text(st, 2, e->ext) ||
      pb_stmt_bind_text(st, 3, pb_presence_name(o->status)) ||
      bind_opt_int(st, 4, o->until) || pb_stmt_bind_text(st, 5, o->reason) ||
      pb_stmt_bind_text(st, 6, o->by) || pb_stmt_bind_int(st, 7, o->set_at))
    return PB_EDB;
  return pb_stmt_run(st);
}

/* ---- loading ---- */

static void load_desired(struct sched_ext *e, const char *text) {
  char err[256];
  json_t *j = pb_json_parse(text, strlen(text), err, sizeof err);
  struct pb_desired d;
  if (j && pb_desired_from_json(j, &d, err, sizeof err) == 0) {
    e->has_last = true;
    e->last_hash = sched_hash(text, strlen(text), 0);
    e->last = (struct sched_last){
        .since = d.since,
        .slot_start = d.has_slot ? d.slot.start : -1,
        .slot_end = d.has_slot ? d.slot.end : -1,
        .slot_uid =
            d.has_slot ? sched_hash(d.slot.uid, strlen(d.slot.uid), 0) : 0,
        .ov_set_at = d.has_override ? d.override.set_at : -1,
        .ov_until = d.has_override ? d.override.until : -1,
        .status = (int8_t)d.status,
        .cause = (int8_t)d.cause,
    };
  }
  json_decref(j);
}

/* A schedule stored as JSON by version 1 becomes a plan. */
static void load_legacy_schedule(struct sched *s, struct sched_ext *e,
                                 const char *json) {
  char err[256];
  struct pb_schedule sc;
  json_t *j = pb_json_parse(json, strlen(json), err, sizeof err);
  if (j && pb_schedule_from_json(j, &sc, err, sizeof err) == 0) {
    if (sched_plan_from_schedule(&sc, &e->plan) == 0 &&
        sched_store_save_plan(s, e))
      pb_warn("%s/%s: the converted schedule is not saved", e->site, e->ext);
    pb_schedule_cleanup(&sc);
  } else {
    pb_warn(
        "stored schedule of %s/%s is unreadable (%s): waiting for a new one",
        e->site, e->ext, err);
  }
  json_decref(j);
}

static int load_extensions(struct sched *s, size_t *n) {
  struct pb_stmt *st = pb_store_stmt(
      s->store,
      "SELECT site, ext, planning_on, COALESCE(desired, ''), default_status, "
      "timezone, in_directory, name, plan, COALESCE(schedule_hash, 0), "
      "COALESCE(schedule, '') FROM extensions");
  if (!st)
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct sched_ext *e =
        sched_ext_get(s, pb_stmt_text(st, 0), pb_stmt_text(st, 1), true);
    if (!e)
      continue;
    e->planning_off = pb_stmt_int(st, 2) == 0;
    if (*pb_stmt_text(st, 3))
      load_desired(e, pb_stmt_text(st, 3));
    if (!pb_stmt_is_null(st, 4) &&
        pb_presence_parse(pb_stmt_text(st, 4), &e->default_status))
      e->default_status = PB_PRESENCE_NONE;
    if (!pb_stmt_is_null(st, 5)) {
      const struct pb_tz *tz = sched_zone(s, pb_stmt_text(st, 5));
      if (tz && (e->tz_name = strdup(pb_stmt_text(st, 5))))
        e->tz = tz;
      else
        pb_warn("%s/%s: stored time zone '%s' is unknown here: using TIMEZONE",
                e->site, e->ext, pb_stmt_text(st, 5));
    }
    e->in_directory = pb_stmt_int(st, 6) != 0;
    if (e->in_directory)
      sched_site_known(s, e->site);
    if (!pb_stmt_is_null(st, 7) && !(e->name = strdup(pb_stmt_text(st, 7))))
      pb_error("out of memory for the name of %s/%s", e->site, e->ext);
    if (!pb_stmt_is_null(st, 8)) {
      size_t len;
      const void *blob = pb_stmt_blob(st, 8, &len);
      if (sched_plan_decode(blob, len, &e->plan) == 0)
        e->schedule_hash = (uint64_t)pb_stmt_int(st, 9);
      else
        pb_warn("stored schedule of %s/%s is unreadable: waiting for a new one",
                e->site, e->ext);
    } else if (*pb_stmt_text(st, 10)) {
      char *json = strdup(pb_stmt_text(st, 10));
      if (json)
        load_legacy_schedule(s, e, json);
      free(json);
    }
    (*n)++;
  }
  return rc < 0 ? rc : 0;
}

static int load_overrides(struct sched *s, size_t *n) {
  struct pb_stmt *st =
      pb_store_stmt(s->store, "SELECT site, ext, status, until, "
                              "reason, by_who, set_at FROM overrides");
  if (!st)
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct sched_ext *e =
        sched_ext_get(s, pb_stmt_text(st, 0), pb_stmt_text(st, 1), true);
    struct pb_override o = {0};
    if (!e || pb_presence_parse(pb_stmt_text(st, 2), &o.status))
      continue;
    o.until = pb_stmt_is_null(st, 3) ? -1 : pb_stmt_int(st, 3);
    pb_strlcpy(o.reason, pb_stmt_text(st, 4), sizeof o.reason);
    pb_strlcpy(o.by, pb_stmt_text(st, 5), sizeof o.by);
    o.set_at = pb_stmt_int(st, 6);
    free(e->override);
    e->override = malloc(sizeof *e->override);
    if (!e->override)
      return PB_ENOMEM;
    *e->override = o;
    (*n)++;
  }
  return rc < 0 ? rc : 0;
}

int sched_store_load(struct sched *s) {
  size_t n = 0, ov = 0;
  int rc = load_extensions(s, &n);
  if (!rc)
    rc = load_overrides(s, &ov);
  if (!rc)
    pb_info("loaded %zu extensions and %zu overrides", n, ov);
  return rc;
}
