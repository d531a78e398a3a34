/* The loop's timer heap: order, re-arming, cancelling, fake time. */
#include <stdlib.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/loop.h"

static int fired[64];
static int nfired;

static void record(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  fired[nfired++] = (int)(intptr_t)ud;
}

static void order_rearm_cancel(void) {
  struct pb_loop *loop;
  CHECK_INT(pb_loop_new(&loop), 0);
  pb_clock_set_fixed(1000000);
  struct pb_timer *t[20];
  /* arm 20 timers in a scrambled order */
  for (int i = 0; i < 20; i++) {
    t[i] = pb_timer_new(loop, record, (void *)(intptr_t)i);
    pb_timer_arm(t[i], 1000000 + ((i * 7) % 20) * 10);
  }
  CHECK_INT(pb_loop_timer_count(loop), 20);
  pb_timer_arm(t[0], 1000000 + 500);   /* move the first to the end */
  pb_timer_disarm(t[3]);               /* cancel one */
  CHECK(!pb_timer_armed(t[3]));
  nfired = 0;
  pb_clock_set_fixed(1000000 + 1000);
  pb_loop_run_once(loop, 0);
  CHECK_INT(nfired, 19);
  for (int i = 1; i < nfired; i++) {
    int a = fired[i - 1], b = fired[i];
    int64_t wa = a == 0 ? 500 : ((a * 7) % 20) * 10;
    int64_t wb = b == 0 ? 500 : ((b * 7) % 20) * 10;
    CHECK(wa <= wb);
  }
  CHECK_INT(fired[18], 0);
  CHECK_INT(pb_loop_timer_count(loop), 0);
  for (int i = 0; i < 20; i++)
    pb_timer_free(t[i]);
  pb_loop_free(loop);
  pb_clock_use_real();
}

static void not_before_due(void) {
  struct pb_loop *loop;
  CHECK_INT(pb_loop_new(&loop), 0);
  pb_clock_set_fixed(5000);
  struct pb_timer *t = pb_timer_new(loop, record, (void *)(intptr_t)42);
  pb_timer_arm_in(t, 100);
  nfired = 0;
  pb_loop_run_once(loop, 0);
  CHECK_INT(nfired, 0);
  pb_clock_advance(100);
  pb_loop_run_once(loop, 0);
  CHECK_INT(nfired, 1);
  CHECK_INT(fired[0], 42);
  pb_timer_free(t);
  pb_loop_free(loop);
  pb_clock_use_real();
}

static void real_clock_wait(void) {
  struct pb_loop *loop;
  CHECK_INT(pb_loop_new(&loop), 0);
  struct pb_timer *t = pb_timer_new(loop, record, (void *)(intptr_t)7);
  pb_timer_arm_in(t, 20);
  nfired = 0;
  int64_t start = pb_clock_mono_ms();
  while (nfired == 0 && pb_clock_mono_ms() - start < 5000)
    pb_loop_run_once(loop, 1000);
  CHECK_INT(nfired, 1);
  pb_timer_free(t);
  pb_loop_free(loop);
}

int main(void) {
  RUN(order_rearm_cancel);
  RUN(not_before_due);
  RUN(real_clock_wait);
  return CHECK_DONE();
}
