/* The REST API's route table (docs/api.md): each route is a method, a path
 * pattern (":name" matches one segment) and a handler. A path that matches
 * with another method is answered 405 with an Allow header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "web.h"

typedef void route_fn(struct web *w, const struct web_request *req,
                      struct web_response *resp);

static const char *site_param(struct web *w, const struct web_request *req) {
  const char *site = web_query(req, "site");
  return site ? site : pb_config_str(w->cfg, PB_CFG_SITE);
}

static void get_healthz(struct web *w, const struct web_request *req,
                        struct web_response *resp) {
  (void)req;
  static const char *const services[] = {"ical-ingest", "scheduler",
                                         "yeastar-gateway", "web-api"};
  json_t *svc = json_object();
  bool all = true;
  for (int i = 0; i < 4; i++) {
    const char *a = i == 3 ? (pb_bus_connected(w->bus) ? "online" : "offline")
                           : web_service_availability(w, services[i]);
    all = all && strcmp(a, "online") == 0;
    json_object_set_new(svc, services[i], json_string(a));
  }
  json_t *j = json_pack("{s:s,s:b,s:o,s:I}", "status", all ? "ok" : "degraded",
                        "bus_connected", pb_bus_connected(w->bus), "services", svc,
                        "uptime_seconds",
                        (json_int_t)(pb_clock_now() - w->started_at));
  web_reply_json(resp, pb_bus_connected(w->bus) ? 200 : 503, j);
}

static void list_extensions(struct web *w, const struct web_request *req,
                            struct web_response *resp) {
  const char *site = web_query(req, "site");
  if (site && !pb_topic_id_valid(site)) {
    web_reply_error(resp, 400, "query parameter 'site' must be [A-Za-z0-9_-]");
    return;
  }
  size_t n = 0;
  struct web_ext **list = web_model_list(w, site, &n);
  if (!list) {
    web_reply_error(resp, 503, "out of memory");
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, web_ext_json(list[i]));
  free(list);
  web_reply_json(resp, 200, json_pack("{s:I,s:o}", "count", (json_int_t)n,
                                      "extensions", arr));
}

static void get_extension(struct web *w, const struct web_request *req,
                          struct web_response *resp) {
  const char *number = req->segs[2];
  const char *site = site_param(w, req);
  if (!pb_topic_id_valid(number) || !pb_topic_id_valid(site)) {
    web_reply_error(resp, 400, "extension and site must be [A-Za-z0-9_-]");
    return;
  }
  struct web_ext *e = web_model_get(w, site, number);
  if (!e) {
    web_reply_error(resp, 404, "unknown extension '%s' on site '%s'", number, site);
    return;
  }
  web_reply_json(resp, 200, web_ext_json(e));
}

static const struct route {
  const char *method;
  const char *pattern;
  route_fn *fn;
} routes[] = {
    {"GET", "/healthz", get_healthz},
    {"GET", "/api/extensions", list_extensions},
    {"GET", "/api/extensions/:number", get_extension},
};

static bool path_matches(const char *pattern, const struct web_request *req) {
  char buf[256];
  const char *segs[8];
  int n = 0;
  pb_strlcpy(buf, pattern + 1, sizeof buf);
  char *p = buf;
  while (*p && n < 8) {
    segs[n++] = p;
    char *slash = strchr(p, '/');
    if (!slash)
      break;
    *slash = '\0';
    p = slash + 1;
  }
  if (n != req->nsegs)
    return false;
  for (int i = 0; i < n; i++)
    if (segs[i][0] != ':' && strcmp(segs[i], req->segs[i]) != 0)
      return false;
  return true;
}

void web_route(struct web *w, const struct web_request *req,
               struct web_response *resp) {
  bool path_known = false;
  resp->allow[0] = '\0';
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (!path_matches(routes[i].pattern, req))
      continue;
    if (strcmp(routes[i].method, req->method) == 0) {
      routes[i].fn(w, req, resp);
      return;
    }
    if (path_known)
      strncat(resp->allow, ", ", sizeof resp->allow - strlen(resp->allow) - 1);
    strncat(resp->allow, routes[i].method, sizeof resp->allow - strlen(resp->allow) - 1);
    path_known = true;
  }
  if (path_known)
    web_reply_error(resp, 405, "method %s not allowed on %s (allowed: %s)",
                    req->method, req->path, resp->allow);
  else
    web_reply_error(resp, 404, "no such resource: %s", req->path);
}
