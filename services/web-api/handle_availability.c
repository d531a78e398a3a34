/* R/svc/<service>/availability: online, offline, or nothing (cleared: the
 * service is unknown again); anything else is not kept. Live changes go to
 * the event stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "web.h"

void web_handle_availability(struct pb_bus *bus, const struct pb_bus_msg *msg,
                             void *ud) {
  (void)bus;
  struct web *w = ud;
  char service[PB_ID_MAX];
  if (!pb_topic_service(msg->topic, service, sizeof service))
    return;
  /* online, offline, or nothing (the retained value was cleared: the
   * service is unknown again). */
  const char *value =
      msg->len == 6 && memcmp(msg->payload, "online", 6) == 0    ? "online"
      : msg->len == 7 && memcmp(msg->payload, "offline", 7) == 0 ? "offline"
      : msg->len == 0                                            ? "unknown"
                                                                 : NULL;
  if (!value) {
    /* Not echoed: anything on the bus may write here, newlines too. */
    pb_warn("ignoring %s: its %zu bytes are not 'online' or 'offline'",
            msg->topic, msg->len);
    return;
  }
  free(pb_map_remove(w->services, service));
  char *v = NULL;
  if (msg->len &&
      (!(v = strdup(value)) || pb_map_put(w->services, service, v))) {
    free(v);
    pb_warn("out of memory: the availability of %s is unknown", service);
  }
  if (!msg->retained)
    web_sse_publish(
        w, "availability",
        json_pack("{s:s,s:s}", "service", service, "availability", value));
}
