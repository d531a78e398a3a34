/* The extension routes (docs/api.md "Extensions"): the read model, a
 * person's week, and the commands that change an extension — override
 * set/clear and planning on/off — sent to the scheduler on
 * R/ext/<site>/<ext>/override/set, .../override/clear, .../planning/set
 * (docs/topics.md) and answered with the scheduler's answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/topics.h"
#include "pb/tz.h"
#include "web.h"

static const char *site_param(struct web *w, const struct web_request *req) {
  const char *site = web_query(req, "site");
  return site ? site : pb_config_str(w->cfg, PB_CFG_SITE);
}

/* The extension of /api/extensions/<number>[/...], or a 400/404 answer. */
static struct web_ext *find_ext(struct web *w, const struct web_request *req,
                                struct web_response *resp) {
  const char *number = req->segs[2];
  const char *site = site_param(w, req);
  if (!pb_topic_id_valid(number) || !pb_topic_id_valid(site)) {
    web_reply_error(
        resp, 400,
        "extension and site must be 1-64 characters of [A-Za-z0-9_-]");
    return NULL;
  }
  struct web_ext *e = web_model_get(w, site, number);
  if (!e)
    web_reply_error(resp, 404, "unknown extension '%s' on site '%s'", number,
                    site);
  return e;
}

static json_t *list_json(struct web *w, const char *site) {
  size_t n = 0;
  struct web_ext **list = web_model_list(w, site, &n);
  if (!list)
    return NULL;
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, web_ext_json(list[i]));
  free(list);
  return json_pack("{s:I,s:o}", "count", (json_int_t)n, "extensions", arr);
}

/* Builds the cached answers (identity and gzip) for the current model. */
static int build_list_cache(struct web *w) {
  json_t *j = list_json(w, NULL);
  char *text = j ? pb_json_dump(j) : NULL;
  json_decref(j);
  if (!text)
    return PB_ENOMEM;
  size_t len = strlen(text);
  char etag[24];
  snprintf(etag, sizeof etag, "\"%llx-%llx\"",
           (unsigned long long)w->started_at, (unsigned long long)w->model_gen);
  char *gz = NULL;
  size_t gzlen = 0;
  bool have_gz = web_gzip(text, len, &gz, &gzlen) == 0;
  text[len] = '\n'; /* the trailing newline of every JSON answer */
  struct web_response plain = {.status = 200,
                               .raw = text,
                               .raw_len = len + 1,
                               .content_type =
                                   "application/json; charset=utf-8",
                               .vary_encoding = true};
  pb_strlcpy(plain.etag, etag, sizeof plain.etag);
  struct web_response packed = plain;
  packed.raw = gz;
  packed.raw_len = gzlen;
  packed.gzip = true;
  struct web_shared *r = NULL, *rz = NULL;
  /* text was allocated with room for the NUL, which the newline replaces. */
  r = web_response_share(&plain);
  if (have_gz)
    rz = web_response_share(&packed);
  if (!r) {
    web_shared_free(rz);
    return PB_ENOMEM;
  }
  web_shared_free(w->list_cache);
  web_shared_free(w->list_cache_gz);
  w->list_cache = r;
  w->list_cache_gz = rz;
  w->list_cache_gen = w->model_gen;
  return 0;
}

void web_get_extensions(struct web *w, const struct web_request *req,
                        struct web_response *resp) {
  const char *site = web_query(req, "site");
  if (site && !pb_topic_id_valid(site)) {
    web_reply_error(resp, 400, "query parameter 'site' must be [A-Za-z0-9_-]");
    return;
  }
  if (site) {
    json_t *j = list_json(w, site);
    if (j)
      web_reply_json(resp, 200, j);
    else
      web_reply_error(resp, 503, "out of memory");
    return;
  }
  /* The whole list is what dashboards and scripts poll: it is built once
   * per change of the read model and the same response is queued to every
   * request until the next change (the server counts its references). */
  if ((!w->list_cache || w->list_cache_gen != w->model_gen) &&
      build_list_cache(w)) {
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  char etag[24];
  snprintf(etag, sizeof etag, "\"%llx-%llx\"",
           (unsigned long long)w->started_at, (unsigned long long)w->model_gen);
  const char *inm = web_header(req, "If-None-Match");
  if (inm && strcmp(inm, etag) == 0) {
    resp->status = 304;
    resp->raw_static = "";
    resp->content_type = "application/json; charset=utf-8";
    resp->vary_encoding = true;
    pb_strlcpy(resp->etag, etag, sizeof resp->etag);
    return;
  }
  bool gz =
      w->list_cache_gz && web_accepts_gzip(web_header(req, "Accept-Encoding"));
  resp->status = 200;
  resp->shared = gz ? w->list_cache_gz : w->list_cache;
}

void web_get_extension(struct web *w, const struct web_request *req,
                       struct web_response *resp) {
  struct web_ext *e = find_ext(w, req, resp);
  if (e)
    web_reply_json(resp, 200, web_ext_json(e));
}

static bool only_fields(json_t *body, const char *const *allowed,
                        struct web_response *resp) {
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    bool ok = false;
    for (int i = 0; allowed[i] && !ok; i++)
      ok = strcmp(key, allowed[i]) == 0;
    if (!ok) {
      web_reply_error(resp, 400, "unknown field '%.64s'", key);
      return false;
    }
  }
  return true;
}

void web_put_override(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  struct web_ext *e = find_ext(w, req, resp);
  if (!e)
    return;
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  static const char *const allowed[] = {"status", "minutes", "until", "reason",
                                        NULL};
  const char *reason = NULL;
  char err[256];
  int rc = pb_json_get_str(body, "reason", false, &reason, err, sizeof err);
  if (!only_fields(body, allowed, resp)) {
    json_decref(body);
    return;
  }
  if (rc && rc != PB_ENOTFOUND) {
    web_reply_error(resp, 400, "%s", err);
    json_decref(body);
    return;
  }
  if (reason && strlen(reason) >= PB_TEXT_MAX) {
    web_reply_error(resp, 400, "field 'reason' is longer than %d bytes",
                    PB_TEXT_MAX - 1);
    json_decref(body);
    return;
  }
  /* The author is the authenticated user, never what the client claims. */
  json_object_set_new(body, "by", json_string(req->auth.user));
  char *payload = pb_json_dump(body);
  json_decref(body);
  struct pb_override o;
  if (!payload || pb_override_parse_set(payload, strlen(payload),
                                        pb_clock_now(), &o, err, sizeof err)) {
    web_reply_error(resp, 400, "%s", payload ? err : "out of memory");
    free(payload);
    return;
  }
  char topic[200];
  if (pb_topic_ext(topic, sizeof topic, e->site, e->number,
                   PB_EXT_OVERRIDE_SET)) {
    web_reply_error(resp, 400, "extension and site make too long a topic");
    free(payload);
    return;
  }
  json_t *ok = json_pack("{s:s,s:s,s:s}", "status", "ok", "site", e->site,
                         "number", e->number);
  json_object_set_new(ok, "override", pb_override_to_json(&o, w->tz));
  web_command(w, req, resp, PB_SERVICE_SCHEDULER, topic, payload, ok);
  free(payload);
}

void web_delete_override(struct web *w, const struct web_request *req,
                         struct web_response *resp) {
  struct web_ext *e = find_ext(w, req, resp);
  if (!e)
    return;
  char topic[200];
  if (pb_topic_ext(topic, sizeof topic, e->site, e->number,
                   PB_EXT_OVERRIDE_CLEAR)) {
    web_reply_error(resp, 400, "extension and site make too long a topic");
    return;
  }
  json_t *by = json_pack("{s:s}", "by", req->auth.user);
  char *payload = pb_json_dump(by);
  json_decref(by);
  if (!payload) {
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  web_command(w, req, resp, PB_SERVICE_SCHEDULER, topic, payload,
              json_pack("{s:s,s:s,s:s}", "status", "ok", "site", e->site,
                        "number", e->number));
  free(payload);
}

void web_put_planning(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  struct web_ext *e = find_ext(w, req, resp);
  if (!e)
    return;
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  static const char *const allowed[] = {"enabled", NULL};
  bool enabled = true;
  char err[256];
  if (only_fields(body, allowed, resp)) {
    if (pb_json_get_bool(body, "enabled", true, &enabled, err, sizeof err)) {
      web_reply_error(resp, 400, "%s", err);
    } else {
      char topic[200];
      if (pb_topic_ext(topic, sizeof topic, e->site, e->number,
                       PB_EXT_PLANNING_SET))
        web_reply_error(resp, 400, "extension and site make too long a topic");
      else
        web_command(
            w, req, resp, PB_SERVICE_SCHEDULER, topic, enabled ? "on" : "off",
            json_pack("{s:s,s:s,s:s,s:s}", "status", "ok", "site", e->site,
                      "number", e->number, "planning", enabled ? "on" : "off"));
    }
  }
  json_decref(body);
}

/* ---- a person's week ---- */

static int parse_date(const char *s, int *y, int *m, int *d) {
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return -1;
  char *end;
  long yy = strtol(s, &end, 10);
  if (end != s + 4)
    return -1;
  long mm = strtol(s + 5, &end, 10);
  if (end != s + 7)
    return -1;
  long dd = strtol(s + 8, &end, 10);
  if (end != s + 10 || yy < 1970 || yy > 9999 || mm < 1 || mm > 12 || dd < 1 ||
      dd > 31)
    return -1;
  int py, pm, pd;
  pb_civil_from_days(pb_days_from_civil((int)yy, (int)mm, (int)dd), &py, &pm,
                     &pd);
  if (py != yy || pm != mm || pd != dd)
    return -1; /* 2026-02-30 */
  *y = (int)yy, *m = (int)mm, *d = (int)dd;
  return 0;
}

static void local_fields(const struct pb_tz *tz, int64_t t, json_t *slot,
                         const char *prefix) {
  struct pb_civil c;
  pb_tz_utc_to_local(tz, t, &c);
  char key[32], val[32];
  snprintf(key, sizeof key, "%s_local", prefix);
  snprintf(val, sizeof val, "%04d-%02d-%02dT%02d:%02d", c.year, c.month, c.day,
           c.hour, c.minute);
  json_object_set_new(slot, key, json_string(val));
}

void web_get_week(struct web *w, const struct web_request *req,
                  struct web_response *resp) {
  struct web_ext *e = find_ext(w, req, resp);
  if (!e)
    return;
  int y, m, d;
  const char *date = web_query(req, "date");
  if (date) {
    if (parse_date(date, &y, &m, &d)) {
      web_reply_error(resp, 400,
                      "query parameter 'date' must be a day like 2026-11-23");
      return;
    }
  } else {
    struct pb_civil now;
    pb_tz_utc_to_local(w->tz, pb_clock_now(), &now);
    y = now.year, m = now.month, d = now.day;
  }
  int64_t days = pb_days_from_civil(y, m, d);
  int wday = pb_weekday_from_days(days); /* 0 = Sunday */
  int64_t monday = days - (wday == 0 ? 6 : wday - 1);
  struct pb_civil c = {0};
  pb_civil_from_days(monday, &c.year, &c.month, &c.day);
  int64_t start = pb_tz_local_to_utc(w->tz, &c);
  pb_civil_from_days(monday + 7, &c.year, &c.month, &c.day);
  int64_t end = pb_tz_local_to_utc(w->tz, &c);

  json_t *out =
      json_pack("{s:s,s:s,s:s,s:s}", "site", e->site, "number", e->number,
                "name", e->name, "planning", e->planning_off ? "off" : "on");
  pb_json_set_time_tz(out, "week_start", start, w->tz);
  pb_json_set_time_tz(out, "week_end", end, w->tz);
  json_t *slots = json_array();
  json_t *sched = e->schedule
                      ? pb_json_parse(e->schedule, strlen(e->schedule), NULL, 0)
                      : NULL;
  struct pb_schedule s;
  char err[256];
  json_t *horizon = json_null();
  if (sched && pb_schedule_from_json(sched, &s, err, sizeof err) == 0) {
    horizon = json_object();
    pb_json_set_time_tz(horizon, "start", s.horizon_start, w->tz);
    pb_json_set_time_tz(horizon, "end", s.horizon_end, w->tz);
    for (size_t i = 0; i < s.count; i++) {
      if (s.slots[i].end <= start || s.slots[i].start >= end)
        continue;
      json_t *j = pb_slot_to_json(&s.slots[i], w->tz);
      local_fields(w->tz, s.slots[i].start, j, "start");
      local_fields(w->tz, s.slots[i].end, j, "end");
      json_object_set_new(j, "label",
                          json_string(pb_presence_label(s.slots[i].status)));
      json_array_append_new(slots, j);
    }
    pb_schedule_cleanup(&s);
  }
  json_decref(sched);
  json_object_set_new(out, "horizon", horizon);
  json_object_set_new(out, "slots", slots);
  json_object_set_new(out, "override",
                      e->override ? json_incref(e->override) : json_null());
  json_t *ext = web_ext_json(e);
  json_object_set(out, "desired", json_object_get(ext, "desired"));
  json_decref(ext);
  web_reply_json(resp, 200, out);
}
