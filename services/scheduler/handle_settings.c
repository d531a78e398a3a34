/* Settings commands (docs/topics.md): R/ext/<site>/<ext>/settings/set (JSON
 * {default_status, timezone, planning, by}), .../planning/set ("on"/"off"),
 * and the request R/svc/scheduler/request/settings, which reads or changes
 * one extension's settings and answers with them. Also Home Assistant's
 * birth message (<prefix>/status "online"), which asks for discovery again. */
#include <stdio.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "sched.h"

static void apply_command(struct pb_bus *bus, const struct pb_bus_msg *msg,
                          struct sched *s,
                          const struct sched_settings_change *c) {
  char site[PB_ID_MAX], ext[PB_ID_MAX], err[400];
  if (!sched_topic_ext(msg->topic, site, ext)) {
    pb_bus_error_event(bus, msg, "site and extension must be [A-Za-z0-9_-]");
    return;
  }
  const char *refused = sched_command_refused(s, site, ext, err, sizeof err);
  if (refused) {
    pb_bus_error_event(bus, msg, refused);
    return;
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, true);
  if (!e || sched_settings_apply(e, c)) {
    pb_bus_error_event(bus, msg, "the settings could not be stored");
    return;
  }
  pb_bus_command_result(bus, msg, NULL);
}

static void on_settings_set(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud) {
  struct sched *s = ud;
  char err[256];
  struct sched_settings_change c;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  if (!j || sched_settings_parse(s, j, false, &c, err, sizeof err)) {
    pb_bus_error_event(bus, msg, err);
    json_decref(j);
    return;
  }
  json_decref(j);
  apply_command(bus, msg, s, &c);
}

static void on_planning_set(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud) {
  struct sched_settings_change c = {.set_planning = true,
                                    .default_status = PB_PRESENCE_NONE};
  if (sched_parse_on_off(msg->payload, msg->len, &c.planning_on)) {
    pb_bus_error_event(bus, msg, "planning must be set to 'on' or 'off'");
    return;
  }
  apply_command(bus, msg, ud, &c);
}

static void on_settings_request(struct pb_bus *bus, const char *action,
                                json_t *req, struct pb_bus_reply *reply,
                                void *ud) {
  (void)bus;
  (void)action;
  struct sched *s = ud;
  char err[400];
  const char *site = pb_json_str(req, "site");
  const char *ext = pb_json_str(req, "ext");
  if (!site)
    site = s->default_site;
  if (!ext || !pb_topic_id_valid(ext) || !pb_topic_id_valid(site)) {
    pb_bus_reply_error(reply,
                       "fields 'site' and 'ext' must be 1-64 characters "
                       "of [A-Za-z0-9_-] ('ext' is required)",
                       NULL);
    return;
  }
  struct sched_settings_change c;
  if (sched_settings_parse(s, req, true, &c, err, sizeof err)) {
    pb_bus_reply_error(reply, err, NULL);
    return;
  }
  bool change = c.set_default || c.set_tz || c.set_planning;
  const char *refused =
      change ? sched_command_refused(s, site, ext, err, sizeof err) : NULL;
  if (refused) {
    pb_bus_reply_error(reply, refused, NULL);
    return;
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, change);
  if (change && (!e || sched_settings_apply(e, &c))) {
    pb_bus_reply_error(reply, "the settings could not be stored", NULL);
    return;
  }
  /* Reading an extension the scheduler has never seen: its defaults. */
  struct sched_ext tmp = {
      .sched = s, .tz = s->tz, .default_status = PB_PRESENCE_NONE};
  json_t *data = sched_settings_json(e ? e : &tmp);
  json_object_set_new(data, "site", json_string(site));
  json_object_set_new(data, "ext", json_string(ext));
  pb_bus_reply_ok(reply, data);
}

static void on_ha_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  (void)bus;
  struct sched *s = ud;
  if (s->ha && msg->len == 6 && memcmp(msg->payload, "online", 6) == 0) {
    pb_info("Home Assistant is online: publishing discovery again");
    sched_ha_publish_all(s->ha);
  }
}

int sched_settings_register(struct pb_bus *bus, struct sched *s) {
  static const struct pb_bus_action actions[] = {
      {PB_ACTION_SETTINGS, on_settings_request},
  };
  int rc = pb_bus_subscribe(bus, PB_TOPIC_EXT_ALL(PB_EXT_SETTINGS_SET),
                            on_settings_set, s);
  if (!rc)
    rc = pb_bus_subscribe(bus, PB_TOPIC_EXT_ALL(PB_EXT_PLANNING_SET),
                          on_planning_set, s);
  if (!rc)
    rc = pb_bus_serve_table(bus, actions, PB_BUS_ACTIONS(actions), s);
  if (!rc && s->ha)
    rc = pb_bus_subscribe_abs(bus, sched_ha_status_topic(s->ha), on_ha_status,
                              s);
  return rc;
}
