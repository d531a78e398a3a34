/* yeastar-gateway's outage rules (services/yeastar-gateway/pbx_outage.c):
 * when a site counts as down, when it is back, and the probe and retry
 * delays (docs/gateway.md, "What a failure looks like"). */
#include <stdint.h>

#include "check.h"
#include "gateway.h"

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
  CHECK_INT(gw_probe_delay_ms(1, 0), 1000);
  CHECK_INT(gw_probe_delay_ms(2, 0), 2000);
  CHECK_INT(gw_probe_delay_ms(3, 0), 4000);
  CHECK_INT(gw_probe_delay_ms(4, 0), 5000);
  CHECK_INT(gw_probe_delay_ms(1000, 0), 5000);
  for (uint32_t r = 0; r < 2000; r += 7) {
    int64_t d = gw_probe_delay_ms(50, r);
    CHECK(d >= 5000 && d <= 5500);
  }
}

static void test_retry_delays(void) {
  /* 1 s doubling to the maximum, +-25 %. */
  for (uint32_t r = 0; r < 100000; r += 997) {
    int64_t d1 = gw_retry_delay_ms(1, 300000, r);
    int64_t d4 = gw_retry_delay_ms(4, 300000, r);
    int64_t dmax = gw_retry_delay_ms(40, 300000, r);
    CHECK(d1 >= 750 && d1 <= 1250);
    CHECK(d4 >= 6000 && d4 <= 10000);
    CHECK(dmax >= 225000 && dmax <= 375000);
  }
  CHECK_INT(gw_retry_delay_ms(3, 2000, 0), 1500); /* capped at 2 s, less 25 % */
}

int main(void) {
  RUN(test_server_errors_in_a_row);
  RUN(test_no_answer);
  RUN(test_probe_delays);
  RUN(test_retry_delays);
  return CHECK_DONE();
}
