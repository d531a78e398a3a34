/* The sites added on the bus (site/add), kept in yeastar-gateway.db with
 * the client secret sealed by the secret box: never stored in clear, never
 * read back anywhere but into the site that uses it. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/store.h"

int gw_store_site_put(struct gw *gw, const struct gw_site_settings *set) {
  char *sealed = pb_secretbox_seal(gw->box, set->secret ? set->secret : "");
  if (!sealed)
    return PB_ECRYPTO;
  struct pb_stmt *st = pb_store_stmt(
      gw->store,
      "INSERT OR REPLACE INTO sites(name, url, client_id, secret, ca_file, "
      "pinned_key, insecure, max_concurrency, rate_per_second, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  int rc = (!st || pb_stmt_bind_text(st, 1, set->name) ||
            pb_stmt_bind_text(st, 2, set->url) ||
            pb_stmt_bind_text(st, 3, set->client_id) ||
            pb_stmt_bind_text(st, 4, sealed) ||
            pb_stmt_bind_text(st, 5, set->ca_file) ||
            pb_stmt_bind_text(st, 6, set->pinned_key) ||
            pb_stmt_bind_int(st, 7, set->insecure) ||
            pb_stmt_bind_int(st, 8, set->max_concurrency) ||
            pb_stmt_bind_int(st, 9, set->rate_per_second) ||
            pb_stmt_bind_int(st, 10, pb_clock_now()))
               ? PB_EDB
               : pb_stmt_run(st);
  free(sealed);
  return rc;
}

int gw_store_site_delete(struct gw *gw, const char *name) {
  return gw_store_forget_site(gw, name);
}

int gw_store_sites_each(struct gw *gw, gw_site_row_cb *cb, void *ud) {
  struct pb_stmt *st = pb_store_stmt(
      gw->store,
      "SELECT name, url, client_id, secret, ca_file, pinned_key, insecure, "
      "max_concurrency, rate_per_second FROM sites ORDER BY name");
  if (!st)
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct gw_site_settings set = {0};
    char *secret = NULL;
    pb_strlcpy(set.name, pb_stmt_text(st, 0), sizeof set.name);
    if (pb_secretbox_unseal(gw->box, pb_stmt_text(st, 3), &secret)) {
      pb_error("site %s: its stored secret cannot be opened with this "
               "secret.key: the site is not started (add it again)",
               set.name);
      continue;
    }
    pb_strlcpy(set.url, pb_stmt_text(st, 1), sizeof set.url);
    pb_strlcpy(set.client_id, pb_stmt_text(st, 2), sizeof set.client_id);
    set.secret = strdup(secret);
    pb_secret_free(secret);
    if (!set.secret) {
      pb_error("site %s: out of memory: the site is not started", set.name);
      continue;
    }
    pb_strlcpy(set.ca_file, pb_stmt_text(st, 4), sizeof set.ca_file);
    pb_strlcpy(set.pinned_key, pb_stmt_text(st, 5), sizeof set.pinned_key);
    set.insecure = pb_stmt_int(st, 6) != 0;
    set.max_concurrency = (int)pb_stmt_int(st, 7);
    set.rate_per_second = (int)pb_stmt_int(st, 8);
    cb(&set, ud); /* takes the secret */
  }
  return rc < 0 ? rc : 0;
}
