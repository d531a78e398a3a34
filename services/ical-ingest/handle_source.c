/* The source requests on R/svc/ical-ingest/request/source/<action> (add,
 * update, remove, list, refresh; docs/topics.md), answered through
 * pb_bus_serve_table with the transaction echoed. A refused request changes
 * nothing; answers and events never carry a secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "mapping.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/topics.h"

/* An error answer; messages quote the request (a field name, a value cut
 * at a few bytes), so they are made valid UTF-8 first. */
static void refuse(struct pb_bus_reply *reply, const char *msg,
                   json_t *details) {
  char text[800];
  ingest_copy_text(text, sizeof text, msg);
  pb_bus_reply_error(reply, text, details);
}

static struct source_limits limits(const struct ingest *in) {
  struct source_limits lim = {
      .default_site = pb_config_str(in->cfg, PB_CFG_SITE),
      .max_bytes = (size_t)pb_config_int(in->cfg, PB_CFG_SOURCE_MAX_BYTES),
      .import_max = in->import_max,
  };
  return lim;
}

/* Requests that name one source take "id" and nothing else. `req` is only
 * read (jansson's iteration takes a non-const object). */
static int only_id(json_t *req, bool required, const char **id, char *err,
                   size_t errlen) {
  const char *key;
  json_t *v;
  json_object_foreach(req, key, v) {
    if (strcmp(key, "id") && strcmp(key, "transaction")) {
      snprintf(err, errlen, "unknown field '%.40s' (id, transaction)", key);
      return PB_EINVAL;
    }
  }
  int rc = pb_json_get_str(req, "id", required, id, err, errlen);
  if (rc == PB_ENOTFOUND) {
    *id = NULL;
    return 0;
  }
  return rc;
}

static struct source *find_or_refuse(struct ingest *in, const char *id,
                                     struct pb_bus_reply *reply) {
  struct source *s = ingest_source_find(in, id);
  if (!s) {
    char err[200];
    snprintf(err, sizeof err, "no source '%.64s' (source/list shows them)", id);
    refuse(reply, err, NULL);
  }
  return s;
}

/* The extensions a source feeds now, kept across a change to publish the
 * ones it stops feeding. */
struct targets {
  char site[PB_ID_MAX];
  json_t *exts;
};

static void targets_take(const struct ingest *in, const struct source_def *d,
                         struct targets *t) {
  pb_strlcpy(t->site, d->site, sizeof t->site);
  t->exts = json_array();
  if (d->kind == SOURCE_WEEKLY)
    ingest_store_weekly_exts(in->store, d->id, t->exts);
  for (size_t i = 0; d->kind != SOURCE_WEEKLY && i < d->nexts; i++)
    json_array_append_new(t->exts, json_string(d->exts[i]));
}

/* Publishes the old targets the source no longer feeds, then its own. */
static void targets_publish(struct ingest *in, struct targets *old,
                            const struct source_def *now) {
  size_t i;
  json_t *e;
  json_array_foreach(old->exts, i, e) {
    const char *ext = json_string_value(e);
    if (!now || now->kind == SOURCE_WEEKLY ||
        !ingest_source_targets(now, old->site, ext))
      ingest_publish_one(in, old->site, ext);
  }
  json_decref(old->exts);
  old->exts = NULL;
  if (now)
    ingest_publish_source(in, now);
}

static json_t *event_fields(const struct source_def *d) {
  json_t *ev = json_pack("{s:s}", "name", d->name);
  if (d->kind != SOURCE_WEEKLY) {
    json_t *a = json_array();
    for (size_t i = 0; i < d->nexts; i++)
      json_array_append_new(a, json_string(d->exts[i]));
    json_object_set_new(ev, "extensions", a);
  }
  return ev;
}

/* Reads an uploaded calendar with the source's rules: refused when it
 * cannot be read, so a bad upload never replaces a good one. */
static int check_upload(struct ingest *in, const struct source_def *d,
                        struct slot_vec *v, struct cal_read_stats *stats,
                        struct source_body *b, char *err, size_t errlen) {
  struct ingest_rules *rules = NULL;
  int64_t from, to;
  ingest_horizon(in, pb_clock_now(), &from, &to);
  int rc = ingest_source_rules(in, d, &rules, err, errlen);
  if (!rc)
    rc = ingest_calendar_slots(in, d->id, d->priority, rules, d->content,
                               d->content_len, NULL, from, to, v, stats, err,
                               errlen);
  ingest_rules_free(rules);
  if (rc)
    return rc;
  memset(b, 0, sizeof *b);
  b->data = d->content;
  b->len = d->content_len;
  pb_sha256_hex(d->content, d->content_len, b->sha256, sizeof b->sha256);
  return 0;
}

static void take_upload(struct ingest *in, struct source *s, struct slot_vec *v,
                        const struct cal_read_stats *stats,
                        const struct source_body *b) {
  int64_t from, to;
  ingest_horizon(in, pb_clock_now(), &from, &to);
  s->has_body = true;
  s->body_len = b->len;
  pb_strlcpy(s->sha256, b->sha256, sizeof s->sha256);
  s->etag[0] = s->last_modified[0] = '\0';
  s->stats = *stats;
  s->fetch.error[0] = '\0';
  ingest_source_take_slots(s, v, from, to);
}

static int import_weekly(struct ingest *in, const struct source_def *d,
                         struct pb_bus_reply *reply) {
  struct import_errors *errs = calloc(1, sizeof *errs);
  size_t nslots = 0, nexts = 0;
  if (!errs) {
    refuse(reply, "out of memory", NULL);
    return PB_ENOMEM;
  }
  int rc = ingest_import(in, d->format, d->content, d->content_len, d->site,
                         d->id, d->priority, errs, &nslots, &nexts);
  if (rc) {
    char msg[300];
    snprintf(msg, sizeof msg,
             "planning refused: %zu error%s, nothing was "
             "changed",
             errs->total, errs->total == 1 ? "" : "s");
    refuse(reply, msg, ingest_errors_json(errs));
  }
  free(errs);
  return rc;
}

static void reply_status(struct ingest *in, struct source *s,
                         struct pb_bus_reply *reply) {
  pb_bus_reply_ok(reply, ingest_source_status(in, s));
}

static void on_add(struct pb_bus *bus, const char *action, json_t *req,
                   struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct ingest *in = ud;
  struct source_limits lim = limits(in);
  char err[600];
  const char *id = pb_json_str(req, "id");
  if (!json_object_get(req, "id")) {
    char token[16], gen[32];
    pb_random_token(6, token, sizeof token);
    snprintf(gen, sizeof gen, "src-%s", token);
    json_object_set_new(req, "id", json_string(gen));
  } else if (id && ingest_source_find(in, id)) {
    snprintf(err, sizeof err,
             "source '%s' already exists (change it with "
             "source/update)",
             id);
    refuse(reply, err, NULL);
    return;
  }
  if (ingest_sources_count(in) >= SOURCE_MAX_COUNT) {
    refuse(reply, "too many sources (10000)", NULL);
    return;
  }
  struct source_def d;
  if (ingest_source_parse(req, NULL, &lim, &d, err, sizeof err)) {
    refuse(reply, err, NULL);
    return;
  }
  struct slot_vec v = {0};
  struct source_body body;
  struct cal_read_stats stats = {0};
  bool upload = d.kind == SOURCE_ICS;
  if (upload && check_upload(in, &d, &v, &stats, &body, err, sizeof err)) {
    char msg[700];
    snprintf(msg, sizeof msg, "calendar refused: %s", err);
    refuse(reply, msg, NULL);
    goto out;
  }
  if (d.kind == SOURCE_WEEKLY && import_weekly(in, &d, reply))
    goto out;
  if (ingest_store_save_source(in->store, in->box, &d, upload ? &body : NULL)) {
    pb_bus_reply_error(reply,
                       "the source could not be stored (database "
                       "error), nothing was changed",
                       NULL);
    goto out;
  }
  struct source *s =
      ingest_source_find(in, d.id); /* weekly: made by the import */
  struct source_fetch f = {
      .last_attempt = -1, .last_success = -1, .last_change = -1};
  if (s) {
    ingest_source_replace(in, s, &d);
  } else if (ingest_source_insert(in, &d, &f, &s)) {
    if (ingest_store_delete_source(in->store, d.id))
      pb_error("source %s: stored, but neither kept in memory nor removed "
               "from the database (database error); it comes back at the "
               "next start",
               d.id);
    refuse(reply, "out of memory", NULL);
    goto out;
  }
  if (upload)
    take_upload(in, s, &v, &stats, &body);
  pb_info("source %s (%s) added", s->def.id,
          ingest_source_kind_name(s->def.kind));
  if (s->def.kind != SOURCE_WEEKLY) { /* the import published and told */
    ingest_publish_source(in, &s->def);
    if (s->def.kind == SOURCE_URL && ingest_fetch_now(in, s))
      ingest_fetch_plan(in, s);
    ingest_source_event(in, &s->def, "added", event_fields(&s->def));
  }
  ingest_status_publish(in, s);
  reply_status(in, s, reply);
out:
  slot_vec_cleanup(&v);
  ingest_source_cleanup(&d);
}

static bool same_target_url(const struct source_def *a,
                            const struct source_def *b) {
  return strcmp(a->url.full ? a->url.full : "",
                b->url.full ? b->url.full : "") == 0 &&
         strcmp(a->username, b->username) == 0 &&
         strcmp(a->password ? a->password : "",
                b->password ? b->password : "") == 0;
}

static void on_update(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct ingest *in = ud;
  struct source_limits lim = limits(in);
  char err[600];
  const char *id;
  if (pb_json_get_str(req, "id", true, &id, err, sizeof err)) {
    refuse(reply, err, NULL);
    return;
  }
  struct source *s = find_or_refuse(in, id, reply);
  if (!s)
    return;
  struct source_def d;
  if (ingest_source_parse(req, &s->def, &lim, &d, err, sizeof err)) {
    refuse(reply, err, NULL);
    return;
  }
  struct slot_vec v = {0};
  struct source_body body;
  struct cal_read_stats stats = {0};
  struct targets old = {0};
  bool upload = d.kind == SOURCE_ICS && d.content;
  bool upload_weekly = d.kind == SOURCE_WEEKLY && d.content;
  bool refetch = d.kind == SOURCE_URL && !same_target_url(&d, &s->def);
  if (upload && check_upload(in, &d, &v, &stats, &body, err, sizeof err)) {
    char msg[700];
    snprintf(msg, sizeof msg, "calendar refused: %s (the previous one stays)",
             err);
    refuse(reply, msg, NULL);
    goto out;
  }
  targets_take(in, &s->def, &old);
  if (upload_weekly && import_weekly(in, &d, reply))
    goto out;
  if (ingest_store_save_source(in->store, in->box, &d, upload ? &body : NULL)) {
    pb_bus_reply_error(reply,
                       "the source could not be stored (database "
                       "error), nothing was changed",
                       NULL);
    goto out;
  }
  if (ingest_source_replace(in, s, &d)) {
    refuse(reply, "out of memory", NULL);
    goto out;
  }
  if (upload)
    take_upload(in, s, &v, &stats, &body);
  else /* the rules or the priority may have changed */
    ingest_source_expand(in, s, true, NULL);
  if (refetch) {
    /* Another calendar: its validators are not ours; the last good
     * schedule stays until the new URL answers. */
    ingest_fetch_cancel(in, s);
    s->etag[0] = s->last_modified[0] = '\0';
    s->fetch.failures = 0;
    s->fetch.error[0] = '\0';
    s->fetch.not_before = 0; /* another server's Retry-After is not ours */
    if (ingest_fetch_now(in, s))
      ingest_fetch_plan(in, s);
  } else if (s->def.kind == SOURCE_URL && !s->fetching) {
    ingest_fetch_plan(in, s); /* the interval may have changed */
  }
  pb_info("source %s updated", s->def.id);
  targets_publish(in, &old, &s->def);
  ingest_status_publish(in, s);
  if (!(s->def.kind == SOURCE_WEEKLY &&
        upload_weekly)) /* else told by the import */
    ingest_source_event(in, &s->def, "updated", event_fields(&s->def));
  reply_status(in, s, reply);
out:
  json_decref(old.exts);
  slot_vec_cleanup(&v);
  ingest_source_cleanup(&d);
}

static void on_remove(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct ingest *in = ud;
  char err[300];
  const char *id;
  if (only_id(req, true, &id, err, sizeof err)) {
    refuse(reply, err, NULL);
    return;
  }
  struct source *s = find_or_refuse(in, id, reply);
  if (!s)
    return;
  struct targets old;
  targets_take(in, &s->def, &old);
  if (ingest_store_delete_source(in->store, s->def.id)) {
    json_decref(old.exts);
    pb_bus_reply_error(reply,
                       "the source could not be removed (database "
                       "error)",
                       NULL);
    return;
  }
  struct source_def gone = {.kind = s->def.kind};
  pb_strlcpy(gone.id, s->def.id, sizeof gone.id);
  pb_strlcpy(gone.site, s->def.site, sizeof gone.site);
  ingest_fetch_cancel(in, s);
  ingest_source_remove(in, s);
  pb_info("source %s removed", gone.id);
  targets_publish(in, &old, NULL);
  ingest_status_clear(in, gone.id);
  ingest_source_event(in, &gone, "removed", NULL);
  pb_bus_reply_ok(reply, json_pack("{s:s}", "id", gone.id));
}

static json_t *status_of(struct ingest *in, struct source *s) {
  return ingest_source_status(in, s);
}

/* `fn` applied to the source the request names by "id", or to every source
 * without one; NULL (the request already refused) for a bad or unknown id. */
static json_t *each_source(struct ingest *in, json_t *req,
                           struct pb_bus_reply *reply,
                           json_t *(*fn)(struct ingest *, struct source *)) {
  char err[300];
  const char *id;
  if (only_id(req, false, &id, err, sizeof err)) {
    refuse(reply, err, NULL);
    return NULL;
  }
  json_t *list = json_array();
  if (id) {
    struct source *s = find_or_refuse(in, id, reply);
    if (!s) {
      json_decref(list);
      return NULL;
    }
    json_array_append_new(list, fn(in, s));
  } else {
    for (size_t i = 0; i < ingest_sources_count(in); i++)
      json_array_append_new(list, fn(in, ingest_source_at(in, i)));
  }
  return list;
}

static void on_list(struct pb_bus *bus, const char *action, json_t *req,
                    struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct ingest *in = ud;
  json_t *list = each_source(in, req, reply, status_of);
  if (!list)
    return;
  json_t *data = json_object();
  json_object_set_new(data, "sources", list);
  json_object_set_new(data, "rules", ingest_rules_to_json(in->rules));
  json_object_set_new(data, "default_status",
                      json_string(ingest_rules_default_name(in->rules)));
  pb_bus_reply_ok(reply, data);
}

static json_t *refresh_one(struct ingest *in, struct source *s) {
  const char *result = "republished";
  if (s->def.kind == SOURCE_URL) {
    int rc = ingest_fetch_now(in, s);
    result = rc == 0           ? "downloading"
             : rc == PB_ESTATE ? "already_downloading"
                               : "failed_to_start";
    if (rc && rc != PB_ESTATE)
      ingest_fetch_plan(in, s);
  } else {
    ingest_source_expand(in, s, true, NULL);
    ingest_publish_source(in, &s->def);
  }
  ingest_status_publish(in, s);
  return json_pack("{s:s,s:s}", "id", s->def.id, "result", result);
}

static void on_refresh(struct pb_bus *bus, const char *action, json_t *req,
                       struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct ingest *in = ud;
  json_t *list = each_source(in, req, reply, refresh_one);
  if (!list)
    return;
  pb_bus_reply_ok(reply, json_pack("{s:o}", "sources", list));
}

int ingest_source_serve(struct ingest *in) {
  static const struct pb_bus_action actions[] = {
      {PB_ACTION_SOURCE_ADD, on_add},
      {PB_ACTION_SOURCE_UPDATE, on_update},
      {PB_ACTION_SOURCE_REMOVE, on_remove},
      {PB_ACTION_SOURCE_LIST, on_list},
      {PB_ACTION_SOURCE_REFRESH, on_refresh},
  };
  return pb_bus_serve_table(in->bus, actions, PB_BUS_ACTIONS(actions), in);
}
