/* The HTTP API's route table (docs/api.md is its documentation, route by
 * route): each route is a method, a path pattern (":name" matches one
 * segment), the role it needs and a handler. A path that matches with
 * another method is answered 405 with an Allow header. Authorization and
 * CSRF are checked here, once, before any handler runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/secretbox.h"
#include "web.h"

const struct web_route_def web_routes[] = {
    {"GET", "/healthz", WEB_ROLE_NONE, web_get_healthz},
    {"GET", "/metrics", WEB_ROLE_READONLY, web_get_metrics},
    {"GET", "/", WEB_ROLE_NONE, web_get_static},
    {"GET", "/assets/:file", WEB_ROLE_NONE, web_get_static},
    {"POST", "/api/login", WEB_ROLE_NONE, web_post_login},
    {"POST", "/api/logout", WEB_ROLE_READONLY, web_post_logout},
    {"GET", "/api/session", WEB_ROLE_READONLY, web_get_session},
    {"GET", "/api/extensions", WEB_ROLE_READONLY, web_get_extensions},
    {"GET", "/api/extensions/:number", WEB_ROLE_READONLY, web_get_extension},
    {"PUT", "/api/extensions/:number/override", WEB_ROLE_ADMIN,
     web_put_override},
    {"DELETE", "/api/extensions/:number/override", WEB_ROLE_ADMIN,
     web_delete_override},
    {"PUT", "/api/extensions/:number/planning", WEB_ROLE_ADMIN,
     web_put_planning},
    {"GET", "/api/extensions/:number/week", WEB_ROLE_READONLY, web_get_week},
    {"GET", "/api/extensions/:number/calls", WEB_ROLE_READONLY,
     web_get_extension_calls},
    {"GET", "/api/extensions/:number/settings", WEB_ROLE_READONLY,
     web_get_settings},
    {"PUT", "/api/extensions/:number/settings", WEB_ROLE_ADMIN,
     web_put_settings},
    {"GET", "/api/logs", WEB_ROLE_READONLY, web_get_logs},
    {"GET", "/api/stats", WEB_ROLE_READONLY, web_get_stats},
    {"GET", "/api/events/stream", WEB_ROLE_READONLY, web_get_events},
    {"GET", "/api/calls", WEB_ROLE_READONLY, web_get_calls},
    {"POST", "/api/calls", WEB_ROLE_READONLY, web_post_calls},
    {"GET", "/api/calls/stats", WEB_ROLE_READONLY, web_get_calls_stats},
    {"GET", "/api/calls/:id/recording", WEB_ROLE_READONLY, web_get_recording},
    {"GET", "/api/calls/:site/:id/recording", WEB_ROLE_READONLY,
     web_get_site_recording},
    {"GET", "/api/sources", WEB_ROLE_READONLY, web_get_sources},
    {"POST", "/api/sources", WEB_ROLE_ADMIN, web_post_sources},
    {"POST", "/api/sources/import", WEB_ROLE_ADMIN, web_post_import},
    {"PATCH", "/api/sources/:id", WEB_ROLE_ADMIN, web_patch_source},
    {"DELETE", "/api/sources/:id", WEB_ROLE_ADMIN, web_delete_source},
    {"POST", "/api/sources/:id/refresh", WEB_ROLE_ADMIN,
     web_post_source_refresh},
    {"GET", "/api/sites", WEB_ROLE_READONLY, web_get_sites},
    {"POST", "/api/sites", WEB_ROLE_ADMIN, web_post_sites},
    {"PATCH", "/api/sites/:id", WEB_ROLE_ADMIN, web_patch_site},
    {"DELETE", "/api/sites/:id", WEB_ROLE_ADMIN, web_delete_site},
    {"POST", "/api/sites/:id/test", WEB_ROLE_ADMIN, web_post_site_test},
    {"GET", "/api/sites/:id/calls", WEB_ROLE_READONLY, web_get_site_calls},
    {"POST", "/api/pbx/webhook/:site", WEB_ROLE_NONE, web_post_webhook},
    {"GET", "/api/users", WEB_ROLE_ADMIN, web_get_users},
    {"POST", "/api/users", WEB_ROLE_ADMIN, web_post_users},
    {"DELETE", "/api/users/:name", WEB_ROLE_ADMIN, web_delete_user},
    {"PUT", "/api/users/:name/extensions", WEB_ROLE_ADMIN,
     web_put_user_extensions},
    {"PUT", "/api/users/:name/password", WEB_ROLE_READONLY, web_put_password},
    {"GET", "/api/tokens", WEB_ROLE_READONLY, web_get_tokens},
    {"POST", "/api/tokens", WEB_ROLE_READONLY, web_post_tokens},
    {"DELETE", "/api/tokens/:id", WEB_ROLE_READONLY, web_delete_token},
};
const size_t web_route_count = sizeof web_routes / sizeof web_routes[0];

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

bool web_method_changes_state(const char *method) {
  return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
         strcmp(method, "OPTIONS") != 0;
}

/* 401/403 or true when the request may go on. */
static bool authorized(const struct web_route_def *rt,
                       const struct web_request *req,
                       struct web_response *resp) {
  if (rt->role == WEB_ROLE_NONE)
    return true;
  if (req->auth.role == WEB_ROLE_NONE) {
    web_reply_error(resp, 401,
                    web_header(req, "Authorization")
                        ? "invalid or expired API token"
                        : "authentication required: log in, or send "
                          "'Authorization: Bearer <token>'");
    return false;
  }
  if (req->auth.role < rt->role) {
    web_reply_error(resp, 403,
                    "user '%s' (%s) may not %s %s: it needs the %s role",
                    req->auth.user, web_role_name(req->auth.role), req->method,
                    req->path, web_role_name(rt->role));
    return false;
  }
  /* A session cookie is sent by the browser on its own, so a state change
   * must also prove it comes from our page: the session's CSRF token in a
   * header that another site's page cannot set. */
  if (req->auth.by_cookie && web_method_changes_state(req->method)) {
    const char *tok = web_header(req, "X-CSRF-Token");
    if (!tok || !pb_secret_equal(tok, req->auth.csrf)) {
      web_reply_error(resp, 403,
                      "missing or wrong X-CSRF-Token header "
                      "(the token is in GET /api/session)");
      return false;
    }
  }
  return true;
}

void web_route(struct web *w, struct web_request *req,
               struct web_response *resp) {
  bool path_known = false;
  resp->allow[0] = '\0';
  for (int i = 0; i < req->nsegs; i++) {
    if (strcmp(req->segs[i], "..") == 0 || strcmp(req->segs[i], ".") == 0) {
      web_reply_error(resp, 400, "path traversal ('%s' segment) refused",
                      req->segs[i]);
      return;
    }
  }
  /* HEAD is GET without the body (RFC 9110 §9.3.2): the server sends
   * the headers of the GET answer, Content-Length included, and no body. */
  bool head = strcmp(req->method, "HEAD") == 0;
  for (size_t i = 0; i < web_route_count; i++) {
    const struct web_route_def *rt = &web_routes[i];
    if (!path_matches(rt->pattern, req))
      continue;
    bool get = strcmp(rt->method, "GET") == 0;
    if (strcmp(rt->method, req->method) == 0 || (head && get)) {
      /* check_only: the head alone, before any body is read. */
      if (authorized(rt, req, resp) && !req->check_only)
        rt->fn(w, req, resp);
      return;
    }
    if (strstr(resp->allow, rt->method))
      continue;
    if (path_known)
      strncat(resp->allow, ", ", sizeof resp->allow - strlen(resp->allow) - 1);
    strncat(resp->allow, get ? "GET, HEAD" : rt->method,
            sizeof resp->allow - strlen(resp->allow) - 1);
    path_known = true;
  }
  if (path_known)
    web_reply_error(resp, 405, "method %s not allowed on %s (allowed: %s)",
                    req->method, req->path, resp->allow);
  else
    web_reply_error(resp, 404, "no such resource: %s", req->path);
}
