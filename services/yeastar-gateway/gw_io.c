/* The real side of struct gw_io: the bus (pb/bus.h) and libcurl
 * (pb/http.h). main.c sets gw->bus and gw->http; until it has, or once it
 * has freed them, nothing is sent (a publish or event answers PB_ESTATE). */
#include "gateway.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/http.h"

static int io_publish(void *ud, const char *topic, const char *payload,
                      size_t len, bool retain) {
  struct gw *gw = ud;
  return gw->bus ? pb_bus_publish(gw->bus, topic, payload, len, retain)
                 : PB_ESTATE;
}

static int io_event(void *ud, const char *kind, json_t *event) {
  struct gw *gw = ud;
  if (!gw->bus) {
    json_decref(event);
    return PB_ESTATE;
  }
  return pb_bus_event(gw->bus, kind, event);
}

static void io_reply(void *ud, struct pb_bus_reply *reply, const char *error,
                     json_t *data) {
  (void)ud;
  if (error)
    pb_bus_reply_error(reply, error, data);
  else
    pb_bus_reply_ok(reply, data);
}

static int io_http_send(void *ud, const struct pb_http_request *req,
                        pb_http_done *done, void *done_ud) {
  struct gw *gw = ud;
  return gw->http ? pb_http_send(gw->http, req, done, done_ud) : PB_ESTATE;
}

static bool io_connected(void *ud) {
  struct gw *gw = ud;
  return gw->bus && pb_bus_connected(gw->bus);
}

void gw_io_use_bus(struct gw *gw) {
  gw->io = (struct gw_io){.publish = io_publish,
                          .event = io_event,
                          .reply = io_reply,
                          .http_send = io_http_send,
                          .connected = io_connected,
                          .ud = gw};
}
