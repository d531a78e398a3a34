/* PBX webhooks, POST /api/pbx/webhook/<site> (Yeastar P-Series "Webhook":
 * X-Signature = Base64(HMAC-SHA256(secret, raw body))). The signature is
 * checked over the raw bytes, before anything is parsed, in constant time;
 * an accepted body is relayed unchanged on R/site/<site>/pbx_event
 * (docs/topics.md), where the gateway reads it. Secrets come from
 * PBX_WEBHOOK_SECRETS ("main=SECRET;other=SECRET2"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/secretbox.h"
#include "web.h"

struct web_hooks {
  struct pb_map *secrets; /* site -> secret (owned) */
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
      free(pb_map_remove(h->secrets, item));
      if (pb_map_put(h->secrets, item, secret)) {
        free(secret);
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
  if (!h->secrets)
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
  free(w->hooks);
  w->hooks = NULL;
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
  char topic[128];
  snprintf(topic, sizeof topic, "site/%s/pbx_event", site);
  if (pb_bus_publish(w->bus, topic, req->body, req->body_len, false)) {
    json_decref(j);
    web_reply_error(resp, 503, "cannot relay the event on the bus");
    return;
  }
  w->metrics.webhooks_accepted++;
  web_reply_json(
      resp, 200,
      json_pack("{s:s,s:I}", "status", "ok", "type", json_integer_value(type)));
  json_decref(j);
}
