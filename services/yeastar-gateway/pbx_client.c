/* Every request to a PBX site goes through this queue: at most the site's
 * concurrency on the wire, started no faster than its token bucket allows,
 * the token added at send time. Open API rules (P-Series developer guide):
 * the token only in the access_token query parameter, a User-Agent on
 * every request, JSON bodies, and both a non-200 status and a non-zero
 * errcode are failures. When the PBX stops answering, or answers HTTP 5xx to
 * GW_DOWN_AFTER_SERVER_ERRORS requests in a row, the site is "down": requests
 * wait in the queue (nothing is lost, no storm of failures), probes backing
 * off to 5 s find out when it is back (pbx_outage.c), and then every
 * extension waiting for a retry is tried at once. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"

#define QUEUE_MAX (GW_MAX_EXTS + 1000)

/* Kept small: at 08:00 there is one queued per extension. */
struct gw_call {
  struct gw_call *next, *prev; /* queue (next only) or sent list */
  struct gw_site *site;
  bool post, no_token, token_retried, probe;
  const char *endpoint; /* a string literal */
  char *query;          /* NULL: none */
  char *body;
  gw_body_cb *body_cb;
  gw_pbx_cb *cb;
  void *ud;
  char *token; /* the token it went out with, while sent */
};

/* Its token, and the body of a token request (the client secret or the
 * refresh token), are wiped. */
static void call_free(struct gw_call *c) {
  if (!c)
    return;
  if (c->token)
    sodium_memzero(c->token, strlen(c->token));
  if (c->body && c->no_token)
    sodium_memzero(c->body, strlen(c->body));
  free(c->query);
  free(c->body);
  free(c->token);
  free(c);
}

bool gw_envelope(const json_t *j, int64_t *code, const char **errmsg) {
  const json_t *ec = json_object_get(j, "errcode");
  if (!json_is_object(j) || !json_is_integer(ec))
    return false;
  *code = (int64_t)json_integer_value(ec);
  *errmsg = pb_json_str(j, "errmsg");
  if (!*errmsg)
    *errmsg = "no message";
  return true;
}

int gw_http_request(struct gw *gw, const struct gw_site_settings *set,
                    const char *base_url, const char *method,
                    const char *endpoint, const char *query, const char *token,
                    const char *body, char *urlbuf, size_t urllen,
                    struct pb_http_request *req) {
  bool has_query = query && *query, has_token = token && *token;
  int n = snprintf(urlbuf, urllen, "%s%s%s%s%s%s%s", base_url, endpoint,
                   has_query || has_token ? "?" : "", has_query ? query : "",
                   has_query && has_token ? "&" : "",
                   has_token ? "access_token=" : "", has_token ? token : "");
  if (n < 0 || (size_t)n >= urllen)
    return PB_ETOOBIG;
  bool post = strcmp(method, "POST") == 0;
  *req = (struct pb_http_request){
      .method = method,
      .url = urlbuf,
      .body = post ? (body ? body : "{}") : NULL,
      .content_type = post ? "application/json" : NULL,
      .user_agent = gw->user_agent,
      .connect_timeout_ms = gw->timeout_ms < 5000 ? gw->timeout_ms : 5000,
      .timeout_ms = gw->timeout_ms,
      .max_bytes = 8u * 1024 * 1024,
      .ca_file = set->ca_file[0] ? set->ca_file : NULL,
      .insecure = set->insecure,
      .pinned_public_key = set->pinned_key[0] ? set->pinned_key : NULL,
  };
  return 0;
}

/* ---- the queue ---- */

static void push_front(struct gw_site *s, struct gw_call *c) {
  c->next = s->queue_head;
  s->queue_head = c;
  if (!s->queue_tail)
    s->queue_tail = c;
  s->queued++;
}

static void push_back(struct gw_site *s, struct gw_call *c) {
  c->next = NULL;
  if (s->queue_tail)
    s->queue_tail->next = c;
  else
    s->queue_head = c;
  s->queue_tail = c;
  s->queued++;
}

static struct gw_call *pop(struct gw_site *s) {
  struct gw_call *c = s->queue_head;
  if (!c)
    return NULL;
  s->queue_head = c->next;
  if (!s->queue_head)
    s->queue_tail = NULL;
  c->next = NULL;
  s->queued--;
  return c;
}

static void finish(struct gw_call *c, int err, const char *msg, json_t *resp) {
  if (c->cb)
    c->cb(c->site, err, msg, resp, c->ud);
  call_free(c);
}

static void on_pump_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  gw_pbx_pump(ud);
}

static void arm_pump(struct gw_site *s, int64_t delay_ms) {
  if (!s->pump_timer)
    s->pump_timer = pb_timer_new(s->gw->loop, on_pump_timer, s);
  int64_t when = pb_clock_now_ms() + delay_ms;
  if (!pb_timer_armed(s->pump_timer) || pb_timer_when(s->pump_timer) > when)
    pb_timer_arm(s->pump_timer, when);
}

/* ---- site down / back ---- */

static const char *failure_state(enum pb_http_failure f) {
  return f == PB_HTTP_FAIL_TLS || f == PB_HTTP_FAIL_TLS_VERIFY ||
                 f == PB_HTTP_FAIL_TLS_PIN
             ? "tls_failed"
             : "unreachable";
}

static void went_down(struct gw_site *s, const char *state, const char *msg) {
  if (!s->down) {
    s->down = true;
    s->down_failures = 0;
    pb_info("site %s: requests wait until the PBX answers again", s->name);
  } else {
    pb_debug("site %s: still no answer: %s", s->name, msg);
  }
  s->down_failures++;
  int64_t delay = gw_probe_delay_ms(s->down_failures);
  s->probe_at_ms = pb_clock_now_ms() + delay;
  gw_site_set_state(s, state, msg);
  arm_pump(s, delay);
}

/* The queue resumes, and so does everything that gave up for a while
 * meanwhile: extensions backing off (up to APPLY_RETRY_MAX_SECONDS), a
 * failed directory read. */
static void came_back(struct gw_site *s) {
  if (!s->down)
    return;
  s->down = false;
  s->down_failures = 0;
  pb_info("site %s: the PBX answers again (%zu requests waiting, %zu "
          "extensions to retry)",
          s->name, s->queued, pb_map_count(s->retry));
  if (!strcmp(s->state, "unreachable") || !strcmp(s->state, "tls_failed") ||
      !strcmp(s->state, "api_disabled") || !strcmp(s->state, "forbidden"))
    gw_site_set_state(s, "ok", "");
  gw_apply_retry_now(s);
  gw_directory_resume(s);
}

/* ---- answers ---- */

static void describe(char *out, size_t len, const struct gw_call *c,
                     const struct pb_http_response *r) {
  static const char *const what[] = {
      [PB_HTTP_FAIL_DNS] = "the host name does not resolve",
      [PB_HTTP_FAIL_CONNECT] = "no TCP connection",
      [PB_HTTP_FAIL_TLS] = "the TLS handshake failed",
      [PB_HTTP_FAIL_TLS_VERIFY] = "the PBX certificate is not trusted",
      [PB_HTTP_FAIL_TLS_PIN] = "the PBX public key is not the pinned one",
      [PB_HTTP_FAIL_TIMEOUT] = "no answer in time",
      [PB_HTTP_FAIL_NO_ANSWER] = "the connection closed without an answer",
      [PB_HTTP_FAIL_TOO_BIG] = "the answer is too large",
      [PB_HTTP_FAIL_OTHER] = "the request failed",
  };
  const char *w = r->failure > 0 && r->failure <= PB_HTTP_FAIL_OTHER
                      ? what[r->failure]
                      : "the request failed";
  snprintf(out, len, "%s: %s (%s)", c->endpoint, w, r->errmsg ? r->errmsg : "");
}

static void unlink_sent(struct gw_site *s, struct gw_call *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    s->sent = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->next = c->prev = NULL;
  s->inflight--;
}

/* A request the PBX never answered goes back to the front of the queue. */
static void requeue(struct gw_site *s, struct gw_call *c) {
  if (c->body_cb) {
    free(c->body); /* rebuilt at the next send, with the latest status */
    c->body = NULL;
  }
  push_front(s, c);
}

static void on_answer(const struct pb_http_response *r, void *ud) {
  struct gw_call *c = ud;
  struct gw_site *s = c->site;
  char msg[400];
  unlink_sent(s, c);
  if (s->removed) {
    call_free(c);
    gw_site_release(s);
    return;
  }
  if (c->probe)
    s->probes--;
  s->last_reached_api = !r->err || r->failure == PB_HTTP_FAIL_TIMEOUT ||
                        r->failure == PB_HTTP_FAIL_NO_ANSWER ||
                        r->failure == PB_HTTP_FAIL_OTHER;
  if (r->err && r->failure != PB_HTTP_FAIL_TOO_BIG) {
    describe(msg, sizeof msg, c, r);
    gw_outage_note(s->down, &s->server_errors, GW_ANSWER_NONE);
    went_down(s, failure_state(r->failure), msg);
    if (c->probe)
      call_free(c);
    else if (c->no_token)
      finish(c, PB_EHTTP, msg, NULL); /* the token code judges the outcome */
    else
      requeue(s, c);
    gw_pbx_pump(s);
    return;
  }
  if (r->err) {
    describe(msg, sizeof msg, c, r);
    finish(c, PB_EHTTP, msg, NULL);
    gw_pbx_pump(s);
    return;
  }
  json_t *j = pb_json_parse(r->body, r->len, NULL, 0);
  int64_t code = 0;
  const char *errmsg = NULL;
  bool envelope = gw_envelope(j, &code, &errmsg);
  if (r->status >= 500) {
    if (gw_outage_note(s->down, &s->server_errors, GW_ANSWER_SERVER_ERROR) ==
        GW_OUTAGE_DOWN) {
      /* The PBX (or its proxy) fails everything: wait for it like for a
       * PBX that does not answer, instead of each extension backing off on
       * its own. */
      snprintf(msg, sizeof msg,
               "%s: HTTP %ld from the PBX (%d answers in a "
               "row)",
               c->endpoint, r->status, s->server_errors);
      went_down(s, "unreachable", msg);
      if (c->probe)
        call_free(c);
      else if (c->no_token)
        finish(c, PB_EHTTP, msg, NULL);
      else
        requeue(s, c);
    } else {
      snprintf(msg, sizeof msg, "%s: HTTP %ld from the PBX", c->endpoint,
               r->status);
      finish(c, PB_EHTTP, msg, NULL);
    }
  } else if (!envelope) {
    /* Something answers, but not the Open API: the API is off, or the URL
     * points elsewhere. Nothing will work until that changes. */
    s->last_reached_api = false;
    snprintf(msg, sizeof msg,
             "%s: HTTP %ld without an Open API answer: is the API enabled on "
             "the PBX (Integrations > API) and the URL right?",
             c->endpoint, r->status);
    went_down(s, "api_disabled", msg);
    if (c->probe)
      call_free(c);
    else if (c->no_token)
      finish(c, PB_EHTTP, msg, NULL);
    else
      requeue(s, c);
  } else if (code == GW_ERRCODE_IP_FORBIDDEN) {
    snprintf(msg, sizeof msg,
             "%s: errcode 70087 (%s): this gateway's IP address is not in the "
             "PBX's API allow-list",
             c->endpoint, errmsg);
    went_down(s, "forbidden", msg);
    if (c->probe)
      call_free(c);
    else if (c->no_token)
      finish(c, PB_EPBX, msg, j);
    else
      requeue(s, c);
  } else {
    if (gw_outage_note(s->down, &s->server_errors, GW_ANSWER_API) ==
        GW_OUTAGE_BACK)
      came_back(s);
    if (c->probe) {
      call_free(c);
    } else if ((code == GW_ERRCODE_TOKEN_EXPIRED ||
                code == GW_ERRCODE_INVALID_TOKEN) &&
               !c->no_token && !c->token_retried) {
      /* One retry, once a fresh token is there. */
      pb_info("site %s: %s: the PBX says the token %s: getting another one",
              s->name, c->endpoint,
              code == GW_ERRCODE_TOKEN_EXPIRED ? "expired" : "is not valid");
      gw_token_rejected(s, c->token, code);
      c->token_retried = true;
      requeue(s, c);
    } else if (code != 0 || r->status != 200) {
      if (r->status != 200)
        snprintf(msg, sizeof msg, "%s: HTTP %ld, errcode %lld (%s)",
                 c->endpoint, r->status, (long long)code, errmsg);
      else
        snprintf(msg, sizeof msg, "%s: errcode %lld (%s)", c->endpoint,
                 (long long)code, errmsg);
      if (code == GW_ERRCODE_TOKEN_EXPIRED || code == GW_ERRCODE_INVALID_TOKEN)
        gw_token_rejected(s, c->token, code);
      finish(c, PB_EPBX, msg, j);
    } else {
      finish(c, 0, NULL, j);
    }
  }
  json_decref(j);
  gw_pbx_pump(s);
}

/* ---- sending ---- */

static int send_call(struct gw_site *s, struct gw_call *c) {
  char url[GW_URL_MAX + 1024];
  struct pb_http_request req;
  if (c->token)
    sodium_memzero(c->token, strlen(c->token));
  free(c->token);
  c->token = NULL;
  if (!c->no_token && s->token_state == TOKEN_VALID &&
      !(c->token = strdup(s->access_token)))
    return PB_ENOMEM;
  const char *token = c->token;
  int rc = gw_http_request(s->gw, &s->set, s->base_url,
                           c->post ? "POST" : "GET", c->endpoint, c->query,
                           token, c->body, url, sizeof url, &req);
  if (!rc)
    rc = s->gw->io.http_send(s->gw->io.ud, &req, on_answer, c);
  if (rc)
    return rc;
  c->prev = NULL;
  c->next = s->sent;
  if (s->sent)
    s->sent->prev = c;
  s->sent = c;
  s->inflight++;
  return 0;
}

static int max_inflight(const struct gw_site *s) {
  return s->set.max_concurrency > 0 ? s->set.max_concurrency
                                    : s->gw->max_concurrency;
}

/* The token bucket: `rate` starts per second, at most `burst` at once. */
static bool take_rate(struct gw_site *s, int64_t *wait_ms) {
  int rate = s->set.rate_per_second > 0 ? s->set.rate_per_second
                                        : s->gw->rate_per_second;
  double burst = s->gw->rate_burst;
  int64_t now = pb_clock_mono_ms();
  if (s->bucket_ms == 0) {
    s->bucket = burst;
    s->bucket_ms = now;
  }
  s->bucket += (double)(now - s->bucket_ms) * rate / 1000.0;
  if (s->bucket > burst)
    s->bucket = burst;
  s->bucket_ms = now;
  if (s->bucket >= 1.0) {
    s->bucket -= 1.0;
    return true;
  }
  *wait_ms = (int64_t)((1.0 - s->bucket) * 1000.0 / rate) + 1;
  return false;
}

static void send_probe(struct gw_site *s) {
  /* The next one goes at this time even if this one hangs (a PBX that
   * accepts connections but does not answer until the timeout). */
  s->probe_at_ms = pb_clock_now_ms() + gw_probe_delay_ms(s->down_failures);
  struct gw_call *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->site = s;
  c->probe = true;
  c->no_token = s->token_state != TOKEN_VALID;
  c->endpoint = "extension/list";
  c->query = strdup("page=1&page_size=1");
  if (!c->query || send_call(s, c)) {
    call_free(c);
    return;
  }
  s->probes++;
}

void gw_pbx_pump(struct gw_site *s) {
  if (s->pumping || s->removed)
    return;
  s->pumping = true;
  while (s->inflight < max_inflight(s)) {
    int64_t wait = 0;
    if (s->down) {
      /* Probes go on even when nothing waits in the queue (extensions
       * backing off, the status operators watch). */
      int64_t left = s->probe_at_ms - pb_clock_now_ms();
      if (s->probes >= GW_PROBES_MAX)
        break; /* its answer pumps again */
      if (left > 0) {
        arm_pump(s, left);
        break;
      }
      if (!take_rate(s, &wait)) {
        arm_pump(s, wait);
        break;
      }
      send_probe(s);
      continue; /* arms the timer for the next one */
    }
    if (!s->queue_head)
      break;
    struct gw_call *c = s->queue_head;
    if (!c->no_token && s->token_state != TOKEN_VALID) {
      gw_token_ensure(s); /* may put a token request in front */
      if (s->token_state == TOKEN_VALID ||
          (s->queue_head != c && s->queue_head->no_token))
        continue;
      break;
    }
    if (!take_rate(s, &wait)) {
      arm_pump(s, wait);
      break;
    }
    pop(s);
    if (c->body_cb && !c->body) {
      json_t *body = c->body_cb(s, c->ud);
      if (!body) {
        s->bucket += 1.0; /* nothing went out */
        finish(c, PB_ESTATE, "nothing to send any more", NULL);
        continue;
      }
      c->body = pb_json_dump(body);
      json_decref(body);
    }
    if (send_call(s, c)) {
      char msg[200];
      snprintf(msg, sizeof msg, "%s: the request could not be started",
               c->endpoint);
      finish(c, PB_EHTTP, msg, NULL);
    }
  }
  s->pumping = false;
}

int gw_pbx_submit(struct gw_site *s, const struct gw_request *r) {
  if (s->removed || s->queued >= QUEUE_MAX) {
    json_decref(r->body);
    return s->removed ? PB_ESTATE : PB_ETOOBIG;
  }
  struct gw_call *c = calloc(1, sizeof *c);
  if (!c) {
    json_decref(r->body);
    return PB_ENOMEM;
  }
  c->site = s;
  c->post = strcmp(r->method, "POST") == 0;
  c->no_token = r->no_token;
  c->body_cb = r->body_cb;
  c->cb = r->cb;
  c->ud = r->ud;
  c->endpoint = r->endpoint;
  if (r->query && !(c->query = strdup(r->query))) {
    free(c);
    json_decref(r->body);
    return PB_ENOMEM;
  }
  if (r->body) {
    c->body = pb_json_dump(r->body);
    json_decref(r->body);
  }
  if (r->urgent)
    push_front(s, c);
  else
    push_back(s, c);
  gw_pbx_pump(s);
  return 0;
}

void gw_pbx_cancel_queue(struct gw_site *s) {
  struct gw_call *c;
  while ((c = pop(s)))
    finish(c, PB_ESTATE, "the site stopped", NULL);
}

void gw_pbx_forget_sent(struct gw_site *s) {
  while (s->sent) {
    struct gw_call *c = s->sent;
    unlink_sent(s, c);
    call_free(c);
  }
}
