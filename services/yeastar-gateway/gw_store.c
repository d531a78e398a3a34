/* yeastar-gateway's database: each site's token pair (sealed with the
 * secret box) and the ledger of tokens that may still be live, the outbox
 * of statuses still to apply, the changes made on the PBX that are kept
 * (drift), the sites added on the bus (site_store.c) and the sites whose
 * topics it published. Neither a restart nor kill -9 forgets a pending
 * change or burns a new login. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/store.h"
#include "pb/topics.h"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE tokens ("
        "  site TEXT PRIMARY KEY,"
        "  access_token TEXT NOT NULL,"  /* sealed */
        "  refresh_token TEXT NOT NULL," /* sealed */
        "  access_expires INTEGER NOT NULL,"
        "  refresh_expires INTEGER NOT NULL);"
        "CREATE TABLE outbox ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  queued_at INTEGER NOT NULL,"
        "  PRIMARY KEY (site, ext));"},
    {2,
     "ALTER TABLE tokens ADD COLUMN access_lifetime INTEGER NOT NULL DEFAULT 0;"
     /* tokens that may be live on the PBX although we do not hold them:
      * a lost get_token answer, a pair given up while still valid */
     "CREATE TABLE token_ledger ("
     "  site TEXT NOT NULL,"
     "  expires INTEGER NOT NULL);"
     "CREATE INDEX token_ledger_site ON token_ledger(site, expires);"
     "CREATE TABLE drift ("
     "  site TEXT NOT NULL,"
     "  ext TEXT NOT NULL,"
     "  since INTEGER NOT NULL,"
     "  until INTEGER NOT NULL," /* -1: until the desired status changes */
     /* the decision it departs from, to know it again after a restart */
     "  desired TEXT NOT NULL,"
     "  cause TEXT NOT NULL,"
     "  decided INTEGER NOT NULL,"
     "  PRIMARY KEY (site, ext));"
     "CREATE TABLE sites ("
     "  name TEXT PRIMARY KEY,"
     "  url TEXT NOT NULL,"
     "  client_id TEXT NOT NULL,"
     "  secret TEXT NOT NULL," /* sealed */
     "  ca_file TEXT NOT NULL,"
     "  pinned_key TEXT NOT NULL,"
     "  insecure INTEGER NOT NULL,"
     "  max_concurrency INTEGER NOT NULL,"
     "  rate_per_second INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL);"},
    /* sites whose retained topics this gateway has published: kept after a
     * site's removal, so that what the broker still holds of it is cleared
     * at the next start even if the gateway died before the clearing */
    {3, "CREATE TABLE published_sites ("
        "  name TEXT PRIMARY KEY,"
        "  removed_at INTEGER);" /* NULL: served */
        "INSERT INTO published_sites(name) SELECT name FROM sites;"},
};

int gw_store_open(const char *data_dir, struct pb_store **out) {
  return pb_store_open_service(data_dir, PB_SERVICE_GATEWAY, migrations,
                               sizeof migrations / sizeof migrations[0], out);
}

void gw_store_warn(const char *site, const char *what) {
  pb_warn("site %s: %s could not be stored (the database error is above)", site,
          what);
}

static int run_site(struct gw_site *s, const char *sql) {
  struct pb_stmt *st = pb_store_stmt(s->gw->store, sql);
  if (!st || pb_stmt_bind_text(st, 1, s->name))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_save_token(struct gw_site *s) {
  char *at = pb_secretbox_seal(s->gw->box, s->access_token);
  char *rt = pb_secretbox_seal(s->gw->box, s->refresh_token);
  int rc = PB_ENOMEM;
  if (at && rt) {
    struct pb_stmt *st = pb_store_stmt(
        s->gw->store,
        "INSERT OR REPLACE INTO tokens(site, access_token, refresh_token, "
        "access_expires, refresh_expires, access_lifetime) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    rc = (!st || pb_stmt_bind_text(st, 1, s->name) ||
          pb_stmt_bind_text(st, 2, at) || pb_stmt_bind_text(st, 3, rt) ||
          pb_stmt_bind_int(st, 4, s->access_expires) ||
          pb_stmt_bind_int(st, 5, s->refresh_expires) ||
          pb_stmt_bind_int(st, 6, s->access_lifetime))
             ? PB_EDB
             : pb_stmt_run(st);
  }
  free(at);
  free(rt);
  return rc;
}

int gw_store_delete_token(struct gw_site *s) {
  return run_site(s, "DELETE FROM tokens WHERE site = ?1");
}

int gw_store_load_token(struct gw_site *s, char **sealed_access,
                        char **sealed_refresh) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store,
      "SELECT access_token, refresh_token, access_expires, refresh_expires, "
      "access_lifetime FROM tokens WHERE site = ?1");
  if (!st || pb_stmt_bind_text(st, 1, s->name))
    return PB_EDB;
  if (pb_stmt_step(st) != PB_STMT_ROW)
    return PB_ENOTFOUND;
  *sealed_access = strdup(pb_stmt_text(st, 0));
  *sealed_refresh = strdup(pb_stmt_text(st, 1));
  if (!*sealed_access || !*sealed_refresh) {
    free(*sealed_access);
    free(*sealed_refresh);
    *sealed_access = *sealed_refresh = NULL;
    return PB_ENOMEM;
  }
  s->access_expires = pb_stmt_int(st, 2);
  s->refresh_expires = pb_stmt_int(st, 3);
  s->access_lifetime = pb_stmt_int(st, 4);
  return 0;
}

int gw_store_ledger_add(struct gw_site *s, int64_t expires) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store, "INSERT INTO token_ledger(site, expires) VALUES (?1, ?2)");
  if (!st || pb_stmt_bind_text(st, 1, s->name) ||
      pb_stmt_bind_int(st, 2, expires))
    return PB_EDB;
  return pb_stmt_run(st);
}

/* Count of ledger tokens still live; *earliest: when the first expires. */
int gw_store_ledger_live(struct gw_site *s, int64_t now, int64_t *earliest) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store,
      "DELETE FROM token_ledger WHERE site = ?1 AND expires <= ?2");
  if (st && !pb_stmt_bind_text(st, 1, s->name) &&
      !pb_stmt_bind_int(st, 2, now) && pb_stmt_run(st))
    pb_debug("site %s: expired ledger rows stay until the next count", s->name);
  /* Counted by their expiry, whether the pruning above went through or not. */
  st = pb_store_stmt(s->gw->store,
                     "SELECT count(*), min(expires) FROM token_ledger "
                     "WHERE site = ?1 AND expires > ?2");
  *earliest = 0;
  if (!st || pb_stmt_bind_text(st, 1, s->name) ||
      pb_stmt_bind_int(st, 2, now) || pb_stmt_step(st) != PB_STMT_ROW)
    return PB_EDB;
  *earliest = pb_stmt_int(st, 1);
  return (int)pb_stmt_int(st, 0);
}

int gw_store_outbox_put(struct gw_site *s, const char *number,
                        enum pb_presence status) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store,
      "INSERT OR REPLACE INTO outbox(site, ext, status, queued_at) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!st || pb_stmt_bind_text(st, 1, s->name) ||
      pb_stmt_bind_text(st, 2, number) ||
      pb_stmt_bind_text(st, 3, pb_presence_name(status)) ||
      pb_stmt_bind_int(st, 4, pb_clock_now()))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_outbox_done(struct gw_site *s, const char *number) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store, "DELETE FROM outbox WHERE site = ?1 AND ext = ?2");
  if (!st || pb_stmt_bind_text(st, 1, s->name) ||
      pb_stmt_bind_text(st, 2, number))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_outbox_each(struct gw_site *s, gw_outbox_cb *cb, void *ud) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store, "SELECT ext, status FROM outbox WHERE site = ?1");
  if (!st || pb_stmt_bind_text(st, 1, s->name))
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    enum pb_presence p;
    if (pb_presence_parse(pb_stmt_text(st, 1), &p) == 0)
      cb(pb_stmt_text(st, 0), p, ud);
  }
  return rc < 0 ? rc : 0;
}

int gw_store_drift_put(struct gw_site *s, const struct gw_ext *e) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store,
      "INSERT OR REPLACE INTO drift(site, ext, since, until, desired, cause, "
      "decided) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st || pb_stmt_bind_text(st, 1, s->name) ||
      pb_stmt_bind_text(st, 2, e->number) ||
      pb_stmt_bind_int(st, 3, e->drift_since) ||
      pb_stmt_bind_int(st, 4, e->drift_until) ||
      pb_stmt_bind_text(st, 5, pb_presence_name(e->desired)) ||
      pb_stmt_bind_text(st, 6, pb_cause_name(e->cause)) ||
      pb_stmt_bind_int(st, 7, e->since))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_drift_done(struct gw_site *s, const char *number) {
  struct pb_stmt *st = pb_store_stmt(
      s->gw->store, "DELETE FROM drift WHERE site = ?1 AND ext = ?2");
  if (!st || pb_stmt_bind_text(st, 1, s->name) ||
      pb_stmt_bind_text(st, 2, number))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_drift_each(struct gw_site *s, gw_drift_cb *cb, void *ud) {
  struct pb_stmt *st =
      pb_store_stmt(s->gw->store, "SELECT ext, since, until, desired, cause, "
                                  "decided FROM drift WHERE site = ?1");
  if (!st || pb_stmt_bind_text(st, 1, s->name))
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct gw_drift_row row = {.number = pb_stmt_text(st, 0),
                               .since = pb_stmt_int(st, 1),
                               .until = pb_stmt_int(st, 2),
                               .decided = pb_stmt_int(st, 5)};
    if (pb_presence_parse(pb_stmt_text(st, 3), &row.desired) ||
        pb_cause_parse(pb_stmt_text(st, 4), &row.cause))
      continue;
    cb(&row, ud);
  }
  return rc < 0 ? rc : 0;
}

/* Everything a removed site left behind, in one transaction. */
int gw_store_forget_site(struct gw *gw, const char *name) {
  static const char *const sql[] = {
      "DELETE FROM tokens WHERE site = ?1",
      "DELETE FROM token_ledger WHERE site = ?1",
      "DELETE FROM outbox WHERE site = ?1",
      "DELETE FROM drift WHERE site = ?1",
      "DELETE FROM sites WHERE name = ?1",
  };
  int rc = pb_store_begin(gw->store);
  for (size_t i = 0; !rc && i < sizeof sql / sizeof sql[0]; i++) {
    struct pb_stmt *st = pb_store_stmt(gw->store, sql[i]);
    rc = (!st || pb_stmt_bind_text(st, 1, name)) ? PB_EDB : pb_stmt_run(st);
  }
  if (rc) {
    pb_store_rollback(gw->store);
    return rc;
  }
  return pb_store_commit(gw->store);
}

/* Several writes that must not be cut apart by a kill -9 (a drift kept and
 * the outbox row it replaces). Without a transaction (BEGIN failed) the
 * writes still go, one by one. */
bool gw_store_begin(struct gw *gw) {
  return pb_store_begin(gw->store) == 0;
}

void gw_store_end(struct gw *gw, bool began) {
  if (began && pb_store_commit(gw->store))
    pb_store_rollback(gw->store);
}

int gw_store_published_add(struct gw *gw, const char *name) {
  struct pb_stmt *st =
      pb_store_stmt(gw->store, "INSERT OR REPLACE INTO published_sites(name, "
                               "removed_at) VALUES (?1, NULL)");
  if (!st || pb_stmt_bind_text(st, 1, name))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_published_removed(struct gw *gw, const char *name) {
  struct pb_stmt *st = pb_store_stmt(
      gw->store,
      "UPDATE published_sites SET removed_at = ?2 WHERE name = ?1 AND "
      "removed_at IS NULL");
  if (!st || pb_stmt_bind_text(st, 1, name) ||
      pb_stmt_bind_int(st, 2, pb_clock_now()))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_published_each(struct gw *gw, int64_t keep_s, gw_name_cb *cb,
                            void *ud) {
  struct pb_stmt *st = pb_store_stmt(
      gw->store, "DELETE FROM published_sites WHERE removed_at < ?1");
  if (st && !pb_stmt_bind_int(st, 1, pb_clock_now() - keep_s) &&
      pb_stmt_run(st))
    pb_debug(
        "sites no longer served for long stay listed until the next start");
  st = pb_store_stmt(gw->store, "SELECT name FROM published_sites");
  if (!st)
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW)
    cb(pb_stmt_text(st, 0), ud);
  return rc < 0 ? rc : 0;
}
