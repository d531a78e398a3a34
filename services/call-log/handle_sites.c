/* What starts a catch-up from the bus: each site's retained
 * R/site/<site>/status (a site becoming ok; the retained ones at start are
 * the list of sites) and yeastar-gateway's availability (back online). */
#include <string.h>

#include "calllog.h"
#include "pb/bus.h"
#include "pb/log.h"
#include "pb/topics.h"

static void on_site_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           void *ud) {
  (void)bus;
  struct calllog *cl = ud;
  char buf[256], site[PB_ID_MAX], err[256];
  const char *segs[4];
  if (pb_topic_split(msg->topic, buf, sizeof buf, segs, 4) != 3 ||
      strlen(segs[1]) >= sizeof site)
    return;
  memcpy(site, segs[1], strlen(segs[1]) + 1);
  if (msg->len == 0) { /* the site was removed */
    calllog_site_status(cl, site, NULL);
    return;
  }
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  const char *state = pb_json_str(j, "state");
  if (state)
    calllog_site_status(cl, site, state);
  else
    pb_warn("%s: no 'state' in the site's status (%s)", msg->topic,
            j ? "field missing" : err);
  json_decref(j);
}

static void on_gateway(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       void *ud) {
  (void)bus;
  bool online = msg->len == 6 && memcmp(msg->payload, "online", 6) == 0;
  pb_debug("%s is %s", PB_SERVICE_GATEWAY, online ? "online" : "offline");
  calllog_gateway_availability(ud, online);
}

int calllog_sites_register(struct pb_bus *bus, struct calllog *cl) {
  char topic[128];
  int rc = pb_topic_svc(topic, sizeof topic, PB_SERVICE_GATEWAY,
                        PB_SVC_AVAILABILITY);
  if (!rc)
    rc = pb_bus_subscribe(bus, PB_TOPIC_SITE_ALL(PB_SITE_STATUS),
                          on_site_status, cl);
  if (!rc)
    rc = pb_bus_subscribe(bus, topic, on_gateway, cl);
  return rc;
}
