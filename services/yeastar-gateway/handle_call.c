/* The gateway's call requests on the bus (docs/topics.md, "Request /
 * response"): R/svc/yeastar-gateway/request/cdr/search, call/dial and
 * recording/get, listed in handle_site.c's table. Each is kept open
 * (pb_bus_reply_defer) and answered by the core (pbx_cdr.c, pbx_dial.c,
 * pbx_recording.c) once the PBX has answered. */
#include "gateway.h"
#include "pb/bus.h"

void gw_on_cdr_search(struct pb_bus *bus, const char *action, json_t *req,
                      struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct pb_bus_reply *later = pb_bus_reply_defer(reply);
  if (later)
    gw_cdr_search(ud, req, later);
}

void gw_on_call_dial(struct pb_bus *bus, const char *action, json_t *req,
                     struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct pb_bus_reply *later = pb_bus_reply_defer(reply);
  if (later)
    gw_dial(ud, req, later);
}

void gw_on_recording_get(struct pb_bus *bus, const char *action, json_t *req,
                         struct pb_bus_reply *reply, void *ud) {
  (void)bus;
  (void)action;
  struct pb_bus_reply *later = pb_bus_reply_defer(reply);
  if (later)
    gw_recording_get(ud, req, later);
}
