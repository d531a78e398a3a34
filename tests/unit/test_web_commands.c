/* web-api's commands and requests on the bus (services/web-api/command.c)
 * through a fake bus (struct web_bus_io) and the fake HTTP server: what is
 * sent for an override and a relayed request, and the HTTP answer for each
 * answer of the owning service — ok, refused, silent (504), offline or no
 * broker, MQTT 3.1.1 — with secrets stripped from what comes back and the
 * audit log written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/map.h"
#include "pb/store.h"
#include "pb/tz.h"
#include "test_web_fake.h"

static struct web w;
static struct pb_config *cfg;
static char dir[] = "/tmp/pb-test-web-commands-XXXXXX";

/* ---- the fake bus ---- */
static bool bus_up = true;
static int command_rc;
static struct {
  char service[64], topic[200], action[64];
  char *payload; /* the command's payload, or the request dumped */
  pb_bus_response_cb *done;
  void *done_ud;
  int timeout_ms;
} sent;
static int nsent, npublished;
static char published_topic[200];

static void forget_sent(void) {
  free(sent.payload);
  memset(&sent, 0, sizeof sent);
}

static bool fake_connected(void *ud) {
  (void)ud;
  return bus_up;
}

static int fake_publish(void *ud, const char *topic, const void *payload,
                        size_t len) {
  (void)ud, (void)payload, (void)len;
  npublished++;
  snprintf(published_topic, sizeof published_topic, "%s", topic);
  return 0;
}

static int fake_command(void *ud, const char *service, const char *topic,
                        const void *payload, size_t len, int timeout_ms,
                        pb_bus_response_cb *done, void *done_ud) {
  (void)ud;
  if (command_rc)
    return command_rc;
  forget_sent();
  nsent++;
  snprintf(sent.service, sizeof sent.service, "%s", service);
  snprintf(sent.topic, sizeof sent.topic, "%s", topic);
  sent.payload = strndup(payload, len);
  sent.done = done;
  sent.done_ud = done_ud;
  sent.timeout_ms = timeout_ms;
  return 0;
}

static int fake_request(void *ud, const char *service, const char *action,
                        json_t *request, int timeout_ms,
                        pb_bus_response_cb *done, void *done_ud) {
  (void)ud;
  forget_sent();
  nsent++;
  snprintf(sent.service, sizeof sent.service, "%s", service);
  snprintf(sent.action, sizeof sent.action, "%s", action);
  sent.payload = json_dumps(request, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(request);
  sent.done = done;
  sent.done_ud = done_ud;
  sent.timeout_ms = timeout_ms;
  return 0;
}

/* The owning service answers `json` (NULL: it stays silent). */
static void answer(const char *json) {
  CHECK(sent.done != NULL);
  if (!sent.done)
    return;
  json_t *j = json ? json_loads(json, 0, NULL) : NULL;
  pb_bus_response_cb *done = sent.done;
  sent.done = NULL;
  done(NULL, j, sent.done_ud);
  json_decref(j);
}

static void setup(void) {
  char err[256];
  CHECK(mkdtemp(dir) != NULL);
  cfg = pb_config_new();
  CHECK(cfg != NULL);
  CHECK_INT(pb_config_set(cfg, "DATA_DIR", dir, err, sizeof err), 0);
  CHECK_INT(pb_config_set(cfg, "SITE", "hq", err, sizeof err), 0);
  CHECK_INT(
      pb_config_set(cfg, "WEB_COMMAND_TIMEOUT_MS", "1500", err, sizeof err), 0);
  w.cfg = cfg;
  CHECK_INT(pb_tz_load("UTC", &w.tz), 0);
  CHECK_INT(web_store_open(cfg, &w.store), 0);
  CHECK_INT(web_model_init(&w), 0);
  CHECK_INT(web_keys_init(&w), 0);
  CHECK(web_model_get_or_create(&w, "hq", "201") != NULL);
  w.io = (struct web_bus_io){.connected = fake_connected,
                             .publish = fake_publish,
                             .command = fake_command,
                             .request = fake_request};
}

static void set_availability(const char *service, const char *value) {
  free(pb_map_remove(w.services, service));
  char *v = strdup(value);
  CHECK(v && pb_map_put(w.services, service, v) == 0);
}

/* An admin's PUT of an override, by token. */
static void put_override(struct fake_req *f) {
  fake_req_init(f, &w, "PUT", "/api/extensions/201/override");
  f->req.auth.role = WEB_ROLE_ADMIN;
  snprintf(f->req.auth.user, sizeof f->req.auth.user, "root");
  fake_req_header(f, "Content-Type", "application/json");
  f->req.body = "{\"status\":\"away\",\"minutes\":30,\"reason\":\"dentist\"}";
  f->req.body_len = strlen(f->req.body);
  web_route(&w, &f->req, &f->resp);
}

static int64_t audit_rows(const char *kind) {
  struct pb_stmt *st =
      pb_store_stmt(w.store, "SELECT COUNT(*) FROM audit WHERE kind = ?1");
  int64_t n = -1;
  if (st && !pb_stmt_bind_text(st, 1, kind) && pb_stmt_step(st) == PB_STMT_ROW)
    n = pb_stmt_int(st, 0);
  web_stmt_finish(st);
  return n;
}

static void command_ok(void) {
  struct fake_req f;
  int before = nsent;
  put_override(&f);
  CHECK_INT(nsent, before + 1);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.service, "scheduler");
  CHECK_STR(sent.topic, "ext/hq/201/override/set");
  CHECK_INT(sent.timeout_ms, 1500);
  json_t *p = json_loads(sent.payload ? sent.payload : "", 0, NULL);
  /* The author is who is logged in. */
  CHECK_STR(pb_json_str(p, "by"), "root");
  CHECK_STR(pb_json_str(p, "status"), "away");
  json_decref(p);
  CHECK(f.wc.wait != NULL);
  answer("{\"status\":\"ok\"}");
  CHECK(f.http.has_finished);
  CHECK_INT(f.http.finished.status, 200);
  CHECK_STR(pb_json_str(f.http.finished.body, "status"), "ok");
  CHECK_STR(pb_json_str(f.http.finished.body, "number"), "201");
  CHECK(json_is_object(json_object_get(f.http.finished.body, "override")));
  CHECK(f.wc.wait == NULL);
  CHECK_INT(audit_rows("command"), 1);
  fake_req_cleanup(&f);
}

static void command_refused_or_silent(void) {
  struct fake_req f;
  put_override(&f);
  answer("{\"status\":\"error\",\"error\":\"no such extension\","
         "\"code\":\"not_found\",\"details\":[1]}");
  CHECK_INT(f.http.finished.status, 404);
  CHECK_STR(pb_json_str(f.http.finished.body, "error"), "no such extension");
  CHECK_STR(pb_json_str(f.http.finished.body, "service"), "scheduler");
  CHECK(json_is_array(json_object_get(f.http.finished.body, "details")));
  fake_req_cleanup(&f);

  uint64_t timeouts = w.metrics.commands_timeout;
  put_override(&f);
  answer(NULL);
  CHECK_INT(f.http.finished.status, 504);
  CHECK_STR(pb_json_str(f.http.finished.body, "error"),
            "scheduler did not answer within 1500 ms (its availability is "
            "'unknown'): nothing was changed by web-api");
  CHECK_INT(w.metrics.commands_timeout, timeouts + 1);
  CHECK_INT(audit_rows("command"), 3);
  fake_req_cleanup(&f);

  /* The HTTP request went away: the answer is dropped, the effect kept. */
  put_override(&f);
  web_command_detach(&f.wc);
  answer("{\"status\":\"ok\"}");
  CHECK(!f.http.has_finished);
  CHECK_INT(audit_rows("command"), 4);
  fake_req_cleanup(&f);
}

static void not_sent(void) {
  struct fake_req f;
  int before = nsent;
  /* The author is never what the body claims. */
  fake_req_init(&f, &w, "PUT", "/api/extensions/201/override");
  f.req.auth.role = WEB_ROLE_ADMIN;
  fake_req_header(&f, "Content-Type", "application/json");
  f.req.body = "{\"status\":\"away\",\"by\":\"somebody else\"}";
  f.req.body_len = strlen(f.req.body);
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 400);
  CHECK_STR(fake_error(&f.resp), "unknown field 'by'");
  fake_req_cleanup(&f);
  set_availability("scheduler", "offline");
  put_override(&f);
  CHECK_INT(f.resp.status, 504);
  CHECK_STR(fake_error(&f.resp),
            "scheduler is offline: the command was not sent, nothing changed");
  fake_req_cleanup(&f);
  set_availability("scheduler", "online");
  bus_up = false;
  put_override(&f);
  CHECK_INT(f.resp.status, 504);
  CHECK_STR(fake_error(&f.resp),
            "scheduler is unreachable (web-api has no broker): the command "
            "was not sent, nothing changed");
  fake_req_cleanup(&f);
  bus_up = true;
  CHECK_INT(nsent, before);
  /* MQTT 3.1.1 has no response topic: sent, and said so. */
  command_rc = PB_EUNAVAIL;
  put_override(&f);
  CHECK_INT(f.resp.status, 202);
  CHECK_INT(npublished, 1);
  CHECK_STR(published_topic, "ext/hq/201/override/set");
  fake_req_cleanup(&f);
  command_rc = 0;
}

static void request_relayed(void) {
  struct fake_req f;
  fake_req_init(&f, &w, "GET", "/api/sources");
  f.req.auth.role = WEB_ROLE_READONLY;
  snprintf(f.req.auth.user, sizeof f.req.auth.user, "reader");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.service, "ical-ingest");
  CHECK_STR(sent.action, "source/list");
  /* Whatever a service answers, no secret reaches an HTTP client. */
  answer("{\"status\":\"ok\",\"data\":{\"sources\":[{\"id\":\"a\","
         "\"password\":\"p\",\"nested\":{\"token\":\"t\",\"keep\":1}}]}}");
  CHECK_INT(f.http.finished.status, 200);
  json_t *src =
      json_array_get(json_object_get(f.http.finished.body, "sources"), 0);
  CHECK_STR(pb_json_str(src, "id"), "a");
  CHECK(json_object_get(src, "password") == NULL);
  CHECK(json_object_get(json_object_get(src, "nested"), "token") == NULL);
  CHECK(json_object_get(json_object_get(src, "nested"), "keep") != NULL);
  /* A read is not a change: not in the audit log. */
  CHECK_INT(audit_rows("command"), 4);
  fake_req_cleanup(&f);

  /* A secret is never sent in clear: without the service's key, 503. */
  int before = nsent;
  fake_req_init(&f, &w, "POST", "/api/sources");
  f.req.auth.role = WEB_ROLE_ADMIN;
  fake_req_header(&f, "Content-Type", "application/json");
  f.req.body = "{\"id\":\"a\",\"url\":\"https://cal.example/private-x.ics\"}";
  f.req.body_len = strlen(f.req.body);
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 503);
  CHECK(strstr(fake_error(&f.resp),
               "publishes it on R/svc/ical-ingest/pubkey when it starts") !=
        NULL);
  CHECK_INT(nsent, before);
  fake_req_cleanup(&f);
}

static void cleanup(void) {
  forget_sent();
  web_command_cleanup(&w);
  web_keys_cleanup(&w);
  web_model_cleanup(&w);
  pb_store_close(w.store);
  pb_tz_free(w.tz);
  pb_config_free(cfg);
  char path[256];
  static const char *const files[] = {"web-api.db", "web-api.db-wal",
                                      "web-api.db-shm"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(void) {
  pb_clock_set_fixed(1700000000000LL);
  setup();
  RUN(command_ok);
  RUN(command_refused_or_silent);
  RUN(not_sent);
  RUN(request_relayed);
  cleanup();
  return CHECK_DONE();
}
