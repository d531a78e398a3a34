/* R/events/cdr in: each finished call stored once (docs/call-log.md). A
 * payload the contract does not allow is refused with a log line and an
 * R/events/error naming the field; the service goes on. */
#include "calllog.h"
#include "pb/bus.h"
#include "pb/topics.h"

static void on_cdr(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  struct calllog *cl = ud;
  char err[256];
  struct pb_cdr c;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  int rc = j ? pb_cdr_from_json(j, &c, err, sizeof err) : PB_EPARSE;
  json_decref(j);
  if (rc) {
    /* Logged there too. */
    pb_bus_error_event(bus, msg, err);
    return;
  }
  bool added = false;
  if (calllog_add(cl, &c, &added))
    pb_bus_error_event(bus, msg, "the call could not be stored");
}

int calllog_cdr_register(struct pb_bus *bus, struct calllog *cl) {
  return pb_bus_subscribe(bus, PB_TOPIC_EVENTS_PREFIX PB_EVENT_CDR, on_cdr, cl);
}
