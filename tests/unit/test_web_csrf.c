/* web-api's CSRF check (services/web-api/routes.c): a request that changes
 * state and comes with a session cookie must carry the session's token in
 * X-CSRF-Token; reads, API tokens and public routes need none
 * (docs/api.md "Authentication"). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "test_web_fake.h"

static struct web w;

#define CSRF "Jq0kLb1vX3_session-csrf-token"

/* `method url` from the head only, as `role` by session cookie (or token
 * when !cookie), with X-CSRF-Token `token` (none when NULL): the status,
 * 0 when the route would run. */
static unsigned send_as(enum web_role role, bool cookie, const char *method,
                        const char *url, const char *token) {
  struct fake_req f;
  fake_req_init(&f, &w, method, url);
  f.req.check_only = true;
  f.req.auth.role = role;
  f.req.auth.by_cookie = cookie;
  snprintf(f.req.auth.user, sizeof f.req.auth.user, "ann");
  if (cookie)
    snprintf(f.req.auth.csrf, sizeof f.req.auth.csrf, "%s", CSRF);
  else
    fake_req_header(&f, "Authorization", "Bearer pbt_x");
  if (token)
    fake_req_header(&f, "X-CSRF-Token", token);
  web_route(&w, &f.req, &f.resp);
  unsigned status = f.resp.body ? f.resp.status : 0;
  if (status == 403 && !strstr(fake_error(&f.resp), "X-CSRF-Token") &&
      !strstr(fake_error(&f.resp), "role"))
    fprintf(stderr, "unexpected 403: %s\n", fake_error(&f.resp));
  fake_req_cleanup(&f);
  return status;
}

static void refused(void) {
  /* Every state-changing method, with a cookie and no or a wrong token. */
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "POST", "/api/logout", NULL), 403);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, true, "PUT", "/api/extensions/201/override",
                    NULL),
            403);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, true, "DELETE", "/api/sources/s1", ""),
            403);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, true, "PATCH", "/api/sites/hq", "nope"),
            403);
  /* Almost right is wrong: a prefix, a longer value, another case. */
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "POST", "/api/tokens",
                    "Jq0kLb1vX3_session-csrf-toke"),
            403);
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "POST", "/api/tokens", CSRF "x"),
            403);
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "DELETE", "/api/tokens/3",
                    "jq0kLb1vX3_session-csrf-token"),
            403);
  /* What the refusal says. */
  struct fake_req f;
  fake_req_init(&f, &w, "POST", "/api/logout");
  f.req.check_only = true;
  f.req.auth.role = WEB_ROLE_READONLY;
  f.req.auth.by_cookie = true;
  snprintf(f.req.auth.csrf, sizeof f.req.auth.csrf, "%s", CSRF);
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 403);
  CHECK_STR(fake_error(&f.resp), "missing or wrong X-CSRF-Token header (the "
                                 "token is in GET /api/session)");
  fake_req_cleanup(&f);
}

static void accepted(void) {
  /* The session's own token. */
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "POST", "/api/logout", CSRF), 0);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, true, "PUT", "/api/extensions/201/override",
                    CSRF),
            0);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, true, "DELETE", "/api/users/bob", CSRF), 0);
  /* Reads change nothing: no token needed. */
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "GET", "/api/session", NULL), 0);
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "HEAD", "/api/extensions", NULL),
            0);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, true, "GET", "/api/users", "wrong"), 0);
  /* An API token is not sent by a browser on its own: no CSRF. */
  CHECK_INT(send_as(WEB_ROLE_READONLY, false, "POST", "/api/tokens", NULL), 0);
  CHECK_INT(send_as(WEB_ROLE_ADMIN, false, "DELETE", "/api/sources/s1", NULL),
            0);
  /* Public routes: no session to forge (a login, a signed webhook). */
  CHECK_INT(send_as(WEB_ROLE_NONE, false, "POST", "/api/login", NULL), 0);
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "POST", "/api/login", NULL), 0);
  CHECK_INT(send_as(WEB_ROLE_NONE, false, "POST", "/api/pbx/webhook/hq", NULL),
            0);
}

static void order(void) {
  /* The role is checked first: the right token does not lift a 403. */
  CHECK_INT(send_as(WEB_ROLE_READONLY, true, "POST", "/api/sources", CSRF),
            403);
  /* Without credentials, 401 whatever the token. */
  CHECK_INT(send_as(WEB_ROLE_NONE, false, "POST", "/api/logout", CSRF), 401);
}

static void methods(void) {
  CHECK(!web_method_changes_state("GET"));
  CHECK(!web_method_changes_state("HEAD"));
  CHECK(!web_method_changes_state("OPTIONS"));
  CHECK(web_method_changes_state("POST"));
  CHECK(web_method_changes_state("PUT"));
  CHECK(web_method_changes_state("PATCH"));
  CHECK(web_method_changes_state("DELETE"));
  /* Methods are case-sensitive (RFC 9110 §9.1): "get" is not a read. */
  CHECK(web_method_changes_state("get"));
}

int main(void) {
  RUN(refused);
  RUN(accepted);
  RUN(order);
  RUN(methods);
  return CHECK_DONE();
}
