/* Inputs from the other services: R/ext/<site>/<ext>/schedule (ical-ingest)
 * and R/site/<site>/directory (yeastar-gateway: every PBX extension gets a
 * desired status, the default one when nothing is planned). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/map.h"
#include "sched.h"

/* "ext/<site>/<ext>/..." -> site and ext; false when malformed. */
bool sched_topic_ext(const char *topic, char *site, char *ext) {
  char buf[256];
  const char *seg[6];
  int n = pb_topic_split(topic, buf, sizeof buf, seg, 6);
  if (n < 4 || !pb_topic_id_valid(seg[1]) || !pb_topic_id_valid(seg[2]))
    return false;
  pb_strlcpy(site, seg[1], PB_ID_MAX);
  pb_strlcpy(ext, seg[2], PB_ID_MAX);
  return true;
}

static void on_schedule(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  (void)bus;
  struct sched *s = ud;
  char site[PB_ID_MAX], ext[PB_ID_MAX], err[256];
  if (!sched_topic_ext(msg->topic, site, ext))
    return;
  struct pb_schedule sc = {0};
  if (msg->len > 0) {
    json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
    int rc = j ? pb_schedule_from_json(j, &sc, err, sizeof err) : -1;
    json_decref(j);
    if (rc) {
      pb_bus_error_event(s->bus, msg, err);
      return; /* the previous schedule stays */
    }
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, true);
  if (!e) {
    pb_schedule_cleanup(&sc);
    return;
  }
  pb_schedule_cleanup(&e->schedule);
  e->schedule = sc;
  e->input_changed_at = pb_clock_now();
  sched_store_save_schedule(s, e, msg->payload);
  sched_evaluate(e, false);
}

static void on_directory(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  (void)bus;
  struct sched *s = ud;
  char err[256];
  if (msg->len == 0)
    return;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_directory d;
  int rc = j ? pb_directory_from_json(j, &d, err, sizeof err) : -1;
  json_decref(j);
  if (rc) {
    pb_bus_error_event(s->bus, msg, err);
    return;
  }
  for (size_t i = 0; i < d.count; i++) {
    struct sched_ext *e = sched_ext_get(s, d.site, d.entries[i].number, true);
    if (!e || e->in_directory)
      continue;
    e->in_directory = true;
    sched_evaluate(e, false);
  }
  pb_directory_cleanup(&d);
}

int sched_handlers_register(struct sched *s) {
  int rc = pb_bus_subscribe(s->bus, "ext/+/+/schedule", on_schedule, s);
  if (!rc)
    rc = pb_bus_subscribe(s->bus, "site/+/directory", on_directory, s);
  if (!rc)
    rc = sched_override_register(s);
  if (!rc)
    rc = sched_planning_register(s);
  return rc;
}
