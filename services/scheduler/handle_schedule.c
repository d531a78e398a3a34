/* Inputs from the other services: R/ext/<site>/<ext>/schedule (ical-ingest)
 * and R/site/<site>/directory (yeastar-gateway: every PBX extension gets a
 * desired status and a Home Assistant device; one that leaves the
 * directory loses its device). docs/topics.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/topics.h"
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

static void on_schedule(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  struct sched *s = ud;
  char site[PB_ID_MAX], ext[PB_ID_MAX], err[256];
  if (!sched_topic_ext(msg->topic, site, ext))
    return;
  /* After a restart the broker hands every retained schedule over again,
   * byte for byte: those are recognised without being parsed. */
  uint64_t raw = sched_hash(msg->payload, msg->len, 0);
  struct sched_ext *known = sched_ext_get(s, site, ext, false);
  if (known && known->plan && known->schedule_hash == raw)
    return;
  struct pb_schedule sc = {.horizon_start = -1, .horizon_end = -1};
  if (msg->len > 0) {
    json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
    int rc = j ? pb_schedule_from_json(j, &sc, err, sizeof err) : -1;
    json_decref(j);
    if (rc) {
      pb_bus_error_event(bus, msg, err);
      return; /* the previous schedule stays */
    }
  }
  struct sched_plan *plan = NULL;
  struct sched_ext *e = sched_ext_get(s, site, ext, true);
  int rc = e ? sched_plan_from_schedule(&sc, &plan) : -1;
  pb_schedule_cleanup(&sc);
  if (rc)
    return;
  /* ical-ingest re-publishes every schedule after each reconnect: an
   * identical one changes nothing and costs no write. */
  if (e->plan && e->plan->hash == plan->hash) {
    sched_plan_free(plan);
    if (e->schedule_hash != raw) {
      e->schedule_hash = raw;
      if (sched_store_save_plan(s, e))
        pb_warn("%s/%s: the schedule is not saved", e->site, e->ext);
    }
    return;
  }
  sched_plan_free(e->plan);
  e->plan = plan;
  e->schedule_hash = raw;
  e->stale_logged = false;
  e->input_changed_at = pb_clock_now();
  if (sched_store_save_plan(s, e))
    pb_warn("%s/%s: the schedule is not saved", e->site, e->ext);
  sched_evaluate(e, false);
}

static void on_directory(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  struct sched *s = ud;
  char err[256];
  if (msg->len == 0)
    return;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_directory d;
  int rc = j ? pb_directory_from_json(j, &d, err, sizeof err) : -1;
  json_decref(j);
  if (rc) {
    pb_bus_error_event(bus, msg, err);
    return;
  }
  struct pb_map *listed = pb_map_new();
  if (!listed) {
    pb_directory_cleanup(&d);
    return;
  }
  sched_site_known(s, d.site);
  /* A first directory of thousands of extensions is offered to Home
   * Assistant paced, like after a reconnect; a few joiners at once. */
  bool many = d.count > 100;
  size_t joined_ha = 0;
  for (size_t i = 0; i < d.count; i++) {
    const struct pb_dir_entry *de = &d.entries[i];
    struct sched_ext *e = sched_ext_get(s, d.site, de->number, true);
    if (!e)
      continue;
    pb_map_put(listed, de->number, e);
    bool renamed = !e->name || strcmp(e->name, de->name) != 0;
    if (e->in_directory && !renamed)
      continue;
    bool joined = !e->in_directory;
    if (renamed) {
      free(e->name);
      /* Without memory the name stays unknown and is tried again at the
       * next directory. */
      if (!(e->name = strdup(de->name)))
        pb_error("out of memory for the name of %s/%s", d.site, de->number);
    }
    e->in_directory = true;
    if (sched_store_save_directory(s, e))
      pb_warn("%s/%s: its directory entry is not saved", e->site, e->ext);
    if (s->ha && !many)
      sched_ha_publish(s->ha, e);
    joined_ha++;
    if (joined)
      sched_evaluate(e, false);
  }
  /* Extensions of this site that are no longer listed. */
  size_t pos = 0;
  struct sched_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    if (!e->in_directory || strcmp(e->site, d.site) != 0 ||
        pb_map_get(listed, e->ext))
      continue;
    e->in_directory = false;
    if (sched_store_save_directory(s, e))
      pb_warn("%s/%s: its leaving the directory is not saved", e->site, e->ext);
    if (s->ha)
      sched_ha_remove(s->ha, e);
  }
  if (s->ha && many && joined_ha)
    sched_ha_publish_all(s->ha);
  pb_map_free(listed);
  pb_directory_cleanup(&d);
}

int sched_inputs_register(struct pb_bus *bus, struct sched *s) {
  int rc =
      pb_bus_subscribe(bus, PB_TOPIC_EXT_ALL(PB_EXT_SCHEDULE), on_schedule, s);
  return rc ? rc
            : pb_bus_subscribe(bus, PB_TOPIC_SITE_ALL(PB_SITE_DIRECTORY),
                               on_directory, s);
}
