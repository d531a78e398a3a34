/* The scheduler's per-extension table and the step run at every boundary:
 * expire a due override, decide, publish R/ext/<site>/<ext>/desired when the
 * decision changed, and re-arm the extension's timer at its next boundary.
 * Only the extension concerned is evaluated, so the cost of a boundary does
 * not grow with the number of extensions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "sched.h"

static void on_boundary(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  sched_evaluate(ud, false);
}

struct sched_ext *sched_ext_get(struct sched *s, const char *site,
                                const char *ext, bool create) {
  char key[2 * PB_ID_MAX];
  snprintf(key, sizeof key, "%s/%s", site, ext);
  struct sched_ext *e = pb_map_get(s->exts, key);
  if (e || !create)
    return e;
  if (!pb_topic_id_valid(site) || !pb_topic_id_valid(ext))
    return NULL;
  e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  pb_strlcpy(e->site, site, sizeof e->site);
  pb_strlcpy(e->ext, ext, sizeof e->ext);
  e->sched = s;
  e->timer = pb_timer_new(s->loop, on_boundary, e);
  if (!e->timer || pb_map_put(s->exts, key, e)) {
    sched_ext_free(e);
    return NULL;
  }
  return e;
}

void sched_ext_free(struct sched_ext *e) {
  if (!e)
    return;
  pb_timer_free(e->timer);
  pb_schedule_cleanup(&e->schedule);
  free(e->last_json);
  free(e);
}

static void expire_override(struct sched_ext *e, int64_t now) {
  struct sched *s = e->sched;
  char topic[256];
  pb_info("override of %s/%s (%s) expired", e->site, e->ext,
          pb_presence_name(e->override.status));
  json_t *ev = pb_override_to_json(&e->override, s->tz);
  json_object_set_new(ev, "action", json_string("expired"));
  json_object_set_new(ev, "site", json_string(e->site));
  json_object_set_new(ev, "ext", json_string(e->ext));
  e->has_override = false;
  e->input_changed_at = e->override.until < now ? e->override.until : now;
  sched_store_save_override(s, e);
  snprintf(topic, sizeof topic, "ext/%s/%s/override", e->site, e->ext);
  pb_bus_clear(s->bus, topic);
  pb_bus_event(s->bus, "override", ev);
}

static bool same_decision(const struct pb_desired *a, const struct pb_desired *b) {
  if (a->status != b->status || a->cause != b->cause ||
      a->has_slot != b->has_slot || a->has_override != b->has_override)
    return false;
  if (a->has_slot && (a->slot.start != b->slot.start ||
                      a->slot.end != b->slot.end ||
                      strcmp(a->slot.uid, b->slot.uid) != 0))
    return false;
  if (a->has_override && (a->override.set_at != b->override.set_at ||
                          a->override.until != b->override.until))
    return false;
  return true;
}

void sched_evaluate(struct sched_ext *e, bool force) {
  struct sched *s = e->sched;
  int64_t now = pb_clock_now();
  if (e->has_override && e->override.until >= 0 && e->override.until <= now)
    expire_override(e, now);
  struct sched_inputs in = {
      .slots = e->schedule.slots,
      .nslots = e->schedule.count,
      .override = e->has_override ? &e->override : NULL,
      .planning_off = e->planning_off,
      .default_status = s->default_status,
  };
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, now, &d, &next);
  if (e->has_last && same_decision(&e->last, &d)) {
    d.since = e->last.since;
  } else {
    /* A change caused by a command dates from the command; the first
     * decision, or one reached at a boundary, from that boundary. */
    int64_t since = sched_last_boundary(&in, now);
    if (e->has_last && e->input_changed_at > since)
      since = e->input_changed_at;
    d.since = since >= 0 ? since : now;
  }
  json_t *j = pb_desired_to_json(&d, s->tz);
  char *text = pb_json_dump(j);
  json_decref(j);
  if (text && (force || !e->last_json || strcmp(text, e->last_json) != 0)) {
    char topic[256];
    snprintf(topic, sizeof topic, "ext/%s/%s/desired", e->site, e->ext);
    pb_bus_publish_str(s->bus, topic, text, true);
    if (!e->has_last || e->last.status != d.status || e->last.cause != d.cause)
      pb_info("%s/%s: %s (%s)", e->site, e->ext,
              d.status == PB_PRESENCE_NONE ? "nothing imposed"
                                           : pb_presence_name(d.status),
              pb_cause_name(d.cause));
    free(e->last_json);
    e->last_json = text;
    e->last = d;
    e->has_last = true;
    sched_store_save_desired(s, e);
  } else {
    free(text);
  }
  if (next >= 0)
    pb_timer_arm(e->timer, next * 1000);
  else
    pb_timer_disarm(e->timer);
}

void sched_evaluate_all(struct sched *s, bool force) {
  size_t pos = 0;
  struct sched_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    sched_evaluate(e, force);
}
