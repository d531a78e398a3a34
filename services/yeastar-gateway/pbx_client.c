/* Calls to the Yeastar P-Series Open API: the token travels only in the
 * access_token query parameter, every request carries a User-Agent, POST
 * bodies are JSON, and both a non-200 status and a non-zero errcode are
 * failures. A call that meets an expired token is retried once after a new
 * token was obtained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/log.h"

#define ERRCODE_TOKEN_EXPIRED 10004

struct gw_call {
  struct gw_call *next;
  struct gw_site *site;
  bool post;
  bool needs_token;
  bool retried;
  char endpoint[64];
  char query[512];
  char *body;
  gw_pbx_cb *cb;
  void *ud;
};

static void call_free(struct gw_call *c) {
  if (!c)
    return;
  free(c->body);
  free(c);
}

static void on_answer(const struct pb_http_response *r, void *ud);

static int send_call(struct gw_call *c) {
  struct gw_site *s = c->site;
  struct gw *gw = s->gw;
  char url[1024];
  int n = snprintf(url, sizeof url, "%s%s%s%s%s%s", s->base_url, c->endpoint,
                   c->query[0] || c->needs_token ? "?" : "", c->query,
                   c->needs_token && c->query[0] ? "&" : "",
                   c->needs_token ? "access_token=" : "");
  if (c->needs_token && n > 0 && (size_t)n < sizeof url)
    n += snprintf(url + n, sizeof url - (size_t)n, "%s", s->access_token);
  if (n < 0 || (size_t)n >= sizeof url)
    return PB_ETOOBIG;
  struct pb_http_request req = {
      .method = c->post ? "POST" : "GET",
      .url = url,
      .body = c->body,
      .content_type = c->post ? "application/json" : NULL,
      .user_agent = gw->user_agent,
      .timeout_ms = gw->timeout_ms,
      .max_bytes = 32u * 1024 * 1024,
      .ca_file = s->ca_file[0] ? s->ca_file : NULL,
      .insecure = s->insecure,
  };
  return pb_http_send(gw->http, &req, on_answer, c);
}

static void finish(struct gw_call *c, int err, const char *msg, json_t *resp) {
  if (c->cb)
    c->cb(c->site, err, msg, resp, c->ud);
  call_free(c);
}

static void hold(struct gw_call *c) {
  struct gw_site *s = c->site;
  c->next = s->waiting;
  s->waiting = c;
  gw_token_ensure(s);
}

static void on_answer(const struct pb_http_response *r, void *ud) {
  struct gw_call *c = ud;
  char msg[300];
  if (r->err) {
    snprintf(msg, sizeof msg, "%s: %s", c->endpoint, r->errmsg);
    finish(c, PB_EHTTP, msg, NULL);
    return;
  }
  json_t *j = pb_json_parse(r->body, r->len, NULL, 0);
  if (r->status != 200) {
    snprintf(msg, sizeof msg, "%s: HTTP %ld", c->endpoint, r->status);
    finish(c, j ? PB_EPBX : PB_EHTTP, msg, j);
    json_decref(j);
    return;
  }
  if (!json_is_object(j) || !json_is_integer(json_object_get(j, "errcode"))) {
    snprintf(msg, sizeof msg, "%s: the PBX answer is not an Open API envelope",
             c->endpoint);
    finish(c, PB_EPBX, msg, NULL);
    json_decref(j);
    return;
  }
  json_int_t code = json_integer_value(json_object_get(j, "errcode"));
  const char *errmsg = pb_json_str(j, "errmsg");
  if (code == ERRCODE_TOKEN_EXPIRED && c->needs_token && !c->retried) {
    pb_info("%s: the PBX says the token expired: getting a new one", c->endpoint);
    c->retried = true;
    json_decref(j);
    gw_token_expired(c->site);
    hold(c);
    return;
  }
  if (code != 0) {
    snprintf(msg, sizeof msg, "%s: errcode %lld (%s)", c->endpoint,
             (long long)code, errmsg ? errmsg : "no message");
    finish(c, PB_EPBX, msg, j);
  } else {
    finish(c, 0, NULL, j);
  }
  json_decref(j);
}

static struct gw_call *call_new(struct gw_site *s, const char *method,
                                const char *endpoint, const char *query,
                                json_t *body, gw_pbx_cb *cb, void *ud) {
  struct gw_call *c = calloc(1, sizeof *c);
  if (!c) {
    json_decref(body);
    return NULL;
  }
  c->site = s;
  c->post = strcmp(method, "POST") == 0;
  c->cb = cb;
  c->ud = ud;
  pb_strlcpy(c->endpoint, endpoint, sizeof c->endpoint);
  pb_strlcpy(c->query, query ? query : "", sizeof c->query);
  if (body) {
    c->body = pb_json_dump(body);
    json_decref(body);
  }
  return c;
}

int gw_pbx_call(struct gw_site *s, const char *method, const char *endpoint,
                const char *query, json_t *body, gw_pbx_cb *cb, void *ud) {
  struct gw_call *c = call_new(s, method, endpoint, query, body, cb, ud);
  if (!c)
    return PB_ENOMEM;
  c->needs_token = true;
  if (s->token_state != TOKEN_VALID) {
    hold(c);
    return 0;
  }
  int rc = send_call(c);
  if (rc)
    call_free(c);
  return rc;
}

int gw_pbx_call_raw(struct gw_site *s, const char *endpoint, json_t *body,
                    gw_pbx_cb *cb, void *ud) {
  struct gw_call *c = call_new(s, "POST", endpoint, NULL, body, cb, ud);
  if (!c)
    return PB_ENOMEM;
  int rc = send_call(c);
  if (rc)
    call_free(c);
  return rc;
}

void gw_pbx_release_waiting(struct gw_site *s, int err, const char *errmsg) {
  struct gw_call *c = s->waiting;
  s->waiting = NULL;
  while (c) {
    struct gw_call *next = c->next;
    c->next = NULL;
    if (err)
      finish(c, err, errmsg, NULL);
    else if (send_call(c))
      finish(c, PB_EHTTP, "the request could not be sent", NULL);
    c = next;
  }
}
