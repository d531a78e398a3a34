/* The sources ical-ingest runs with: loaded from the database at start,
 * changed by the source requests, each with its mapping rules, fetch state
 * and slots. Their secrets are registered for redaction in every log line
 * the moment they are known. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "mapping.h"
#include "pb/buf.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/secretbox.h"

struct source_set {
  struct source **items;
  size_t count, cap;
};

static void register_secrets(const struct source_def *d) {
  if (d->kind != SOURCE_URL)
    return;
  pb_log_add_secret(d->url.full);
  for (size_t i = 0; i < d->url.nsecrets; i++)
    pb_log_add_secret(d->url.secrets[i]);
  pb_log_add_secret(d->password);
}

static bool def_uses(const struct source_def *d, const char *secret) {
  if (d->kind != SOURCE_URL)
    return false;
  if ((d->url.full && strcmp(d->url.full, secret) == 0) ||
      (d->password && strcmp(d->password, secret) == 0))
    return true;
  for (size_t i = 0; i < d->url.nsecrets; i++)
    if (strcmp(d->url.secrets[i], secret) == 0)
      return true;
  return false;
}

static void forget_one(const struct ingest *in, const struct source_def *gone,
                       const char *secret) {
  if (!secret)
    return;
  for (size_t i = 0; i < in->sources->count; i++)
    if (&in->sources->items[i]->def != gone &&
        def_uses(&in->sources->items[i]->def, secret))
      return; /* another source still has it */
  pb_log_remove_secret(secret);
}

/* Unregisters the secrets of a definition that goes away, unless another
 * source still uses them (the log keeps a bounded list). */
static void forget_secrets(const struct ingest *in,
                           const struct source_def *d) {
  if (d->kind != SOURCE_URL)
    return;
  forget_one(in, d, d->url.full);
  for (size_t i = 0; i < d->url.nsecrets; i++)
    forget_one(in, d, d->url.secrets[i]);
  forget_one(in, d, d->password);
}

int ingest_source_rules(const struct ingest *in, const struct source_def *d,
                        struct ingest_rules **out, char *err, size_t errlen) {
  struct ingest_rules *own = NULL;
  *out = NULL;
  if (d->kind != SOURCE_URL && d->kind != SOURCE_ICS)
    return 0;
  if (d->rules || d->default_status[0]) {
    int rc = d->rules ? ingest_rules_parse(d->rules, strlen(d->rules),
                                           d->default_status, &own, err, errlen)
                      : ingest_rules_from_json(NULL, d->default_status, &own,
                                               err, errlen);
    if (rc)
      return rc;
  }
  int rc = ingest_rules_chain(own, in->rules, out);
  ingest_rules_free(own);
  if (rc)
    snprintf(err, errlen, "out of memory");
  return rc;
}

static void source_free(struct source *s) {
  if (!s)
    return;
  pb_timer_free(s->timer);
  ingest_rules_free(s->rules);
  ingest_source_cleanup(&s->def);
  slot_vec_cleanup(&s->slots);
  ingest_source_zoned_cleanup(s);
  free(s);
}

struct source *ingest_source_find(const struct ingest *in, const char *id) {
  for (size_t i = 0; in->sources && i < in->sources->count; i++)
    if (strcmp(in->sources->items[i]->def.id, id) == 0)
      return in->sources->items[i];
  return NULL;
}

size_t ingest_sources_count(const struct ingest *in) {
  return in->sources ? in->sources->count : 0;
}

struct source *ingest_source_at(const struct ingest *in, size_t i) {
  return in->sources && i < in->sources->count ? in->sources->items[i] : NULL;
}

int ingest_source_insert(struct ingest *in, struct source_def *d,
                         const struct source_fetch *f, struct source **out) {
  struct source_set *set = in->sources;
  char err[300];
  int rc = pb_array_grow(&set->items, &set->cap, set->count + 1,
                         sizeof *set->items, SOURCE_MAX_COUNT);
  if (rc)
    return rc;
  struct source *s = calloc(1, sizeof *s);
  if (!s)
    return PB_ENOMEM;
  rc = ingest_source_rules(in, d, &s->rules, err, sizeof err);
  if (rc) {
    pb_error("source %s: %s", d->id, err);
    free(s);
    return rc;
  }
  s->in = in;
  s->def = *d;
  memset(d, 0, sizeof *d);
  s->def.content = NULL;
  s->fetch = *f;
  s->next_attempt = -1;
  register_secrets(&s->def);
  set->items[set->count++] = s;
  if (out)
    *out = s;
  return 0;
}

int ingest_source_replace(struct ingest *in, struct source *s,
                          struct source_def *d) {
  struct ingest_rules *rules = NULL;
  char err[300];
  int rc = ingest_source_rules(in, d, &rules, err, sizeof err);
  if (rc)
    return rc;
  ingest_rules_free(s->rules);
  s->rules = rules;
  /* The new secrets are registered before the old ones are dropped, so
   * that one shared by both is never unmasked. */
  register_secrets(d);
  struct source_def old = s->def;
  s->def = *d;
  memset(d, 0, sizeof *d);
  s->def.content = NULL;
  forget_secrets(in, &old);
  ingest_source_cleanup(&old);
  /* Manual slots are the definition itself: take them at once. */
  s->expanded = false;
  return 0;
}

/* Unregisters the secrets of a URL no source uses any more. */
static void forget_url(const struct ingest *in, const struct source_url *u) {
  forget_one(in, NULL, u->full);
  for (size_t i = 0; i < u->nsecrets; i++)
    forget_one(in, NULL, u->secrets[i]);
}

int ingest_source_move(struct ingest *in, struct source *s,
                       struct source_url *url) {
  struct source_url old = s->def.url;
  s->def.url = *url;
  memset(url, 0, sizeof *url);
  register_secrets(&s->def); /* before anything could log the new URL */
  if (ingest_store_save_source(in->store, in->box, &s->def, NULL)) {
    struct source_url failed = s->def.url;
    s->def.url = old;
    forget_url(in, &failed);
    ingest_url_cleanup(&failed);
    return PB_EDB;
  }
  forget_url(in, &old);
  ingest_url_cleanup(&old);
  return 0;
}

void ingest_source_remove(struct ingest *in, struct source *s) {
  struct source_set *set = in->sources;
  forget_secrets(in, &s->def);
  for (size_t i = 0; i < set->count; i++) {
    if (set->items[i] == s) {
      memmove(&set->items[i], &set->items[i + 1],
              (set->count - i - 1) * sizeof *set->items);
      set->count--;
      break;
    }
  }
  source_free(s);
}

struct load_ctx {
  struct ingest *in;
  size_t loaded;
};

static void load_cb(struct source_def *d, const struct source_fetch *f,
                    void *ud) {
  struct load_ctx *x = ud;
  struct source *s;
  char id[PB_ID_MAX];
  pb_strlcpy(id, d->id, sizeof id);
  if (ingest_source_insert(x->in, d, f, &s)) {
    pb_error("source %s could not be loaded", id);
    ingest_source_cleanup(d);
    return;
  }
  x->loaded++;
  struct source_body b;
  if ((s->def.kind == SOURCE_URL || s->def.kind == SOURCE_ICS) &&
      ingest_store_load_body(x->in->store, s->def.id, &b) == 0) {
    s->has_body = true;
    s->body_len = b.len;
    pb_strlcpy(s->etag, b.etag, sizeof s->etag);
    pb_strlcpy(s->last_modified, b.last_modified, sizeof s->last_modified);
    pb_strlcpy(s->sha256, b.sha256, sizeof s->sha256);
    ingest_body_cleanup(&b);
  }
}

int ingest_sources_load(struct ingest *in) {
  in->sources = calloc(1, sizeof *in->sources);
  if (!in->sources)
    return PB_ENOMEM;
  struct source_limits lim = {
      .default_site = pb_config_str(in->cfg, PB_CFG_SITE),
      .max_bytes = (size_t)pb_config_int(in->cfg, PB_CFG_SOURCE_MAX_BYTES),
      .import_max = in->import_max,
  };
  struct load_ctx x = {.in = in};
  int rc = ingest_store_each_source(in->store, in->box, &lim, load_cb, &x);
  if (rc)
    return rc;
  for (size_t i = 0; i < in->sources->count; i++)
    if (in->sources->items[i]->def.kind == SOURCE_URL)
      ingest_fetch_plan(in, in->sources->items[i]);
  pb_info("%zu sources loaded", x.loaded);
  return 0;
}

void ingest_sources_free(struct ingest *in) {
  if (!in->sources)
    return;
  for (size_t i = 0; i < in->sources->count; i++)
    source_free(in->sources->items[i]);
  free(in->sources->items);
  free(in->sources);
  in->sources = NULL;
}
