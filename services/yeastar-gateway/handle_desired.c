/* R/ext/<site>/<ext>/desired from the scheduler: the status each extension
 * of our sites should show (docs/topics.md). A status of null (planning
 * off) or an empty payload imposes nothing; an unreadable payload is
 * reported on R/events/error and changes nothing. Sites this gateway does
 * not serve are left to others (gateways can be split by site). */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/log.h"
#include "pb/topics.h"

static void on_desired(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       void *ud) {
  struct gw *gw = ud;
  char buf[256], err[256];
  const char *seg[5];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4)
    return;
  struct gw_site *s = gw_site_find(gw, seg[1]);
  if (!s)
    return;
  if (!pb_topic_id_valid(seg[2])) {
    pb_bus_error_event(bus, msg,
                       "the extension must be 1-64 characters of "
                       "[A-Za-z0-9_-]");
    return;
  }
  struct pb_desired d = {.status = PB_PRESENCE_NONE,
                         .cause = PB_CAUSE_PLANNING_OFF,
                         .next_at = -1,
                         .next_status = PB_PRESENCE_NONE};
  if (msg->len > 0) {
    json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
    if (!j || pb_desired_from_json(j, &d, err, sizeof err)) {
      pb_bus_error_event(bus, msg, err);
      json_decref(j);
      return;
    }
    json_decref(j);
  }
  gw_apply_set_desired(s, seg[2], &d);
}

int gw_desired_register(struct gw *gw) {
  return pb_bus_subscribe(gw->bus, PB_TOPIC_EXT_ALL(PB_EXT_DESIRED), on_desired,
                          gw);
}
