/* The scheduler's per-extension table and the step run at every boundary:
 * expire a due override, decide, publish R/ext/<site>/<ext>/desired when the
 * decision changed, and re-arm the extension's timer at its next boundary
 * (docs/scheduling.md). Only the extension concerned is evaluated, so the
 * cost of a boundary does not grow with the number of extensions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/store.h"
#include "pb/topics.h"
#include "pb/tz.h"
#include "sched.h"

static void on_boundary(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  sched_evaluate(ud, false);
}

static void on_flush(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  sched_store_flush(ud);
}

int sched_init(struct sched *s, struct pb_loop *loop, const struct pb_tz *tz,
               enum pb_presence default_status, const struct sched_io *io) {
  memset(s, 0, sizeof *s);
  s->loop = loop;
  s->tz = tz;
  s->default_status = default_status;
  s->io = *io;
  s->root = "presence";
  s->exts = pb_map_new();
  s->zones = pb_map_new();
  s->sites = pb_map_new();
  s->flush = pb_timer_new(loop, on_flush, s);
  if (!s->exts || !s->zones || !s->sites || !s->flush) {
    sched_cleanup(s);
    return PB_ENOMEM;
  }
  return 0;
}

static void ext_free(struct sched_ext *e) {
  if (!e)
    return;
  pb_timer_free(e->timer);
  sched_plan_free(e->plan);
  free(e->override);
  free(e->name);
  free(e->tz_name);
  free(e);
}

void sched_cleanup(struct sched *s) {
  sched_ha_free(s->ha);
  s->ha = NULL;
  if (s->store && s->in_batch)
    sched_store_flush(s);
  pb_timer_free(s->flush);
  s->flush = NULL;
  size_t pos = 0;
  void *v;
  while (s->exts && (v = pb_map_next(s->exts, &pos, NULL)))
    ext_free(v);
  pb_map_free(s->exts);
  s->exts = NULL;
  pos = 0;
  while (s->zones && (v = pb_map_next(s->zones, &pos, NULL)))
    pb_tz_free(v);
  pb_map_free(s->zones);
  s->zones = NULL;
  pb_map_free(s->sites);
  s->sites = NULL;
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
  e->tz = s->tz;
  e->default_status = PB_PRESENCE_NONE;
  e->timer = pb_timer_new(s->loop, on_boundary, e);
  if (!e->timer || pb_map_put(s->exts, key, e)) {
    ext_free(e);
    return NULL;
  }
  return e;
}

void sched_site_known(struct sched *s, const char *site) {
  if (!pb_map_get(s->sites, site))
    pb_map_put(s->sites, site, s);
}

const char *sched_command_refused(struct sched *s, const char *site,
                                  const char *ext, char *buf, size_t len) {
  if (s->allow_unlisted)
    return NULL;
  const struct sched_ext *e = sched_ext_get(s, site, ext, false);
  if (e && e->in_directory)
    return NULL;
  /* Closed by default: with no directory at all (no gateway yet, or no
   * PBX), nothing is known to exist. */
  if (!pb_map_get(s->sites, site))
    snprintf(buf, len,
             "no PBX directory is known for site '%s' (%s/site/%s/"
             "directory): commands are refused until its gateway publishes "
             "one, or set ALLOW_UNLISTED_EXTENSIONS=true for a stack without "
             "a PBX",
             site, s->root, site);
  else
    snprintf(buf, len,
             "extension '%s' is not in the PBX directory of site "
             "'%s' (ALLOW_UNLISTED_EXTENSIONS=true accepts it)",
             ext, site);
  return buf;
}

enum pb_presence sched_default_of(const struct sched_ext *e) {
  return e->default_status != PB_PRESENCE_NONE ? e->default_status
                                               : e->sched->default_status;
}

int sched_topic(const struct sched_ext *e, const char *leaf, char *buf,
                size_t len) {
  return pb_topic_ext(buf, len, e->site, e->ext, leaf);
}

int sched_publish(struct sched *s, const char *topic, const char *text,
                  bool retain) {
  return s->io.publish(s->io.ud, topic, text, strlen(text), retain, false);
}

static struct sched_last last_of(const struct pb_desired *d) {
  struct sched_last l = {
      .since = d->since,
      .slot_start = d->has_slot ? d->slot.start : -1,
      .slot_end = d->has_slot ? d->slot.end : -1,
      .slot_uid =
          d->has_slot ? sched_hash(d->slot.uid, strlen(d->slot.uid), 0) : 0,
      .ov_set_at = d->has_override ? d->override.set_at : -1,
      .ov_until = d->has_override ? d->override.until : -1,
      .status = (int8_t)d->status,
      .cause = (int8_t)d->cause,
  };
  return l;
}

/* The same decision as the last one published: same status and cause, and
 * the same slot (start, end, uid) or the same override (set_at, until). */
static bool same_decision(const struct sched_last *a,
                          const struct sched_last *b) {
  return a->status == b->status && a->cause == b->cause &&
         a->slot_start == b->slot_start && a->slot_end == b->slot_end &&
         a->slot_uid == b->slot_uid && a->ov_set_at == b->ov_set_at &&
         a->ov_until == b->ov_until;
}

void sched_evaluate(struct sched_ext *e, bool force) {
  struct sched *s = e->sched;
  int64_t now = pb_clock_now();
  if (e->override && e->override->until >= 0 && e->override->until <= now)
    sched_override_expire(e, now);
  if (e->plan && e->plan->horizon_end >= 0 && e->plan->horizon_end <= now &&
      !e->stale_logged) {
    char at[40];
    pb_time_format_rfc3339(e->plan->horizon_end, 0, at, sizeof at);
    pb_warn("%s/%s: its schedule ran out at %s and no newer one came (is "
            "ical-ingest running?): only the default status applies now",
            e->site, e->ext, at);
    e->stale_logged = true;
  }
  struct sched_inputs in = {
      .plan = e->plan,
      .override = e->override,
      .planning_off = e->planning_off,
      .default_status = sched_default_of(e),
  };
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, now, &d, &next);
  d.since = now;
  struct sched_last cur = last_of(&d);
  if (e->has_last && same_decision(&e->last, &cur)) {
    d.since = e->last.since;
  } else {
    /* A change caused by a command dates from the command; the first
     * decision, or one reached at a boundary, from that boundary. */
    int64_t since = sched_last_boundary(&in, now);
    if (e->has_last && e->input_changed_at > since)
      since = e->input_changed_at;
    d.since = since >= 0 ? since : now;
  }
  cur.since = d.since;
  json_t *j = pb_desired_to_json(&d, e->tz);
  char *text = pb_json_dump(j);
  json_decref(j);
  if (text) {
    uint64_t h = sched_hash(text, strlen(text), 0);
    bool changed = !e->has_last || h != e->last_hash;
    char topic[160];
    if ((changed || force) &&
        !sched_topic(e, PB_EXT_DESIRED, topic, sizeof topic))
      s->io.publish(s->io.ud, topic, text, strlen(text), true, false);
    if (changed) {
      if (!e->has_last || e->last.status != cur.status ||
          e->last.cause != cur.cause)
        pb_info("%s/%s: %s (%s)", e->site, e->ext,
                d.status == PB_PRESENCE_NONE ? "nothing imposed"
                                             : pb_presence_name(d.status),
                pb_cause_name(d.cause));
      e->last = cur;
      e->last_hash = h;
      e->has_last = true;
      if (sched_store_save_desired(s, e, text))
        pb_warn("%s/%s: the desired status is not saved", e->site, e->ext);
    }
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

void sched_clock_jumped(struct sched *s) {
  pb_info("wall clock changed: deciding every extension again");
  sched_evaluate_all(s, false);
}

void sched_republish_all(struct sched *s) {
  /* Decide first: that expires the overrides that ended while we were
   * away, so only live ones are re-published. */
  sched_evaluate_all(s, true);
  size_t pos = 0;
  struct sched_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    sched_override_republish(e);
    if (sched_settings_custom(e))
      sched_settings_publish(e);
    char topic[160];
    if (e->planning_off &&
        !sched_topic(e, PB_EXT_PLANNING, topic, sizeof topic))
      sched_publish(s, topic, "off", true);
  }
  if (s->ha)
    sched_ha_publish_all(s->ha);
}
