/* The running call log: start-up and shutdown of its state, and the CDRs
 * of the live feed (R/events/cdr) stored once each. */
#include <stdlib.h>

#include "calllog.h"
#include "pb/jitter.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/store.h"

static void on_periodic(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  struct calllog *cl = ud;
  calllog_backfill_all(cl, "periodic catch-up");
  int64_t ms = cl->set.backfill_seconds * 1000;
  pb_timer_arm_in(t, pb_jitter(ms, ms / 10));
}

int calllog_init(struct calllog *cl, struct pb_loop *loop,
                 struct pb_store *store, const struct pb_tz *tz,
                 const struct calllog_io *io,
                 const struct calllog_settings *set) {
  cl->loop = loop;
  cl->store = store;
  cl->tz = tz;
  cl->io = *io;
  cl->set = *set;
  cl->sites = pb_map_new();
  cl->periodic = pb_timer_new(loop, on_periodic, cl);
  if (!cl->sites || !cl->periodic || calllog_retention_start(cl))
    return PB_ENOMEM;
  if (set->backfill_seconds > 0) {
    int64_t ms = set->backfill_seconds * 1000;
    pb_timer_arm_in(cl->periodic, pb_jitter(ms, ms / 10));
  }
  return 0;
}

void calllog_cleanup(struct calllog *cl) {
  if (cl->sites) {
    size_t pos = 0;
    struct calllog_site *s;
    while ((s = pb_map_next(cl->sites, &pos, NULL))) {
      pb_timer_free(s->retry);
      free(s);
    }
    pb_map_free(cl->sites);
    cl->sites = NULL;
  }
  pb_timer_free(cl->periodic);
  pb_timer_free(cl->prune);
  cl->periodic = cl->prune = NULL;
}

int calllog_add(struct calllog *cl, const struct pb_cdr *c, bool *added) {
  int rc = calllog_store_add(cl->store, c, added);
  if (rc)
    pb_error("site %s: call %s could not be stored (%s)", c->site, c->call_id,
             pb_strerror(rc));
  else
    pb_debug("site %s: call %s %s", c->site, c->call_id,
             *added ? "stored" : "already in the log");
  return rc;
}
