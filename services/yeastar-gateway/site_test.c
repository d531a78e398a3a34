/* site/test: checks the connection to a PBX and says exactly what failed,
 * in the order a request meets the problems: DNS, TCP, TLS, the Open API
 * itself (off, or not at that URL), the API IP allow-list (errcode 70087),
 * the credentials (errcode -1), then one authenticated request. A site that
 * holds a valid token is tested with it (no login); otherwise the test logs
 * in and revokes its token at once (del_token), so testing never uses up
 * the PBX's 8 tokens. Runs beside the site's queue, never blocked by it. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/log.h"

enum step { STEP_LOGIN, STEP_LIST, STEP_DELETE };

struct gw_test {
  struct gw_test *next;
  struct gw *gw;
  char site[PB_ID_MAX]; /* the site tested, "" for new settings */
  struct gw_site_settings set;
  char base_url[GW_URL_MAX + 32];
  struct pb_bus_reply *reply;
  enum step step;
  bool own_token; /* obtained by the test: revoke it */
  char token[128];
  json_t *checks;
  char failed[300]; /* first failure, "" while all is well */
  int64_t extensions;
};

static void check(struct gw_test *t, const char *name, const char *result,
                  const char *detail) {
  json_array_append_new(t->checks,
                        json_pack("{s:s,s:s,s:s}", "check", name, "result",
                                  result, "detail", detail ? detail : ""));
  if (!strcmp(result, "failed") && !t->failed[0])
    snprintf(t->failed, sizeof t->failed, "%s failed: %s", name, detail);
}

static void test_free(struct gw_test *t) {
  for (struct gw_test **pp = &t->gw->tests; *pp; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  }
  json_decref(t->checks);
  gw_settings_cleanup(&t->set);
  sodium_memzero(t->token, sizeof t->token);
  free(t);
}

static void conclude(struct gw_test *t) {
  const char *who = t->site[0] ? t->site : t->base_url;
  if (t->failed[0]) {
    pb_info("test of %s: %s", who, t->failed);
    gw_reply_error(t->gw, t->reply, t->failed, json_incref(t->checks));
  } else {
    pb_info("test of %s passed", who);
    gw_reply_ok(t->gw, t->reply,
                json_pack("{s:s?,s:s,s:O,s:I}", "site",
                          t->site[0] ? t->site : NULL, "url", t->base_url,
                          "checks", t->checks, "extensions",
                          (json_int_t)t->extensions));
  }
  test_free(t);
}

static void on_answer(const struct pb_http_response *r, void *ud);

static int send_step(struct gw_test *t, enum step step, const char *method,
                     const char *endpoint, const char *query,
                     const char *body) {
  char url[GW_URL_MAX + 512];
  struct pb_http_request req;
  t->step = step;
  int rc = gw_http_request(t->gw, &t->set, t->base_url, method, endpoint, query,
                           step == STEP_LOGIN ? NULL : t->token, body, url,
                           sizeof url, &req);
  return rc ? rc : t->gw->io.http_send(t->gw->io.ud, &req, on_answer, t);
}

/* The transport-level checks, from what the first request met. */
static bool transport(struct gw_test *t, const struct pb_http_response *r) {
  const char *msg = r->errmsg ? r->errmsg : "";
  char detail[400];
  bool https = strncmp(t->set.url, "https", 5) == 0;
  if (r->failure == PB_HTTP_FAIL_DNS) {
    check(t, "dns", "failed", msg);
    return false;
  }
  snprintf(detail, sizeof detail, "%s",
           r->primary_ip && *r->primary_ip ? r->primary_ip : "resolved");
  check(t, "dns", "ok", detail);
  if (r->failure == PB_HTTP_FAIL_CONNECT) {
    check(t, "tcp", "failed", msg);
    return false;
  }
  check(t, "tcp", "ok", "connected");
  if (r->failure == PB_HTTP_FAIL_TLS || r->failure == PB_HTTP_FAIL_TLS_VERIFY ||
      r->failure == PB_HTTP_FAIL_TLS_PIN) {
    snprintf(detail, sizeof detail, "%s%s", msg,
             r->failure == PB_HTTP_FAIL_TLS_VERIFY
                 ? " (give the PBX's CA as ca_file, or pin its key)"
             : r->failure == PB_HTTP_FAIL_TLS_PIN
                 ? " (the PBX's key is not the pinned one)"
                 : "");
    check(t, "tls", "failed", detail);
    return false;
  }
  check(t, "tls", https ? "ok" : "skipped",
        !https                 ? "plain HTTP"
        : t->set.insecure      ? "verification OFF (insecure)"
        : t->set.pinned_key[0] ? "public key matches the pin"
                               : "certificate verified");
  if (r->err) {
    snprintf(detail, sizeof detail, "no answer from the Open API: %s", msg);
    check(t, "api", "failed", detail);
    return false;
  }
  return true;
}

static void on_answer(const struct pb_http_response *r, void *ud) {
  struct gw_test *t = ud;
  char detail[800];
  if (t->step == STEP_DELETE) {
    json_t *j = r->err ? NULL : pb_json_parse(r->body, r->len, NULL, 0);
    int64_t code = -1;
    const char *msg = "no answer";
    if (!(j && gw_envelope(j, &code, &msg) && code == 0)) {
      /* Not revoked: count it against the site's token budget. */
      struct gw_site *s = t->site[0] ? gw_site_find(t->gw, t->site) : NULL;
      if (s && gw_store_ledger_add(s, pb_clock_now() + 1800))
        gw_store_warn(s->name, "a token that may be live");
      pb_warn("test of %s: del_token failed (%s)",
              t->site[0] ? t->site : t->base_url, msg);
    }
    json_decref(j);
    conclude(t);
    return;
  }
  if (t->step == STEP_LOGIN || (t->step == STEP_LIST && !t->own_token)) {
    if (!transport(t, r)) {
      conclude(t);
      return;
    }
  }
  if (r->err) {
    snprintf(detail, sizeof detail, "%s", r->errmsg ? r->errmsg : "no answer");
    check(t, "access", "failed", detail);
    goto revoke;
  }
  json_t *j = pb_json_parse(r->body, r->len, NULL, 0);
  int64_t code = 0;
  const char *msg = "";
  if (!gw_envelope(j, &code, &msg)) {
    snprintf(detail, sizeof detail,
             "HTTP %ld without an Open API answer at %s: is the API enabled "
             "(PBX > Integrations > API) and the URL right?",
             r->status, t->base_url);
    check(t, "api", "failed", detail);
    json_decref(j);
    goto revoke;
  }
  if (t->step == STEP_LOGIN || !t->own_token) {
    check(t, "api", "ok", "the Open API answers");
    if (code == GW_ERRCODE_IP_FORBIDDEN) {
      snprintf(detail, sizeof detail,
               "errcode 70087 (%s): add this gateway's "
               "address to the API IP allow-list",
               msg);
      check(t, "allow_list", "failed", detail);
      json_decref(j);
      goto revoke;
    }
    check(t, "allow_list", "ok", "this address is allowed");
  }
  if (t->step == STEP_LOGIN) {
    const char *tok = pb_json_str(j, "access_token");
    if (code == -1) {
      snprintf(detail, sizeof detail,
               "the PBX refused the client id or secret "
               "(errcode -1 %s)",
               msg);
      check(t, "credentials", "failed", detail);
    } else if (code == GW_ERRCODE_TOKEN_LIMIT) {
      check(t, "credentials", "failed",
            "errcode 10005: this API application "
            "holds too many tokens already");
    } else if (code != 0 || !tok || strlen(tok) >= sizeof t->token) {
      snprintf(detail, sizeof detail, "get_token: errcode %lld (%s)",
               (long long)code, msg);
      check(t, "credentials", "failed", detail);
    } else {
      pb_strlcpy(t->token, tok, sizeof t->token);
      pb_log_add_secret(t->token);
      t->own_token = true;
      check(t, "credentials", "ok", "logged in");
      json_decref(j);
      if (send_step(t, STEP_LIST, "GET", "extension/list", "page=1&page_size=1",
                    NULL)) {
        check(t, "access", "failed", "the request could not be sent");
        goto revoke;
      }
      return;
    }
    json_decref(j);
    conclude(t);
    return;
  }
  /* STEP_LIST */
  if (code != 0) {
    snprintf(detail, sizeof detail, "extension/list: errcode %lld (%s)",
             (long long)code, msg);
    check(t, t->own_token ? "access" : "credentials", "failed", detail);
  } else {
    t->extensions =
        (int64_t)json_integer_value(json_object_get(j, "total_number"));
    if (!t->own_token)
      check(t, "credentials", "ok", "the site's current token is accepted");
    snprintf(detail, sizeof detail, "extension/list: %lld extensions",
             (long long)t->extensions);
    check(t, "access", "ok", detail);
  }
  json_decref(j);
revoke:
  if (t->own_token &&
      send_step(t, STEP_DELETE, "GET", "del_token", NULL, NULL) == 0)
    return;
  conclude(t);
}

void gw_test_start(struct gw *gw, struct gw_site *s,
                   struct gw_site_settings *set, struct pb_bus_reply *reply) {
  struct gw_test *t = calloc(1, sizeof *t);
  if (!t) {
    gw_reply_error(gw, reply, "out of memory", NULL);
    return;
  }
  t->gw = gw;
  t->set = *set;
  set->secret = NULL;
  t->reply = reply;
  t->checks = json_array();
  int rc = gw_base_url(t->set.url, t->base_url, sizeof t->base_url);
  if (t->set.secret)
    pb_log_add_secret(t->set.secret);
  t->next = gw->tests;
  gw->tests = t;
  if (s)
    pb_strlcpy(t->site, s->name, sizeof t->site);
  /* The site's own token proves the settings it was obtained with; a test
   * of other settings (a new secret before saving it) logs in. */
  bool same = s && s->token_state == TOKEN_VALID &&
              strcmp(s->set.url, t->set.url) == 0 &&
              strcmp(s->set.client_id, t->set.client_id) == 0 &&
              s->set.secret && t->set.secret &&
              strcmp(s->set.secret, t->set.secret) == 0 &&
              strcmp(s->set.ca_file, t->set.ca_file) == 0 &&
              strcmp(s->set.pinned_key, t->set.pinned_key) == 0 &&
              s->set.insecure == t->set.insecure;
  if (!rc && same) {
    pb_strlcpy(t->token, s->access_token, sizeof t->token);
    rc = send_step(t, STEP_LIST, "GET", "extension/list", "page=1&page_size=1",
                   NULL);
  } else if (!rc) {
    json_t *body = json_pack("{s:s,s:s}", "username", t->set.client_id,
                             "password", t->set.secret ? t->set.secret : "");
    char *text = pb_json_dump(body);
    json_decref(body);
    rc = text ? send_step(t, STEP_LOGIN, "POST", "get_token", NULL, text)
              : PB_ENOMEM;
    if (text) {
      sodium_memzero(text, strlen(text));
      free(text);
    }
  }
  if (rc) {
    check(t, "request", "failed", pb_strerror(rc));
    conclude(t);
  }
}

void gw_tests_free(struct gw *gw) {
  while (gw->tests) {
    struct gw_test *t = gw->tests;
    gw_reply_error(gw, t->reply, "the gateway is stopping", NULL);
    test_free(t);
  }
}
