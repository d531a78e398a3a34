/* Override commands: R/ext/<site>/<ext>/override/set (a bare status word or
 * JSON {status, minutes | until, reason, by}) and .../override/clear (empty,
 * any text such as Home Assistant's button press, or JSON {by, reason}).
 * A refused command leaves the current override untouched and is reported
 * on R/events/error naming the problem (docs/topics.md). */
#include <stdio.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/topics.h"
#include "sched.h"

static void on_set(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  struct sched *s = ud;
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
  struct pb_override o;
  if (pb_override_parse_set(msg->payload, msg->len, pb_clock_now(), &o, err,
                            sizeof err)) {
    pb_bus_error_event(bus, msg, err);
    return;
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, true);
  if (!e || sched_override_set(e, &o)) {
    pb_bus_error_event(bus, msg, "the override could not be stored");
    return;
  }
  pb_bus_command_result(bus, msg, NULL);
}

static void on_clear(struct pb_bus *bus, const struct pb_bus_msg *msg,
                     void *ud) {
  struct sched *s = ud;
  char site[PB_ID_MAX], ext[PB_ID_MAX], err[400];
  if (!sched_topic_ext(msg->topic, site, ext)) {
    pb_bus_error_event(bus, msg, "site and extension must be [A-Za-z0-9_-]");
    return;
  }
  /* JSON names who cleared it and why; other text (Home Assistant's
   * "PRESS") is a clear by nobody in particular. */
  const char *by = "", *reason = "";
  json_t *j = NULL;
  size_t i = 0;
  while (i < msg->len && (msg->payload[i] == ' ' || msg->payload[i] == '\n'))
    i++;
  if (i < msg->len && msg->payload[i] == '{') {
    j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
    if (!j) {
      pb_bus_error_event(bus, msg, err);
      return;
    }
    if ((json_object_get(j, "by") && !pb_json_str(j, "by")) ||
        (json_object_get(j, "reason") && !pb_json_str(j, "reason"))) {
      pb_bus_error_event(bus, msg, "fields 'by' and 'reason' must be strings");
      json_decref(j);
      return;
    }
    by = pb_json_str(j, "by") ? pb_json_str(j, "by") : "";
    reason = pb_json_str(j, "reason") ? pb_json_str(j, "reason") : "";
  }
  struct sched_ext *e = sched_ext_get(s, site, ext, false);
  /* Ending an override that exists creates nothing, so it passes even for
   * an extension that has left the directory. */
  const char *refused =
      e && e->override ? NULL
                       : sched_command_refused(s, site, ext, err, sizeof err);
  if (refused) {
    pb_bus_error_event(bus, msg, refused);
    json_decref(j);
    return;
  }
  /* Nothing to clear is not an error: clearing is idempotent. */
  if (e)
    sched_override_clear(e, by, reason);
  pb_bus_command_result(bus, msg, NULL);
  json_decref(j);
}

int sched_overrides_register(struct pb_bus *bus, struct sched *s) {
  int rc =
      pb_bus_subscribe(bus, PB_TOPIC_EXT_ALL(PB_EXT_OVERRIDE_SET), on_set, s);
  return rc ? rc
            : pb_bus_subscribe(bus, PB_TOPIC_EXT_ALL(PB_EXT_OVERRIDE_CLEAR),
                               on_clear, s);
}
