/* R/site/<site>/pbx_event: PBX events relayed onto the bus (web-api's
 * webhook receiver publishes each accepted body unchanged). Every type
 * goes the way the WebSocket feed's events go (gw_pbx_event_handle in
 * pbx_event.c), so an event that arrives both ways is handled once: 30009
 * presence to the drift rules, 30007/30008/30011 to the call state, 30012
 * to R/events/cdr. A payload that is not a P-Series event envelope, or an
 * event that cannot be read, is reported on R/events/error and changes
 * nothing. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/log.h"
#include "pb/topics.h"

static void on_pbx_event(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  struct gw *gw = ud;
  char buf[256], err[256];
  const char *seg[4];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 4) != 3)
    return;
  struct gw_site *s = gw_site_find(gw, seg[1]);
  if (!s)
    return;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_pbx_event ev = {0};
  if (!j || pb_pbx_event_from_json(j, &ev, err, sizeof err) ||
      gw_pbx_event_handle(s, &ev, GW_SOURCE_RELAY, err, sizeof err))
    pb_bus_error_event(bus, msg, err);
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
}

int gw_pbx_event_register(struct gw *gw) {
  return pb_bus_subscribe(gw->bus, PB_TOPIC_SITE_ALL(PB_SITE_PBX_EVENT),
                          on_pbx_event, gw);
}
