/* Overrides: R/ext/<site>/<ext>/override/set (a bare status word or JSON
 * {status, minutes | until, reason, by}) and .../override/clear. A refused
 * override leaves the current one untouched and is reported on
 * R/events/error; every set and clear is an event on R/events/override. */
#include <stdio.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "sched.h"

static void publish_override(struct sched *s, struct sched_ext *e,
                             const char *action, const char *by) {
  char topic[256];
  snprintf(topic, sizeof topic, "ext/%s/%s/override", e->site, e->ext);
  json_t *ev;
  if (e->has_override) {
    json_t *j = pb_override_to_json(&e->override, s->tz);
    pb_bus_publish_json(s->bus, topic, j, true);
    ev = j;
  } else {
    pb_bus_clear(s->bus, topic);
    ev = json_object();
    json_object_set_new(ev, "by", json_string(by ? by : ""));
  }
  json_object_set_new(ev, "action", json_string(action));
  json_object_set_new(ev, "site", json_string(e->site));
  json_object_set_new(ev, "ext", json_string(e->ext));
  pb_bus_event(s->bus, "override", ev);
}

static void on_set(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  (void)bus;
  struct sched *s = ud;
  char site[PB_ID_MAX], ext[PB_ID_MAX], err[256];
  if (!sched_topic_ext(msg->topic, site, ext)) {
    pb_bus_error_event(s->bus, msg, "site and extension must be [A-Za-z0-9_-]");
    return;
  }
  struct pb_override o;
  int64_t now = pb_clock_now();
  if (pb_override_parse_set(msg->payload, msg->len, now, &o, err, sizeof err)) {
    pb_bus_error_event(s->bus, msg, err);
    return;
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, true);
  if (!e)
    return;
  e->override = o;
  e->has_override = true;
  e->input_changed_at = now;
  if (sched_store_save_override(s, e)) {
    pb_bus_error_event(s->bus, msg, "the override could not be stored");
    return;
  }
  pb_info("override of %s/%s: %s until %lld by '%s' (%s)", site, ext,
          pb_presence_name(o.status), (long long)o.until, o.by, o.reason);
  pb_bus_command_result(s->bus, msg, NULL);
  publish_override(s, e, "set", o.by);
  sched_evaluate(e, false);
}

static void on_clear(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  (void)bus;
  struct sched *s = ud;
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  if (!sched_topic_ext(msg->topic, site, ext)) {
    pb_bus_error_event(s->bus, msg, "site and extension must be [A-Za-z0-9_-]");
    return;
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, false);
  pb_bus_command_result(s->bus, msg, NULL);
  if (!e || !e->has_override)
    return; /* nothing to clear: not an error, clearing is idempotent */
  /* The payload may name who cleared it: {"by": "..."}. */
  const char *by = "";
  json_t *j = msg->len ? pb_json_parse(msg->payload, msg->len, NULL, 0) : NULL;
  if (pb_json_str(j, "by"))
    by = pb_json_str(j, "by");
  e->has_override = false;
  e->input_changed_at = pb_clock_now();
  sched_store_save_override(s, e);
  pb_info("override of %s/%s cleared", site, ext);
  publish_override(s, e, "cleared", by);
  json_decref(j);
  sched_evaluate(e, false);
}

int sched_override_register(struct sched *s) {
  int rc = pb_bus_subscribe(s->bus, "ext/+/+/override/set", on_set, s);
  return rc ? rc : pb_bus_subscribe(s->bus, "ext/+/+/override/clear", on_clear, s);
}

/* After a reconnect the retained override topics are made true again. */
void sched_override_republish(struct sched *s, struct sched_ext *e) {
  char topic[256];
  snprintf(topic, sizeof topic, "ext/%s/%s/override", e->site, e->ext);
  if (e->has_override) {
    json_t *j = pb_override_to_json(&e->override, s->tz);
    pb_bus_publish_json(s->bus, topic, j, true);
    json_decref(j);
  }
}
