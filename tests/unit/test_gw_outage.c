/* yeastar-gateway's outage rules (services/yeastar-gateway/pbx_outage.c):
 * when a site counts as down, when it is back, and the probe and retry
 * delays (docs/gateway.md, "What a failure looks like"); and the same
 * rules applied by the request queue (pbx_client.c) to a fake PBX. */
#include <stdint.h>

#include "test_gw_fake.h"

static void test_server_errors_in_a_row(void) {
  int n = 0;
  /* Up: the first 5xx are single failures, the third in a row is an outage. */
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_SERVER_ERROR), GW_OUTAGE_SAME);
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_SERVER_ERROR), GW_OUTAGE_SAME);
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_SERVER_ERROR), GW_OUTAGE_DOWN);
  CHECK_INT(n, GW_DOWN_AFTER_SERVER_ERRORS);
  /* Down: every 5xx (a probe's) keeps it down; an answer brings it back. */
  CHECK_INT(gw_outage_note(true, &n, GW_ANSWER_SERVER_ERROR), GW_OUTAGE_DOWN);
  CHECK_INT(gw_outage_note(true, &n, GW_ANSWER_API), GW_OUTAGE_BACK);
  CHECK_INT(n, 0);
  /* An answer between two 5xx starts the count again. */
  gw_outage_note(false, &n, GW_ANSWER_SERVER_ERROR);
  gw_outage_note(false, &n, GW_ANSWER_SERVER_ERROR);
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_API), GW_OUTAGE_SAME);
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_SERVER_ERROR), GW_OUTAGE_SAME);
  CHECK_INT(n, 1);
}

static void test_no_answer(void) {
  int n = 0;
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_NONE), GW_OUTAGE_DOWN);
  CHECK_INT(gw_outage_note(true, &n, GW_ANSWER_NONE), GW_OUTAGE_DOWN);
  /* A 5xx after a refused connection: still down, whatever the count. */
  CHECK_INT(gw_outage_note(true, &n, GW_ANSWER_SERVER_ERROR), GW_OUTAGE_DOWN);
  CHECK_INT(gw_outage_note(true, &n, GW_ANSWER_API), GW_OUTAGE_BACK);
  CHECK_INT(gw_outage_note(false, &n, GW_ANSWER_API), GW_OUTAGE_SAME);
}

static void test_probe_delays(void) {
  /* 1 s, 2 s, 4 s, then 5 s: a PBX that is back is seen within 5.5 s. */
  CHECK_INT(gw_probe_base_ms(1), 1000);
  CHECK_INT(gw_probe_base_ms(2), 2000);
  CHECK_INT(gw_probe_base_ms(3), 4000);
  CHECK_INT(gw_probe_base_ms(4), 5000);
  CHECK_INT(gw_probe_base_ms(1000), 5000);
  /* Up to 10 % more, drawn anew each time (pb_jitter). */
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 300; i++) {
    int64_t d1 = gw_probe_delay_ms(1), d = gw_probe_delay_ms(50);
    CHECK(d1 >= 1000 && d1 <= 1100);
    CHECK(d >= 5000 && d <= 5500);
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  /* 300 draws from 501 values: both ends of the range are approached. */
  CHECK(lo < 5100 && hi > 5400);
}

static void test_retry_delays(void) {
  /* 1 s doubling to the maximum, +-25 %. */
  CHECK_INT(gw_retry_base_ms(1, 300000), 1000);
  CHECK_INT(gw_retry_base_ms(4, 300000), 8000);
  CHECK_INT(gw_retry_base_ms(40, 300000), 300000);
  CHECK_INT(gw_retry_base_ms(3, 2000), 2000); /* capped at 2 s */
  CHECK_INT(gw_retry_base_ms(3, 0), 1000);    /* no maximum: 1 s */
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 300; i++) {
    int64_t d1 = gw_retry_delay_ms(1, 300000);
    int64_t d4 = gw_retry_delay_ms(4, 300000);
    int64_t dmax = gw_retry_delay_ms(40, 300000);
    CHECK(d1 >= 750 && d1 <= 1250);
    CHECK(d4 >= 6000 && d4 <= 10000);
    CHECK(dmax >= 225000 && dmax <= 375000);
    lo = d1 < lo ? d1 : lo;
    hi = d1 > hi ? d1 : hi;
  }
  /* Spread over the whole +-25 %, not a fixed offset. */
  CHECK(lo < 800 && hi > 1200);
}

/* HTTP 503 to three requests in a row: the first two are the update's own
 * failures, the third makes the site down; the update then waits in the
 * queue (no more failures counted), probes go until the PBX answers, and
 * the update goes out again. */
static void test_queue_waits_while_down(void) {
  static const char *const numbers[] = {"101"};
  static const char *const shown[] = {"available"};
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 1);
  struct gw_ext *e = gw_ext_get(s, "101");
  size_t mark = fake_mark();
  desire(s, "101", PB_PRESENCE_AWAY, -1, PB_PRESENCE_NONE);
  for (int i = 0; i < 3; i++) {
    if (i)
      advance_ms(&v, e->next_attempt_ms - pb_clock_now_ms());
    fake_answer(fake_next("extension/update"), 503, "");
  }
  CHECK_INT(e->attempts, 2);
  CHECK(s->down);
  CHECK_STR(s->state, "unreachable");
  CHECK_INT(fake_n(mark, "events/pbx_error"), 1);
  CHECK_INT(fake_n(mark, "events/apply_failed"), 2);
  /* A probe 1-1.1 s later; 503 again: still down, the next in 2-2.2 s. */
  size_t rmark = fake_nreqs;
  advance_ms(&v, 1100);
  CHECK_INT(fake_sent(rmark, "extension/list"), 1);
  fake_answer(fake_next("extension/list"), 503, "");
  CHECK(s->down);
  advance_ms(&v, 10000);
  CHECK_INT(fake_pending("extension/update"), 0);
  CHECK_INT(fake_n(mark, "events/pbx_error"), 1); /* told once */
  /* Probes do not pile up: at most GW_PROBES_MAX wait for an answer. */
  CHECK(fake_pending("extension/list") <= GW_PROBES_MAX);
  fake_answer_list(fake_next("extension/list"), numbers, shown, 1);
  CHECK(!s->down);
  CHECK_STR(s->state, "ok");
  CHECK_INT(fake_n(mark, "events/pbx_recovered"), 1);
  CHECK_INT(fake_pending("extension/update"), 1);
  fake_answer_ok(fake_next("extension/update"));
  CHECK_INT(e->attempts, 0);
  CHECK_INT(e->pbx_status, PB_PRESENCE_AWAY);
  CHECK_INT(fake_n(mark, "events/apply_failed"), 2);
  env_free(&v);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(test_server_errors_in_a_row);
  RUN(test_no_answer);
  RUN(test_probe_delays);
  RUN(test_retry_delays);
  RUN(test_queue_waits_while_down);
  return CHECK_DONE();
}
