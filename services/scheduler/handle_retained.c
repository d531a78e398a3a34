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
#include "sched.h"

static bool same(const struct pb_bus_msg *msg, const char *text) {
  return text && strlen(text) == msg->len && memcmp(text, msg->payload, msg->len) == 0;
}

static void clear(struct pb_bus *bus, const struct pb_bus_msg *msg) {
  pb_info("clearing %s: the scheduler's database has nothing there any more",
          msg->topic);
  pb_bus_clear(bus, msg->topic);
}

/* The extension a retained message is about, NULL when none is stored. A
 * malformed topic (not ours to judge) is reported through *bad. */
static struct sched_ext *ext_of(struct sched *s, const struct pb_bus_msg *msg,
                                bool *bad) {
  char site[PB_ID_MAX], ext[PB_ID_MAX];
  *bad = !sched_topic_ext(msg->topic, site, ext);
  return *bad ? NULL : sched_ext_get(s, site, ext, false);
}

static void on_desired(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       void *ud) {
  bool bad;
  if (!msg->retained || msg->len == 0)
    return;
  struct sched_ext *e = ext_of(ud, msg, &bad);
  if (bad)
    return;
  if (!e || !e->has_last)
    clear(bus, msg);
  else if (sched_hash(msg->payload, msg->len, 0) != e->last_hash)
    sched_evaluate(e, true);
}

static void on_override(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  bool bad;
  if (!msg->retained || msg->len == 0)
    return;
  struct sched_ext *e = ext_of(ud, msg, &bad);
  if (bad)
    return;
  if (!e || !e->override) {
    clear(bus, msg);
    return;
  }
  json_t *j = pb_override_to_json(e->override, e->tz);
  char *text = pb_json_dump(j);
  json_decref(j);
  if (!same(msg, text))
    sched_override_republish(e);
  free(text);
}

static void on_planning(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  bool bad;
  if (!msg->retained || msg->len == 0)
    return;
  struct sched_ext *e = ext_of(ud, msg, &bad);
  if (bad)
    return;
  if (!e) {
    clear(bus, msg);
    return;
  }
  const char *want = e->planning_off ? "off" : "on";
  if (!same(msg, want))
    pb_bus_publish_str(bus, msg->topic, want, true);
}

static void on_settings(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  bool bad;
  if (!msg->retained || msg->len == 0)
    return;
  struct sched_ext *e = ext_of(ud, msg, &bad);
  if (bad)
    return;
  if (!e) {
    clear(bus, msg);
    return;
  }
  json_t *j = sched_settings_json(e);
  char *text = pb_json_dump(j);
  json_decref(j);
  if (!same(msg, text))
    sched_settings_publish(e);
  free(text);
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
      {"ext/+/+/desired", on_desired},
      {"ext/+/+/override", on_override},
      {"ext/+/+/planning", on_planning},
      {"ext/+/+/settings", on_settings},
  };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
    int rc = pb_bus_subscribe(bus, own[i].pattern, own[i].fn, s);
    if (rc)
      return rc;
  }
  return s->ha ? pb_bus_subscribe_abs(bus, sched_ha_config_pattern(s->ha),
                                      on_ha_config, s)
               : 0;
}
