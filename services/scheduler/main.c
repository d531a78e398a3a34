/* scheduler: decides every extension's desired status from its schedule,
 * override and settings, exactly at each boundary (BRIEF §2). */
#include <stdio.h>
#include <stdlib.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/service.h"
#include "pb/store.h"
#include "sched.h"

/* After every (re)connection the retained state is published again, so a
 * broker restarted without persistence is repaired. */
static void on_connect(struct pb_bus *bus, void *ud) {
  (void)bus;
  struct sched *s = ud;
  /* Decide first: that expires the overrides that ended while we were away,
   * so only live ones are re-published. */
  sched_evaluate_all(s, true);
  size_t pos = 0;
  struct sched_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    sched_override_republish(s, e);
    if (e->planning_off)
      sched_planning_publish(s, e);
  }
}

static void on_clock_jump(struct pb_loop *loop, void *ud) {
  (void)loop;
  sched_evaluate_all(ud, false);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  int exit_code = 0;
  if (pb_service_init(&svc, "scheduler", argc, argv,
                      "Decides each extension's desired presence status.", NULL,
                      &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  struct sched s = {.loop = svc.loop, .tz = svc.tz, .cfg = svc.cfg};
  pb_presence_parse(pb_config_str(svc.cfg, PB_CFG_DEFAULT_STATUS), &s.default_status);
  s.exts = pb_map_new();
  if (!s.exts || sched_store_open(pb_config_str(svc.cfg, PB_CFG_DATA_DIR), &s.store) ||
      pb_service_connect(&svc)) {
    exit_code = 1;
    goto out;
  }
  s.bus = svc.bus;
  if (sched_store_load(&s) || sched_handlers_register(&s)) {
    exit_code = 1;
    goto out;
  }
  pb_bus_on_connect(svc.bus, on_connect, &s);
  pb_loop_on_clock_jump(svc.loop, on_clock_jump, &s);
  exit_code = pb_service_run(&svc);
out:
  /* Stop the bus before freeing what its handlers use. */
  pb_bus_free(svc.bus);
  svc.bus = NULL;
  if (s.exts) {
    size_t pos = 0;
    struct sched_ext *e;
    while ((e = pb_map_next(s.exts, &pos, NULL)))
      sched_ext_free(e);
    pb_map_free(s.exts);
  }
  pb_store_close(s.store);
  pb_service_cleanup(&svc);
  return exit_code;
}
