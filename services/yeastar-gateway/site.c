/* PBX sites: each with its own URL, client id, secret and TLS settings.
 * One comes from the YEASTAR_* keys, the others from site/add (kept in the
 * database, secret sealed). This file validates settings, starts, changes
 * and removes sites; a removed site is freed once its last request on the
 * wire has come back. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/url.h"

/* https://pbx:8088 -> https://pbx:8088/openapi/v1.0/ (kept if already
 * given): resolved by pb_url (RFC 3986 §5.2) against the URL taken as a
 * folder, so a path in front of the API (a proxy's) stays. */
int gw_base_url(const char *url, char *out, size_t len) {
  char dir[GW_URL_MAX + 1];
  char *base = NULL;
  size_t n = strlen(url);
  out[0] = '\0';
  while (n && url[n - 1] == '/')
    n--;
  if (n + 1 >= sizeof dir)
    return PB_ETOOBIG;
  snprintf(dir, sizeof dir, "%.*s/", (int)n, url);
  int rc = pb_url_resolve(dir, strstr(url, "/openapi/") ? "" : "openapi/v1.0/",
                          &base);
  if (!rc && !pb_strlcpy(out, base, len)) {
    out[0] = '\0';
    rc = PB_ETOOBIG;
  }
  free(base);
  return rc;
}

void gw_settings_cleanup(struct gw_site_settings *set) {
  if (set->secret) {
    sodium_memzero(set->secret, strlen(set->secret));
    free(set->secret);
    set->secret = NULL;
  }
}

static bool printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

static bool pin_hashes_valid(const char *pin) {
  /* sha256//<44 base64 chars>, several joined by ';' (CURLOPT_PINNEDPUBLICKEY)
   */
  const char *p = pin;
  while (*p) {
    if (strncmp(p, "sha256//", 8) != 0)
      return false;
    p += 8;
    size_t n = 0;
    while (p[n] && p[n] != ';' &&
           (isalnum((unsigned char)p[n]) || p[n] == '+' || p[n] == '/' ||
            p[n] == '='))
      n++;
    if (n != 44 || (p[n] && p[n] != ';'))
      return false;
    p += n;
    if (*p == ';')
      p++;
  }
  return true;
}

int gw_settings_check(const struct gw_site_settings *set, char *err,
                      size_t errlen) {
  static const char *const schemes[] = {"https", "http", NULL};
  struct pb_url u;
  char why[200];
  if (!pb_topic_id_valid(set->name)) {
    snprintf(err, errlen,
             "field 'name' must be 1-64 characters of [A-Za-z0-9_-]");
    return PB_EINVAL;
  }
  if (pb_url_split(set->url, schemes, &u, why, sizeof why)) {
    snprintf(err, errlen,
             "field 'url' must be an http(s) URL like "
             "https://pbx.example.org:8088");
    return PB_EINVAL;
  }
  if (u.userinfo) {
    snprintf(err, errlen,
             "field 'url' must not hold credentials (use "
             "client_id and client_secret)");
    return PB_EINVAL;
  }
  if (!set->client_id[0] || !printable(set->client_id)) {
    snprintf(err, errlen,
             "field 'client_id' is required (the Open API client "
             "id: PBX > Integrations > API)");
    return PB_EINVAL;
  }
  if (!set->secret || !*set->secret || !printable(set->secret) ||
      strlen(set->secret) >= GW_SECRET_MAX) {
    snprintf(err, errlen,
             "field 'client_secret' is required (1-%d printable "
             "characters)",
             GW_SECRET_MAX - 1);
    return PB_EINVAL;
  }
  if (set->ca_file[0] && access(set->ca_file, R_OK) != 0) {
    snprintf(err, errlen, "field 'ca_file': cannot read '%.200s'",
             set->ca_file);
    return PB_EINVAL;
  }
  if (set->pinned_key[0] && strncmp(set->pinned_key, "sha256//", 8) == 0
          ? !pin_hashes_valid(set->pinned_key)
          : set->pinned_key[0] && access(set->pinned_key, R_OK) != 0) {
    snprintf(err, errlen,
             "field 'pinned_public_key' must be sha256//<base64 "
             "of 32 bytes> (';' between several) or a readable "
             "PEM/DER public key file");
    return PB_EINVAL;
  }
  if (set->max_concurrency < 0 || set->max_concurrency > 64 ||
      set->rate_per_second < 0 || set->rate_per_second > 10000) {
    snprintf(err, errlen,
             "fields 'max_concurrency' (0-64) and "
             "'rate_per_second' (0-10000) are out of range");
    return PB_EINVAL;
  }
  return 0;
}

static int get_text(const json_t *j, const char *key, char *out, size_t len,
                    char *err, size_t errlen) {
  const char *v = NULL;
  int rc = pb_json_get_str(j, key, false, &v, err, errlen);
  if (rc == PB_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  if (!pb_strlcpy(out, v, len)) {
    snprintf(err, errlen, "field '%s' is longer than %zu bytes", key, len - 1);
    return PB_EINVAL;
  }
  return 0;
}

int gw_settings_from_json(json_t *j, const struct gw_site_settings *base,
                          struct gw_site_settings *out, char *err,
                          size_t errlen) {
  static const char *const known[] = {"name",
                                      "url",
                                      "client_id",
                                      "client_secret",
                                      "ca_file",
                                      "pinned_public_key",
                                      "insecure",
                                      "max_concurrency",
                                      "rate_per_second",
                                      "transaction"};
  const char *key;
  json_t *v;
  int rc;
  memset(out, 0, sizeof *out);
  json_object_foreach(j, key, v) {
    size_t k = 0;
    while (k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0)
      k++;
    if (k == sizeof known / sizeof known[0]) {
      snprintf(err, errlen,
               "unknown field '%.64s' (known: name, url, client_id, "
               "client_secret, ca_file, pinned_public_key, insecure, "
               "max_concurrency, rate_per_second)",
               key);
      return PB_EINVAL;
    }
  }
  if (base) {
    *out = *base;
    out->secret = base->secret ? strdup(base->secret) : NULL;
    if (base->secret && !out->secret) {
      snprintf(err, errlen, "out of memory");
      return PB_ENOMEM;
    }
  }
  char secret[GW_SECRET_MAX];
  secret[0] = '\0';
  int64_t n;
  if ((rc = get_text(j, "name", out->name, sizeof out->name, err, errlen)) ||
      (rc = get_text(j, "url", out->url, sizeof out->url, err, errlen)) ||
      (rc = get_text(j, "client_id", out->client_id, sizeof out->client_id, err,
                     errlen)) ||
      (rc = get_text(j, "client_secret", secret, sizeof secret, err, errlen)) ||
      (rc = get_text(j, "ca_file", out->ca_file, sizeof out->ca_file, err,
                     errlen)) ||
      (rc = get_text(j, "pinned_public_key", out->pinned_key,
                     sizeof out->pinned_key, err, errlen)))
    goto fail;
  rc = pb_json_get_bool(j, "insecure", false, &out->insecure, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    goto fail;
  if ((rc = pb_json_get_int(j, "max_concurrency", false, &n, err, errlen)) == 0)
    out->max_concurrency = n < 0 || n > 64 ? -1 : (int)n;
  else if (rc != PB_ENOTFOUND)
    goto fail;
  if ((rc = pb_json_get_int(j, "rate_per_second", false, &n, err, errlen)) == 0)
    out->rate_per_second = n < 0 || n > 10000 ? -1 : (int)n;
  else if (rc != PB_ENOTFOUND)
    goto fail;
  if (secret[0]) {
    gw_settings_cleanup(out);
    out->secret = strdup(secret);
    sodium_memzero(secret, sizeof secret);
    if (!out->secret) {
      snprintf(err, errlen, "out of memory");
      return PB_ENOMEM;
    }
  }
  return 0;
fail:
  sodium_memzero(secret, sizeof secret);
  gw_settings_cleanup(out);
  return rc;
}

struct gw_site *gw_site_find(struct gw *gw, const char *name) {
  for (struct gw_site *s = gw->sites; s; s = s->next)
    if (strcmp(s->name, name) == 0)
      return s;
  return NULL;
}

/* Logged at every start of the site, as the operator asked for it. */
static void warn_settings(const struct gw_site *s) {
  struct pb_url u;
  if (s->set.insecure)
    pb_warn("site %s: TLS certificate verification is OFF (insecure): anyone "
            "on the path can read the PBX credentials; give the PBX's CA "
            "(ca_file) or pin its key (pinned_public_key) instead",
            s->name);
  if (pb_url_parse(s->set.url, &u) == 0 && strcmp(u.scheme, "http") == 0 &&
      strcmp(u.host, "127.0.0.1") != 0 && strcmp(u.host, "localhost") != 0 &&
      strcmp(u.host, "[::1]") != 0)
    pb_warn("site %s: plain HTTP to %s: the client secret and tokens cross the "
            "network unencrypted (use https)",
            s->name, u.host);
}

static void take_settings(struct gw_site *s, struct gw_site_settings *set) {
  gw_settings_cleanup(&s->set);
  s->set = *set;
  set->secret = NULL;
  if (gw_base_url(s->set.url, s->base_url, sizeof s->base_url))
    pb_error("site %s: no Open API URL can be made of '%s'", s->name,
             s->set.url);
  if (s->set.secret)
    pb_log_add_secret(s->set.secret);
}

int gw_site_start(struct gw *gw, struct gw_site_settings *set, bool from_config,
                  struct gw_site **out) {
  size_t n = 0;
  for (struct gw_site *it = gw->sites; it; it = it->next)
    n++;
  if (n >= GW_MAX_SITES)
    return PB_ETOOBIG;
  struct gw_site *s = calloc(1, sizeof *s);
  if (!s)
    return PB_ENOMEM;
  s->gw = gw;
  s->from_config = from_config;
  pb_strlcpy(s->name, set->name, sizeof s->name);
  take_settings(s, set);
  s->exts = pb_map_new();
  s->retry = pb_map_new();
  pb_strlcpy(s->state, "starting", sizeof s->state);
  s->state_since = pb_clock_now();
  struct gw_site **tail = &gw->sites;
  while (*tail)
    tail = &(*tail)->next;
  *tail = s;
  gw_retained_serve(gw, s->name);
  pb_info("site %s: %s (client id %s)%s", s->name, s->base_url,
          s->set.client_id, from_config ? " from the YEASTAR_* settings" : "");
  warn_settings(s);
  if (gw_call_site_init(s))
    pb_error("site %s: out of memory for its call state: calls not followed",
             s->name);
  gw_token_load(s);
  gw_outbox_load(s);
  gw_drift_load(s);
  gw_feed_start(s);
  if (gw->io.connected(gw->io.ud))
    gw_directory_start(s);
  if (out)
    *out = s;
  return 0;
}

void gw_site_reconfigure(struct gw_site *s, struct gw_site_settings *set) {
  bool moved = strcmp(s->set.url, set->url) != 0 ||
               strcmp(s->set.client_id, set->client_id) != 0;
  take_settings(s, set);
  warn_settings(s);
  if (moved) {
    /* Another PBX or application: its token and ids are not ours. */
    gw_token_forget(s);
    size_t pos = 0;
    struct gw_ext *e;
    while ((e = pb_map_next(s->exts, &pos, NULL))) {
      e->listed = false;
      e->id = 0;
      e->pbx_status = PB_PRESENCE_NONE;
    }
    s->directory_loaded = false;
    s->page_size = 0;
  }
  /* Whatever failed before gets a fresh try with the new settings. */
  s->down = false;
  s->down_failures = 0;
  s->server_errors = 0;
  s->token_wait = false;
  s->token_failures = 0;
  gw_site_set_state(s, "starting", "");
  gw_directory_read(s, true);
  gw_pbx_pump(s);
  gw_feed_start(s); /* the new URL, TLS settings or token */
}

static void site_free(struct gw_site *s) {
  pb_timer_free(s->pump_timer);
  pb_timer_free(s->token_timer);
  pb_timer_free(s->directory_timer);
  pb_timer_free(s->readback_timer);
  pb_timer_free(s->apply_timer);
  pb_timer_free(s->drift_timer);
  gw_feed_stop(s);
  gw_call_site_free(s);
  size_t pos = 0;
  struct gw_ext *e;
  while (s->exts && (e = pb_map_next(s->exts, &pos, NULL))) {
    free(e->name);
    free(e);
  }
  pb_map_free(s->exts);
  pb_map_free(s->retry);
  pb_map_free(s->unchecked);
  gw_settings_cleanup(&s->set);
  sodium_memzero(s->access_token, sizeof s->access_token);
  sodium_memzero(s->refresh_token, sizeof s->refresh_token);
  free(s);
}

/* Timers off and queued requests dropped: nothing of the site runs again. */
static void site_stop(struct gw_site *s) {
  s->removed = true;
  pb_timer_disarm(s->pump_timer);
  pb_timer_disarm(s->token_timer);
  pb_timer_disarm(s->directory_timer);
  pb_timer_disarm(s->readback_timer);
  pb_timer_disarm(s->apply_timer);
  pb_timer_disarm(s->drift_timer);
  pb_timer_disarm(s->call_timer);
  gw_feed_stop(s);
  for (int i = 0; i < s->nwaiters; i++)
    gw_reply_error(s->gw, s->waiters[i], "the site was removed", NULL);
  s->nwaiters = 0;
  gw_pbx_cancel_queue(s);
}

void gw_site_release(struct gw_site *s) {
  if (!s->removed || s->inflight > 0)
    return;
  for (struct gw_site **pp = &s->gw->removed; *pp; pp = &(*pp)->next) {
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  }
  site_free(s);
}

void gw_site_remove(struct gw_site *s) {
  struct gw *gw = s->gw;
  gw_site_clear_topics(s);
  gw_call_clear_topics(s);
  if (gw_store_forget_site(gw, s->name))
    gw_store_warn(s->name, "the removal of the site's data");
  gw_retained_unserve(gw, s->name);
  for (struct gw_site **pp = &gw->sites; *pp; pp = &(*pp)->next) {
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  }
  site_stop(s);
  /* Kept on gw->removed while requests of it are under way (freed at exit
   * if they are still running then). */
  s->next = gw->removed;
  gw->removed = s;
  if (gw_token_revoke_removed(s))
    pb_info("site %s removed; revoking its token", s->name);
  else
    pb_info("site %s removed", s->name);
  gw_site_release(s);
}

void gw_sites_stop(struct gw *gw) {
  for (struct gw_site *s = gw->sites; s; s = s->next)
    site_stop(s);
}

void gw_sites_free(struct gw *gw) {
  for (int round = 0; round < 2; round++) {
    struct gw_site **list = round ? &gw->removed : &gw->sites;
    while (*list) {
      struct gw_site *s = *list;
      *list = s->next;
      site_stop(s);
      gw_pbx_forget_sent(s);
      site_free(s);
    }
  }
}

json_t *gw_site_view(const struct gw_site *s) {
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:i,s:s,s:b,s:s}", "name", s->name, "url",
      s->set.url, "client_id", s->set.client_id, "ca_file", s->set.ca_file,
      "pinned_public_key", s->set.pinned_key, "insecure", s->set.insecure,
      "max_concurrency", s->set.max_concurrency, "rate_per_second",
      s->set.rate_per_second, "source", s->from_config ? "config" : "bus",
      "secret_set", s->set.secret && *s->set.secret, "state", s->state);
  json_object_set_new(j, "error",
                      s->error[0] ? json_string(s->error) : json_null());
  pb_json_set_time_tz(j, "since", s->state_since, s->gw->tz);
  json_object_set_new(j, "token_valid",
                      json_boolean(s->token_state == TOKEN_VALID));
  size_t pos = 0, listed = 0, pending = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    listed += e->listed;
    pending += gw_apply_needed(e);
  }
  json_object_set_new(j, "extensions", json_integer((json_int_t)listed));
  json_object_set_new(j, "pending", json_integer((json_int_t)pending));
  json_object_set_new(j, "logins", json_integer(s->logins));
  json_object_set_new(j, "refreshes", json_integer(s->refreshes));
  return j;
}
