/* Sources in ical-ingest.db (migration 2 of ingest_store.c): the definition
 * as JSON without its secrets, the secrets (URL, password) sealed with
 * pb_secretbox, the extensions fed, the last good calendar and the fetch
 * state. A source and its new content change in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/store.h"

/* The definition split into what is stored in clear and what is sealed. */
static int split(const struct source_def *d, struct pb_secretbox *box,
                 char **spec, char **sealed) {
  *spec = *sealed = NULL;
  json_t *all = ingest_source_to_request(d);
  if (!all)
    return PB_ENOMEM;
  json_t *secret = json_object();
  const char *keys[] = {"url", "password"};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = json_object_get(all, keys[i]);
    if (v) {
      json_object_set(secret, keys[i], v);
      json_object_del(all, keys[i]);
    }
  }
  *spec = pb_json_dump(all);
  int rc = *spec ? 0 : PB_ENOMEM;
  if (!rc && json_object_size(secret)) {
    char *plain = pb_json_dump(secret);
    *sealed = plain ? pb_secretbox_seal(box, plain) : NULL;
    pb_secret_free(plain);
    if (!*sealed)
      rc = PB_ECRYPTO;
  }
  json_decref(secret);
  json_decref(all);
  if (rc) {
    free(*spec);
    *spec = NULL;
  }
  return rc;
}

int ingest_store_save_source(struct pb_store *st, struct pb_secretbox *box,
                             const struct source_def *d,
                             const struct source_body *body) {
  char *spec, *sealed;
  int rc = split(d, box, &spec, &sealed);
  if (rc)
    return rc;
  int64_t now = pb_clock_now();
  struct pb_stmt *s;
  if (pb_store_begin(st)) {
    rc = PB_EDB;
    goto out;
  }
  rc = PB_EDB;
  s = pb_store_stmt(
      st,
      "INSERT INTO sources(id, kind, site, priority, created_at, updated_at, "
      "name, spec, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8) "
      "ON CONFLICT(id) DO UPDATE SET site = ?3, priority = ?4, "
      "updated_at = ?5, name = ?6, spec = ?7, sealed = ?8");
  if (!s || pb_stmt_bind_text(s, 1, d->id) ||
      pb_stmt_bind_text(s, 2, ingest_source_kind_name(d->kind)) ||
      pb_stmt_bind_text(s, 3, d->site) || pb_stmt_bind_int(s, 4, d->priority) ||
      pb_stmt_bind_int(s, 5, now) || pb_stmt_bind_text(s, 6, d->name) ||
      pb_stmt_bind_text(s, 7, spec) || pb_stmt_bind_text(s, 8, sealed) ||
      pb_stmt_run(s))
    goto fail;
  if (d->kind != SOURCE_WEEKLY) {
    s = pb_store_stmt(st, "DELETE FROM source_targets WHERE source_id = ?1");
    if (!s || pb_stmt_bind_text(s, 1, d->id) || pb_stmt_run(s))
      goto fail;
    for (size_t i = 0; i < d->nexts; i++) {
      s = pb_store_stmt(st, "INSERT INTO source_targets(source_id, ext) "
                            "VALUES (?1, ?2)");
      if (!s || pb_stmt_bind_text(s, 1, d->id) ||
          pb_stmt_bind_text(s, 2, d->exts[i]) || pb_stmt_run(s))
        goto fail;
    }
  }
  if (body && (rc = ingest_store_save_body(st, d->id, body)))
    goto fail;
  if (pb_store_commit(st)) {
    rc = PB_EDB;
    goto fail;
  }
  rc = 0;
  goto out;
fail:
  pb_store_rollback(st);
out:
  free(spec);
  free(sealed);
  return rc;
}

int ingest_store_save_body(struct pb_store *st, const char *id,
                           const struct source_body *b) {
  struct pb_stmt *s = pb_store_stmt(
      st, "INSERT INTO source_content(source_id, body, sha256, etag, "
          "last_modified, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
          "ON CONFLICT(source_id) DO UPDATE SET body = ?2, sha256 = ?3, "
          "etag = ?4, last_modified = ?5, stored_at = ?6");
  if (!s || pb_stmt_bind_text(s, 1, id) ||
      pb_stmt_bind_blob(s, 2, b->data, b->len) ||
      pb_stmt_bind_text(s, 3, b->sha256) || pb_stmt_bind_text(s, 4, b->etag) ||
      pb_stmt_bind_text(s, 5, b->last_modified) ||
      pb_stmt_bind_int(s, 6, pb_clock_now()) || pb_stmt_run(s))
    return PB_EDB;
  return 0;
}

int ingest_store_load_body(struct pb_store *st, const char *id,
                           struct source_body *b) {
  memset(b, 0, sizeof *b);
  struct pb_stmt *s = pb_store_stmt(
      st, "SELECT body, sha256, etag, last_modified FROM source_content "
          "WHERE source_id = ?1");
  if (!s || pb_stmt_bind_text(s, 1, id))
    return PB_EDB;
  int rc = pb_stmt_step(s);
  if (rc != PB_STMT_ROW)
    return rc < 0 ? rc : PB_ENOTFOUND;
  size_t len;
  const void *p = pb_stmt_blob(s, 0, &len);
  char *copy = malloc(len + 1);
  if (!copy)
    return PB_ENOMEM;
  memcpy(copy, p, len);
  copy[len] = '\0';
  b->data = b->owned = copy;
  b->len = len;
  pb_strlcpy(b->sha256, pb_stmt_text(s, 1), sizeof b->sha256);
  pb_strlcpy(b->etag, pb_stmt_text(s, 2), sizeof b->etag);
  pb_strlcpy(b->last_modified, pb_stmt_text(s, 3), sizeof b->last_modified);
  return 0;
}

void ingest_body_cleanup(struct source_body *b) {
  free(b->owned);
  memset(b, 0, sizeof *b);
}

int ingest_store_delete_source(struct pb_store *st, const char *id) {
  /* weekly_slots, source_targets, source_content and source_fetch follow
   * by ON DELETE CASCADE. */
  struct pb_stmt *s = pb_store_stmt(st, "DELETE FROM sources WHERE id = ?1");
  if (!s || pb_stmt_bind_text(s, 1, id))
    return PB_EDB;
  return pb_stmt_run(s);
}

int ingest_store_save_fetch(struct pb_store *st, const char *id,
                            const struct source_fetch *f) {
  struct pb_stmt *s = pb_store_stmt(
      st,
      "INSERT INTO source_fetch(source_id, last_attempt, last_success, "
      "last_change, failures, http_status, error, not_before) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(source_id) DO UPDATE SET "
      "last_attempt = ?2, last_success = ?3, last_change = ?4, failures = ?5, "
      "http_status = ?6, error = ?7, not_before = ?8");
  if (!s || pb_stmt_bind_text(s, 1, id) ||
      pb_stmt_bind_int(s, 2, f->last_attempt) ||
      pb_stmt_bind_int(s, 3, f->last_success) ||
      pb_stmt_bind_int(s, 4, f->last_change) ||
      pb_stmt_bind_int(s, 5, f->failures) ||
      pb_stmt_bind_int(s, 6, f->http_status) ||
      pb_stmt_bind_text(s, 7, f->error) ||
      pb_stmt_bind_int(s, 8, f->not_before) || pb_stmt_run(s))
    return PB_EDB;
  return 0;
}

/* One stored source back into a definition: the clear part, the unsealed
 * secrets and the columns, checked again as a request would be. */
static int load_one(struct pb_stmt *s, struct pb_secretbox *box,
                    const struct source_limits *lim, struct source_def *d,
                    struct source_fetch *f) {
  const char *id = pb_stmt_text(s, 0);
  char err[300];
  json_t *req = pb_json_parse(pb_stmt_text(s, 5), strlen(pb_stmt_text(s, 5)),
                              err, sizeof err);
  if (!json_is_object(req)) {
    pb_error("source %s: its stored definition is unreadable: %s", id, err);
    json_decref(req);
    return PB_EPARSE;
  }
  json_object_set_new(req, "id", json_string(id));
  json_object_set_new(req, "kind", json_string(pb_stmt_text(s, 1)));
  json_object_set_new(req, "site", json_string(pb_stmt_text(s, 2)));
  json_object_set_new(req, "priority", json_integer(pb_stmt_int(s, 3)));
  json_object_set_new(req, "name", json_string(pb_stmt_text(s, 4)));
  if (!pb_stmt_is_null(s, 6)) {
    char *plain = NULL;
    int rc = pb_secretbox_unseal(box, pb_stmt_text(s, 6), &plain);
    json_t *secret = rc ? NULL : pb_json_parse(plain, strlen(plain), NULL, 0);
    pb_secret_free(plain);
    if (!json_is_object(secret)) {
      pb_error("source %s: its URL and password cannot be unsealed (was "
               "DATA_DIR/secret.key replaced?); add the source again",
               id);
      json_decref(secret);
      json_decref(req);
      return PB_ECRYPTO;
    }
    json_object_update(req, secret);
    json_decref(secret);
  }
  int rc = ingest_source_parse(req, NULL, lim, d, err, sizeof err);
  json_decref(req);
  if (rc) {
    pb_error("source %s: its stored definition is refused: %s", id, err);
    return rc;
  }
  f->last_attempt = pb_stmt_is_null(s, 7) ? -1 : pb_stmt_int(s, 7);
  f->last_success = pb_stmt_is_null(s, 8) ? -1 : pb_stmt_int(s, 8);
  f->last_change = pb_stmt_is_null(s, 9) ? -1 : pb_stmt_int(s, 9);
  f->failures = (int)pb_stmt_int(s, 10);
  f->http_status = pb_stmt_int(s, 11);
  pb_strlcpy(f->error, pb_stmt_text(s, 12), sizeof f->error);
  f->not_before = pb_stmt_int(s, 13);
  return 0;
}

int ingest_store_each_source(struct pb_store *st, struct pb_secretbox *box,
                             const struct source_limits *lim,
                             ingest_source_cb *cb, void *ud) {
  struct source_limits stored = *lim;
  stored.stored = true;
  struct pb_stmt *s = pb_store_stmt(
      st, "SELECT s.id, s.kind, s.site, s.priority, s.name, s.spec, s.sealed, "
          "f.last_attempt, f.last_success, f.last_change, f.failures, "
          "f.http_status, f.error, f.not_before FROM sources s LEFT JOIN "
          "source_fetch f ON "
          "f.source_id = s.id ORDER BY s.id");
  if (!s)
    return PB_EDB;
  int rc;
  size_t n = 0;
  while ((rc = pb_stmt_step(s)) == PB_STMT_ROW && n < SOURCE_MAX_COUNT) {
    struct source_def d;
    struct source_fetch f = {
        .last_attempt = -1, .last_success = -1, .last_change = -1};
    if (load_one(s, box, &stored, &d, &f) == 0) {
      cb(&d, &f, ud); /* takes d */
      n++;
    }
  }
  return rc < 0 ? rc : 0;
}

int ingest_store_weekly_exts(struct pb_store *st, const char *id, json_t *out) {
  struct pb_stmt *s = pb_store_stmt(st, "SELECT DISTINCT ext FROM weekly_slots "
                                        "WHERE source_id = ?1 ORDER BY ext");
  if (!s || pb_stmt_bind_text(s, 1, id))
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(s)) == PB_STMT_ROW)
    json_array_append_new(out, json_string(pb_stmt_text(s, 0)));
  return rc < 0 ? rc : 0;
}
