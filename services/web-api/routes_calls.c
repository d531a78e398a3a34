/* Calls (docs/api.md, "Calls"): the call log and its statistics relayed to
 * call-log's `search` and `stats`, click-to-call relayed to
 * yeastar-gateway's `call/dial`, and the live calls of a site from the read
 * model (R/site/<site>/calls). An admin sees and dials every call; a
 * readonly user only those of the extensions its account owns
 * (user_exts.c). The CSV export is calls_export.c, recordings
 * calls_recording.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/map.h"
#include "pb/payload_call.h"
#include "pb/topics.h"
#include "web.h"

#define CALL_LOG PB_SERVICE_CALL_LOG
#define GATEWAY PB_SERVICE_GATEWAY

/* Copies the query parameter `key` into q after checking it; false after a
 * 400. */
static bool copy_param(const struct web_request *req, struct web_response *resp,
                       json_t *q, const char *key) {
  const char *v = web_query(req, key);
  if (!v)
    return true;
  bool ok;
  char clean[PB_NUMBER_MAX];
  if (strcmp(key, "site") == 0 || strcmp(key, "ext") == 0) {
    ok = pb_topic_id_valid(v);
  } else if (strcmp(key, "number") == 0) {
    /* Searched as written once cleaned: "01 23 45 67 89" finds
     * "0123456789" (and, as a suffix, "+33123456789"). */
    ok = pb_phone_number_clean(v, clean, sizeof clean);
    v = clean;
  } else if (strcmp(key, "direction") == 0) {
    enum pb_call_direction d;
    ok = pb_call_direction_parse(v, &d) == 0 && d != PB_DIR_NONE;
  } else if (strcmp(key, "status") == 0) {
    enum pb_cdr_status s;
    ok = pb_cdr_status_parse(v, &s) == 0;
  } else if (strcmp(key, "group") == 0) {
    ok = strcmp(v, "day") == 0 || strcmp(v, "week") == 0 ||
         strcmp(v, "month") == 0 || strcmp(v, "none") == 0;
  } else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
    /* A time or a date; call-log reads it and names what is wrong. */
    ok = *v && strlen(v) <= 40;
  } else {
    char *end;
    long long n = strtoll(v, &end, 10);
    long long max = strcmp(key, "page_size") == 0 ? 1000
                    : strcmp(key, "top") == 0     ? 1000
                                                  : 1000000000;
    ok = *v && !*end && n >= 1 && n <= max;
    if (ok) {
      json_object_set_new(q, key, json_integer(n));
      return true;
    }
    web_reply_error(resp, 400,
                    "query parameter '%s' must be an integer from 1 to %lld",
                    key, max);
    return false;
  }
  if (!ok) {
    static const struct {
      const char *key, *what;
    } help[] = {
        {"site", "1-64 characters of [A-Za-z0-9_-]"},
        {"ext", "1-64 characters of [A-Za-z0-9_-]"},
        {"number", "a phone number: digits, * and #, an optional leading +"},
        {"direction", "inbound, outbound or internal"},
        {"status", "answered, no_answer, busy, failed or voicemail"},
        {"group", "day, week, month or none"},
        {"from", "a time (RFC 3339) or a date (YYYY-MM-DD)"},
        {"to", "a time (RFC 3339) or a date (YYYY-MM-DD)"},
    };
    const char *what = "valid";
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++)
      if (strcmp(help[i].key, key) == 0)
        what = help[i].what;
    web_reply_error(resp, 400, "query parameter '%s' must be %s", key, what);
    return false;
  }
  json_object_set_new(q, key, json_string(v));
  return true;
}

/* What a readonly user may ask: its own extensions only. With no `ext`,
 * its only extension is implied. False after a 400/403. */
static bool scope(struct web *w, const struct web_request *req,
                  struct web_response *resp, json_t *q) {
  if (req->auth.role == WEB_ROLE_ADMIN)
    return true;
  const char *site = pb_json_str(q, "site");
  const char *ext = pb_json_str(q, "ext");
  if (ext) {
    if (!site) {
      site = pb_config_str(w->cfg, PB_CFG_SITE);
      json_object_set_new(q, "site", json_string(site));
    }
    if (web_may_use_ext(w, &req->auth, site, ext))
      return true;
    web_reply_error(resp, 403,
                    "user '%s' may see only the calls of its own extensions, "
                    "not %s on site '%s'",
                    req->auth.user, ext, site);
    return false;
  }
  json_t *mine = web_user_extensions(w, req->auth.user);
  json_t *match = NULL;
  size_t n = 0, i;
  json_t *v;
  json_array_foreach(mine, i, v) {
    if (site && strcmp(site, pb_json_str(v, "site")) != 0)
      continue;
    n++;
    match = v;
  }
  if (n == 1) {
    json_object_set_new(q, "site", json_string(pb_json_str(match, "site")));
    json_object_set_new(q, "ext", json_string(pb_json_str(match, "ext")));
    json_decref(mine);
    return true;
  }
  if (n == 0)
    web_reply_error(resp, 403,
                    "user '%s' owns no extension%s%s: an admin gives it some "
                    "(PUT /api/users/%s/extensions)",
                    req->auth.user, site ? " on site " : "", site ? site : "",
                    req->auth.user);
  else
    web_reply_error(resp, 400,
                    "user '%s' owns %zu extensions: say which with ?ext= "
                    "(GET /api/session lists them)",
                    req->auth.user, n);
  json_decref(mine);
  return false;
}

bool web_calls_wants_csv(const struct web_request *req) {
  const char *f = web_query(req, "format");
  if (f)
    return strcmp(f, "csv") == 0;
  const char *accept = web_header(req, "Accept");
  return accept && strncasecmp(accept, "text/csv", 8) == 0;
}

/* The search of GET /api/calls and /api/extensions/<n>/calls; NULL after
 * an answer. */
static json_t *search_query(struct web *w, const struct web_request *req,
                            struct web_response *resp, const char *ext) {
  static const char *const keys[] = {"site",      "number", "ext",
                                     "direction", "status", "from",
                                     "to",        "page",   "page_size"};
  const char *f = web_query(req, "format");
  if (f && strcmp(f, "csv") != 0 && strcmp(f, "json") != 0) {
    web_reply_error(resp, 400, "query parameter 'format' must be json or csv");
    return NULL;
  }
  json_t *q = json_object();
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (ext && strcmp(keys[i], "ext") == 0)
      continue;
    if (!copy_param(req, resp, q, keys[i])) {
      json_decref(q);
      return NULL;
    }
  }
  if (ext) {
    if (!pb_topic_id_valid(ext)) {
      web_reply_error(resp, 400,
                      "extension must be 1-64 characters of [A-Za-z0-9_-]");
      json_decref(q);
      return NULL;
    }
    json_object_set_new(q, "ext", json_string(ext));
    if (!json_object_get(q, "site"))
      json_object_set_new(q, "site",
                          json_string(pb_config_str(w->cfg, PB_CFG_SITE)));
  }
  if (!scope(w, req, resp, q)) {
    json_decref(q);
    return NULL;
  }
  return q;
}

static void calls(struct web *w, const struct web_request *req,
                  struct web_response *resp, const char *ext) {
  json_t *q = search_query(w, req, resp, ext);
  if (!q)
    return;
  if (web_calls_wants_csv(req)) {
    web_calls_export(w, req, resp, q);
    return;
  }
  if (!json_object_get(q, "page"))
    json_object_set_new(q, "page", json_integer(1));
  if (!json_object_get(q, "page_size"))
    json_object_set_new(q, "page_size", json_integer(50));
  web_service_request(w, req, resp, CALL_LOG, PB_ACTION_CALLS_SEARCH, q);
}

void web_get_calls(struct web *w, const struct web_request *req,
                   struct web_response *resp) {
  calls(w, req, resp, NULL);
}

void web_get_extension_calls(struct web *w, const struct web_request *req,
                             struct web_response *resp) {
  calls(w, req, resp, req->segs[2]);
}

void web_get_calls_stats(struct web *w, const struct web_request *req,
                         struct web_response *resp) {
  static const char *const keys[] = {"site", "ext",   "number", "from",
                                     "to",   "group", "top"};
  json_t *q = json_object();
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (!copy_param(req, resp, q, keys[i])) {
      json_decref(q);
      return;
    }
  }
  if (!scope(w, req, resp, q)) {
    json_decref(q);
    return;
  }
  if (!json_object_get(q, "group"))
    json_object_set_new(q, "group", json_string("none"));
  /* call-log wants a period: the last 30 days unless one is given. */
  int64_t now = pb_clock_now();
  if (!json_object_get(q, "to"))
    pb_json_set_time_tz(q, "to", now, w->tz);
  if (!json_object_get(q, "from"))
    pb_json_set_time_tz(q, "from", now - 30 * 86400, w->tz);
  web_service_request(w, req, resp, CALL_LOG, PB_ACTION_CALLS_STATS, q);
}

/* ---- click-to-call ---- */

struct dial {
  char site[PB_ID_MAX], ext[PB_ID_MAX], number[PB_NUMBER_MAX];
};

static void dial_answered(struct web_calls_job *job, const json_t *answer) {
  struct dial *d = job->state;
  const char *status = pb_json_str(answer, "status");
  bool ok = status && strcmp(status, "ok") == 0;
  const char *err = answer && !ok ? pb_json_str(answer, "error") : NULL;
  char what[300];
  snprintf(what, sizeof what, "click-to-call from %s to %s: %s%s%s", d->ext,
           d->number,
           !answer ? "no answer from yeastar-gateway"
           : ok    ? "placed"
                   : "refused",
           err ? ": " : "", err ? err : "");
  json_t *data = json_pack("{s:s,s:s}", "number", d->number, "result",
                           !answer ? "timeout"
                           : ok    ? "ok"
                                   : "error");
  web_audit_add(job->w, "call", d->site, d->ext, job->actor, what, data);
  if (!ok) {
    /* An unknown extension or a number the gateway refuses is the caller's
     * mistake: 400 with the gateway's words. */
    if (answer) {
      struct web_response r = {.status = 200};
      web_reply_json(&r, 400,
                     json_pack("{s:s,s:i,s:s}", "error",
                               err ? err : "refused by yeastar-gateway",
                               "status", 400, "service", GATEWAY));
      web_calls_job_finish(job, &r);
    } else {
      web_calls_job_fail(job, NULL);
    }
    return;
  }
  json_t *out = json_object_get(answer, "data");
  struct web_response r = {.status = 200};
  web_reply_json(&r, 200, out ? json_deep_copy(out) : json_object());
  web_calls_job_finish(job, &r);
}

void web_post_calls(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  const char *ext = NULL, *number = NULL, *site = NULL;
  char err[256], clean[PB_NUMBER_MAX];
  int site_rc = pb_json_get_str(body, "site", false, &site, err, sizeof err);
  if ((site_rc && site_rc != PB_ENOTFOUND) ||
      pb_json_get_str(body, "ext", true, &ext, err, sizeof err) ||
      pb_json_get_str(body, "number", true, &number, err, sizeof err)) {
    web_reply_error(resp, 400, "%s", err);
    json_decref(body);
    return;
  }
  if (!site)
    site = pb_config_str(w->cfg, PB_CFG_SITE);
  if (!pb_topic_id_valid(ext) || !pb_topic_id_valid(site)) {
    web_reply_error(resp, 400,
                    "fields 'ext' and 'site' must be 1-64 characters of "
                    "[A-Za-z0-9_-]");
    json_decref(body);
    return;
  }
  if (!pb_phone_number_clean(number, clean, sizeof clean)) {
    web_reply_error(resp, 400,
                    "field 'number' is not a phone number: digits, * and #, "
                    "an optional leading +, at most 32 (spaces, dots, dashes "
                    "and parentheses are ignored)");
    json_decref(body);
    return;
  }
  if (!web_may_use_ext(w, &req->auth, site, ext)) {
    web_reply_error(resp, 403,
                    "user '%s' may place calls only from its own extensions, "
                    "not %s on site '%s'",
                    req->auth.user, ext, site);
    json_decref(body);
    return;
  }
  if (web_service_down(w, GATEWAY, resp)) {
    json_decref(body);
    return;
  }
  struct web_calls_job *job =
      web_calls_job_new(w, req, resp, sizeof(struct dial), free);
  if (!job) {
    json_decref(body);
    return;
  }
  struct dial *d = job->state;
  pb_strlcpy(d->site, site, sizeof d->site);
  pb_strlcpy(d->ext, ext, sizeof d->ext);
  pb_strlcpy(d->number, clean, sizeof d->number);
  json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "site", d->site, "ext", d->ext,
                        "number", d->number, "by", req->auth.user);
  json_decref(body);
  web_calls_job_start(job, resp, GATEWAY, PB_ACTION_CALL_DIAL, r,
                      dial_answered);
}

/* ---- live calls (read model) ---- */

void web_get_site_calls(struct web *w, const struct web_request *req,
                        struct web_response *resp) {
  const char *site = req->segs[2];
  if (!pb_topic_id_valid(site)) {
    web_reply_error(resp, 400, "site must be 1-64 characters of [A-Za-z0-9_-]");
    return;
  }
  json_t *j = pb_map_get(w->site_calls, site);
  if (j) {
    web_reply_json(resp, 200, json_incref(j));
    return;
  }
  if (!pb_map_get(w->sites, site) &&
      strcmp(site, pb_config_str(w->cfg, PB_CFG_SITE)) != 0) {
    web_reply_error(resp, 404, "unknown site '%s'", site);
    return;
  }
  /* A known site whose gateway has not published its calls (yet). */
  web_reply_json(
      resp, 200,
      json_pack("{s:s,s:n,s:[]}", "site", site, "updated_at", "calls"));
}
