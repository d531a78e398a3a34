/* Inside the shared library only: what the request/response layer
 * (bus_request.c) needs from the connection (bus.c), which alone speaks to
 * libmosquitto. Services include pb/bus.h, never this. */
#ifndef PB_BUS_INT_H
#define PB_BUS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/bus.h"

/* The longest topic, absolute, the bus publishes or subscribes to. */
#define PB__BUS_TOPIC_MAX 512

struct pb__bus_pending;
struct pb__bus_served;
struct pb_keypair;

/* The request/response layer's state, kept in every bus and used only by
 * bus_request.c. */
struct pb__bus_requests {
  struct pb__bus_pending *pending;  /* requests waiting for their answer */
  struct pb__bus_served *served;    /* request handlers, freed with the bus */
  const struct pb_keypair *keypair; /* opens sealed requests (lent) */
  const char *const *secret_fields; /* warned about when sent in clear */
  bool responses_subscribed;
};

/* The bus's request/response state (lent for the bus's life). */
struct pb__bus_requests *pb__bus_requests(struct pb_bus *bus);
/* Frees what the request/response layer holds (bus_request.c); called by
 * pb_bus_free once the connection is closed. */
void pb__bus_requests_cleanup(struct pb__bus_requests *rq);

struct pb_loop *pb__bus_loop(const struct pb_bus *bus);
/* The MQTT version spoken: 5 or 4 (3.1.1). */
int pb__bus_protocol(const struct pb_bus *bus);

/* MQTT 5 properties of a publish (ignored with 3.1.1); NULL fields unset. */
struct pb__bus_props {
  const char *response_topic;
  const void *correlation;
  size_t correlation_len;
};
/* QoS 1 publish to an absolute topic, with `props` (may be NULL). 0, or
 * PB_ETOOBIG, PB_ENOMEM (properties) or PB_EBUS (said in the log). */
int pb__bus_publish_props(struct pb_bus *bus, const char *topic,
                          const void *payload, size_t len, bool retain,
                          const struct pb__bus_props *props);

#endif
