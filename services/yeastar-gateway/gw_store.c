/* yeastar-gateway's database: each site's token pair (sealed with the
 * secret box) and the outbox of statuses still to apply, so neither a
 * restart nor kill -9 forgets a pending change or burns a new login. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/secretbox.h"
#include "pb/store.h"

static const struct pb_migration migrations[] = {
    {1, "CREATE TABLE tokens ("
        "  site TEXT PRIMARY KEY,"
        "  access_token TEXT NOT NULL,"   /* sealed */
        "  refresh_token TEXT NOT NULL,"  /* sealed */
        "  access_expires INTEGER NOT NULL,"
        "  refresh_expires INTEGER NOT NULL);"
        "CREATE TABLE outbox ("
        "  site TEXT NOT NULL,"
        "  ext TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  queued_at INTEGER NOT NULL,"
        "  PRIMARY KEY (site, ext));"},
};

int gw_store_open(const char *data_dir, struct pb_store **out) {
  char path[512];
  int rc = pb_store_path(data_dir, "yeastar-gateway", path, sizeof path);
  if (rc)
    return rc;
  return pb_store_open(path, migrations, sizeof migrations / sizeof migrations[0],
                       out);
}

int gw_store_save_token(struct gw_site *s) {
  char *at = pb_secretbox_seal(s->gw->box, s->access_token);
  char *rt = pb_secretbox_seal(s->gw->box, s->refresh_token);
  int rc = PB_ENOMEM;
  if (at && rt) {
    struct pb_stmt *st = pb_store_stmt(s->gw->store,
        "INSERT OR REPLACE INTO tokens(site, access_token, refresh_token, "
        "access_expires, refresh_expires) VALUES (?1, ?2, ?3, ?4, ?5)");
    rc = (!st || pb_stmt_bind_text(st, 1, s->name) || pb_stmt_bind_text(st, 2, at) ||
          pb_stmt_bind_text(st, 3, rt) || pb_stmt_bind_int(st, 4, s->access_expires) ||
          pb_stmt_bind_int(st, 5, s->refresh_expires))
             ? PB_EDB
             : pb_stmt_run(st);
  }
  free(at);
  free(rt);
  return rc;
}

int gw_store_load_token(struct gw_site *s, char **sealed_access,
                        char **sealed_refresh) {
  struct pb_stmt *st = pb_store_stmt(s->gw->store,
      "SELECT access_token, refresh_token, access_expires, refresh_expires "
      "FROM tokens WHERE site = ?1");
  if (!st || pb_stmt_bind_text(st, 1, s->name))
    return PB_EDB;
  if (pb_stmt_step(st) != PB_STMT_ROW)
    return PB_ENOTFOUND;
  *sealed_access = strdup(pb_stmt_text(st, 0));
  *sealed_refresh = strdup(pb_stmt_text(st, 1));
  s->access_expires = pb_stmt_int(st, 2);
  s->refresh_expires = pb_stmt_int(st, 3);
  return 0;
}

int gw_store_outbox_put(struct gw_site *s, const char *number,
                        enum pb_presence status) {
  struct pb_stmt *st = pb_store_stmt(s->gw->store,
      "INSERT OR REPLACE INTO outbox(site, ext, status, queued_at) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!st || pb_stmt_bind_text(st, 1, s->name) || pb_stmt_bind_text(st, 2, number) ||
      pb_stmt_bind_text(st, 3, pb_presence_name(status)) ||
      pb_stmt_bind_int(st, 4, pb_clock_now()))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_outbox_done(struct gw_site *s, const char *number) {
  struct pb_stmt *st = pb_store_stmt(s->gw->store,
      "DELETE FROM outbox WHERE site = ?1 AND ext = ?2");
  if (!st || pb_stmt_bind_text(st, 1, s->name) || pb_stmt_bind_text(st, 2, number))
    return PB_EDB;
  return pb_stmt_run(st);
}

int gw_store_outbox_each(struct gw_site *s, gw_outbox_cb *cb, void *ud) {
  struct pb_stmt *st = pb_store_stmt(s->gw->store,
      "SELECT ext, status FROM outbox WHERE site = ?1");
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
