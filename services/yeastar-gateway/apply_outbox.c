/* Applying desired statuses to the PBX. Only the latest desired status of an
 * extension is kept (coalescing), nothing is sent when the PBX already shows
 * it, each pending apply is in the outbox table until the PBX confirmed it,
 * and failures are retried with exponential backoff and jitter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"

struct apply {
  struct gw_site *site;
  char number[PB_ID_MAX];
  enum pb_presence status;
};

/* Extensions with something to apply (number -> gw_ext). */
static struct pb_map *pending_of(struct gw_site *s) { return s->pending; }

static int64_t backoff_ms(const struct gw_site *s, int attempts) {
  int64_t max = s->gw->retry_max_s * 1000;
  int64_t base = 1000;
  for (int i = 1; i < attempts && base < max; i++)
    base *= 2;
  if (base > max)
    base = max;
  /* +-25 % jitter so a whole site's failures do not retry in step. */
  int64_t jitter = base / 4;
  return base - jitter + (jitter ? (int64_t)(random() % (2 * jitter + 1)) : 0);
}

static void done(struct gw_site *s, struct gw_ext *e) {
  gw_store_outbox_done(s, e->number);
  pb_map_remove(pending_of(s), e->number);
}

static void on_update(struct gw_site *s, int err, const char *errmsg, json_t *resp,
                      void *ud) {
  (void)resp;
  struct apply *a = ud;
  struct gw_ext *e = gw_ext_get(s, a->number);
  if (!e) {
    free(a);
    return; /* left the directory meanwhile */
  }
  e->in_flight = false;
  if (err) {
    e->attempts++;
    e->next_attempt_ms = pb_clock_now_ms() + backoff_ms(s, e->attempts);
    pb_warn("site %s: setting %s to %s failed (attempt %d, next in %llds): %s",
            s->name, e->number, pb_presence_name(a->status), e->attempts,
            (long long)((e->next_attempt_ms - pb_clock_now_ms()) / 1000), errmsg);
    gw_event_apply(s, e, a->status, err, errmsg);
  } else {
    e->attempts = 0;
    e->pbx_status = a->status;
    e->updated_at = pb_clock_now();
    pb_info("site %s: %s is now %s on the PBX", s->name, e->number,
            pb_presence_name(a->status));
    gw_event_apply(s, e, a->status, 0, NULL);
    if (e->desired == a->status)
      done(s, e);
  }
  gw_state_publish(s, e);
  free(a);
  gw_apply_kick(s);
}

static void send_update(struct gw_site *s, struct gw_ext *e) {
  struct apply *a = calloc(1, sizeof *a);
  if (!a)
    return;
  a->site = s;
  a->status = e->desired;
  pb_strlcpy(a->number, e->number, sizeof a->number);
  json_t *body = json_pack("{s:I,s:s}", "id", (json_int_t)e->id,
                           "presence_status", pb_presence_name(e->desired));
  e->in_flight = true;
  if (gw_pbx_call(s, "POST", "extension/update", NULL, body, on_update, a)) {
    e->in_flight = false;
    free(a);
  }
}

static void on_apply_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  gw_apply_kick(ud);
}

void gw_apply_kick(struct gw_site *s) {
  if (!s->directory_loaded)
    return; /* ids are unknown until the directory was read */
  if (!s->apply_timer)
    s->apply_timer = pb_timer_new(s->gw->loop, on_apply_timer, s);
  struct pb_map *pending = pending_of(s);
  int64_t now = pb_clock_now_ms(), next = -1;
  size_t pos = 0;
  struct gw_ext *e;
  char finished[256][PB_ID_MAX];
  size_t nfinished = 0;
  while ((e = pb_map_next(pending, &pos, NULL))) {
    if (e->in_flight)
      continue;
    if (e->desired == PB_PRESENCE_NONE || e->desired == e->pbx_status) {
      if (nfinished < 256)
        pb_strlcpy(finished[nfinished++], e->number, PB_ID_MAX);
      continue;
    }
    if (e->next_attempt_ms > now) {
      if (next < 0 || e->next_attempt_ms < next)
        next = e->next_attempt_ms;
      continue;
    }
    send_update(s, e);
  }
  /* Removing during the walk would move entries: finish afterwards. */
  for (size_t i = 0; i < nfinished; i++) {
    e = gw_ext_get(s, finished[i]);
    if (e) {
      done(s, e);
      gw_state_publish(s, e);
    }
  }
  if (nfinished == 256)
    next = now; /* more to finish: come back at once */
  if (next >= 0)
    pb_timer_arm(s->apply_timer, next);
}

void gw_apply_set_desired(struct gw_site *s, const char *number,
                          enum pb_presence status) {
  if (status == PB_PRESENCE_NONE)
    gw_store_outbox_done(s, number);
  else
    gw_store_outbox_put(s, number, status);
  struct gw_ext *e = gw_ext_get(s, number);
  if (!e) {
    if (s->directory_loaded && status != PB_PRESENCE_NONE)
      pb_warn("site %s: extension %s is not in the PBX directory: its status "
              "waits in the outbox", s->name, number);
    return;
  }
  if (e->desired == status)
    return;
  e->desired = status;
  e->attempts = 0;
  e->next_attempt_ms = 0;
  pb_map_put(pending_of(s), e->number, e);
  gw_state_publish(s, e);
  gw_apply_kick(s);
}

static void load_one(const char *number, enum pb_presence status, void *ud) {
  struct gw_site *s = ud;
  struct gw_ext *e = gw_ext_get(s, number);
  if (!e)
    return;
  e->desired = status;
  pb_map_put(pending_of(s), e->number, e);
}

void gw_outbox_load(struct gw_site *s) {
  gw_store_outbox_each(s, load_one, s);
  gw_apply_kick(s);
}
