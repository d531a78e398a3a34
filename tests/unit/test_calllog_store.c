/* call-log's database and answers (services/call-log/cdr_store.c,
 * cdr_query.c, cdr_stats.c, query_parse.c) on a temporary file: a call
 * stored once whatever brings it again, retention by batches, the
 * catch-up cursor, every search filter, the statistics' arithmetic and
 * periods, and requests refused naming their field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calllog.h"
#include "check.h"
#include "pb/clock.h"
#include "pb/store.h"
#include "pb/tz.h"

static char dir[] = "/tmp/pb-calllog-XXXXXX";
static struct pb_tz *paris;

/* 2026-11-02 00:00:00 Europe/Paris (a Monday), UTC+1. */
#define T0 1793574000

static struct pb_cdr cdr(const char *site, const char *id, int64_t start,
                         const char *from, const char *to, const char *dir_,
                         const char *status, int64_t talk, const char *ext) {
  struct pb_cdr c = {0};
  snprintf(c.site, sizeof c.site, "%s", site);
  snprintf(c.call_id, sizeof c.call_id, "%s", id);
  c.start = start;
  bool answered = strcmp(status, "answered") == 0;
  c.answer = answered ? start + 5 : -1;
  c.end = start + 5 + talk;
  snprintf(c.from, sizeof c.from, "%s", from);
  snprintf(c.to, sizeof c.to, "%s", to);
  pb_call_direction_parse(dir_, &c.direction);
  pb_cdr_status_parse(status, &c.status);
  c.talk_seconds = talk;
  c.ring_seconds = 5;
  snprintf(c.extension, sizeof c.extension, "%s", ext ? ext : "");
  return c;
}

static struct pb_store *open_db(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.db", dir, name);
  struct pb_store *st = NULL;
  CHECK_INT(calllog_store_open_path(path, &st), 0);
  return st;
}

static void add(struct pb_store *st, struct pb_cdr c, bool expect_added) {
  bool added = !expect_added;
  CHECK_INT(calllog_store_add(st, &c, &added), 0);
  CHECK_INT(added, expect_added);
}

static void test_number_rev(void) {
  char out[PB_NUMBER_MAX];
  calllog_number_rev("+33 1-23", out, sizeof out);
  CHECK_STR(out, "32133");
  calllog_number_rev("*97#", out, sizeof out);
  CHECK_STR(out, "79");
  calllog_number_rev("", out, sizeof out);
  CHECK_STR(out, "");
  char small[4];
  calllog_number_rev("123456", small, sizeof small);
  CHECK_STR(small, "654"); /* the last digits are kept */
}

static void test_idempotent(void) {
  struct pb_store *st = open_db("idem");
  struct pb_cdr c = cdr("main", "1.1", T0, "+33123456789", "2000", "inbound",
                        "answered", 95, "2000");
  add(st, c, true);
  /* The same call again, even with other values: the first one stays. */
  struct pb_cdr again = c;
  again.talk_seconds = 1;
  add(st, again, false);
  /* The same call id on another site is another call. */
  struct pb_cdr other = c;
  snprintf(other.site, sizeof other.site, "branch");
  add(st, other, true);
  CHECK_INT(calllog_store_count(st), 2);
  struct pb_cdr got;
  CHECK_INT(calllog_store_get(st, "main", "1.1", &got), 0);
  CHECK_INT(got.talk_seconds, 95);
  CHECK_INT(got.answer, T0 + 5);
  CHECK_STR(got.from, "+33123456789");
  CHECK_INT(got.direction, PB_DIR_INBOUND);
  CHECK_INT(got.status, PB_CDR_ANSWERED);
  CHECK_STR(got.extension, "2000");
  CHECK_STR(got.trunk, "");
  CHECK_INT(calllog_store_get(st, "main", "nope", &got), PB_ENOTFOUND);
  /* Unanswered: answer stays null. */
  add(st,
      cdr("main", "1.2", T0, "2001", "+4420", "outbound", "busy", 0, "2001"),
      true);
  CHECK_INT(calllog_store_get(st, "main", "1.2", &got), 0);
  CHECK_INT(got.answer, -1);
  CHECK_INT(got.status, PB_CDR_BUSY);
  pb_store_close(st);
}

static void test_cursor(void) {
  struct pb_store *st = open_db("cursor");
  int64_t cur = 0;
  CHECK_INT(calllog_store_cursor(st, "main", &cur), PB_ENOTFOUND);
  CHECK_INT(calllog_store_set_cursor(st, "main", 1000), 0);
  CHECK_INT(calllog_store_set_cursor(st, "main", 2000), 0);
  CHECK_INT(calllog_store_cursor(st, "main", &cur), 0);
  CHECK_INT(cur, 2000);
  CHECK_INT(calllog_store_cursor(st, "branch", &cur), PB_ENOTFOUND);
  pb_store_close(st);
  /* Kept across a reopening. */
  st = open_db("cursor");
  CHECK_INT(calllog_store_cursor(st, "main", &cur), 0);
  CHECK_INT(cur, 2000);
  pb_store_close(st);
}

static void test_prune(void) {
  struct pb_store *st = open_db("prune");
  char id[32];
  for (int i = 0; i < 12; i++) {
    snprintf(id, sizeof id, "p.%d", i);
    add(st,
        cdr("main", id, T0 + i * 60, "2000", "2001", "internal", "answered", 10,
            "2000"),
        true);
  }
  int64_t n = -1;
  /* Calls that rang before T0 + 600 (ten of them), five at a time. */
  CHECK_INT(calllog_store_prune(st, T0 + 600, 5, &n), 0);
  CHECK_INT(n, 5);
  CHECK_INT(calllog_store_prune(st, T0 + 600, 5, &n), 0);
  CHECK_INT(n, 5);
  CHECK_INT(calllog_store_prune(st, T0 + 600, 5, &n), 0);
  CHECK_INT(n, 0);
  CHECK_INT(calllog_store_count(st), 2);
  struct pb_cdr got;
  CHECK_INT(calllog_store_get(st, "main", "p.9", &got), PB_ENOTFOUND);
  CHECK_INT(calllog_store_get(st, "main", "p.10", &got), 0);
  pb_store_close(st);
}

static json_t *search(struct pb_store *st, const char *req_text) {
  char err[300] = "";
  struct calllog_search s;
  json_t *req = json_loads(req_text, 0, NULL);
  int rc = calllog_search_parse(req, &s, err, sizeof err);
  json_decref(req);
  CHECK_INT(rc, 0);
  if (rc) {
    fprintf(stderr, "  %s: %s\n", req_text, err);
    return json_object();
  }
  json_t *out = calllog_search_run(st, &s, paris);
  CHECK(out != NULL);
  return out;
}

static int64_t total_of(struct pb_store *st, const char *req) {
  json_t *out = search(st, req);
  int64_t t = json_integer_value(json_object_get(out, "total"));
  json_decref(out);
  return t;
}

static struct pb_store *sample(const char *name) {
  struct pb_store *st = open_db(name);
  /* Monday 2 Nov: 2000 answers two calls from Paris, misses one. */
  add(st,
      cdr("main", "a1", T0 + 9 * 3600, "+33123456789", "2000", "inbound",
          "answered", 100, "2000"),
      true);
  add(st,
      cdr("main", "a2", T0 + 10 * 3600, "0123456789", "2000", "inbound",
          "answered", 50, "2000"),
      true);
  add(st,
      cdr("main", "a3", T0 + 11 * 3600, "+33123456789", "2000", "inbound",
          "no_answer", 0, "2000"),
      true);
  /* Tuesday: 2001 calls out, and calls 2000 inside. */
  add(st,
      cdr("main", "b1", T0 + 86400 + 3600, "2001", "+4420123456", "outbound",
          "answered", 300, "2001"),
      true);
  add(st,
      cdr("main", "b2", T0 + 86400 + 7200, "2001", "2000", "internal", "busy",
          0, "2001"),
      true);
  /* Another site, the next week. */
  add(st,
      cdr("branch", "c1", T0 + 8 * 86400, "+33123456789", "3000", "inbound",
          "answered", 20, "3000"),
      true);
  return st;
}

static void test_search(void) {
  struct pb_store *st = sample("search");
  CHECK_INT(total_of(st, "{}"), 6);
  CHECK_INT(total_of(st, "{\"site\":\"main\"}"), 5);
  /* 6+ digits: a suffix, leading + and zeros dropped. */
  CHECK_INT(total_of(st, "{\"number\":\"0123456789\"}"), 4);
  CHECK_INT(total_of(st, "{\"number\":\"+33 1 23 45 67 89\"}"), 3);
  CHECK_INT(total_of(st, "{\"number\":\"123456\"}"), 1); /* +4420123456 */
  CHECK_INT(total_of(st, "{\"number\":\"654321\"}"), 0);
  CHECK_INT(total_of(st, "{\"number\":\"456789\"}"), 4);
  /* Fewer digits: exact, from or to. */
  CHECK_INT(total_of(st, "{\"number\":\"2000\"}"), 4);
  CHECK_INT(total_of(st, "{\"number\":\"200\"}"), 0);
  /* An extension: its own calls, and internal calls to it. */
  CHECK_INT(total_of(st, "{\"ext\":\"2000\"}"), 4);
  CHECK_INT(total_of(st, "{\"ext\":\"2001\"}"), 2);
  CHECK_INT(total_of(st, "{\"ext\":\"2000\",\"number\":\"0123456789\"}"), 3);
  CHECK_INT(total_of(st, "{\"direction\":\"outbound\"}"), 1);
  CHECK_INT(total_of(st, "{\"status\":\"no_answer\"}"), 1);
  CHECK_INT(total_of(st, "{\"status\":\"answered\",\"ext\":\"2000\"}"), 2);
  /* from inclusive, to exclusive, on the ring time. */
  CHECK_INT(total_of(st, "{\"from\":\"2026-11-02T10:00:00+01:00\","
                         "\"to\":\"2026-11-02T11:00:00+01:00\"}"),
            1);
  CHECK_INT(total_of(st, "{\"from\":\"2026-11-03T00:00:00+01:00\"}"), 3);
  /* Newest first, paginated. */
  json_t *out = search(st, "{\"site\":\"main\",\"page\":2,\"page_size\":2}");
  json_t *cdrs = json_object_get(out, "cdrs");
  CHECK_INT(json_integer_value(json_object_get(out, "total")), 5);
  CHECK_INT(json_array_size(cdrs), 2);
  CHECK_STR(pb_json_str(json_array_get(cdrs, 0), "call_id"), "a3");
  CHECK_STR(pb_json_str(json_array_get(cdrs, 1), "call_id"), "a2");
  CHECK_STR(pb_json_str(json_array_get(cdrs, 0), "start"),
            "2026-11-02T11:00:00+01:00");
  CHECK(json_is_null(json_object_get(json_array_get(cdrs, 0), "answer")));
  json_decref(out);
  out = search(st, "{\"page\":9}");
  CHECK_INT(json_array_size(json_object_get(out, "cdrs")), 0);
  CHECK_INT(json_integer_value(json_object_get(out, "total")), 6);
  json_decref(out);
  pb_store_close(st);
}

static void refused(bool stats, const char *req_text, const char *field) {
  char err[300] = "";
  json_t *req = json_loads(req_text, 0, NULL);
  int rc;
  if (stats) {
    struct calllog_stats_req r;
    rc = calllog_stats_parse(req, &r, err, sizeof err);
  } else {
    struct calllog_search s;
    rc = calllog_search_parse(req, &s, err, sizeof err);
  }
  json_decref(req);
  CHECK(rc != 0);
  char want[80];
  snprintf(want, sizeof want, "'%s'", field);
  if (!strstr(err, want)) {
    check_failures++;
    fprintf(stderr, "%s: error '%s' does not name %s\n", req_text, err, want);
  }
}

static void test_bad_requests(void) {
  refused(false, "{\"page_size\":1001}", "page_size");
  refused(false, "{\"page_size\":0}", "page_size");
  refused(false, "{\"page\":0}", "page");
  refused(false, "{\"page\":\"1\"}", "page");
  refused(false, "{\"direction\":\"sideways\"}", "direction");
  refused(false, "{\"status\":\"ANSWERED\"}", "status");
  refused(false, "{\"number\":\"call me\"}", "number");
  refused(false, "{\"number\":\"12+3\"}", "number");
  refused(false, "{\"ext\":\"20 00\"}", "ext");
  refused(false, "{\"site\":\"a/b\"}", "site");
  refused(false, "{\"from\":\"yesterday\"}", "from");
  refused(false, "{\"to\":\"2026-13-01T00:00:00Z\"}", "to");
  refused(false,
          "{\"from\":\"2026-11-02T00:00:00Z\",\"to\":\"2026-11-01T00:00:00Z\"}",
          "from");
  refused(false, "{\"numbr\":\"2000\"}", "numbr");
  refused(true, "{\"to\":\"2026-11-01T00:00:00Z\"}", "from");
  refused(true, "{\"from\":\"2026-11-01T00:00:00Z\"}", "to");
  refused(true,
          "{\"from\":\"2026-11-01T00:00:00Z\",\"to\":\"2026-12-01T00:00:00Z\","
          "\"group\":\"year\"}",
          "group");
  refused(true,
          "{\"from\":\"2020-11-01T00:00:00Z\",\"to\":\"2026-12-01T00:00:00Z\","
          "\"group\":\"day\"}",
          "group");
  refused(true,
          "{\"from\":\"2026-11-01T00:00:00Z\",\"to\":\"2026-12-01T00:00:00Z\","
          "\"top\":0}",
          "top");
  /* get: call_id required, site defaulting to SITE, nothing else. */
  struct calllog_get g;
  char gerr[300];
  json_t *greq = json_loads("{\"call_id\":\"1.2\"}", 0, NULL);
  CHECK_INT(calllog_get_parse(greq, "main", &g, gerr, sizeof gerr), 0);
  CHECK_STR(g.site, "main");
  CHECK_STR(g.call_id, "1.2");
  json_decref(greq);
  const char *bad_gets[][2] = {
      {"{}", "'call_id'"},
      {"{\"call_id\":\"\"}", "'call_id'"},
      {"{\"call_id\":7}", "'call_id'"},
      {"{\"call_id\":\"1\",\"site\":\"a b\"}", "'site'"},
      {"{\"call_id\":\"1\",\"cal\":1}", "'cal'"}};
  for (size_t i = 0; i < sizeof bad_gets / sizeof bad_gets[0]; i++) {
    greq = json_loads(bad_gets[i][0], 0, NULL);
    CHECK(calllog_get_parse(greq, "main", &g, gerr, sizeof gerr) != 0);
    CHECK(strstr(gerr, bad_gets[i][1]) != NULL);
    json_decref(greq);
  }
  /* The transaction is not a filter. */
  struct calllog_search s;
  char err[300];
  json_t *req =
      json_loads("{\"transaction\":\"x\",\"number\":\"2000\"}", 0, NULL);
  CHECK_INT(calllog_search_parse(req, &s, err, sizeof err), 0);
  CHECK_INT(s.f.match, CALLLOG_MATCH_EXACT);
  CHECK_INT(s.page, 1);
  CHECK_INT(s.page_size, 50);
  json_decref(req);
}

static json_t *stats(struct pb_store *st, const char *req_text) {
  char err[300] = "";
  struct calllog_stats_req r;
  json_t *req = json_loads(req_text, 0, NULL);
  CHECK_INT(calllog_stats_parse(req, &r, err, sizeof err), 0);
  json_decref(req);
  json_t *out = calllog_stats_run(st, &r, paris);
  CHECK(out != NULL);
  return out ? out : json_object();
}

static int64_t field(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

static void test_stats(void) {
  struct pb_store *st = sample("stats");
  json_t *out =
      stats(st, "{\"site\":\"main\",\"from\":\"2026-11-02T00:00:00+01:00\","
                "\"to\":\"2026-11-09T00:00:00+01:00\",\"group\":\"day\"}");
  json_t *t = json_object_get(out, "totals");
  CHECK_INT(field(t, "calls"), 5);
  CHECK_INT(field(t, "answered"), 3);
  CHECK_INT(field(t, "missed"), 2);
  CHECK_INT(field(t, "talk_seconds"), 450);
  CHECK_INT(field(t, "average_talk_seconds"), 150);
  CHECK_INT(field(t, "longest_talk_seconds"), 300);
  json_t *exts = json_object_get(out, "extensions");
  CHECK_INT(json_array_size(exts), 2);
  json_t *e0 = json_array_get(exts, 0);
  CHECK_STR(pb_json_str(e0, "ext"), "2000"); /* most calls first */
  CHECK_INT(field(e0, "calls"), 3);
  CHECK_INT(field(e0, "answered"), 2);
  CHECK_INT(field(e0, "missed"), 1);
  CHECK_INT(field(e0, "talk_seconds"), 150);
  CHECK_INT(field(e0, "average_talk_seconds"), 75);
  CHECK_INT(field(e0, "longest_talk_seconds"), 100);
  json_t *last = json_object_get(e0, "last_calls");
  CHECK_INT(json_array_size(last), 3);
  CHECK_STR(pb_json_str(json_array_get(last, 0), "call_id"), "a3");
  json_t *nums = json_object_get(out, "numbers");
  CHECK_INT(json_array_size(nums), 3);
  CHECK_STR(pb_json_str(json_array_get(nums, 0), "number"), "+33123456789");
  CHECK_INT(field(json_array_get(nums, 0), "calls"), 2);
  CHECK_INT(field(json_array_get(nums, 0), "missed"), 1);
  json_t *periods = json_object_get(out, "periods");
  CHECK_INT(json_array_size(periods), 7);
  CHECK_STR(pb_json_str(json_array_get(periods, 0), "start"),
            "2026-11-02T00:00:00+01:00");
  CHECK_INT(field(json_array_get(periods, 0), "calls"), 3);
  CHECK_INT(field(json_array_get(periods, 0), "talk_seconds"), 150);
  CHECK_INT(field(json_array_get(periods, 1), "calls"), 2);
  CHECK_INT(field(json_array_get(periods, 1), "missed"), 1);
  CHECK_INT(field(json_array_get(periods, 2), "calls"), 0);
  CHECK_STR(pb_json_str(out, "from"), "2026-11-02T00:00:00+01:00");
  json_decref(out);

  /* top caps both lists; an extension filter; weeks start on Monday. */
  out = stats(st, "{\"from\":\"2026-11-04T00:00:00+01:00\","
                  "\"to\":\"2026-11-20T00:00:00+01:00\",\"group\":\"week\","
                  "\"top\":1}");
  CHECK_INT(field(json_object_get(out, "totals"), "calls"), 1);
  CHECK_INT(json_array_size(json_object_get(out, "extensions")), 1);
  periods = json_object_get(out, "periods");
  CHECK_INT(json_array_size(periods), 3);
  CHECK_STR(pb_json_str(json_array_get(periods, 0), "start"),
            "2026-11-02T00:00:00+01:00");
  CHECK_INT(field(json_array_get(periods, 1), "calls"), 1);
  json_decref(out);

  /* Month groups across the DST change of March (Paris: +01 to +02). */
  out = stats(st, "{\"from\":\"2026-02-15T00:00:00+01:00\","
                  "\"to\":\"2026-04-15T00:00:00+02:00\",\"group\":\"month\"}");
  periods = json_object_get(out, "periods");
  CHECK_INT(json_array_size(periods), 3);
  CHECK_STR(pb_json_str(json_array_get(periods, 2), "start"),
            "2026-04-01T00:00:00+02:00");
  CHECK_INT(field(json_object_get(out, "totals"), "calls"), 0);
  CHECK_INT(field(json_object_get(out, "totals"), "average_talk_seconds"), 0);
  json_decref(out);

  out = stats(st, "{\"ext\":\"2001\",\"from\":\"2026-11-01T00:00:00+01:00\","
                  "\"to\":\"2026-12-01T00:00:00+01:00\"}");
  CHECK_INT(field(json_object_get(out, "totals"), "calls"), 2);
  CHECK_INT(json_array_size(json_object_get(out, "periods")), 0);
  json_decref(out);
  pb_store_close(st);
}

int main(void) {
  if (!mkdtemp(dir))
    return 1;
  if (pb_tz_load("Europe/Paris", &paris))
    return 1;
  RUN(test_number_rev);
  RUN(test_idempotent);
  RUN(test_cursor);
  RUN(test_prune);
  RUN(test_search);
  RUN(test_bad_requests);
  RUN(test_stats);
  pb_tz_free(paris);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    return 1;
  return CHECK_DONE();
}
