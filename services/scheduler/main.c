/* scheduler: decides every extension's desired status from its schedule,
 * override and settings, exactly at each boundary (docs/architecture.md), and
 * offers each PBX extension to Home Assistant. Start-up: configuration,
 * database, bus; everything else is in sched_*.c and handle_*.c. */
#include <stdio.h>
#include <stdlib.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/service.h"
#include "pb/store.h"
#include "sched.h"

static int io_publish(void *ud, const char *topic, const char *payload,
                      size_t len, bool retain, bool absolute) {
  return absolute ? pb_bus_publish_abs(ud, topic, payload, len, retain)
                  : pb_bus_publish(ud, topic, payload, len, retain);
}

static int io_event(void *ud, const char *kind, json_t *event) {
  return pb_bus_event(ud, kind, event);
}

static size_t io_unacked(void *ud) {
  return pb_bus_unacked(ud);
}

/* After every (re)connection the retained state is published again, so a
 * broker restarted without persistence is repaired. */
static void on_connect(struct pb_bus *bus, void *ud) {
  (void)bus;
  sched_republish_all(ud);
}

static void on_clock_jump(struct pb_loop *loop, void *ud) {
  (void)loop;
  sched_clock_jumped(ud);
}

int main(int argc, char **argv) {
  struct pb_service svc;
  struct sched s = {0};
  int exit_code = 0;
  if (pb_service_init(&svc, "scheduler", argc, argv,
                      "Decides each extension's desired presence status.", NULL,
                      &exit_code)) {
    pb_service_cleanup(&svc);
    return exit_code;
  }
  enum pb_presence def = PB_PRESENCE_AVAILABLE;
  pb_presence_parse(pb_config_str(svc.cfg, PB_CFG_DEFAULT_STATUS), &def);
  if (pb_service_connect(&svc)) {
    pb_service_cleanup(&svc);
    return 1;
  }
  struct sched_io io = {io_publish, io_event, io_unacked, svc.bus};
  if (sched_init(&s, svc.loop, svc.tz, def, &io)) {
    exit_code = 1;
    goto out;
  }
  s.root = pb_config_str(svc.cfg, PB_CFG_MQTT_TOPIC_ROOT);
  s.default_site = pb_config_str(svc.cfg, PB_CFG_SITE);
  s.allow_unlisted = pb_config_bool(svc.cfg, PB_CFG_ALLOW_UNLISTED_EXTENSIONS);
  if (pb_config_bool(svc.cfg, PB_CFG_HA_DISCOVERY) &&
      sched_ha_new(&s, pb_config_str(svc.cfg, PB_CFG_HA_DISCOVERY_PREFIX),
                   &s.ha)) {
    exit_code = 1;
    goto out;
  }
  if (sched_store_open(pb_config_str(svc.cfg, PB_CFG_DATA_DIR), &s.store) ||
      sched_store_load(&s) || sched_inputs_register(svc.bus, &s) ||
      sched_overrides_register(svc.bus, &s) ||
      sched_settings_register(svc.bus, &s) ||
      sched_retained_register(svc.bus, &s)) {
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
  sched_cleanup(&s);
  pb_store_close(s.store);
  pb_service_cleanup(&svc);
  return exit_code;
}
