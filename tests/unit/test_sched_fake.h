/* A fake bus for the scheduler's unit tests (mosquitto's *_stubs.c
 * pattern): struct sched_io records what would be published, so the real
 * scheduler logic, loop, timers and database run against a frozen clock. */
#ifndef TEST_SCHED_FAKE_H
#define TEST_SCHED_FAKE_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fake_bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/loop.h"
#include "pb/store.h"
#include "pb/tz.h"
#include "sched.h"

static size_t fake_unacked;

FAKE_UNUSED static int fake_publish(void *ud, const char *topic,
                                    const char *payload, size_t len,
                                    bool retain, bool absolute) {
  (void)ud;
  return fake_record(topic, payload, len, retain, absolute);
}

FAKE_UNUSED static int fake_event(void *ud, const char *kind, json_t *ev) {
  (void)ud;
  return fake_record_event(kind, ev);
}

FAKE_UNUSED static size_t fake_get_unacked(void *ud) {
  (void)ud;
  return fake_unacked;
}

FAKE_UNUSED static void fake_reset(void) {
  fake_forget_msgs();
}

static const struct sched_io fake_io = {fake_publish, fake_event,
                                        fake_get_unacked, NULL};

FAKE_UNUSED static int64_t at(const char *rfc3339) {
  int64_t t = -1;
  pb_time_parse_rfc3339(rfc3339, &t);
  return t;
}

FAKE_UNUSED static struct pb_slot slot(const char *start, const char *end,
                                       enum pb_presence st, int prio) {
  struct pb_slot s = {
      .start = at(start), .end = at(end), .status = st, .priority = prio};
  snprintf(s.uid, sizeof s.uid, "weekly:%s", start);
  snprintf(s.source, sizeof s.source, "weekly");
  return s;
}

FAKE_UNUSED static void set_plan(struct sched_ext *e, struct pb_slot *slots,
                                 size_t n) {
  struct pb_schedule sc = {
      .slots = slots, .count = n, .horizon_start = -1, .horizon_end = -1};
  sched_plan_free(e->plan);
  e->plan = NULL;
  CHECK_INT(sched_plan_from_schedule(&sc, &e->plan), 0);
  CHECK_INT(sched_store_save_plan(e->sched, e), 0);
}

/* Fire whatever is due at the fake "now". */
FAKE_UNUSED static void turn(struct pb_loop *loop) {
  for (int i = 0; i < 3; i++)
    pb_loop_run_once(loop, 0);
}

FAKE_UNUSED static void set_now(const char *rfc3339) {
  pb_clock_set_fixed(at(rfc3339) * 1000);
}

FAKE_UNUSED /* Removes what fake_tmpdir and the store made. */
    FAKE_UNUSED static void
    fake_rmdir(const char *dir) {
  const char *files[] = {"scheduler.db", "scheduler.db-wal",
                         "scheduler.db-shm"};
  char path[128];
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

FAKE_UNUSED static char *fake_tmpdir(void) {
  static char dir[64];
  snprintf(dir, sizeof dir, "/tmp/pb-sched-test-XXXXXX");
  return mkdtemp(dir);
}

#endif
