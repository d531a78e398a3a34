/* Overrides once accepted (handle_override.c parses them): stored, shown on
 * the retained R/ext/<site>/<ext>/override, and announced on
 * R/events/override with who, what and why, for a set, a clear and an
 * expiry alike (docs/topics.md). An expiry happens at the exact second of
 * `until`, or at start when it passed while the scheduler was down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "sched.h"

static void announce(struct sched_ext *e, const char *action, json_t *ev) {
  struct sched *s = e->sched;
  json_object_set_new(ev, "action", json_string(action));
  json_object_set_new(ev, "site", json_string(e->site));
  json_object_set_new(ev, "ext", json_string(e->ext));
  s->io.event(s->io.ud, PB_EVENT_OVERRIDE, ev);
}

static void publish_retained(struct sched_ext *e) {
  struct sched *s = e->sched;
  char topic[160];
  if (sched_topic(e, PB_EXT_OVERRIDE, topic, sizeof topic))
    return;
  if (!e->override) {
    s->io.publish(s->io.ud, topic, "", 0, true, false);
    return;
  }
  json_t *j = pb_override_to_json(e->override, e->tz);
  char *text = pb_json_dump(j);
  if (text)
    sched_publish(s, topic, text, true);
  free(text);
  json_decref(j);
}

int sched_override_set(struct sched_ext *e, const struct pb_override *o) {
  struct sched *s = e->sched;
  struct pb_override *copy = malloc(sizeof *copy);
  if (!copy)
    return PB_ENOMEM;
  *copy = *o;
  free(e->override);
  e->override = copy;
  e->input_changed_at = o->set_at;
  int rc = sched_store_save_override(s, e);
  sched_store_flush(s);
  char until[40] = "cleared";
  if (o->until >= 0)
    pb_time_format_rfc3339(o->until, 0, until, sizeof until);
  pb_info("override of %s/%s: %s until %s by '%s' (%s)", e->site, e->ext,
          pb_presence_name(o->status), until, o->by, o->reason);
  publish_retained(e);
  announce(e, "set", pb_override_to_json(o, e->tz));
  sched_evaluate(e, false);
  return rc;
}

int sched_override_clear(struct sched_ext *e, const char *by,
                         const char *reason) {
  struct sched *s = e->sched;
  if (!e->override)
    return PB_ENOTFOUND;
  json_t *ev = json_object();
  json_object_set_new(ev, "by", json_string(by ? by : ""));
  json_object_set_new(ev, "reason", json_string(reason ? reason : ""));
  json_object_set_new(ev, "override", pb_override_to_json(e->override, e->tz));
  free(e->override);
  e->override = NULL;
  e->input_changed_at = pb_clock_now();
  int rc = sched_store_save_override(s, e);
  sched_store_flush(s);
  pb_info("override of %s/%s cleared by '%s'", e->site, e->ext, by ? by : "");
  publish_retained(e);
  announce(e, "cleared", ev);
  sched_evaluate(e, false);
  return rc;
}

void sched_override_expire(struct sched_ext *e, int64_t now) {
  struct sched *s = e->sched;
  struct pb_override *o = e->override;
  if (!o)
    return;
  pb_info("override of %s/%s (%s) expired", e->site, e->ext,
          pb_presence_name(o->status));
  json_t *ev = pb_override_to_json(o, e->tz);
  /* An expiry noticed late (after a restart) still dates from `until`. */
  e->input_changed_at = o->until < now ? o->until : now;
  e->override = NULL;
  free(o);
  if (sched_store_save_override(s, e))
    pb_warn("%s/%s: the expiry of the override is not saved", e->site, e->ext);
  publish_retained(e);
  announce(e, "expired", ev);
}

/* After a reconnect the retained override topic is made true again. */
void sched_override_republish(struct sched_ext *e) {
  if (e->override)
    publish_retained(e);
}
