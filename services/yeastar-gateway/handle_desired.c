/* R/ext/<site>/<ext>/desired from the scheduler: the status each extension
 * of our sites should show. A status of null (planning off) imposes
 * nothing; an unreadable payload is reported and changes nothing. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/log.h"

static void on_desired(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  struct gw *gw = ud;
  char buf[256], err[256];
  const char *seg[5];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4)
    return;
  struct gw_site *s = gw->site;
  if (!s || strcmp(seg[1], s->name) != 0)
    return;
  if (msg->len == 0) {
    gw_apply_set_desired(s, seg[2], PB_PRESENCE_NONE);
    return;
  }
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_desired d;
  if (!j || pb_desired_from_json(j, &d, err, sizeof err)) {
    pb_bus_error_event(bus, msg, err);
    json_decref(j);
    return;
  }
  json_decref(j);
  gw_apply_set_desired(s, seg[2], d.status);
}

int gw_desired_register(struct gw *gw) {
  char pattern[128];
  snprintf(pattern, sizeof pattern, "ext/%s/+/desired",
           gw->site ? gw->site->name : "+");
  return pb_bus_subscribe(gw->bus, pattern, on_desired, gw);
}
