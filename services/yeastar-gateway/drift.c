/* Drift: a status changed on the PBX by someone else (on the phone, in
 * Linkus, by the PBX admin), seen by the read-back or by a 30009 event
 * relayed from the PBX. DRIFT_POLICY=respect (the default) keeps the
 * person's choice until the next boundary of their planning (next_change.at
 * of the desired payload, or until the desired status changes when there is
 * none) and says so in an R/events/drift event and in the state topic;
 * enforce puts the planned status back at once. A kept drift is in the
 * database, so a restart does not overwrite it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/json.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/topics.h"

/* A PBX event arriving this soon after our own change may describe the
 * moment before it: the read-back, which is ordered, decides instead. */
#define EVENT_GRACE_MS 2000

static void drift_event(struct gw_site *s, const struct gw_ext *e,
                        const char *action, enum pb_presence previous,
                        const char *source) {
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "site", s->name, "ext", e->number,
                         "action", action, "policy",
                         s->gw->drift_enforce ? "enforce" : "respect");
  json_object_set_new(ev, "status",
                      e->pbx_status == PB_PRESENCE_NONE
                          ? json_null()
                          : json_string(pb_presence_name(e->pbx_status)));
  if (previous != PB_PRESENCE_NONE)
    json_object_set_new(ev, "previous",
                        json_string(pb_presence_name(previous)));
  json_object_set_new(ev, "desired",
                      e->desired == PB_PRESENCE_NONE
                          ? json_null()
                          : json_string(pb_presence_name(e->desired)));
  if (!strcmp(action, "kept"))
    pb_json_set_time_tz(ev, "until", e->drift_until, s->gw->tz);
  if (source)
    json_object_set_new(ev, "source", json_string(source));
  gw_event(s->gw, PB_EVENT_DRIFT, ev);
}

void gw_drift_end(struct gw_site *s, struct gw_ext *e, const char *why) {
  if (!e->drift_since)
    return;
  e->drift_since = 0;
  e->drift_until = 0;
  if (gw_store_drift_done(s, e->number))
    gw_store_warn(s->name, "the end of a kept change");
  pb_info("site %s: %s: the change made on the PBX is no longer kept (%s)",
          s->name, e->number, why);
  drift_event(s, e, "ended", PB_PRESENCE_NONE, NULL);
}

void gw_drift_observe(struct gw_site *s, struct gw_ext *e,
                      enum pb_presence seen, int64_t asked_ms,
                      const char *source) {
  if (seen == PB_PRESENCE_NONE || e->in_flight)
    return; /* a status we do not know, or our own update on its way */
  if (asked_ms && asked_ms <= e->applied_ms)
    return; /* read before our last update landed */
  if (!asked_ms && e->applied_ms &&
      pb_clock_now_ms() - e->applied_ms < EVENT_GRACE_MS &&
      seen != e->pbx_status) {
    pb_debug("site %s: %s: a PBX event says %s just after our change: the "
             "read-back will tell",
             s->name, e->number, pb_presence_name(seen));
    return;
  }
  enum pb_presence prev = e->pbx_status;
  if (seen == prev)
    return;
  e->pbx_status = seen;
  e->updated_at = pb_clock_now();
  if (seen == e->desired) {
    gw_drift_end(s, e, "the PBX shows the planned status again");
    gw_apply_check(s, e);
    gw_state_publish(s, e);
    return;
  }
  if (prev == PB_PRESENCE_NONE || e->desired == PB_PRESENCE_NONE) {
    /* First sight of it since the start, or nothing imposed: not a drift
     * (a change kept before a restart stays kept). */
    gw_state_publish(s, e);
    gw_apply_check(s, e);
    return;
  }
  if (s->gw->drift_enforce) {
    pb_info("site %s: %s was changed on the PBX to %s: putting %s back "
            "(DRIFT_POLICY=enforce)",
            s->name, e->number, pb_presence_name(seen),
            pb_presence_name(e->desired));
    drift_event(s, e, "enforced", prev, source);
    e->attempts = 0;
    e->next_attempt_ms = 0;
    if (!e->in_outbox && gw_store_outbox_put(s, e->number, e->desired) == 0)
      e->in_outbox = true;
    gw_state_publish(s, e);
    gw_apply_check(s, e);
    return;
  }
  if (!e->drift_since)
    e->drift_since = pb_clock_now();
  e->drift_until = e->next_at > 0 ? e->next_at : -1;
  bool began = gw_store_begin(s->gw);
  if (gw_store_drift_put(s, e))
    gw_store_warn(s->name, "a kept change");
  gw_apply_check(s, e); /* no longer needed: the outbox row and retries go */
  gw_store_end(s->gw, began);
  char until[40] = "the desired status changes";
  if (e->drift_until > 0)
    pb_time_format_rfc3339(e->drift_until, 0, until, sizeof until);
  pb_info(
      "site %s: %s was changed on the PBX to %s (planned: %s): kept until %s",
      s->name, e->number, pb_presence_name(seen), pb_presence_name(e->desired),
      until);
  drift_event(s, e, "kept", prev, source);
  gw_state_publish(s, e);
  gw_drift_arm(s);
}

static void on_drift_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct gw_site *s = ud;
  int64_t now = pb_clock_now();
  size_t pos = 0, n = 0, cap = pb_map_count(s->exts);
  struct gw_ext **due = calloc(cap ? cap : 1, sizeof *due);
  struct gw_ext *e;
  if (!due) {
    pb_timer_arm_in(t, 1000);
    return;
  }
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    if (e->drift_since && e->drift_until > 0 && e->drift_until <= now)
      due[n++] = e;
  for (size_t i = 0; i < n; i++) {
    e = due[i];
    /* At the boundary the planning moves on: the desired payload said to
     * what, so the gateway need not wait for the scheduler's next one. */
    bool boundary = e->next_at == e->drift_until;
    /* The drift row goes and the outbox row comes together: a kill -9 in
     * between would forget the status due at this boundary. */
    bool began = gw_store_begin(s->gw);
    gw_drift_end(s, e, "the planning's next change");
    if (boundary) {
      e->desired = e->next_status;
      e->since = e->next_at;
      e->next_at = -1;
      e->next_status = PB_PRESENCE_NONE;
      e->desired_ms = pb_clock_mono_ms();
    }
    if (gw_apply_needed(e) &&
        gw_store_outbox_put(s, e->number, e->desired) == 0)
      e->in_outbox = true;
    gw_store_end(s->gw, began);
    gw_state_publish(s, e);
    gw_apply_check(s, e);
  }
  free(due);
  gw_drift_arm(s);
}

void gw_drift_arm(struct gw_site *s) {
  int64_t next = -1;
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    if (e->drift_since && e->drift_until > 0 &&
        (next < 0 || e->drift_until < next))
      next = e->drift_until;
  if (!s->drift_timer)
    s->drift_timer = pb_timer_new(s->gw->loop, on_drift_timer, s);
  if (next < 0)
    pb_timer_disarm(s->drift_timer);
  else
    pb_timer_arm(s->drift_timer, next * 1000);
}

/* The decision comes back with the drift, so that the same desired payload
 * arriving again (retained) is known as the same decision. */
static void load_one(const struct gw_drift_row *row, void *ud) {
  struct gw_site *s = ud;
  struct gw_ext *e = gw_ext_touch(s, row->number);
  if (!e)
    return;
  e->drift_since = row->since;
  e->drift_until = row->until;
  e->desired = row->desired;
  e->cause = row->cause;
  e->since = row->decided;
  e->next_at = row->until;
}

void gw_drift_load(struct gw_site *s) {
  gw_store_drift_each(s, load_one, s);
  gw_drift_arm(s);
}
