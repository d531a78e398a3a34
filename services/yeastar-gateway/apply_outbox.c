/* Applying desired statuses to the PBX (P-Series "Update Extension":
 * extension/update with the internal id). Only the latest desired status of
 * an extension is sent (the request body is built when it leaves the queue),
 * nothing is sent when the PBX already shows it, every status still to apply
 * is in the outbox table until the PBX confirmed it (so a restart or kill -9
 * forgets nothing), and failures are retried with exponential backoff and
 * jitter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"

bool gw_apply_needed(const struct gw_ext *e) {
  return e->listed && e->id > 0 && e->desired != PB_PRESENCE_NONE &&
         e->desired != e->pbx_status && !e->drift_since;
}

/* Nothing left to apply: the outbox row and any retry go. */
static void settle(struct gw_site *s, struct gw_ext *e) {
  if (e->in_outbox) {
    if (gw_store_outbox_done(s, e->number))
      gw_store_warn(s->name, "the end of an outbox row");
    e->in_outbox = false;
  }
  if (e->in_retry) {
    pb_map_remove(s->retry, e->number);
    e->in_retry = false;
  }
  e->attempts = 0;
  e->next_attempt_ms = 0;
}

static json_t *update_body(struct gw_site *s, void *ud) {
  (void)s;
  struct gw_ext *e = ud;
  if (!gw_apply_needed(e))
    return NULL;
  e->sending = e->desired;
  return json_pack("{s:I,s:s}", "id", (json_int_t)e->id, "presence_status",
                   pb_presence_name(e->desired));
}

static void on_update(struct gw_site *s, int err, const char *errmsg,
                      json_t *resp, void *ud) {
  (void)resp;
  struct gw_ext *e = ud;
  e->in_flight = false;
  if (err == PB_ESTATE) {
    /* Nothing was sent: the PBX shows it already, or the site stops. */
    if (!s->removed) {
      gw_apply_check(s, e);
      gw_ext_release(s, e);
    }
    return;
  }
  int64_t now_ms = pb_clock_now_ms();
  int64_t latency = e->desired_ms ? pb_clock_mono_ms() - e->desired_ms : -1;
  if (err) {
    e->attempts++;
    e->next_attempt_ms =
        now_ms + gw_retry_delay_ms(e->attempts, s->gw->retry_max_s * 1000);
    pb_warn("site %s: setting %s to %s failed (attempt %d, next in %llds): %s",
            s->name, e->number, pb_presence_name(e->sending), e->attempts,
            (long long)((e->next_attempt_ms - now_ms + 999) / 1000), errmsg);
    gw_event_apply(s, e, e->sending, err, errmsg, -1);
  } else {
    e->attempts = 0;
    e->next_attempt_ms = 0;
    e->pbx_status = e->sending;
    e->updated_at = pb_clock_now();
    e->applied_ms = now_ms;
    pb_debug("site %s: %s is now %s on the PBX", s->name, e->number,
             pb_presence_name(e->sending));
    gw_event_apply(s, e, e->sending, 0, NULL, latency);
    if (e->desired == e->pbx_status)
      settle(s, e);
  }
  gw_state_publish(s, e);
  gw_apply_check(s, e);
  gw_ext_release(s, e);
}

/* Retries those whose time has come, or all of them (`all`: the PBX
 * answers again after an outage, so their backoff says nothing any more:
 * they start again from a fresh count). */
static void run_retries(struct gw_site *s, bool all) {
  int64_t now = pb_clock_now_ms(), next = -1;
  size_t pos = 0, n = 0, cap = pb_map_count(s->retry);
  struct gw_ext **due = calloc(cap ? cap : 1, sizeof *due);
  struct gw_ext *e;
  if (!due) {
    pb_timer_arm_in(s->apply_timer, 1000);
    return;
  }
  /* The map must not change while it is walked: collect, then act. */
  while ((e = pb_map_next(s->retry, &pos, NULL))) {
    if (all || e->next_attempt_ms <= now)
      due[n++] = e;
    else if (next < 0 || e->next_attempt_ms < next)
      next = e->next_attempt_ms;
  }
  for (size_t i = 0; i < n; i++) {
    pb_map_remove(s->retry, due[i]->number);
    due[i]->in_retry = false;
    if (all) {
      due[i]->attempts = 0;
      due[i]->next_attempt_ms = 0;
    }
    gw_apply_check(s, due[i]);
  }
  free(due);
  if (next >= 0 &&
      (!pb_timer_armed(s->apply_timer) || pb_timer_when(s->apply_timer) > next))
    pb_timer_arm(s->apply_timer, next);
}

static void on_apply_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  run_retries(ud, false);
}

void gw_apply_retry_now(struct gw_site *s) {
  if (s->removed || !s->apply_timer || pb_map_count(s->retry) == 0)
    return;
  pb_info("site %s: retrying %zu extensions now that the PBX answers", s->name,
          pb_map_count(s->retry));
  run_retries(s, true);
}

void gw_apply_check(struct gw_site *s, struct gw_ext *e) {
  if (s->removed)
    return;
  if (!gw_apply_needed(e)) {
    if (e->desired == PB_PRESENCE_NONE || e->desired == e->pbx_status)
      settle(s, e);
    return;
  }
  if (e->in_flight)
    return;
  int64_t now = pb_clock_now_ms();
  if (e->next_attempt_ms > now) {
    if (!e->in_retry && pb_map_put(s->retry, e->number, e) == 0)
      e->in_retry = true;
    if (!s->apply_timer)
      s->apply_timer = pb_timer_new(s->gw->loop, on_apply_timer, s);
    if (!pb_timer_armed(s->apply_timer) ||
        pb_timer_when(s->apply_timer) > e->next_attempt_ms)
      pb_timer_arm(s->apply_timer, e->next_attempt_ms);
    return;
  }
  if (e->in_retry) {
    pb_map_remove(s->retry, e->number);
    e->in_retry = false;
  }
  struct gw_request r = {.method = "POST",
                         .endpoint = "extension/update",
                         .body_cb = update_body,
                         .cb = on_update,
                         .ud = e};
  e->in_flight = true;
  if (gw_pbx_submit(s, &r))
    e->in_flight = false;
}

void gw_apply_check_all(struct gw_site *s) {
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    if (gw_apply_needed(e) || e->in_outbox)
      gw_apply_check(s, e);
}

void gw_apply_set_desired(struct gw_site *s, const char *number,
                          const struct pb_desired *d) {
  struct gw_ext *e = gw_ext_touch(s, number);
  if (!e) {
    pb_warn("site %s: cannot track extension %s (at most %d per site, "
            "[A-Za-z0-9_-]): its desired status is ignored",
            s->name, number, GW_MAX_EXTS);
    return;
  }
  bool same =
      e->desired == d->status && e->cause == d->cause && e->since == d->since;
  /* The end of a kept drift and the new outbox row: both or neither. */
  bool began = e->drift_since ? gw_store_begin(s->gw) : false;
  bool status_changed = e->desired != d->status;
  e->desired = d->status;
  e->cause = d->cause;
  e->since = d->since;
  e->next_at = d->next_at;
  e->next_status = d->next_status;
  if (e->drift_since) {
    if (same) {
      /* The same decision again (a reconnect, or its next boundary moved):
       * the person's choice stays, until that boundary. */
      int64_t until = d->next_at > 0 ? d->next_at : -1;
      if (until != e->drift_until) {
        e->drift_until = until;
        if (gw_store_drift_put(s, e))
          gw_store_warn(s->name, "a kept change's new end");
        gw_state_publish(s, e);
      }
      gw_store_end(s->gw, began);
      gw_drift_arm(s);
      return;
    }
    gw_drift_end(s, e, "the planning or an override decided again");
    status_changed = true;
  }
  if (status_changed) {
    e->attempts = 0;
    e->next_attempt_ms = 0;
    e->desired_ms = pb_clock_mono_ms();
  }
  if (d->status == PB_PRESENCE_NONE || d->status == e->pbx_status) {
    settle(s, e);
  } else if (!e->in_outbox || status_changed) {
    if (gw_store_outbox_put(s, number, d->status) == 0)
      e->in_outbox = true;
  }
  gw_store_end(s->gw, began);
  if (status_changed)
    gw_state_publish(s, e);
  if (status_changed && !e->listed && s->directory_loaded &&
      d->status != PB_PRESENCE_NONE)
    pb_info("site %s: extension %s is not in the PBX directory: its status "
            "waits in the outbox until it appears",
            s->name, number);
  gw_apply_check(s, e);
  gw_ext_release(s, e);
}

static void load_one(const char *number, enum pb_presence status, void *ud) {
  struct gw_site *s = ud;
  struct gw_ext *e = gw_ext_touch(s, number);
  if (!e)
    return;
  e->desired = status;
  e->in_outbox = true;
  e->desired_ms = pb_clock_mono_ms();
}

void gw_outbox_load(struct gw_site *s) {
  gw_store_outbox_each(s, load_one, s);
  size_t n = pb_map_count(s->exts);
  if (n)
    pb_info("site %s: %zu statuses from the outbox still to apply", s->name, n);
}
