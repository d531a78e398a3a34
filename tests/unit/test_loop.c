/* The loop's timer heap: order, re-arming, cancelling, fake time; the
 * background worker that hands its results back to the loop. */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/loop.h"
#include "pb/worker.h"

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
  pb_timer_arm(t[0], 1000000 + 500); /* move the first to the end */
  pb_timer_disarm(t[3]);             /* cancel one */
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

/* ---- the worker ---- */
struct wjob {
  int n;
  pthread_t ran_on, done_on;
  int *order;
  int *norder;
};

static void wjob_work(void *ud) {
  struct wjob *j = ud;
  j->ran_on = pthread_self();
  j->n *= 2;
}

static void wjob_done(void *ud) {
  struct wjob *j = ud;
  j->done_on = pthread_self();
  j->order[(*j->norder)++] = j->n;
}

static void worker_hands_back_in_order(void) {
  struct pb_loop *loop;
  CHECK_INT(pb_loop_new(&loop), 0);
  struct pb_worker *w;
  CHECK_INT(pb_worker_new(loop, 3, &w), 0);
  int order[8], norder = 0;
  struct wjob jobs[4];
  for (int i = 0; i < 4; i++)
    jobs[i] = (struct wjob){.n = i + 1, .order = order, .norder = &norder};
  for (int i = 0; i < 3; i++)
    CHECK_INT(pb_worker_submit(w, wjob_work, wjob_done, &jobs[i]), 0);
  /* The queue holds three: the fourth is refused, nothing queued. */
  CHECK_INT(pb_worker_submit(w, wjob_work, wjob_done, &jobs[3]), PB_EUNAVAIL);
  CHECK_INT(pb_worker_pending(w), 3);
  for (int spins = 0; norder < 3 && spins < 500; spins++)
    pb_loop_run_once(loop, 20);
  CHECK_INT(norder, 3);
  CHECK_INT(pb_worker_pending(w), 0);
  for (int i = 0; i < 3; i++) {
    CHECK_INT(order[i], 2 * (i + 1));
    CHECK(!pthread_equal(jobs[i].ran_on, pthread_self()));
    CHECK(pthread_equal(jobs[i].done_on, pthread_self()));
  }
  /* Room again; a job still queued at free time is finished by free. */
  CHECK_INT(pb_worker_submit(w, wjob_work, wjob_done, &jobs[3]), 0);
  pb_worker_free(w);
  CHECK_INT(norder, 4);
  CHECK_INT(order[3], 8);
  pb_loop_free(loop);
}

int main(void) {
  RUN(order_rearm_cancel);
  RUN(not_before_due);
  RUN(real_clock_wait);
  RUN(worker_hands_back_in_order);
  return CHECK_DONE();
}
