/* call-log's catch-up (services/call-log/backfill.c) against a fake bus
 * that records each cdr/search request and lets the test answer it: the
 * first window, pages in turn, a page that fails mid-way (the cursor stays,
 * the same page is asked again after the backoff, nothing counted twice),
 * no answer in time, bad records, another site's records, the gateway away
 * and back, and the next window starting at the cursor minus the overlap;
 * and the retention's batches (services/call-log/retention.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "check.h"
#include "pb/clock.h"
#include "pb/loop.h"
#include "pb/store.h"
#include "pb/tz.h"

static char dir[] = "/tmp/pb-calllog-bf-XXXXXX";

/* The requests sent and the events published. */
static json_t *last_req;
static struct calllog_site *last_site;
static int requests, events;
static char last_event_error[400];

static int fake_request(void *ud, const char *service, const char *action,
                        json_t *req, int timeout_ms,
                        struct calllog_site *site) {
  (void)ud;
  (void)timeout_ms;
  CHECK_STR(service, "yeastar-gateway");
  CHECK_STR(action, "cdr/search");
  json_decref(last_req);
  last_req = req;
  last_site = site;
  requests++;
  return 0;
}

static int fake_event(void *ud, const char *kind, json_t *event) {
  (void)ud;
  CHECK_STR(kind, "error");
  snprintf(last_event_error, sizeof last_event_error, "%s",
           pb_json_str(event, "error") ? pb_json_str(event, "error") : "");
  events++;
  json_decref(event);
  return 0;
}

static json_t *record(const char *site, const char *id, int64_t start) {
  struct pb_cdr c = {0};
  snprintf(c.site, sizeof c.site, "%s", site);
  snprintf(c.call_id, sizeof c.call_id, "%s", id);
  c.start = start;
  c.answer = start + 3;
  c.end = start + 60;
  snprintf(c.from, sizeof c.from, "+33123456789");
  snprintf(c.to, sizeof c.to, "2000");
  c.direction = PB_DIR_INBOUND;
  c.status = PB_CDR_ANSWERED;
  c.talk_seconds = 57;
  c.ring_seconds = 3;
  snprintf(c.extension, sizeof c.extension, "2000");
  return pb_cdr_to_json(&c, NULL);
}

/* {"status":"ok","data":{..., "total":total,"cdrs":[ids...]}} */
static json_t *page(int64_t total, const char *const *ids, int64_t start) {
  json_t *cdrs = json_array();
  for (int i = 0; ids[i]; i++)
    json_array_append_new(cdrs, record("main", ids[i], start + i));
  return json_pack("{ss s{ss sI sI sI so}}", "status", "ok", "data", "site",
                   "main", "page", (json_int_t)1, "page_size", (json_int_t)2,
                   "total", (json_int_t)total, "cdrs", cdrs);
}

static int64_t req_int(const char *k) {
  return json_integer_value(json_object_get(last_req, k));
}

static int64_t req_time(const char *k) {
  int64_t t = -1;
  char err[100];
  pb_json_get_time(last_req, k, true, &t, err, sizeof err);
  return t;
}

static void answer(json_t *resp) {
  calllog_backfill_answer(last_site, resp);
  json_decref(resp);
}

#define NOW 1764000000LL

static void test_backfill(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/cl.db", dir);
  struct pb_store *st = NULL;
  struct pb_loop *loop = NULL;
  CHECK_INT(calllog_store_open_path(path, &st), 0);
  CHECK_INT(pb_loop_new(&loop), 0);
  pb_clock_set_fixed(NOW * 1000);
  struct calllog cl = {0};
  struct calllog_io io = {fake_request, fake_event, NULL};
  struct calllog_settings set = {.retention_days = 0,
                                 .backfill_seconds = 900,
                                 .backfill_days = 7,
                                 .overlap_seconds = 3600,
                                 .page_size = 2,
                                 .request_timeout_ms = 1000};
  CHECK_INT(calllog_init(&cl, loop, st, NULL, &io, &set), 0);

  /* The gateway is away: a site that is ok waits for it. */
  calllog_site_status(&cl, "main", "starting");
  CHECK_INT(requests, 0);
  calllog_site_status(&cl, "main", "ok");
  CHECK_INT(requests, 0);
  calllog_gateway_availability(&cl, true);
  CHECK_INT(requests, 1);
  CHECK_STR(pb_json_str(last_req, "site"), "main");
  CHECK_INT(req_time("start"), NOW - 7 * 86400);
  CHECK_INT(req_time("end"), NOW);
  CHECK_INT(req_int("page"), 1);
  CHECK_INT(req_int("page_size"), 2);

  /* Page 1 of 5 calls. */
  answer(page(5, (const char *const[]){"c1", "c2", NULL}, NOW - 5000));
  CHECK_INT(requests, 2);
  CHECK_INT(req_int("page"), 2);
  CHECK_INT(calllog_store_count(st), 2);

  /* Page 2 fails: stored pages stay, the cursor does not move, an event
   * says so, and the same page is asked again after the backoff. */
  answer(json_pack("{ss ss}", "status", "error", "error",
                   "the PBX did not answer"));
  CHECK_INT(requests, 2);
  CHECK_INT(events, 1);
  CHECK(strstr(last_event_error, "the PBX did not answer") != NULL);
  int64_t cursor = 0;
  CHECK_INT(calllog_store_cursor(st, "main", &cursor), PB_ENOTFOUND);
  CHECK(pb_timer_armed(last_site->retry));
  pb_clock_advance(pb_timer_when(last_site->retry) - pb_clock_now_ms());
  pb_loop_run_once(loop, 0);
  CHECK_INT(requests, 3);
  CHECK_INT(req_int("page"), 2);
  CHECK_INT(req_time("start"), NOW - 7 * 86400); /* the same window */

  /* No answer in time: another failure, a longer wait. */
  int64_t first_wait = 2000;
  calllog_backfill_answer(last_site, NULL);
  CHECK_INT(events, 2);
  CHECK(pb_timer_when(last_site->retry) - pb_clock_now_ms() > first_wait);
  /* A site ok again does not wait for the backoff. */
  calllog_site_status(&cl, "main", "unreachable");
  calllog_site_status(&cl, "main", "ok");
  CHECK_INT(requests, 4);
  CHECK(!pb_timer_armed(last_site->retry));

  /* Page 2 holds c2 again (a call that arrived meanwhile shifted the
   * pages), a record the contract refuses, and another site's call. */
  json_t *p2 = page(5, (const char *const[]){"c2", "c3", NULL}, NOW - 4000);
  json_t *cdrs = json_object_get(json_object_get(p2, "data"), "cdrs");
  json_array_append_new(
      cdrs, json_pack("{ss ss}", "site", "main", "call_id", "broken"));
  json_array_append_new(cdrs, record("branch", "x1", NOW - 3000));
  answer(p2);
  CHECK_INT(events, 3);
  CHECK(strstr(last_event_error, "2 records not stored") != NULL);
  CHECK_INT(calllog_store_count(st), 3);
  CHECK_INT(requests, 5);
  CHECK_INT(req_int("page"), 3);

  /* A trigger while running: one more run after this one. */
  calllog_backfill_all(&cl, "test");
  CHECK_INT(requests, 5);
  /* The last page: the cursor moves to the window's end. */
  answer(page(5, (const char *const[]){"c4", NULL}, NOW - 2000));
  CHECK_INT(calllog_store_count(st), 4);
  CHECK_INT(calllog_store_cursor(st, "main", &cursor), 0);
  CHECK_INT(cursor, NOW);
  /* ... and the run asked during it starts from the cursor. */
  CHECK_INT(requests, 6);
  CHECK_INT(req_time("start"), NOW - 3600);
  CHECK_INT(req_int("page"), 1);
  answer(page(0, (const char *const[]){NULL}, NOW));
  CHECK_INT(requests, 6);

  /* The gateway goes and comes back: a new window from the cursor. */
  CHECK_INT(calllog_store_cursor(st, "main", &cursor), 0);
  pb_clock_advance(600 * 1000);
  calllog_gateway_availability(&cl, false);
  calllog_gateway_availability(&cl, true);
  CHECK_INT(requests, 7);
  CHECK_INT(req_time("start"), cursor - 3600);
  CHECK_INT(req_time("end"), pb_clock_now());
  /* An answer that is not the contract's is a failure too. */
  answer(json_pack("{ss s{}}", "status", "ok", "data"));
  CHECK_INT(events, 4);
  CHECK(strstr(last_event_error, "'cdrs'") != NULL);
  /* A site that fails meanwhile: its failed page is not retried. */
  CHECK(pb_timer_armed(last_site->retry));
  calllog_site_status(&cl, "main", "unreachable");
  pb_clock_advance(pb_timer_when(last_site->retry) - pb_clock_now_ms());
  pb_loop_run_once(loop, 0);
  CHECK_INT(requests, 7);
  CHECK(!last_site->running);
  /* ok again: a new catch-up from the cursor. */
  calllog_site_status(&cl, "main", "ok");
  CHECK_INT(requests, 8);
  CHECK_INT(req_time("start"), cursor - 3600);
  /* Removed while its page is out: the failure ends the catch-up. */
  calllog_site_status(&cl, "main", NULL);
  calllog_backfill_answer(last_site, NULL);
  CHECK(!last_site->running);
  CHECK(!pb_timer_armed(last_site->retry));
  calllog_backfill_all(&cl, "test");
  CHECK_INT(requests, 8);

  calllog_cleanup(&cl);
  json_decref(last_req);
  pb_loop_free(loop);
  pb_store_close(st);
}

/* CALL_LOG_RETENTION_DAYS: at start, a batch per loop turn, then hourly. */
static void test_retention(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/ret.db", dir);
  struct pb_store *st = NULL;
  struct pb_loop *loop = NULL;
  CHECK_INT(calllog_store_open_path(path, &st), 0);
  CHECK_INT(pb_loop_new(&loop), 0);
  pb_clock_set_fixed(NOW * 1000);
  /* 5,001 calls 31 days old, 2 from 29 days ago. */
  CHECK_INT(pb_store_begin(st), 0);
  char id[32];
  for (int i = 0; i < CALLLOG_PRUNE_BATCH + 3; i++) {
    snprintf(id, sizeof id, "r.%d", i);
    json_t *j = record("main", id, 0);
    struct pb_cdr c;
    char err[100];
    CHECK_INT(pb_cdr_from_json(j, &c, err, sizeof err), 0);
    c.start = NOW - (i < CALLLOG_PRUNE_BATCH + 1 ? 31 : 29) * 86400 + i % 60;
    c.answer = c.start + 3;
    c.end = c.start + 60;
    bool added;
    CHECK_INT(calllog_store_add(st, &c, &added), 0);
    json_decref(j);
  }
  CHECK_INT(pb_store_commit(st), 0);
  struct calllog cl = {0};
  struct calllog_io io = {fake_request, fake_event, NULL};
  struct calllog_settings set = {.retention_days = 30,
                                 .backfill_seconds = 900,
                                 .page_size = 2,
                                 .request_timeout_ms = 1000};
  CHECK_INT(calllog_init(&cl, loop, st, NULL, &io, &set), 0);
  pb_loop_run_once(loop, 0);
  CHECK_INT(calllog_store_count(st), 3); /* one batch gone */
  int64_t next = pb_timer_when(cl.prune) - pb_clock_now_ms();
  CHECK(next > 0 && next < 1000); /* the next batch soon */
  pb_clock_advance(next);
  pb_loop_run_once(loop, 0);
  CHECK_INT(calllog_store_count(st), 2);
  next = pb_timer_when(cl.prune) - pb_clock_now_ms();
  CHECK(next > 3000 * 1000); /* then in about an hour */
  calllog_cleanup(&cl);
  /* 0 keeps every call. */
  set.retention_days = 0;
  memset(&cl, 0, sizeof cl);
  CHECK_INT(calllog_init(&cl, loop, st, NULL, &io, &set), 0);
  CHECK(!pb_timer_armed(cl.prune));
  pb_clock_advance(400LL * 86400 * 1000);
  calllog_prune_step(&cl);
  CHECK_INT(calllog_store_count(st), 2);
  calllog_cleanup(&cl);
  pb_loop_free(loop);
  pb_store_close(st);
}

int main(void) {
  if (!mkdtemp(dir))
    return 1;
  RUN(test_backfill);
  RUN(test_retention);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    return 1;
  return CHECK_DONE();
}
