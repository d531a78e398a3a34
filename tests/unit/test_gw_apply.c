/* Applying desired statuses (services/yeastar-gateway/apply_outbox.c) with
 * the real queue, token and directory code against a fake PBX: a failed
 * extension/update is retried after 1 s doubling to APPLY_RETRY_MAX_SECONDS
 * with +-25 % jitter, never before its time; only the latest status goes
 * out; the outbox survives a restart; the backoff starts again when a PBX
 * that was down answers (docs/gateway.md, "What a failure looks like"). */
#include "test_gw_fake.h"

static const char *const numbers[] = {"101", "102"};
static const char *const shown[] = {"available", "available"};

/* The update in flight for `number` failed with an Open API error. */
static void fail_update(const char *number) {
  struct fake_req *r = fake_next("extension/update");
  CHECK(r != NULL);
  (void)number;
  if (r)
    fake_answer_errcode(r, 50001);
}

static void backoff_doubles_to_the_maximum(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "101");
  size_t mark = fake_mark();
  desire(s, "101", PB_PRESENCE_AWAY, -1, PB_PRESENCE_NONE);
  CHECK_INT(fake_pending("extension/update"), 1);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "away");
  CHECK(e->in_outbox);
  for (int attempt = 1; attempt <= 12; attempt++) {
    fail_update("101");
    CHECK_INT(e->attempts, attempt);
    int64_t base = 1000;
    for (int i = 1; i < attempt && base < 300000; i++)
      base *= 2;
    if (base > 300000)
      base = 300000;
    int64_t delay = e->next_attempt_ms - pb_clock_now_ms();
    CHECK(delay >= base - base / 4 && delay <= base + base / 4);
    /* Not a millisecond early... */
    advance_ms(&v, delay - 1);
    CHECK_INT(fake_pending("extension/update"), 0);
    /* ...and on time. */
    advance_ms(&v, 1);
    CHECK_INT(fake_pending("extension/update"), 1);
  }
  /* One apply_failed event per failure, with its attempt. */
  CHECK_INT(fake_n(mark, "events/apply_failed"), 12);
  json_t *ev = fake_last(mark, "events/apply_failed");
  CHECK_INT(json_integer_value(json_object_get(ev, "attempts")), 12);
  json_decref(ev);
  /* Success: the PBX shows it, the count and the outbox row go. */
  fake_answer_ok(fake_next("extension/update"));
  CHECK_INT(e->attempts, 0);
  CHECK_INT(e->pbx_status, PB_PRESENCE_AWAY);
  CHECK(!e->in_outbox && !e->in_retry);
  CHECK_INT(fake_n(mark, "events/apply"), 1);
  json_t *st = fake_last(mark, "ext/main/101/state");
  CHECK_STR(pb_json_str(st, "status"), "away");
  json_decref(st);
  env_free(&v);
}

/* A whole site's failures do not retry in step. */
static void jitter_spreads_retries(void) {
  struct env v;
  env_new(&v, false);
  enum { N = 40 };
  char names[N][8];
  const char *nums[N], *st[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "%d", 200 + i);
    nums[i] = names[i];
    st[i] = "available";
  }
  v.gw.max_concurrency = N;
  struct gw_site *s = site_ready(&v, "main", nums, st, N);
  for (int i = 0; i < N; i++)
    desire(s, nums[i], PB_PRESENCE_LUNCH, -1, PB_PRESENCE_NONE);
  CHECK_INT(fake_pending("extension/update"), N);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < N; i++)
    fail_update(nums[i]);
  for (int i = 0; i < N; i++) {
    int64_t d = gw_ext_get(s, nums[i])->next_attempt_ms - pb_clock_now_ms();
    CHECK(d >= 750 && d <= 1250);
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  /* 40 draws from 501 values: all the same has odds of 1 in 501^39. */
  CHECK(hi > lo);
  /* Each goes at its own time: by the latest, all of them. */
  advance_ms(&v, lo - 1);
  CHECK_INT(fake_pending("extension/update"), 0);
  advance_ms(&v, hi - lo + 1);
  CHECK_INT(fake_pending("extension/update"), N);
  env_free(&v);
}

/* The body is built when the request leaves: statuses decided while one
 * is on the wire are not sent one by one; the retry carries the latest. */
static void only_the_latest_status_goes(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "102");
  size_t rmark = fake_nreqs;
  desire(s, "102", PB_PRESENCE_AWAY, -1, PB_PRESENCE_NONE);
  desire(s, "102", PB_PRESENCE_LUNCH, -1, PB_PRESENCE_NONE);
  desire(s, "102", PB_PRESENCE_OFF_WORK, -1, PB_PRESENCE_NONE);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "away");
  fail_update("102");
  CHECK_INT(fake_pending("extension/update"), 0);
  advance_ms(&v, e->next_attempt_ms - pb_clock_now_ms());
  CHECK_INT(fake_sent(rmark, "extension/update"), 2);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "off_work");
  fake_answer_ok(fake_next("extension/update"));
  CHECK_INT(e->pbx_status, PB_PRESENCE_OFF_WORK);
  CHECK(!e->in_outbox);
  /* A new status does not wait for an old one's backoff. */
  desire(s, "102", PB_PRESENCE_DO_NOT_DISTURB, -1, PB_PRESENCE_NONE);
  CHECK_INT(fake_sent(rmark, "extension/update"), 3);
  fake_answer_ok(fake_next("extension/update"));
  /* Already shown: nothing is sent. */
  desire(s, "102", PB_PRESENCE_DO_NOT_DISTURB, -1, PB_PRESENCE_NONE);
  desire(s, "101", PB_PRESENCE_AVAILABLE, -1, PB_PRESENCE_NONE);
  CHECK_INT(fake_sent(rmark, "extension/update"), 3);
  env_free(&v);
}

/* A status not applied yet is in the database: after a restart it goes
 * out once the directory gives the extension's id. */
static void outbox_survives_a_restart(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  desire(s, "101", PB_PRESENCE_BUSINESS_TRIP, -1, PB_PRESENCE_NONE);
  fail_update("101");
  env_restart(&v);
  size_t rmark = fake_nreqs;
  s = site_start(&v, "main");
  struct gw_ext *e = gw_ext_get(s, "101");
  CHECK(e && e->in_outbox && e->desired == PB_PRESENCE_BUSINESS_TRIP);
  /* The stored token is reused: no login. */
  CHECK_INT(fake_sent(rmark, "get_token"), 0);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  fake_answer_list(fake_next("extension/list"), numbers, shown, 2);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "business_trip");
  fake_answer_ok(fake_next("extension/update"));
  env_restart(&v);
  s = site_start(&v, "main");
  e = gw_ext_get(s, "101");
  CHECK(!e || !e->in_outbox);
  env_free(&v);
}

/* An extension backing off for 8 s is tried again as soon as a PBX that
 * was down answers, with a fresh count. */
static void backoff_restarts_when_the_pbx_is_back(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "101");
  desire(s, "101", PB_PRESENCE_AWAY, -1, PB_PRESENCE_NONE);
  for (int i = 0; i < 4; i++) {
    fail_update("101");
    if (i < 3)
      advance_ms(&v, e->next_attempt_ms - pb_clock_now_ms());
  }
  CHECK_INT(e->attempts, 4);
  CHECK(e->next_attempt_ms - pb_clock_now_ms() >= 6000);
  /* The PBX stops answering: the read-back meets a refused connection. */
  gw_directory_read(s, false);
  fake_fail(fake_next("extension/list"), PB_HTTP_FAIL_CONNECT);
  CHECK(s->down);
  CHECK_STR(s->state, "unreachable");
  /* The first probe goes within 1.1 s; the PBX answers it. */
  advance_ms(&v, 1100);
  struct fake_req *probe = fake_next("extension/list");
  CHECK(probe != NULL && strcmp(probe->query, "page=1&page_size=1") == 0);
  size_t rmark = fake_nreqs;
  fake_answer_list(probe, numbers, shown, 1);
  CHECK(!s->down);
  CHECK_STR(s->state, "ok");
  CHECK_INT(e->attempts, 0);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  env_free(&v);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(backoff_doubles_to_the_maximum);
  RUN(jitter_spreads_retries);
  RUN(only_the_latest_status_goes);
  RUN(outbox_survives_a_restart);
  RUN(backoff_restarts_when_the_pbx_is_back);
  return CHECK_DONE();
}
