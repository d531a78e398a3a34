/* Calls on the bus (docs/topics.md): each extension's call state,
 * R/ext/<site>/<ext>/call, and the calls in progress of a site,
 * R/site/<site>/calls, both retained, from the site's call state
 * (call_state.c); and the timer that ends calls without news after
 * CALL_STALE_SECONDS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/topics.h"

static bool ext_known(void *ud, const char *number, unsigned *online) {
  struct gw_site *s = ud;
  struct gw_ext *e = gw_ext_get(s, number);
  if (!e || !e->listed)
    return false;
  *online = e->online;
  return true;
}

static int64_t stale_ms(const struct gw_site *s) {
  return (s->gw->call_stale_s > 0 ? s->gw->call_stale_s : 14400) * 1000;
}

#define PENDING_CHECK_MS 1000

static void arm(struct gw_site *s) {
  int64_t at = gw_callstate_next_expiry(s->callstate, stale_ms(s));
  if (s->calls_pending) { /* look again for the directory soon */
    int64_t soon = pb_clock_now_ms() + PENDING_CHECK_MS;
    if (at < 0 || soon < at)
      at = soon;
  }
  if (at < 0)
    pb_timer_disarm(s->call_timer);
  else
    pb_timer_arm(s->call_timer, at);
}

static void on_stale(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct gw_site *s = ud;
  if (s->calls_pending && s->directory_loaded)
    gw_call_republish(s);
  size_t n = gw_callstate_expire(s->callstate, pb_clock_now_ms(), stale_ms(s));
  if (n)
    pb_warn("site %s: %zu call state(s) without news for %llds taken as "
            "over (CALL_STALE_SECONDS)",
            s->name, n, (long long)(stale_ms(s) / 1000));
  gw_call_publish_changes(s);
}

int gw_call_site_init(struct gw_site *s) {
  s->callstate = gw_callstate_new(ext_known, s);
  s->call_timer = pb_timer_new(s->gw->loop, on_stale, s);
  if (!s->callstate || !s->call_timer) {
    gw_call_site_free(s);
    return PB_ENOMEM;
  }
  s->calls_pending = true;
  arm(s);
  return 0;
}

void gw_call_site_free(struct gw_site *s) {
  gw_callstate_free(s->callstate);
  s->callstate = NULL;
  pb_timer_free(s->call_timer);
  s->call_timer = NULL;
}

static void publish_ext(struct gw_site *s, const char *number,
                        const struct pb_call_state_msg *msg) {
  char topic[256];
  if (pb_topic_ext(topic, sizeof topic, s->name, number, PB_EXT_CALL))
    return;
  json_t *j = pb_call_state_to_json(msg, s->gw->tz);
  gw_publish_json(s->gw, topic, j, true);
  json_decref(j);
}

static void publish_site(struct gw_site *s) {
  char topic[256];
  struct pb_site_calls calls;
  if (pb_topic_site(topic, sizeof topic, s->name, PB_SITE_CALLS))
    return;
  if (gw_callstate_site(s->callstate, s->name, pb_clock_now_ms(), &calls)) {
    pb_error("site %s: out of memory listing its calls", s->name);
    return;
  }
  json_t *j = pb_site_calls_to_json(&calls, s->gw->tz);
  gw_publish_json(s->gw, topic, j, true);
  json_decref(j);
  pb_site_calls_cleanup(&calls);
}

void gw_call_publish_changes(struct gw_site *s) {
  if (!s->callstate || s->removed)
    return;
  char number[PB_NUMBER_MAX];
  struct pb_call_state_msg msg;
  while (gw_callstate_next_changed(s->callstate, number, sizeof number, &msg))
    publish_ext(s, number, &msg);
  if (gw_callstate_take_site_changed(s->callstate))
    publish_site(s);
  arm(s);
}

void gw_call_republish(struct gw_site *s) {
  if (!s->callstate || s->removed)
    return;
  if (!s->directory_loaded) {
    s->calls_pending = true;
    arm(s);
    return;
  }
  s->calls_pending = false;
  size_t pos = 0;
  const char *number;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, &number))) {
    struct pb_call_state_msg msg = {.state = PB_CALL_IDLE,
                                    .since = -1,
                                    .registered = e->online,
                                    .updated_at = pb_clock_now()};
    if (gw_callstate_ext(s->callstate, number, &msg) || e->listed)
      publish_ext(s, number, &msg);
  }
  publish_site(s);
  arm(s);
}

void gw_call_clear_topics(struct gw_site *s) {
  char topic[256];
  size_t pos = 0;
  const char *number;
  while (pb_map_next(s->exts, &pos, &number))
    if (pb_topic_ext(topic, sizeof topic, s->name, number, PB_EXT_CALL) == 0)
      gw_clear(s->gw, topic);
  if (pb_topic_site(topic, sizeof topic, s->name, PB_SITE_CALLS) == 0)
    gw_clear(s->gw, topic);
}
