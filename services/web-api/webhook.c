/* PBX webhooks, POST /api/pbx/webhook/<site> (Yeastar P-Series "Webhook":
 * X-Signature = Base64(HMAC-SHA256(secret, raw body))). The signature is
 * checked over the raw bytes, before anything is parsed, in constant time;
 * an accepted body is relayed unchanged on R/site/<site>/pbx_event
 * (docs/topics.md), where the gateway reads it. Secrets come from
 * PBX_WEBHOOK_SECRETS ("main=SECRET;other=SECRET2"). The P-Series body has
 * no timestamp or nonce, so a captured request could be sent again at will:
 * the same body for the same site within WEB_WEBHOOK_REPLAY_SECONDS is
 * answered 200 (the PBX must not retry it) but not relayed again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/secretbox.h"
#include "pb/topics.h"
#include "web.h"

/* Digests of the bodies relayed lately, oldest first in a ring: a bounded
 * table (8192 webhooks within the window, 13 a second for 10 minutes); past
 * it the oldest is forgotten early, and said once. */
#define REPLAY_MAX 8192

struct seen_body {
  char digest[65]; /* SHA-256 of the site and of the body */
  int64_t at;
};

struct web_hooks {
  struct pb_map *secrets; /* site -> secret (owned) */
  struct seen_body *seen; /* the ring */
  size_t head, count;
  struct pb_map *by_digest; /* digest -> its slot in the ring */
  int64_t window_s;         /* 0: no replay check */
  bool full_said;
};

static int parse_secrets(struct web_hooks *h, const char *spec) {
  const char *p = spec;
  while (*p) {
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char item[512];
    if (len >= sizeof item) {
      pb_error("PBX_WEBHOOK_SECRETS: an entry is longer than %zu bytes",
               sizeof item - 1);
      return PB_ECONFIG;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    char *eq = strchr(item, '=');
    if (len && (!eq || eq == item || !eq[1])) {
      pb_error("PBX_WEBHOOK_SECRETS: entry %zu is not SITE=SECRET",
               (size_t)(p - spec));
      return PB_ECONFIG;
    }
    if (len) {
      *eq = '\0';
      if (!pb_topic_id_valid(item)) {
        pb_error("PBX_WEBHOOK_SECRETS: site '%s' must be [A-Za-z0-9_-]", item);
        return PB_ECONFIG;
      }
      char *secret = strdup(eq + 1);
      if (!secret)
        return PB_ENOMEM;
      pb_log_add_secret(secret);
      pb_secret_free(pb_map_remove(h->secrets, item));
      if (pb_map_put(h->secrets, item, secret)) {
        pb_secret_free(secret);
        return PB_ENOMEM;
      }
    }
    p = end ? end + 1 : p + len;
  }
  return 0;
}

int web_webhook_init(struct web *w) {
  struct web_hooks *h = calloc(1, sizeof *h);
  if (!h)
    return PB_ENOMEM;
  w->hooks = h;
  h->secrets = pb_map_new();
  h->by_digest = pb_map_new();
  h->seen = calloc(REPLAY_MAX, sizeof *h->seen);
  h->window_s = pb_config_int(w->cfg, PB_CFG_WEB_WEBHOOK_REPLAY_SECONDS);
  if (!h->secrets || !h->by_digest || !h->seen)
    return PB_ENOMEM;
  return parse_secrets(h, pb_config_str(w->cfg, PB_CFG_PBX_WEBHOOK_SECRETS));
}

void web_webhook_cleanup(struct web *w) {
  if (!w->hooks)
    return;
  size_t pos = 0;
  char *s;
  while (w->hooks->secrets && (s = pb_map_next(w->hooks->secrets, &pos, NULL)))
    pb_secret_free(s);
  pb_map_free(w->hooks->secrets);
  pb_map_free(w->hooks->by_digest);
  free(w->hooks->seen);
  free(w->hooks);
  w->hooks = NULL;
}

static void digest_of(const char *site, const char *body, size_t len, char *out,
                      size_t outlen) {
  char buf[PB_ID_MAX + 66];
  char body_hash[65];
  pb_sha256_hex(body, len, body_hash, sizeof body_hash);
  int n = snprintf(buf, sizeof buf, "%s:%s", site, body_hash);
  pb_sha256_hex(buf, (size_t)n, out, outlen);
}

/* Forgets the oldest digest. */
static void forget_oldest(struct web_hooks *h) {
  struct seen_body *old = &h->seen[h->head];
  if (pb_map_get(h->by_digest, old->digest) == old)
    pb_map_remove(h->by_digest, old->digest);
  h->head = (h->head + 1) % REPLAY_MAX;
  h->count--;
}

/* The time the same body was relayed for this site within the window,
 * or -1. */
static int64_t seen_at(struct web_hooks *h, const char *digest, int64_t now) {
  while (h->count && h->seen[h->head].at <= now - h->window_s)
    forget_oldest(h);
  struct seen_body *b = pb_map_get(h->by_digest, digest);
  return b ? b->at : -1;
}

static void remember(struct web_hooks *h, const char *digest, int64_t now) {
  if (h->count == REPLAY_MAX) {
    if (!h->full_said)
      pb_warn("webhooks: more than %d within %lld s: the oldest are "
              "forgotten before the end of WEB_WEBHOOK_REPLAY_SECONDS",
              REPLAY_MAX, (long long)h->window_s);
    h->full_said = true;
    forget_oldest(h);
  }
  struct seen_body *b = &h->seen[(h->head + h->count) % REPLAY_MAX];
  pb_strlcpy(b->digest, digest, sizeof b->digest);
  b->at = now;
  if (pb_map_put(h->by_digest, digest, b) == 0)
    h->count++;
}

static void refuse(struct web *w, struct web_response *resp, unsigned status,
                   const char *site, const char *why) {
  w->metrics.webhooks_refused++;
  pb_warn("webhook for site '%s' refused: %s", site, why);
  web_reply_error(resp, status, "%s", why);
}

void web_post_webhook(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  const char *site = req->segs[3];
  if (!pb_topic_id_valid(site)) {
    web_reply_error(resp, 400, "site must be 1-64 characters of [A-Za-z0-9_-]");
    return;
  }
  const char *secret = pb_map_get(w->hooks->secrets, site);
  if (!secret) {
    refuse(w, resp, 404, site,
           "no webhook secret is configured for this site "
           "(PBX_WEBHOOK_SECRETS)");
    return;
  }
  const char *sig = web_header(req, "X-Signature");
  if (!sig || !*sig) {
    refuse(w, resp, 401, site, "missing X-Signature header");
    return;
  }
  char expected[64];
  if (pb_hmac_sha256_base64(secret, strlen(secret), req->body, req->body_len,
                            expected, sizeof expected) ||
      !pb_secret_equal(sig, expected)) {
    refuse(w, resp, 401, site,
           "bad X-Signature: not the HMAC-SHA256 of the body with "
           "this site's secret");
    return;
  }
  /* Signed by the PBX; still, only a well-formed envelope goes on the bus. */
  if (!pb_utf8_valid(req->body, req->body_len)) {
    refuse(w, resp, 400, site, "the body is not valid UTF-8");
    return;
  }
  char err[256];
  json_t *j = pb_json_parse(req->body, req->body_len, err, sizeof err);
  if (!j) {
    refuse(w, resp, 400, site, err);
    return;
  }
  json_t *type = json_object_get(j, "type");
  json_t *msg = json_object_get(j, "msg");
  if (!json_is_object(j) || !json_is_integer(type) ||
      !(json_is_string(msg) || json_is_object(msg))) {
    json_decref(j);
    refuse(w, resp, 400, site,
           "not a P-Series event: expected {\"type\": <int>, \"sn\": "
           "..., \"msg\": <string or object>}");
    return;
  }
  struct web_hooks *h = w->hooks;
  char digest[65];
  int64_t now = pb_clock_now(), before = -1;
  if (h->window_s > 0) {
    digest_of(site, req->body, req->body_len, digest, sizeof digest);
    before = seen_at(h, digest, now);
  }
  if (before >= 0) {
    /* 200: a PBX that did not get our first answer retries, and must stop. */
    pb_warn("webhook for site '%s' ignored: the same body was relayed %lld s "
            "ago (a replay or a retry; WEB_WEBHOOK_REPLAY_SECONDS)",
            site, (long long)(now - before));
    web_reply_json(resp, 200,
                   json_pack("{s:s,s:I}", "status", "duplicate", "type",
                             json_integer_value(type)));
    json_decref(j);
    return;
  }
  char topic[128];
  if (pb_topic_site(topic, sizeof topic, site, PB_SITE_PBX_EVENT) ||
      w->io.publish(w->io.ud, topic, req->body, req->body_len)) {
    json_decref(j);
    web_reply_error(resp, 503, "cannot relay the event on the bus");
    return;
  }
  if (h->window_s > 0)
    remember(h, digest, now);
  w->metrics.webhooks_accepted++;
  web_reply_json(
      resp, 200,
      json_pack("{s:s,s:I}", "status", "ok", "type", json_integer_value(type)));
  json_decref(j);
}
