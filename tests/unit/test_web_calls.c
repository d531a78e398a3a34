/* web-api's calls (routes_calls.c, calls_export.c, calls_recording.c,
 * user_exts.c, handle_call.c) through a fake bus (struct web_bus_io) and
 * the fake HTTP server: what goes to call-log and yeastar-gateway for each
 * route, the answers (ok, refused, silent, offline), who may see and dial
 * which extension, the CSV export (pages, quoting, formula cells), a
 * recording in chunks and by Range, the audit log, and the call payloads
 * into the read model (bad ones refused). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/map.h"
#include "pb/store.h"
#include "pb/tz.h"
#include "test_web_fake.h"

static struct web w;
static struct pb_config *cfg;
static char dir[] = "/tmp/pb-test-web-calls-XXXXXX";

/* ---- the fake bus: the last request sent ---- */
static bool bus_up = true;
static struct {
  char service[64], action[64];
  json_t *request;
  pb_bus_response_cb *done;
  void *done_ud;
} sent;
static int nsent;

static void forget_sent(void) {
  json_decref(sent.request);
  memset(&sent, 0, sizeof sent);
}

static bool fake_connected(void *ud) {
  (void)ud;
  return bus_up;
}

static int fake_publish(void *ud, const char *topic, const void *payload,
                        size_t len) {
  (void)ud, (void)topic, (void)payload, (void)len;
  return 0;
}

static int fake_command(void *ud, const char *service, const char *topic,
                        const void *payload, size_t len, int timeout_ms,
                        pb_bus_response_cb *done, void *done_ud) {
  (void)ud, (void)service, (void)topic, (void)payload, (void)len,
      (void)timeout_ms, (void)done, (void)done_ud;
  return PB_EINVAL;
}

static int fake_request(void *ud, const char *service, const char *action,
                        json_t *request, int timeout_ms,
                        pb_bus_response_cb *done, void *done_ud) {
  (void)ud, (void)timeout_ms;
  forget_sent();
  nsent++;
  snprintf(sent.service, sizeof sent.service, "%s", service);
  snprintf(sent.action, sizeof sent.action, "%s", action);
  sent.request = request;
  sent.done = done;
  sent.done_ud = done_ud;
  return 0;
}

/* The service answers `json` (NULL: it stays silent until the timeout). */
static void answer_json(json_t *j) {
  CHECK(sent.done != NULL);
  if (!sent.done) {
    json_decref(j);
    return;
  }
  pb_bus_response_cb *done = sent.done;
  sent.done = NULL;
  done(NULL, j, sent.done_ud);
  json_decref(j);
}

static void answer(const char *json) {
  answer_json(json ? json_loads(json, 0, NULL) : NULL);
}

static const char *sent_str(const char *key) {
  return pb_json_str(sent.request, key);
}

static int64_t sent_int(const char *key) {
  return json_integer_value(json_object_get(sent.request, key));
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

static void set_availability(const char *service, const char *value) {
  free(pb_map_remove(w.services, service));
  char *v = strdup(value);
  CHECK(v && pb_map_put(w.services, service, v) == 0);
}

/* A request as `user` (admin when it is "root", else readonly), by token. */
static void req_as(struct fake_req *f, const char *user, const char *method,
                   const char *url) {
  fake_req_init(f, &w, method, url);
  f->req.auth.role =
      strcmp(user, "root") == 0 ? WEB_ROLE_ADMIN : WEB_ROLE_READONLY;
  snprintf(f->req.auth.user, sizeof f->req.auth.user, "%s", user);
}

static void with_body(struct fake_req *f, const char *body) {
  fake_req_header(f, "Content-Type", "application/json");
  f->req.body = body;
  f->req.body_len = strlen(body);
}

static void set_user_exts(const char *user, const char *body,
                          unsigned want_status) {
  struct fake_req f;
  char url[128];
  snprintf(url, sizeof url, "/api/users/%s/extensions", user);
  req_as(&f, "root", "PUT", url);
  with_body(&f, body);
  web_route(&w, &f.req, &f.resp);
  if (f.resp.status != want_status)
    fprintf(stderr, "PUT %s %s: %u %s\n", url, body, f.resp.status,
            fake_error(&f.resp));
  CHECK_INT(f.resp.status, want_status);
  fake_req_cleanup(&f);
}

static void setup(void) {
  char err[256];
  CHECK(mkdtemp(dir) != NULL);
  cfg = pb_config_new();
  CHECK(cfg != NULL);
  CHECK_INT(pb_config_set(cfg, "DATA_DIR", dir, err, sizeof err), 0);
  CHECK_INT(pb_config_set(cfg, "SITE", "hq", err, sizeof err), 0);
  w.cfg = cfg;
  CHECK_INT(pb_tz_load("Europe/Paris", &w.tz), 0);
  CHECK_INT(web_store_open(cfg, &w.store), 0);
  CHECK_INT(web_model_init(&w), 0);
  CHECK_INT(web_keys_init(&w), 0);
  CHECK(web_model_get_or_create(&w, "hq", "201") != NULL);
  w.io = (struct web_bus_io){.connected = fake_connected,
                             .publish = fake_publish,
                             .command = fake_command,
                             .request = fake_request};
  CHECK_INT(
      web_user_store_hash(&w, "bob", "$argon2id$x", WEB_ROLE_READONLY, true),
      0);
  CHECK_INT(
      web_user_store_hash(&w, "eve", "$argon2id$x", WEB_ROLE_READONLY, true),
      0);
}

/* ---- the user's extensions ---- */

static void user_extensions(void) {
  set_user_exts("bob",
                "{\"extensions\":[\"201\",\"paris/3000\","
                "{\"site\":\"hq\",\"ext\":\"205\"},\"201\"]}",
                200);
  json_t *mine = web_user_extensions(&w, "bob");
  CHECK_INT(json_array_size(mine), 3); /* the repeated one once */
  CHECK_STR(pb_json_str(json_array_get(mine, 0), "site"), "hq");
  CHECK_STR(pb_json_str(json_array_get(mine, 0), "ext"), "201");
  CHECK_STR(pb_json_str(json_array_get(mine, 2), "site"), "paris");
  json_decref(mine);
  struct web_auth bob = {.role = WEB_ROLE_READONLY};
  snprintf(bob.user, sizeof bob.user, "bob");
  CHECK(web_may_use_ext(&w, &bob, "hq", "201"));
  CHECK(web_may_use_ext(&w, &bob, "paris", "3000"));
  CHECK(!web_may_use_ext(&w, &bob, "hq", "3000"));
  CHECK(!web_may_use_ext(&w, &bob, "hq", ""));
  struct web_auth root = {.role = WEB_ROLE_ADMIN};
  CHECK(web_may_use_ext(&w, &root, "anywhere", "999"));
  /* Bad input: nothing changes. */
  set_user_exts("bob", "{\"extensions\":\"201\"}", 400);
  set_user_exts("bob", "{\"extensions\":[\"2 01\"]}", 400);
  set_user_exts("bob", "{\"extensions\":[{\"site\":\"hq\"}]}", 400);
  set_user_exts("bob", "{\"extensions\":[\"hq/201/x\"]}", 400);
  set_user_exts("nobody", "{\"extensions\":[]}", 404);
  mine = web_user_extensions(&w, "bob");
  CHECK_INT(json_array_size(mine), 3);
  json_decref(mine);
  CHECK_INT(audit_rows("user"), 1);
  /* Back to one: 201 on hq. */
  set_user_exts("bob", "{\"extensions\":[\"201\"]}", 200);
  /* The session says whose calls they are. */
  struct fake_req f;
  req_as(&f, "bob", "GET", "/api/session");
  web_route(&w, &f.req, &f.resp);
  json_t *ex = json_object_get(f.resp.body, "extensions");
  CHECK_INT(json_array_size(ex), 1);
  CHECK_STR(pb_json_str(json_array_get(ex, 0), "ext"), "201");
  fake_req_cleanup(&f);
}

/* ---- GET /api/calls, /api/extensions/<n>/calls, /api/calls/stats ---- */

static void search_admin(void) {
  struct fake_req f;
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, "number", "01 23-45.67 89");
  fake_req_query(&f, "direction", "inbound");
  fake_req_query(&f, "status", "no_answer");
  fake_req_query(&f, "from", "2026-11-01");
  fake_req_query(&f, "page", "2");
  fake_req_query(&f, "page_size", "20");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.service, "call-log");
  CHECK_STR(sent.action, "search");
  CHECK_STR(sent_str("number"), "0123456789");
  CHECK_STR(sent_str("direction"), "inbound");
  CHECK_STR(sent_str("status"), "no_answer");
  CHECK_STR(sent_str("from"), "2026-11-01");
  CHECK_INT(sent_int("page"), 2);
  CHECK_INT(sent_int("page_size"), 20);
  CHECK(sent_str("ext") == NULL); /* an admin sees every extension */
  answer("{\"status\":\"ok\",\"data\":{\"total\":0,\"page\":2,"
         "\"page_size\":20,\"cdrs\":[]}}");
  CHECK_INT(f.http.finished.status, 200);
  CHECK_INT(json_integer_value(json_object_get(f.http.finished.body, "total")),
            0);
  fake_req_cleanup(&f);
  /* Defaults: page 1 of 50. */
  req_as(&f, "root", "GET", "/api/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(sent_int("page"), 1);
  CHECK_INT(sent_int("page_size"), 50);
  answer(NULL);
  CHECK_INT(f.http.finished.status, 504);
  fake_req_cleanup(&f);
}

static unsigned bad_query(const char *key, const char *value) {
  struct fake_req f;
  int before = nsent;
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, key, value);
  web_route(&w, &f.req, &f.resp);
  unsigned status = f.resp.status;
  if (status == 400)
    CHECK(strstr(fake_error(&f.resp), key) != NULL);
  CHECK_INT(nsent, before); /* nothing sent */
  fake_req_cleanup(&f);
  return status;
}

static void search_bad_input(void) {
  CHECK_INT(bad_query("direction", "sideways"), 400);
  CHECK_INT(bad_query("status", "lost"), 400);
  CHECK_INT(bad_query("number", "call me"), 400);
  CHECK_INT(bad_query("number", "123456789012345678901234567890123"), 400);
  CHECK_INT(bad_query("page", "0"), 400);
  CHECK_INT(bad_query("page", "1x"), 400);
  CHECK_INT(bad_query("page_size", "1001"), 400);
  CHECK_INT(bad_query("site", "h q"), 400);
  CHECK_INT(bad_query("ext", "../x"), 400);
  CHECK_INT(bad_query("format", "xml"), 400);
  CHECK_INT(bad_query("from", ""), 400);
}

static void search_scoped(void) {
  struct fake_req f;
  /* bob owns 201 on hq: it is implied, and nothing else may be asked. */
  req_as(&f, "bob", "GET", "/api/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent_str("ext"), "201");
  CHECK_STR(sent_str("site"), "hq");
  answer("{\"status\":\"ok\",\"data\":{\"cdrs\":[]}}");
  fake_req_cleanup(&f);
  int before = nsent;
  req_as(&f, "bob", "GET", "/api/calls");
  fake_req_query(&f, "ext", "202");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 403);
  CHECK(strstr(fake_error(&f.resp), "own extensions") != NULL);
  fake_req_cleanup(&f);
  req_as(&f, "bob", "GET", "/api/extensions/202/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 403);
  fake_req_cleanup(&f);
  req_as(&f, "bob", "GET", "/api/calls/stats");
  fake_req_query(&f, "site", "paris");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 403);
  fake_req_cleanup(&f);
  /* eve owns nothing: told how to get some. */
  req_as(&f, "eve", "GET", "/api/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 403);
  CHECK(strstr(fake_error(&f.resp), "PUT /api/users/eve/extensions") != NULL);
  fake_req_cleanup(&f);
  CHECK_INT(nsent, before);
  /* Two extensions: which one must be said. */
  set_user_exts("eve", "{\"extensions\":[\"201\",\"202\"]}", 200);
  req_as(&f, "eve", "GET", "/api/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 400);
  fake_req_cleanup(&f);
  req_as(&f, "eve", "GET", "/api/extensions/202/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent_str("ext"), "202");
  CHECK_STR(sent_str("site"), "hq");
  answer("{\"status\":\"error\",\"error\":\"field 'from' is not a time\"}");
  CHECK_INT(f.http.finished.status, 400);
  CHECK_STR(pb_json_str(f.http.finished.body, "error"),
            "field 'from' is not a time");
  fake_req_cleanup(&f);
}

static void stats(void) {
  struct fake_req f;
  req_as(&f, "root", "GET", "/api/calls/stats");
  fake_req_query(&f, "group", "week");
  fake_req_query(&f, "top", "5");
  fake_req_query(&f, "from", "2026-11-01T00:00:00+01:00");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.action, "stats");
  CHECK_STR(sent_str("group"), "week");
  CHECK_INT(sent_int("top"), 5);
  answer("{\"status\":\"ok\",\"data\":{\"extensions\":[],\"numbers\":[],"
         "\"periods\":[],\"totals\":{}}}");
  CHECK_INT(f.http.finished.status, 200);
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/stats");
  web_route(&w, &f.req, &f.resp);
  CHECK_STR(sent_str("group"), "none");
  /* The last 30 days by default (the clock is fixed at 1700000000). */
  CHECK_STR(sent_str("to"), "2023-11-14T23:13:20+01:00");
  CHECK_STR(sent_str("from"), "2023-10-16T00:13:20+02:00");
  answer("{\"status\":\"ok\",\"data\":{}}");
  fake_req_cleanup(&f);
  int before = nsent;
  req_as(&f, "root", "GET", "/api/calls/stats");
  fake_req_query(&f, "group", "year");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 400);
  CHECK_INT(nsent, before);
  fake_req_cleanup(&f);
  /* call-log offline: 504 at once, nothing sent. */
  set_availability("call-log", "offline");
  req_as(&f, "root", "GET", "/api/calls/stats");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 504);
  CHECK(strstr(fake_error(&f.resp), "call-log is offline") != NULL);
  CHECK_INT(nsent, before);
  fake_req_cleanup(&f);
  set_availability("call-log", "online");
}

/* ---- POST /api/calls ---- */

static void dial(void) {
  struct fake_req f;
  req_as(&f, "bob", "POST", "/api/calls");
  with_body(&f, "{\"ext\":\"201\",\"number\":\"+33 (1) 23.45.67-89\"}");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.service, "yeastar-gateway");
  CHECK_STR(sent.action, "call/dial");
  CHECK_STR(sent_str("site"), "hq");
  CHECK_STR(sent_str("ext"), "201");
  CHECK_STR(sent_str("number"), "+33123456789");
  CHECK_STR(sent_str("by"), "bob");
  answer("{\"status\":\"ok\",\"data\":{\"site\":\"hq\",\"ext\":\"201\","
         "\"number\":\"+33123456789\",\"call_id\":\"17.1\"}}");
  CHECK_INT(f.http.finished.status, 200);
  CHECK_STR(pb_json_str(f.http.finished.body, "call_id"), "17.1");
  CHECK(f.wc.calls_job == NULL);
  fake_req_cleanup(&f);
  CHECK_INT(audit_rows("call"), 1);
  /* The gateway refuses (unknown extension): 400 with its words. */
  req_as(&f, "root", "POST", "/api/calls");
  with_body(&f, "{\"ext\":\"999\",\"number\":\"2000\",\"site\":\"paris\"}");
  web_route(&w, &f.req, &f.resp);
  CHECK_STR(sent_str("site"), "paris");
  answer("{\"status\":\"error\",\"error\":\"unknown extension '999'\","
         "\"code\":\"not_found\"}");
  CHECK_INT(f.http.finished.status, 400);
  CHECK_STR(pb_json_str(f.http.finished.body, "error"),
            "unknown extension '999'");
  fake_req_cleanup(&f);
  /* Silent gateway: 504. */
  req_as(&f, "root", "POST", "/api/calls");
  with_body(&f, "{\"ext\":\"201\",\"number\":\"2000\"}");
  web_route(&w, &f.req, &f.resp);
  answer(NULL);
  CHECK_INT(f.http.finished.status, 504);
  fake_req_cleanup(&f);
  CHECK_INT(audit_rows("call"), 3);
  /* Refused before anything is sent. */
  static const struct {
    const char *user, *body;
    unsigned status;
  } bad[] = {
      {"root", "{\"ext\":\"201\",\"number\":\"call me\"}", 400},
      {"root", "{\"ext\":\"201\",\"number\":\"+\"}", 400},
      {"root", "{\"ext\":\"201\",\"number\":\"12+34\"}", 400},
      {"root", "{\"ext\":\"201\"}", 400},
      {"root", "{\"ext\":201,\"number\":\"2000\"}", 400},
      {"root", "{\"ext\":\"2 01\",\"number\":\"2000\"}", 400},
      {"root", "{\"ext\":\"201\",\"number\":\"2000\",\"site\":5}", 400},
      {"root", "[1]", 400},
      {"bob", "{\"ext\":\"202\",\"number\":\"2000\"}", 403},
      {"eve", "{\"ext\":\"201\",\"number\":\"2000\",\"site\":\"paris\"}", 403},
  };
  int before = nsent;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    req_as(&f, bad[i].user, "POST", "/api/calls");
    with_body(&f, bad[i].body);
    web_route(&w, &f.req, &f.resp);
    if (f.resp.status != bad[i].status)
      fprintf(stderr, "%s: %u %s\n", bad[i].body, f.resp.status,
              fake_error(&f.resp));
    CHECK_INT(f.resp.status, bad[i].status);
    fake_req_cleanup(&f);
  }
  /* The gateway offline, the broker gone: 504. */
  set_availability("yeastar-gateway", "offline");
  req_as(&f, "root", "POST", "/api/calls");
  with_body(&f, "{\"ext\":\"201\",\"number\":\"2000\"}");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 504);
  fake_req_cleanup(&f);
  set_availability("yeastar-gateway", "online");
  bus_up = false;
  req_as(&f, "root", "POST", "/api/calls");
  with_body(&f, "{\"ext\":\"201\",\"number\":\"2000\"}");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 504);
  CHECK(strstr(fake_error(&f.resp), "no broker") != NULL);
  fake_req_cleanup(&f);
  bus_up = true;
  CHECK_INT(nsent, before);
}

/* ---- CSV ---- */

static void csv_cells(void) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"2000", "2000"},
      {"+33123456789", "'+33123456789"},
      {"=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""},
      {"-1", "'-1"},
      {"@SUM(A1)", "'@SUM(A1)"},
      {"a,b", "\"a,b\""},
      {"two\nlines", "\"two\nlines\""},
      {"\tx", "'\tx"},
      {"", ""},
      {"é", "é"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct pb_buf b;
    pb_buf_init(&b, 256);
    CHECK_INT(web_csv_cell(&b, cases[i].in), 0);
    CHECK_STR(pb_buf_str(&b), cases[i].out);
    pb_buf_free(&b);
  }
  struct pb_buf small;
  pb_buf_init(&small, 4);
  CHECK(web_csv_cell(&small, "123456") != 0);
  pb_buf_free(&small);
}

static json_t *cdr(int i) {
  char id[32];
  snprintf(id, sizeof id, "1700000000.%d", i);
  return json_pack("{s:s,s:s,s:s,s:n,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:n,s:s,s:s}",
                   "site", "hq", "call_id", id, "start",
                   "2026-11-23T09:00:00+01:00", "answer", "end",
                   "2026-11-23T09:01:00+01:00", "from", "+33123456789", "to",
                   "201", "direction", "inbound", "status", "no_answer",
                   "talk_seconds", 0, "ring_seconds", 60, "trunk", "extension",
                   "201", "recording", i == 0 ? "x.wav" : "");
}

static json_t *page_of(int first, int count, int total) {
  json_t *list = json_array();
  for (int i = first; i < first + count; i++)
    json_array_append_new(list, cdr(i));
  return json_pack("{s:s,s:{s:i,s:o}}", "status", "ok", "data", "total", total,
                   "cdrs", list);
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, "\r\n")); p += 2)
    n++;
  return n;
}

static void csv_export(void) {
  struct fake_req f;
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, "format", "csv");
  fake_req_query(&f, "direction", "inbound");
  fake_req_query(&f, "page", "7"); /* an export is every page */
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.action, "search");
  CHECK_INT(sent_int("page"), 1);
  CHECK_INT(sent_int("page_size"), 1000);
  CHECK_STR(sent_str("direction"), "inbound");
  CHECK(sent_str("to") != NULL); /* the end fixed at the start */
  answer_json(page_of(0, 1000, 1003));
  CHECK(!f.http.has_finished);
  CHECK_INT(sent_int("page"), 2);
  answer_json(page_of(1000, 3, 1003));
  CHECK(f.http.has_finished);
  CHECK_INT(f.http.finished.status, 200);
  CHECK_STR(f.http.finished.content_type, "text/csv; charset=utf-8");
  CHECK(strstr(f.http.finished.disposition, "calls.csv") != NULL);
  const char *csv = f.http.finished.raw ? f.http.finished.raw : "";
  CHECK_INT(count_lines(csv), 1004);
  CHECK(strncmp(csv, "site,call_id,start,answer,end,from,to,direction,", 48) ==
        0);
  CHECK(strstr(csv, "\r\nhq,1700000000.0,2026-11-23T09:00:00+01:00,,"
                    "2026-11-23T09:01:00+01:00,'+33123456789,201,inbound,"
                    "no_answer,0,60,,201,yes\r\n") != NULL);
  CHECK(strstr(csv, "x.wav") == NULL); /* the PBX's file name stays here */
  CHECK(strstr(csv, "1700000000.1002,") != NULL);
  fake_req_cleanup(&f);
  /* Accept: text/csv; a readonly user's export is its extension's. */
  req_as(&f, "bob", "GET", "/api/calls");
  fake_req_header(&f, "Accept", "text/csv");
  web_route(&w, &f.req, &f.resp);
  CHECK_STR(sent_str("ext"), "201");
  answer_json(page_of(0, 2, 2));
  CHECK_INT(count_lines(f.http.finished.raw ? f.http.finished.raw : ""), 3);
  fake_req_cleanup(&f);
  /* call-log falls silent on the second page: 504, nothing half sent. */
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, "format", "csv");
  web_route(&w, &f.req, &f.resp);
  answer_json(page_of(0, 1000, 5000));
  answer(NULL);
  CHECK_INT(f.http.finished.status, 504);
  CHECK(f.http.finished.raw == NULL);
  fake_req_cleanup(&f);
  /* A bad answer: 502. */
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, "format", "csv");
  web_route(&w, &f.req, &f.resp);
  answer("{\"status\":\"ok\",\"data\":{\"cdrs\":7}}");
  CHECK_INT(f.http.finished.status, 502);
  fake_req_cleanup(&f);
  /* The browser went away mid-export: the next page is not asked. */
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, "format", "csv");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.wc.calls_job != NULL);
  web_calls_detach(&f.wc);
  int before = nsent;
  answer_json(page_of(0, 1000, 5000));
  CHECK_INT(nsent, before);
  CHECK(!f.http.has_finished);
  CHECK(w.calls_jobs == NULL);
  fake_req_cleanup(&f);
  /* At most WEB_CALLS_HEAVY_MAX exports or whole recordings at once. */
  struct fake_req many[WEB_CALLS_HEAVY_MAX];
  for (int i = 0; i < WEB_CALLS_HEAVY_MAX; i++) {
    req_as(&many[i], "root", "GET", "/api/calls");
    fake_req_query(&many[i], "format", "csv");
    web_route(&w, &many[i].req, &many[i].resp);
    CHECK(many[i].resp.deferred);
  }
  req_as(&f, "root", "GET", "/api/calls");
  fake_req_query(&f, "format", "csv");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 503);
  CHECK_STR(f.resp.retry_after, "5");
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 503);
  fake_req_cleanup(&f);
  /* A Range request holds one chunk: it still goes. */
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  fake_req_header(&f, "Range", "bytes=0-");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  web_calls_detach(&f.wc);
  fake_req_cleanup(&f);
  for (int i = 0; i < WEB_CALLS_HEAVY_MAX; i++) {
    web_calls_detach(&many[i].wc);
    fake_req_cleanup(&many[i]);
  }
  web_calls_cleanup(&w); /* the requests still on the wire */
  CHECK(w.calls_jobs == NULL);
  forget_sent();
}

/* ---- recordings ---- */

static void ranges(void) {
  int64_t a = -5, b = -5;
  CHECK(web_parse_range("bytes=0-", &a, &b));
  CHECK_INT(a, 0);
  CHECK_INT(b, -1);
  CHECK(web_parse_range("bytes=100-199", &a, &b));
  CHECK_INT(a, 100);
  CHECK_INT(b, 199);
  CHECK(!web_parse_range("bytes=-500", &a, &b));
  CHECK(!web_parse_range("bytes=5-1", &a, &b));
  CHECK(!web_parse_range("bytes=0-1,5-9", &a, &b));
  CHECK(!web_parse_range("items=0-1", &a, &b));
  CHECK(!web_parse_range("bytes=x-", &a, &b));
  CHECK(!web_parse_range(NULL, &a, &b));
}

static const char *cdr_answer(const char *ext, const char *recording) {
  static char buf[512];
  snprintf(buf, sizeof buf,
           "{\"status\":\"ok\",\"data\":{\"cdr\":{\"site\":\"hq\","
           "\"call_id\":\"17.5\",\"extension\":%s%s%s,\"recording\":%s%s%s}}}",
           ext ? "\"" : "", ext ? ext : "null", ext ? "\"" : "",
           recording ? "\"" : "", recording ? recording : "null",
           recording ? "\"" : "");
  return buf;
}

/* "RIFF....WAVE..." cut into pieces: the gateway's chunk of `data` from
 * `offset`, at most `n` bytes, of a `size`-byte file. */
static void chunk(const char *data, size_t size, const char *ct) {
  char b64[128], body[512];
  int64_t offset = sent_int("offset");
  int64_t max = sent_int("max_bytes");
  size_t n = (size_t)(size - (size_t)offset);
  if ((int64_t)n > max)
    n = (size_t)max;
  if (n > 6)
    n = 6; /* a gateway may give less than asked */
  sodium_bin2base64(b64, sizeof b64, (const unsigned char *)data + offset, n,
                    sodium_base64_VARIANT_ORIGINAL);
  snprintf(body, sizeof body,
           "{\"status\":\"ok\",\"data\":{\"site\":\"hq\",\"recording\":"
           "\"r.wav\",\"content_type\":\"%s\",\"size\":%zu,\"offset\":%lld,"
           "\"data\":\"%s\"}}",
           ct, size, (long long)offset, b64);
  answer(body);
}

static void recording(void) {
  static const char wav[] = "RIFF0000WAVEfmt data";
  struct fake_req f;
  int64_t listens = audit_rows("recording");
  /* Whole, as bob (201 is his), in chunks. */
  req_as(&f, "bob", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  CHECK(f.resp.deferred);
  CHECK_STR(sent.service, "call-log");
  CHECK_STR(sent.action, "get");
  CHECK_STR(sent_str("call_id"), "17.5");
  answer(cdr_answer("201", "20261123-201.wav"));
  CHECK_STR(sent.service, "yeastar-gateway");
  CHECK_STR(sent.action, "recording/get");
  CHECK_STR(sent_str("recording"), "20261123-201.wav");
  CHECK_INT(sent_int("offset"), 0);
  CHECK_INT(sent_int("max_bytes"), 1024 * 1024);
  for (int i = 0; i < 10 && !f.http.has_finished; i++)
    chunk(wav, 20, "audio/wav");
  CHECK_INT(f.http.finished.status, 200);
  CHECK_INT(f.http.finished.raw_len, 20);
  CHECK(f.http.finished.raw && memcmp(f.http.finished.raw, wav, 20) == 0);
  CHECK_STR(f.http.finished.content_type, "audio/wav");
  CHECK(f.http.finished.accept_ranges);
  CHECK_STR(f.http.finished.content_range, "");
  fake_req_cleanup(&f);
  CHECK_INT(audit_rows("recording"), listens + 1);
  /* By Range, for the player: one chunk, 206; the same listen is not
   * written twice. */
  req_as(&f, "bob", "GET", "/api/calls/17.5/recording");
  fake_req_query(&f, "site", "hq");
  fake_req_header(&f, "Range", "bytes=8-11");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  CHECK_INT(sent_int("offset"), 8);
  CHECK_INT(sent_int("max_bytes"), 4);
  chunk(wav, 20, "audio/wav");
  CHECK_INT(f.http.finished.status, 206);
  CHECK_STR(f.http.finished.content_range, "bytes 8-11/20");
  CHECK(f.http.finished.raw && memcmp(f.http.finished.raw, "WAVE", 4) == 0);
  fake_req_cleanup(&f);
  CHECK_INT(audit_rows("recording"), listens + 1);
  /* Past the end: 416 with the size. */
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  fake_req_header(&f, "Range", "bytes=50-");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  chunk(wav, 20, "audio/wav");
  CHECK_INT(f.http.finished.status, 416);
  CHECK_STR(f.http.finished.content_range, "bytes */20");
  fake_req_cleanup(&f);
  CHECK_INT(audit_rows("recording"), listens + 2); /* root's listen */
  /* Past the end as the gateway says it: 416 too. */
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  fake_req_header(&f, "Range", "bytes=50-");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  answer("{\"status\":\"error\",\"error\":\"field 'offset' is past the "
         "end of the recording (20 bytes)\"}");
  CHECK_INT(f.http.finished.status, 416);
  CHECK_STR(f.http.finished.content_range, "bytes */20");
  fake_req_cleanup(&f);
  /* Another's call: 403 before any byte is asked. */
  int asked = nsent;
  req_as(&f, "bob", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("202", "r.wav"));
  CHECK_INT(f.http.finished.status, 403);
  CHECK_INT(nsent, asked + 1); /* the call-log's get only */
  fake_req_cleanup(&f);
  req_as(&f, "bob", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer(NULL, "r.wav"));
  CHECK_INT(f.http.finished.status, 403);
  fake_req_cleanup(&f);
  /* No recording; an unknown call; a missing file; silence; bad data. */
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", NULL));
  CHECK_INT(f.http.finished.status, 404);
  CHECK(strstr(fake_error(&f.http.finished), "no recording") != NULL);
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer("{\"status\":\"error\",\"error\":\"call not found: no call '17.5' "
         "on site 'hq'\"}");
  CHECK_INT(f.http.finished.status, 404);
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  answer("{\"status\":\"error\",\"error\":\"recording not found\","
         "\"code\":\"not_found\"}");
  CHECK_INT(f.http.finished.status, 404);
  CHECK_STR(pb_json_str(f.http.finished.body, "error"), "recording not found");
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  answer(NULL);
  CHECK_INT(f.http.finished.status, 504);
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  answer("{\"status\":\"ok\",\"data\":{\"size\":10,\"data\":\"***\"}}");
  CHECK_INT(f.http.finished.status, 502);
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/hq/17.5/recording");
  web_route(&w, &f.req, &f.resp);
  answer(cdr_answer("201", "r.wav"));
  answer("{\"status\":\"ok\",\"data\":{\"size\":999999999999,\"data\":\"\"}}");
  CHECK_INT(f.http.finished.status, 413);
  fake_req_cleanup(&f);
  /* Bad ids: 400, nothing sent. */
  int before = nsent;
  req_as(&f, "root", "GET", "/api/calls/hq/17;5/recording");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 400);
  fake_req_cleanup(&f);
  req_as(&f, "root", "GET", "/api/calls/17.5/recording");
  fake_req_query(&f, "site", "h/q");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 400);
  fake_req_cleanup(&f);
  CHECK_INT(nsent, before);
  CHECK(w.calls_jobs == NULL);
}

/* ---- the read model ---- */

static void feed(const char *topic, const char *payload, bool retained) {
  struct pb_bus_msg m = {.topic = topic,
                         .payload = payload,
                         .len = strlen(payload),
                         .retained = retained};
  if (strncmp(topic, "ext/", 4) == 0)
    web_handle_call(NULL, &m, &w);
  else
    web_handle_site_calls(NULL, &m, &w);
}

static void live_state(void) {
  uint64_t gen = w.model_gen;
  feed("ext/hq/201/call",
       "{\"state\":\"talking\",\"since\":\"2026-11-23T09:00:05+01:00\","
       "\"call_id\":\"17.5\",\"direction\":\"inbound\",\"peer\":\"+3312\","
       "\"trunk\":\"SIP\",\"registered\":[\"sip_phone\"],"
       "\"updated_at\":\"2026-11-23T09:00:05+01:00\"}",
       true);
  CHECK(w.model_gen > gen);
  struct web_ext *e = web_model_get(&w, "hq", "201");
  json_t *j = e ? web_ext_json(e) : NULL;
  json_t *call = json_object_get(j, "call");
  CHECK_STR(pb_json_str(call, "state"), "talking");
  CHECK_STR(pb_json_str(call, "peer"), "+3312");
  json_decref(j);
  /* Refused: the state is kept as it was. */
  feed("ext/hq/201/call", "{\"state\":\"dancing\"}", false);
  feed("ext/hq/201/call", "{\"state\":\"ringing\"}", false); /* no call_id */
  feed("ext/hq/201/call", "not json", false);
  feed("ext/hq/201/call", "[]", false);
  CHECK_STR(pb_json_str(e ? e->call : NULL, "state"), "talking");
  feed("ext/hq/201/call", "{\"state\":\"idle\"}", false);
  CHECK_STR(pb_json_str(e ? e->call : NULL, "state"), "idle");
  feed("ext/hq/201/call", "", false); /* the retained message removed */
  CHECK(e && e->call == NULL);
  /* An extension first seen by its call. */
  feed("ext/hq/777/call", "{\"state\":\"idle\"}", true);
  CHECK(web_model_get(&w, "hq", "777") != NULL);
  feed("ext/h q/778/call", "{\"state\":\"idle\"}", true);
  CHECK(web_model_get(&w, "h q", "778") == NULL);

  struct fake_req f;
  /* A known site without calls published yet; an unknown one. */
  req_as(&f, "bob", "GET", "/api/sites/hq/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 200);
  CHECK_INT(json_array_size(json_object_get(f.resp.body, "calls")), 0);
  fake_req_cleanup(&f);
  req_as(&f, "bob", "GET", "/api/sites/nowhere/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 404);
  fake_req_cleanup(&f);
  feed("site/hq/calls",
       "{\"site\":\"hq\",\"updated_at\":\"2026-11-23T09:00:05+01:00\","
       "\"calls\":[{\"call_id\":\"17.5\",\"state\":\"talking\","
       "\"direction\":\"inbound\",\"from\":\"+3312\",\"to\":\"201\","
       "\"trunk\":null,\"started\":\"2026-11-23T09:00:00+01:00\","
       "\"answered\":\"2026-11-23T09:00:05+01:00\",\"members\":["
       "{\"number\":\"201\",\"kind\":\"extension\",\"state\":\"talking\"}]}]}",
       false);
  /* Refused: another site's list, a bad call. */
  feed("site/hq/calls", "{\"site\":\"paris\",\"calls\":[]}", false);
  feed("site/hq/calls", "{\"site\":\"hq\",\"calls\":[{\"state\":\"x\"}]}",
       false);
  feed("site/hq/calls", "{\"site\":\"hq\"}", false);
  req_as(&f, "bob", "GET", "/api/sites/hq/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(f.resp.status, 200);
  json_t *list = json_object_get(f.resp.body, "calls");
  CHECK_INT(json_array_size(list), 1);
  CHECK_STR(pb_json_str(json_array_get(list, 0), "call_id"), "17.5");
  fake_req_cleanup(&f);
  feed("site/hq/calls", "", false);
  req_as(&f, "bob", "GET", "/api/sites/hq/calls");
  web_route(&w, &f.req, &f.resp);
  CHECK_INT(json_array_size(json_object_get(f.resp.body, "calls")), 0);
  fake_req_cleanup(&f);
}

static void cleanup(void) {
  forget_sent();
  web_calls_cleanup(&w);
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
  RUN(user_extensions);
  RUN(search_admin);
  RUN(search_bad_input);
  RUN(search_scoped);
  RUN(stats);
  RUN(dial);
  RUN(csv_cells);
  RUN(csv_export);
  RUN(ranges);
  RUN(recording);
  RUN(live_state);
  cleanup();
  return CHECK_DONE();
}
