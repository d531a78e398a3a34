/* A fake I/O for yeastar-gateway's unit tests (mosquitto's *_stubs.c
 * pattern): struct gw_io records what the gateway would publish and the
 * requests it would send to the PBX, and the test answers each request as a
 * PBX would. The real gateway_core logic, loop, timers and database run
 * against a frozen clock (pb/clock.h). */
#ifndef TEST_GW_FAKE_H
#define TEST_GW_FAKE_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fake_bus.h"
#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/secretbox.h"
#include "pb/store.h"

/* ---- the bus side: publishes and events (fake_bus.h) ---- */

static int fake_publish(void *ud, const char *topic, const char *payload,
                        size_t len, bool retain) {
  (void)ud;
  return fake_record(topic, payload, len, retain, false);
}

static int fake_event(void *ud, const char *kind, json_t *ev) {
  (void)ud;
  return fake_record_event(kind, ev);
}

static void fake_reply(void *ud, struct pb_bus_reply *reply, const char *error,
                       json_t *data) {
  (void)ud;
  (void)reply;
  (void)error;
  json_decref(data);
}

static bool fake_connected(void *ud) {
  (void)ud;
  return true;
}

/* ---- the PBX side: requests waiting for the test's answer ---- */

struct fake_req {
  char method[8];
  char endpoint[64]; /* "get_token", "extension/list"... */
  char query[512];   /* without access_token */
  char token[128];   /* the access_token it carries, "" when none */
  char *body;
  pb_http_done *done;
  void *ud;
  bool answered;
};

static struct fake_req fake_reqs[4096];
static size_t fake_nreqs;

static int fake_http_send(void *ud, const struct pb_http_request *req,
                          pb_http_done *done, void *done_ud) {
  (void)ud;
  if (fake_nreqs == sizeof fake_reqs / sizeof fake_reqs[0])
    return PB_ETOOBIG;
  struct fake_req *r = &fake_reqs[fake_nreqs++];
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", req->method);
  const char *ep = strstr(req->url, "/openapi/v1.0/");
  ep = ep ? ep + strlen("/openapi/v1.0/") : req->url;
  size_t n = strcspn(ep, "?");
  snprintf(r->endpoint, sizeof r->endpoint, "%.*s", (int)n, ep);
  if (ep[n] == '?') {
    const char *q = ep + n + 1;
    const char *tok = strstr(q, "access_token=");
    size_t qlen = tok ? (size_t)(tok - q) : strlen(q);
    if (qlen && q[qlen - 1] == '&')
      qlen--;
    snprintf(r->query, sizeof r->query, "%.*s", (int)qlen, q);
    if (tok)
      snprintf(r->token, sizeof r->token, "%s", tok + strlen("access_token="));
  }
  r->body = req->body ? strdup(req->body) : NULL;
  r->done = done;
  r->ud = done_ud;
  return 0;
}

static const struct gw_io fake_io = {.publish = fake_publish,
                                     .event = fake_event,
                                     .reply = fake_reply,
                                     .http_send = fake_http_send,
                                     .connected = fake_connected};

/* Requests to `endpoint` not answered yet. */
FAKE_UNUSED static size_t fake_pending(const char *endpoint) {
  size_t n = 0;
  for (size_t i = 0; i < fake_nreqs; i++)
    n += !fake_reqs[i].answered && strcmp(fake_reqs[i].endpoint, endpoint) == 0;
  return n;
}

/* Requests to `endpoint` sent since mark (answered or not). */
FAKE_UNUSED static size_t fake_sent(size_t mark, const char *endpoint) {
  size_t n = 0;
  for (size_t i = mark; i < fake_nreqs; i++)
    n += strcmp(fake_reqs[i].endpoint, endpoint) == 0;
  return n;
}

/* The oldest request to `endpoint` not answered yet, or NULL. */
FAKE_UNUSED static struct fake_req *fake_next(const char *endpoint) {
  for (size_t i = 0; i < fake_nreqs; i++)
    if (!fake_reqs[i].answered && strcmp(fake_reqs[i].endpoint, endpoint) == 0)
      return &fake_reqs[i];
  return NULL;
}

/* Answers r with an HTTP status and body (an Open API envelope). */
FAKE_UNUSED static void fake_answer(struct fake_req *r, long status,
                                    const char *body) {
  CHECK(r != NULL); /* a request the test expected */
  if (!r)
    return;
  struct pb_http_response resp = {.status = status,
                                  .body = body,
                                  .len = strlen(body),
                                  .primary_ip = "127.0.0.1"};
  r->answered = true;
  r->done(&resp, r->ud);
}

/* r gets no HTTP answer (refused, timeout...). */
FAKE_UNUSED static void fake_fail(struct fake_req *r,
                                  enum pb_http_failure failure) {
  CHECK(r != NULL);
  if (!r)
    return;
  struct pb_http_response resp = {.err = PB_EHTTP,
                                  .errmsg = "fake failure",
                                  .body = "",
                                  .failure = failure,
                                  .primary_ip = ""};
  r->answered = true;
  r->done(&resp, r->ud);
}

FAKE_UNUSED static void fake_answer_ok(struct fake_req *r) {
  fake_answer(r, 200, "{\"errcode\":0,\"errmsg\":\"SUCCESS\"}");
}

FAKE_UNUSED static void fake_answer_errcode(struct fake_req *r, int code) {
  char body[128];
  snprintf(body, sizeof body, "{\"errcode\":%d,\"errmsg\":\"FAILURE\"}", code);
  fake_answer(r, 200, body);
}

/* A get_token or refresh_token answer. */
FAKE_UNUSED static void fake_answer_token(struct fake_req *r,
                                          const char *access, int lifetime_s) {
  char body[512];
  snprintf(body, sizeof body,
           "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"access_token_expire_time\":"
           "%d,\"access_token\":\"%s\",\"refresh_token_expire_time\":86400,"
           "\"refresh_token\":\"refresh-%s\"}",
           lifetime_s, access, access);
  fake_answer(r, 200, body);
}

/* One page of extension/list: numbers[i] with id 1000 + i and status[i]
 * ("available", "away"...). */
FAKE_UNUSED static void fake_answer_list(struct fake_req *r,
                                         const char *const *numbers,
                                         const char *const *status, size_t n) {
  json_t *data = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(
        data, json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)(1000 + i),
                        "number", numbers[i], "caller_id_name", numbers[i],
                        "presence_status", status[i]));
  json_t *j = json_pack("{s:i,s:s,s:I,s:o}", "errcode", 0, "errmsg", "SUCCESS",
                        "total_number", (json_int_t)n, "data", data);
  char *text = pb_json_dump(j);
  fake_answer(r, 200, text);
  free(text);
  json_decref(j);
}

/* The presence_status an extension/update request sets, "" if none. */
FAKE_UNUSED static const char *fake_update_status(const struct fake_req *r) {
  static char status[32];
  json_t *j = r && r->body ? json_loads(r->body, 0, NULL) : NULL;
  snprintf(status, sizeof status, "%s",
           j ? pb_json_str(j, "presence_status")
                   ? pb_json_str(j, "presence_status")
                   : ""
             : "");
  json_decref(j);
  return status;
}

FAKE_UNUSED static void fake_reset(void) {
  fake_forget_msgs();
  for (size_t i = 0; i < fake_nreqs; i++)
    free(fake_reqs[i].body);
  fake_nreqs = 0;
}

/* ---- a gateway on a frozen clock ---- */

struct env {
  struct gw gw;
  char dir[64];
};

/* Fires whatever is due at the fake "now". */
FAKE_UNUSED static void turn(struct env *v) {
  for (int i = 0; i < 3; i++)
    pb_loop_run_once(v->gw.loop, 0);
}

/* Whether advance_ms answers the token requests (refreshes ahead of
 * expiry) on its way, as a PBX would; test_gw_token answers them itself. */
static bool fake_auto_tokens = true;
static int fake_token_serial = 1;

static void answer_token_requests(void) {
  const char *const endpoints[] = {"get_token", "refresh_token"};
  for (size_t i = 0; i < 2; i++) {
    struct fake_req *r;
    while ((r = fake_next(endpoints[i]))) {
      char token[32];
      snprintf(token, sizeof token, "tok-%d", ++fake_token_serial);
      fake_answer_token(r, token, 1800);
    }
  }
}

/* Moves the clock on by `ms` a minute at most at a time, firing what is
 * due at each step. */
FAKE_UNUSED static void advance_ms(struct env *v, int64_t ms) {
  while (ms > 0) {
    int64_t step = ms < 60000 ? ms : 60000;
    pb_clock_advance(step);
    turn(v);
    if (fake_auto_tokens)
      answer_token_requests();
    ms -= step;
  }
}

FAKE_UNUSED static void env_start(struct env *v) {
  struct gw *gw = &v->gw;
  CHECK_INT(pb_loop_new(&gw->loop), 0);
  CHECK_INT(pb_secretbox_open(v->dir, &gw->box), 0);
  CHECK_INT(gw_store_open(v->dir, &gw->store), 0);
  CHECK_INT(gw_retained_load(gw), 0);
}

/* A fresh gateway in a new data directory, as main.c sets it up with the
 * defaults of docs/config.md (a high rate, so the token bucket never waits:
 * its clock is the monotonic one, not the fake). */
FAKE_UNUSED static void env_new(struct env *v, bool enforce) {
  memset(v, 0, sizeof *v);
  snprintf(v->dir, sizeof v->dir, "/tmp/pb-gw-test-XXXXXX");
  CHECK(mkdtemp(v->dir) != NULL);
  fake_reset();
  pb_clock_set_fixed(1795000000000); /* a Wednesday of November 2026 */
  v->gw = (struct gw){.io = fake_io,
                      .user_agent = "test",
                      .timeout_ms = 10000,
                      .max_concurrency = 4,
                      .rate_per_second = 10000,
                      .rate_burst = 10000,
                      .max_tokens = 8,
                      .retry_max_s = 300,
                      .directory_every_s = 3600,
                      .readback_every_s = 0,
                      .drift_enforce = enforce};
  env_start(v);
}

FAKE_UNUSED static void env_stop(struct env *v) {
  struct gw *gw = &v->gw;
  gw_tests_free(gw);
  gw_sites_stop(gw);
  gw_sites_free(gw);
  gw_retained_free(gw);
  pb_store_close(gw->store);
  gw->store = NULL;
  pb_secretbox_free(gw->box);
  gw->box = NULL;
  pb_loop_free(gw->loop);
  gw->loop = NULL;
  /* Requests still waiting belong to the gateway just freed. */
  for (size_t i = 0; i < fake_nreqs; i++)
    fake_reqs[i].answered = true;
}

/* The gateway restarts on the same data directory (a kill -9 loses
 * nothing the database holds). */
FAKE_UNUSED static void env_restart(struct env *v) {
  env_stop(v);
  env_start(v);
}

FAKE_UNUSED static void env_free(struct env *v) {
  env_stop(v);
  const char *files[] = {"yeastar-gateway.db", "yeastar-gateway.db-wal",
                         "yeastar-gateway.db-shm", "secret.key"};
  char path[128];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", v->dir, files[i]);
    unlink(path);
  }
  CHECK_INT(rmdir(v->dir), 0);
  fake_reset();
}

/* Starts site `name` (the bus is up: it logs in and reads the directory
 * at once); the test answers. */
FAKE_UNUSED static struct gw_site *site_start(struct env *v, const char *name) {
  struct gw_site_settings set = {0};
  snprintf(set.name, sizeof set.name, "%s", name);
  snprintf(set.url, sizeof set.url, "http://127.0.0.1:1");
  snprintf(set.client_id, sizeof set.client_id, "client");
  set.secret = strdup("secret-0123456789");
  struct gw_site *s = NULL;
  CHECK_INT(gw_site_start(&v->gw, &set, false, &s), 0);
  gw_settings_cleanup(&set);
  return s;
}

/* A site that logged in (token "tok-1") and read its directory: the
 * extensions `numbers` showing `status`. */
FAKE_UNUSED static struct gw_site *site_ready(struct env *v, const char *name,
                                              const char *const *numbers,
                                              const char *const *status,
                                              size_t n) {
  struct gw_site *s = site_start(v, name);
  struct fake_req *r = fake_next("get_token");
  CHECK(r != NULL);
  if (r)
    fake_answer_token(r, "tok-1", 1800);
  r = fake_next("extension/list");
  CHECK(r != NULL);
  if (r)
    fake_answer_list(r, numbers, status, n);
  CHECK(s && s->directory_loaded);
  return s;
}

FAKE_UNUSED static void desire(struct gw_site *s, const char *number,
                               enum pb_presence status, int64_t next_at,
                               enum pb_presence next_status) {
  struct pb_desired d = {.status = status,
                         .cause = PB_CAUSE_SCHEDULE,
                         .since = pb_clock_now(),
                         .next_at = next_at,
                         .next_status = next_status};
  gw_apply_set_desired(s, number, &d);
}

#endif
