/* R/site/<site>/pbx_event: PBX events relayed onto the bus (web-api's
 * webhook receiver publishes each accepted body unchanged). Type 30009,
 * presence changed, tells at once what the PBX now shows for an extension;
 * the drift rules decide what follows (drift.c). Other types are ignored;
 * a payload that is not a P-Series event envelope is reported on
 * R/events/error and changes nothing. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/log.h"
#include "pb/topics.h"

static void on_pbx_event(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  struct gw *gw = ud;
  char buf[256], err[256], number[PB_ID_MAX];
  const char *seg[4];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 4) != 3)
    return;
  struct gw_site *s = gw_site_find(gw, seg[1]);
  if (!s)
    return;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_pbx_event ev = {0};
  enum pb_presence status;
  if (!j || pb_pbx_event_from_json(j, &ev, err, sizeof err)) {
    pb_bus_error_event(bus, msg, err);
    goto out;
  }
  if (ev.type != PB_PBX_EVENT_PRESENCE) {
    pb_debug("site %s: PBX event %lld ignored", s->name, (long long)ev.type);
    goto out;
  }
  if (pb_pbx_event_presence(&ev, number, sizeof number, &status, err,
                            sizeof err)) {
    pb_bus_error_event(bus, msg, err);
    goto out;
  }
  struct gw_ext *e = gw_ext_get(s, number);
  if (!e || !e->listed) {
    pb_debug("site %s: PBX event for extension %s, not in the directory",
             s->name, number);
    goto out;
  }
  gw_drift_observe(s, e, status, 0, "pbx_event");
out:
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
}

int gw_pbx_event_register(struct gw *gw) {
  return pb_bus_subscribe(gw->bus, PB_TOPIC_SITE_ALL(PB_SITE_PBX_EVENT),
                          on_pbx_event, gw);
}
