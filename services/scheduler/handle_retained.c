/* The scheduler's own retained topics made to match its database after
 * every start and broker (re)connection (docs/scheduling.md): the broker
 * hands back what it holds on R/ext/<site>/<ext>/desired, override,
 * planning and settings, and on the Home Assistant device configs. What
 * differs from the database is published again; what ended (an override
 * cleared just before a kill -9, an extension the database no longer has)
 * is cleared with an empty retained payload. Deliveries without the
 * retained flag are the scheduler's own live publishes coming back: they
 * are ignored. */
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "sched.h"

static bool same(const struct pb_bus_msg *msg, const char *text) {
  return text && strlen(text) == msg->len &&
         memcmp(text, msg->payload, msg->len) == 0;
}

static void clear(struct pb_bus *bus, const struct pb_bus_msg *msg) {
  pb_info("clearing %s: the scheduler's database has nothing there any more",
          msg->topic);
  pb_bus_clear(bus, msg->topic);
}

/* Compares `j` (taken) as published with the retained payload. */
static bool same_json(const struct pb_bus_msg *msg, json_t *j) {
  char *text = pb_json_dump(j);
  json_decref(j);
  bool eq = same(msg, text);
  free(text);
  return eq;
}

/* The stored extension a retained message of ours is about. NULL when there
 * is nothing to check: a live delivery, an empty payload, a malformed topic
 * (not ours to judge), or an extension the database does not have, whose
 * topic is then cleared. */
static struct sched_ext *
own_ext(struct pb_bus *bus, const struct pb_bus_msg *msg, struct sched *s) {
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  if (!msg->retained || msg->len == 0 ||
      !sched_topic_ext(msg->topic, site, ext))
    return NULL;
  struct sched_ext *e = sched_ext_get(s, site, ext, false);
  if (!e)
    clear(bus, msg);
  return e;
}

static void on_desired(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       void *ud) {
  struct sched_ext *e = own_ext(bus, msg, ud);
  if (!e)
    return;
  if (!e->has_last)
    clear(bus, msg);
  else if (sched_hash(msg->payload, msg->len, 0) != e->last_hash)
    sched_evaluate(e, true);
}

static void on_override(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  struct sched_ext *e = own_ext(bus, msg, ud);
  if (!e)
    return;
  if (!e->override)
    clear(bus, msg);
  else if (!same_json(msg, pb_override_to_json(e->override, e->tz)))
    sched_override_republish(e);
}

static void on_planning(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  struct sched_ext *e = own_ext(bus, msg, ud);
  if (!e)
    return;
  const char *want = e->planning_off ? "off" : "on";
  if (!same(msg, want))
    pb_bus_publish_str(bus, msg->topic, want, true);
}

static void on_settings(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  struct sched_ext *e = own_ext(bus, msg, ud);
  if (e && !same_json(msg, sched_settings_json(e)))
    sched_settings_publish(e);
}

static void on_ha_config(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  (void)bus;
  struct sched *s = ud;
  if (msg->retained && msg->len > 0 && s->ha)
    sched_ha_check_retained(s->ha, msg->topic, msg->payload, msg->len);
}

int sched_retained_register(struct pb_bus *bus, struct sched *s) {
  static const struct {
    const char *pattern;
    pb_bus_handler *fn;
  } own[] = {
      {PB_TOPIC_EXT_ALL(PB_EXT_DESIRED), on_desired},
      {PB_TOPIC_EXT_ALL(PB_EXT_OVERRIDE), on_override},
      {PB_TOPIC_EXT_ALL(PB_EXT_PLANNING), on_planning},
      {PB_TOPIC_EXT_ALL(PB_EXT_SETTINGS), on_settings},
  };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
    int rc = pb_bus_subscribe_own(bus, own[i].pattern, false, own[i].fn, s);
    if (rc)
      return rc;
  }
  return s->ha ? pb_bus_subscribe_own(bus, sched_ha_config_pattern(s->ha), true,
                                      on_ha_config, s)
               : 0;
}
