/* Routes whose owner is another service, relayed as requests on
 * R/svc/<service>/request/<action> (docs/topics.md) and answered with that
 * service's response: calendar sources (ical-ingest: source/list, add,
 * update, remove, refresh, and import for weekly plannings; manual slots
 * are sources of kind "manual") and PBX sites (yeastar-gateway: site/list,
 * add, update, remove, test). web-api checks only what is HTTP's (JSON, an
 * id in the path); the owner checks the rest and names the bad field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/topics.h"
#include "web.h"

#define INGEST PB_SERVICE_ICAL_INGEST
#define GATEWAY PB_SERVICE_GATEWAY

/* The request with the path's id set under `key`; NULL after a 400. */
static json_t *with_id(const struct web_request *req, struct web_response *resp,
                       json_t *body, const char *key) {
  const char *id = req->segs[2];
  if (!pb_topic_id_valid(id)) {
    web_reply_error(resp, 400,
                    "'%.64s' is not an id (1-64 characters of [A-Za-z0-9_-])",
                    id);
    json_decref(body);
    return NULL;
  }
  if (!body)
    body = json_object();
  json_object_set_new(body, key, json_string(id));
  return body;
}

static void relay_body(struct web *w, const struct web_request *req,
                       struct web_response *resp, const char *service,
                       const char *action, const char *id_key) {
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  /* The transaction is web-api's own, to match the answer. */
  json_object_del(body, "transaction");
  if (id_key && !(body = with_id(req, resp, body, id_key)))
    return;
  web_service_request(w, req, resp, service, action, body);
}

static void relay_id(struct web *w, const struct web_request *req,
                     struct web_response *resp, const char *service,
                     const char *action, const char *id_key) {
  json_t *body = with_id(req, resp, NULL, id_key);
  if (body)
    web_service_request(w, req, resp, service, action, body);
}

void web_get_sources(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  const char *id = web_query(req, "id");
  if (id && !pb_topic_id_valid(id)) {
    web_reply_error(resp, 400,
                    "query parameter 'id' must be 1-64 characters of "
                    "[A-Za-z0-9_-]");
    return;
  }
  web_service_request(w, req, resp, INGEST, PB_ACTION_SOURCE_LIST,
                      id ? json_pack("{s:s}", "id", id) : json_object());
}

void web_post_sources(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  relay_body(w, req, resp, INGEST, PB_ACTION_SOURCE_ADD, NULL);
}

void web_patch_source(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  relay_body(w, req, resp, INGEST, PB_ACTION_SOURCE_UPDATE, "id");
}

void web_delete_source(struct web *w, const struct web_request *req,
                       struct web_response *resp) {
  relay_id(w, req, resp, INGEST, PB_ACTION_SOURCE_REMOVE, "id");
}

void web_post_source_refresh(struct web *w, const struct web_request *req,
                             struct web_response *resp) {
  relay_id(w, req, resp, INGEST, PB_ACTION_SOURCE_REFRESH, "id");
}

/* POST /api/sources/import: a weekly planning file, either as the import
 * request itself (application/json: {format, content, site, source,
 * priority}) or as the raw file (text/csv; ?source=&site=&priority=). */
void web_post_import(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  const char *ct = web_header(req, "Content-Type");
  if (ct && strncasecmp(ct, "text/csv", 8) == 0) {
    if (!pb_utf8_valid(req->body, req->body_len)) {
      web_reply_error(resp, 400, "the file is not valid UTF-8");
      return;
    }
    json_t *r = json_pack("{s:s,s:s%}", "format", "csv", "content", req->body,
                          req->body_len);
    static const char *const params[] = {"site", "source"};
    for (int i = 0; i < 2; i++) {
      const char *v = web_query(req, params[i]);
      if (v)
        json_object_set_new(r, params[i], json_string(v));
    }
    const char *prio = web_query(req, "priority");
    if (prio) {
      char *end;
      long long n = strtoll(prio, &end, 10);
      if (!*prio || *end) {
        json_decref(r);
        web_reply_error(resp, 400,
                        "query parameter 'priority' must be an integer");
        return;
      }
      json_object_set_new(r, "priority", json_integer(n));
    }
    web_service_request(w, req, resp, INGEST, PB_ACTION_IMPORT, r);
    return;
  }
  relay_body(w, req, resp, INGEST, PB_ACTION_IMPORT, NULL);
}

void web_get_sites(struct web *w, const struct web_request *req,
                   struct web_response *resp) {
  web_service_request(w, req, resp, GATEWAY, PB_ACTION_SITE_LIST,
                      json_object());
}

void web_post_sites(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  relay_body(w, req, resp, GATEWAY, PB_ACTION_SITE_ADD, NULL);
}

void web_patch_site(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  relay_body(w, req, resp, GATEWAY, PB_ACTION_SITE_UPDATE, "name");
}

void web_delete_site(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  relay_id(w, req, resp, GATEWAY, PB_ACTION_SITE_REMOVE, "name");
}

void web_post_site_test(struct web *w, const struct web_request *req,
                        struct web_response *resp) {
  /* An empty body tests the site as stored; fields test changes first. */
  if (req->body_len == 0) {
    relay_id(w, req, resp, GATEWAY, PB_ACTION_SITE_TEST, "name");
    return;
  }
  relay_body(w, req, resp, GATEWAY, PB_ACTION_SITE_TEST, "name");
}

/* Per-extension settings (default status, time zone, planning), owned by
 * the scheduler: its `settings` request, for an extension web-api knows. */
static bool known_ext(struct web *w, const struct web_request *req,
                      struct web_response *resp, const char **site) {
  const char *number = req->segs[2];
  *site = web_query(req, "site");
  if (!*site)
    *site = pb_config_str(w->cfg, PB_CFG_SITE);
  if (!pb_topic_id_valid(number) || !pb_topic_id_valid(*site)) {
    web_reply_error(
        resp, 400,
        "extension and site must be 1-64 characters of [A-Za-z0-9_-]");
    return false;
  }
  if (!web_model_get(w, *site, number)) {
    web_reply_error(resp, 404, "unknown extension '%s' on site '%s'", number,
                    *site);
    return false;
  }
  return true;
}

void web_get_settings(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  const char *site;
  if (known_ext(w, req, resp, &site))
    web_service_request(
        w, req, resp, PB_SERVICE_SCHEDULER, PB_ACTION_SETTINGS,
        json_pack("{s:s,s:s}", "ext", req->segs[2], "site", site));
}

void web_put_settings(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  const char *site;
  if (!known_ext(w, req, resp, &site))
    return;
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  static const char *const allowed[] = {"default_status", "timezone",
                                        "planning"};
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    bool ok = false;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
      ok = ok || strcmp(key, allowed[i]) == 0;
    if (!ok) {
      web_reply_error(resp, 400,
                      "unknown field '%.64s' (valid: default_status, timezone, "
                      "planning)",
                      key);
      json_decref(body);
      return;
    }
  }
  if (json_object_size(body) == 0) {
    web_reply_error(
        resp, 400,
        "nothing to change: give default_status, timezone or planning");
    json_decref(body);
    return;
  }
  json_object_set_new(body, "ext", json_string(req->segs[2]));
  json_object_set_new(body, "site", json_string(site));
  json_object_set_new(body, "by", json_string(req->auth.user));
  web_service_request(w, req, resp, PB_SERVICE_SCHEDULER, PB_ACTION_SETTINGS,
                      body);
}
