/* web-api's route table (services/web-api/routes.c): matching a path to a
 * route (":name" segments, 404, 405 with Allow, HEAD as GET, path
 * traversal), and the role every route needs (docs/api.md): anonymous
 * callers get 401, a read-only user 403 on admin routes. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "test_web_fake.h"

static struct web w;

/* Answers `method url` from the head only (web_route's check_only), as
 * `role` with a token (no CSRF); the status, 0 when the route would run. */
static unsigned check_as(enum web_role role, const char *method,
                         const char *url, char *allow, size_t allow_len) {
  struct fake_req f;
  fake_req_init(&f, &w, method, url);
  f.req.check_only = true;
  f.req.auth.role = role;
  snprintf(f.req.auth.user, sizeof f.req.auth.user, "%s",
           role == WEB_ROLE_ADMIN ? "root" : "reader");
  if (role != WEB_ROLE_NONE)
    fake_req_header(&f, "Authorization", "Bearer pbt_x");
  web_route(&w, &f.req, &f.resp);
  unsigned status = f.resp.body ? f.resp.status : 0;
  if (allow)
    snprintf(allow, allow_len, "%s", f.resp.allow);
  fake_req_cleanup(&f);
  return status;
}

/* docs/api.md, route by route: the role each needs. Written out here, not
 * read from the table, so that a changed role in routes.c fails. */
static const struct expected {
  const char *method, *pattern, *sample;
  enum web_role role;
} expected[] = {
    {"GET", "/healthz", "/healthz", WEB_ROLE_NONE},
    {"GET", "/metrics", "/metrics", WEB_ROLE_READONLY},
    {"GET", "/", "/", WEB_ROLE_NONE},
    {"GET", "/assets/:file", "/assets/app.js", WEB_ROLE_NONE},
    {"POST", "/api/login", "/api/login", WEB_ROLE_NONE},
    {"POST", "/api/logout", "/api/logout", WEB_ROLE_READONLY},
    {"GET", "/api/session", "/api/session", WEB_ROLE_READONLY},
    {"GET", "/api/extensions", "/api/extensions", WEB_ROLE_READONLY},
    {"GET", "/api/extensions/:number", "/api/extensions/201",
     WEB_ROLE_READONLY},
    {"PUT", "/api/extensions/:number/override", "/api/extensions/201/override",
     WEB_ROLE_ADMIN},
    {"DELETE", "/api/extensions/:number/override",
     "/api/extensions/201/override", WEB_ROLE_ADMIN},
    {"PUT", "/api/extensions/:number/planning", "/api/extensions/201/planning",
     WEB_ROLE_ADMIN},
    {"GET", "/api/extensions/:number/week", "/api/extensions/201/week",
     WEB_ROLE_READONLY},
    {"GET", "/api/extensions/:number/settings", "/api/extensions/201/settings",
     WEB_ROLE_READONLY},
    /* A readonly user sees and places only its own extensions' calls:
     * routes_calls.c checks which (test_web_calls.c). */
    {"GET", "/api/extensions/:number/calls", "/api/extensions/201/calls",
     WEB_ROLE_READONLY},
    {"GET", "/api/calls", "/api/calls", WEB_ROLE_READONLY},
    {"POST", "/api/calls", "/api/calls", WEB_ROLE_READONLY},
    {"GET", "/api/calls/stats", "/api/calls/stats", WEB_ROLE_READONLY},
    {"GET", "/api/calls/:id/recording", "/api/calls/1763885995.12/recording",
     WEB_ROLE_READONLY},
    {"GET", "/api/calls/:site/:id/recording",
     "/api/calls/hq/1763885995.12/recording", WEB_ROLE_READONLY},
    {"GET", "/api/sites/:id/calls", "/api/sites/hq/calls", WEB_ROLE_READONLY},
    {"PUT", "/api/users/:name/extensions", "/api/users/bob/extensions",
     WEB_ROLE_ADMIN},
    {"PUT", "/api/extensions/:number/settings", "/api/extensions/201/settings",
     WEB_ROLE_ADMIN},
    {"GET", "/api/logs", "/api/logs", WEB_ROLE_READONLY},
    {"GET", "/api/stats", "/api/stats", WEB_ROLE_READONLY},
    {"GET", "/api/events/stream", "/api/events/stream", WEB_ROLE_READONLY},
    {"GET", "/api/sources", "/api/sources", WEB_ROLE_READONLY},
    {"POST", "/api/sources", "/api/sources", WEB_ROLE_ADMIN},
    {"POST", "/api/sources/import", "/api/sources/import", WEB_ROLE_ADMIN},
    {"PATCH", "/api/sources/:id", "/api/sources/s1", WEB_ROLE_ADMIN},
    {"DELETE", "/api/sources/:id", "/api/sources/s1", WEB_ROLE_ADMIN},
    {"POST", "/api/sources/:id/refresh", "/api/sources/s1/refresh",
     WEB_ROLE_ADMIN},
    {"GET", "/api/sites", "/api/sites", WEB_ROLE_READONLY},
    {"POST", "/api/sites", "/api/sites", WEB_ROLE_ADMIN},
    {"PATCH", "/api/sites/:id", "/api/sites/hq", WEB_ROLE_ADMIN},
    {"DELETE", "/api/sites/:id", "/api/sites/hq", WEB_ROLE_ADMIN},
    {"POST", "/api/sites/:id/test", "/api/sites/hq/test", WEB_ROLE_ADMIN},
    {"POST", "/api/pbx/webhook/:site", "/api/pbx/webhook/hq", WEB_ROLE_NONE},
    {"GET", "/api/users", "/api/users", WEB_ROLE_ADMIN},
    {"POST", "/api/users", "/api/users", WEB_ROLE_ADMIN},
    {"DELETE", "/api/users/:name", "/api/users/bob", WEB_ROLE_ADMIN},
    /* Anyone may change their own; routes_auth.c refuses others' to a
     * read-only user. */
    {"PUT", "/api/users/:name/password", "/api/users/bob/password",
     WEB_ROLE_READONLY},
    {"GET", "/api/tokens", "/api/tokens", WEB_ROLE_READONLY},
    {"POST", "/api/tokens", "/api/tokens", WEB_ROLE_READONLY},
    {"DELETE", "/api/tokens/:id", "/api/tokens/7", WEB_ROLE_READONLY},
};
#define NEXPECTED (sizeof expected / sizeof expected[0])

/* Every route of the table is one of the expected, and the other way. */
static void table_is_known(void) {
  CHECK_INT(web_route_count, NEXPECTED);
  for (size_t i = 0; i < web_route_count; i++) {
    const struct web_route_def *rt = &web_routes[i];
    const struct expected *e = NULL;
    for (size_t j = 0; j < NEXPECTED && !e; j++)
      if (strcmp(expected[j].method, rt->method) == 0 &&
          strcmp(expected[j].pattern, rt->pattern) == 0)
        e = &expected[j];
    if (!e)
      fprintf(stderr, "route %s %s is not in the test\n", rt->method,
              rt->pattern);
    CHECK(e != NULL);
    if (e && e->role != rt->role)
      fprintf(stderr, "%s %s needs %s, expected %s\n", rt->method, rt->pattern,
              web_role_name(rt->role), web_role_name(e->role));
    CHECK(e && e->role == rt->role);
    CHECK(rt->fn != NULL);
  }
}

static void every_route_by_role(void) {
  for (size_t i = 0; i < NEXPECTED; i++) {
    const struct expected *e = &expected[i];
    unsigned anon = check_as(WEB_ROLE_NONE, e->method, e->sample, NULL, 0);
    unsigned ro = check_as(WEB_ROLE_READONLY, e->method, e->sample, NULL, 0);
    unsigned admin = check_as(WEB_ROLE_ADMIN, e->method, e->sample, NULL, 0);
    unsigned want_anon = e->role == WEB_ROLE_NONE ? 0 : 401;
    unsigned want_ro = e->role == WEB_ROLE_ADMIN ? 403 : 0;
    if (anon != want_anon || ro != want_ro || admin != 0)
      fprintf(stderr, "%s %s: anonymous %u, readonly %u, admin %u\n", e->method,
              e->sample, anon, ro, admin);
    CHECK_INT(anon, want_anon);
    CHECK_INT(ro, want_ro);
    CHECK_INT(admin, 0);
  }
}

static void messages(void) {
  struct fake_req f;
  /* Without credentials: how to get some. */
  fake_req_init(&f, &w, "GET", "/api/logs");
  f.req.check_only = true;
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 401);
  CHECK(strstr(fake_error(&f.resp), "authentication required") != NULL);
  fake_req_cleanup(&f);
  /* A token that is not (or no longer) valid says so. */
  fake_req_init(&f, &w, "GET", "/api/logs");
  f.req.check_only = true;
  fake_req_header(&f, "Authorization", "Bearer pbt_expired");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 401);
  CHECK_STR(fake_error(&f.resp), "invalid or expired API token");
  fake_req_cleanup(&f);
  /* The 403 names the user, the route and the role it needs. */
  fake_req_init(&f, &w, "DELETE", "/api/users/bob");
  f.req.check_only = true;
  f.req.auth.role = WEB_ROLE_READONLY;
  snprintf(f.req.auth.user, sizeof f.req.auth.user, "reader");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 403);
  CHECK_STR(fake_error(&f.resp), "user 'reader' (readonly) may not DELETE "
                                 "/api/users/bob: it needs the admin role");
  fake_req_cleanup(&f);
}

static void matching(void) {
  char allow[64];
  /* Unknown paths, too many or too few segments. */
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "GET", "/api/nothing", NULL, 0), 404);
  CHECK_INT(
      check_as(WEB_ROLE_ADMIN, "GET", "/api/extensions/201/week/x", NULL, 0),
      404);
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "GET", "/assets", NULL, 0), 404);
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "GET", "/api/a/b/c/d/e/f/g/h", NULL, 0),
            404);
  /* Trailing and doubled slashes are the same path. */
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "GET", "/api/extensions/", NULL, 0), 0);
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "GET", "//api/session", NULL, 0), 0);
  /* A known path with another method: 405 and what is allowed. */
  CHECK_INT(
      check_as(WEB_ROLE_ADMIN, "PATCH", "/api/tokens", allow, sizeof allow),
      405);
  CHECK_STR(allow, "GET, HEAD, POST");
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "POST", "/api/extensions/201/override",
                     allow, sizeof allow),
            405);
  CHECK_STR(allow, "PUT, DELETE");
  CHECK_INT(check_as(WEB_ROLE_NONE, "GET", "/api/login", allow, sizeof allow),
            405);
  CHECK_STR(allow, "POST");
  /* The 405 comes before the role: it tells nothing about the data. */
  CHECK_INT(check_as(WEB_ROLE_NONE, "PUT", "/api/users", allow, sizeof allow),
            405);
  CHECK_STR(allow, "GET, HEAD, POST");
  /* HEAD is GET without the body, with GET's role. */
  CHECK_INT(check_as(WEB_ROLE_NONE, "HEAD", "/healthz", NULL, 0), 0);
  CHECK_INT(check_as(WEB_ROLE_NONE, "HEAD", "/api/users", NULL, 0), 401);
  CHECK_INT(check_as(WEB_ROLE_READONLY, "HEAD", "/api/users", NULL, 0), 403);
  /* A literal segment wins only when it is spelled the same. */
  CHECK_INT(check_as(WEB_ROLE_READONLY, "POST", "/api/sources/import", NULL, 0),
            403);
  CHECK_INT(check_as(WEB_ROLE_READONLY, "GET", "/api/Extensions", NULL, 0),
            404);
  /* Path traversal is refused before any route is looked at. */
  CHECK_INT(check_as(WEB_ROLE_ADMIN, "GET", "/assets/../web.h", NULL, 0), 400);
  CHECK_INT(check_as(WEB_ROLE_NONE, "GET", "/assets/./app.js", NULL, 0), 400);
}

/* A matched route runs its handler with the request's segments. */
static void dispatch(void) {
  struct fake_req f;
  fake_req_init(&f, &w, "GET", "/api/session");
  f.req.auth.role = WEB_ROLE_READONLY;
  f.req.auth.by_cookie = true;
  snprintf(f.req.auth.user, sizeof f.req.auth.user, "reader");
  snprintf(f.req.auth.csrf, sizeof f.req.auth.csrf, "c5rf");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 200);
  CHECK_STR(pb_json_str(f.resp.body, "user"), "reader");
  CHECK_STR(pb_json_str(f.resp.body, "role"), "readonly");
  CHECK_STR(pb_json_str(f.resp.body, "via"), "session");
  CHECK_STR(pb_json_str(f.resp.body, "csrf_token"), "c5rf");
  fake_req_cleanup(&f);
  /* The event stream is handed to the server, not answered by the route. */
  fake_req_init(&f, &w, "GET", "/api/events/stream");
  f.req.auth.role = WEB_ROLE_READONLY;
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.sse);
  CHECK(f.resp.body == NULL);
  fake_req_cleanup(&f);
}

int main(void) {
  RUN(table_is_known);
  RUN(every_route_by_role);
  RUN(messages);
  RUN(matching);
  RUN(dispatch);
  return CHECK_DONE();
}
