/* CALL_LOG_RETENTION_DAYS: calls that started longer ago are deleted a
 * batch at a time (by the start index), the next batch on a later loop
 * turn, so that a year falling due at once never holds the loop; then
 * again every hour. 0 keeps every call for ever. */
#include "calllog.h"
#include "pb/clock.h"
#include "pb/jitter.h"
#include "pb/log.h"
#include "pb/loop.h"

#define HOUR_MS (3600 * 1000)
#define NEXT_BATCH_MS 50

void calllog_prune_step(struct calllog *cl) {
  if (cl->set.retention_days <= 0)
    return;
  int64_t before = pb_clock_now() - cl->set.retention_days * 86400;
  int64_t n = 0;
  if (calllog_store_prune(cl->store, before, CALLLOG_PRUNE_BATCH, &n)) {
    pb_error("calls older than %lld days could not be deleted; next try in "
             "an hour",
             (long long)cl->set.retention_days);
    pb_timer_arm_in(cl->prune, pb_jitter(HOUR_MS, HOUR_MS / 10));
    return;
  }
  cl->pruned += n;
  if (n == CALLLOG_PRUNE_BATCH) {
    pb_timer_arm_in(cl->prune, NEXT_BATCH_MS);
    return;
  }
  if (cl->pruned)
    pb_info("retention: %lld calls older than %lld days deleted",
            (long long)cl->pruned, (long long)cl->set.retention_days);
  cl->pruned = 0;
  pb_timer_arm_in(cl->prune, pb_jitter(HOUR_MS, HOUR_MS / 10));
}

static void on_prune(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  calllog_prune_step(ud);
}

int calllog_retention_start(struct calllog *cl) {
  cl->prune = pb_timer_new(cl->loop, on_prune, cl);
  if (!cl->prune)
    return PB_ENOMEM;
  if (cl->set.retention_days > 0)
    pb_timer_arm_in(cl->prune, 0); /* at once: the first loop turn */
  return 0;
}
