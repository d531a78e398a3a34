/* The MQTT bus over libmosquitto (only bus.c includes <mosquitto.h>).
 * libmosquitto's network thread connects and reconnects with exponential
 * backoff; messages are queued and handed to the service's loop thread, so
 * every handler runs on the loop and needs no locking. The service's
 * availability is a retained R/svc/<service>/availability "online", with a
 * last will of "offline". Topic arguments are relative to the root R. */
#ifndef PB_BUS_H
#define PB_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/json.h"

struct pb_bus;
struct pb_loop;

struct pb_bus_options {
  const char *url;      /* mqtt://host:port or mqtts://host:port */
  const char *username; /* may be NULL or "" */
  const char *password;
  const char *root;        /* topic root R, e.g. "presence" */
  const char *service;     /* e.g. "scheduler" */
  const char *client_id;   /* NULL: "<service>-<instance>" (see below) */
  const char *instance;    /* NULL or "": the host name */
  const char *ca_file;     /* mqtts://: CA bundle (NULL: the system's CAs) */
  const char *cert_file;   /* mqtts://: client certificate, or NULL */
  const char *key_file;    /* its private key */
  unsigned session_expiry; /* seconds the broker keeps the session (MQTT 5) */
  int protocol;            /* 5 or 4 (3.1.1) */
  bool ephemeral;          /* a command-line client: no availability topic,
                              a clean session and a one-off client id */
};

struct pb_config;
/* The bus of `service` as the MQTT_* keys describe it: user name
 * MQTT_USERNAME or `user`; password MQTT_PASSWORD, else the content of
 * MQTT_PASSWORD_FILE, else of DATA_DIR/mqtt/<user>.password when that file
 * exists; TLS files, instance and session expiry. A service (not ephemeral)
 * keeps one persistent session: client id "<service>-<instance>", clean
 * start off, QoS 1, so commands published while it is away wait for it. */
int pb_bus_new_from_config(struct pb_loop *loop, const struct pb_config *cfg,
                           const char *service, const char *user,
                           bool ephemeral, struct pb_bus **out);

struct pb_bus_msg {
  const char *topic;   /* relative to the root */
  const char *payload; /* NUL-terminated copy of the payload */
  size_t len;
  bool retained;
  const char *response_topic; /* MQTT 5 property, or NULL */
  const void *correlation;    /* MQTT 5 property, or NULL */
  size_t correlation_len;
};

typedef void pb_bus_handler(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud);
typedef void pb_bus_connect_cb(struct pb_bus *bus, void *ud);

int pb_bus_new(struct pb_loop *loop, const struct pb_bus_options *opts,
               struct pb_bus **out);
/* Starts connecting in the background; returns at once. */
int pb_bus_start(struct pb_bus *bus);
/* Publishes "offline", disconnects cleanly and frees. Accepts NULL. */
void pb_bus_free(struct pb_bus *bus);
bool pb_bus_connected(const struct pb_bus *bus);
const char *pb_bus_root(const struct pb_bus *bus);
const char *pb_bus_service(const struct pb_bus *bus);

/* Handlers match MQTT patterns ('+' and '#'), relative to the root; they are
 * re-subscribed after every reconnect. QoS 1. */
int pb_bus_subscribe(struct pb_bus *bus, const char *pattern,
                     pb_bus_handler *handler, void *ud);
/* The same for a pattern outside the root, used as given (Home Assistant's
 * homeassistant/status); its handlers see the full topic in msg->topic. */
int pb_bus_subscribe_abs(struct pb_bus *bus, const char *pattern,
                         pb_bus_handler *handler, void *ud);
/* A topic the service itself publishes retained, read back after every
 * (re)connection to make the broker match its database. With MQTT 5 the
 * subscription is "no local": the broker hands back what it holds (retained
 * messages, on every subscription) and other clients' messages, but not the
 * service's own live publishes, which would double its traffic. Handlers
 * still ignore what they published themselves (MQTT 3.1.1 echoes it).
 * `absolute` as for pb_bus_subscribe_abs. */
int pb_bus_subscribe_own(struct pb_bus *bus, const char *pattern, bool absolute,
                         pb_bus_handler *handler, void *ud);
/* Called on the loop after each (re)connect, once subscriptions are sent. */
void pb_bus_on_connect(struct pb_bus *bus, pb_bus_connect_cb *cb, void *ud);

/* QoS 1 publish; `retain` for state. While disconnected, libmosquitto
 * queues QoS 1 messages and sends them after reconnecting. */
int pb_bus_publish(struct pb_bus *bus, const char *topic, const void *payload,
                   size_t len, bool retain);
/* The same for a topic outside the root, used as given (homeassistant/...). */
int pb_bus_publish_abs(struct pb_bus *bus, const char *topic,
                       const void *payload, size_t len, bool retain);
/* QoS 1 publishes not yet acknowledged by the broker: lets a bulk publisher
 * pace itself instead of queueing without bound. */
size_t pb_bus_unacked(const struct pb_bus *bus);
int pb_bus_publish_str(struct pb_bus *bus, const char *topic, const char *text,
                       bool retain);
/* Dumps `j` compactly and publishes it; does not take ownership. */
int pb_bus_publish_json(struct pb_bus *bus, const char *topic, const json_t *j,
                        bool retain);
/* Clears a retained message (an empty retained payload). */
int pb_bus_clear(struct pb_bus *bus, const char *topic);
/* R/events/<kind>: adds "kind" and "at" to `event` and publishes it. */
int pb_bus_event(struct pb_bus *bus, const char *kind, json_t *event);

/* A refused command or unreadable input: an event on R/events/error with
 * the topic, the reason, the start of the payload (as valid UTF-8) and the
 * transaction the payload carried, if any; also answered on the MQTT 5
 * response topic when the message had one. Changes nothing else. */
int pb_bus_error_event(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       const char *error);
/* Answers a command on its MQTT 5 response topic, if it has one:
 * {"status":"ok"} or {"status":"error","error":...}, transaction echoed. */
void pb_bus_command_result(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           const char *error);

/* True when `topic` matches `pattern` ('+' one level, '#' the rest). */
bool pb_topic_matches(const char *pattern, const char *topic);
/* Splits a topic at '/' into at most `max` segments (copied into buf). */
int pb_topic_split(const char *topic, char *buf, size_t buflen,
                   const char **segs, int max);
/* [A-Za-z0-9_-]+, at most 64 bytes: valid as a topic segment. */
bool pb_topic_id_valid(const char *id);
/* The service named by svc/<service>/<leaf> (a topic relative to the root,
 * exactly three segments), copied into out (65 bytes suffice); false when
 * the topic has another shape or the name is not a valid id. */
bool pb_topic_service(const char *topic, char *out, size_t len);

/* ---- Request/response (zigbee2mqtt's bridge pattern, docs/topics.md) ----
 * Requests arrive on R/svc/<service>/request/<action> as JSON objects with an
 * optional "transaction"; responses go to R/svc/<service>/response/<action>
 * (or to the MQTT 5 response topic, with the correlation data) as
 * {"status":"ok","data":...} or {"status":"error","error":"..."} with the
 * transaction echoed back. */
struct pb_bus_reply;
typedef void pb_bus_request_handler(struct pb_bus *bus, const char *action,
                                    json_t *request, struct pb_bus_reply *reply,
                                    void *ud);
int pb_bus_serve(struct pb_bus *bus, const char *action,
                 pb_bus_request_handler *handler, void *ud);
/* One row of a service's table of request actions (tmux's command table):
 * a service lists what it answers in one static array and registers it
 * with pb_bus_serve_table. */
struct pb_bus_action {
  const char *action; /* e.g. "source/add" */
  pb_bus_request_handler *handler;
};
/* pb_bus_serve for each of the `n` rows of `table`, all with `ud`; stops at
 * the first error and returns it. */
int pb_bus_serve_table(struct pb_bus *bus, const struct pb_bus_action *table,
                       size_t n, void *ud);
/* The number of rows of a static action table. */
#define PB_BUS_ACTIONS(table) (sizeof(table) / sizeof((table)[0]))
/* Send the answer; `data` is taken (may be NULL). Exactly one per request. */
void pb_bus_reply_ok(struct pb_bus_reply *reply, json_t *data);
/* `details` is taken (may be NULL): e.g. the list of bad lines. */
void pb_bus_reply_error(struct pb_bus_reply *reply, const char *message,
                        json_t *details);
/* Keeps a request open past its handler (an answer that needs network work
 * first): returns a copy to answer later, exactly once, with
 * pb_bus_reply_ok or pb_bus_reply_error, which also free it. NULL when out
 * of memory (the request is then answered with an error). */
struct pb_bus_reply *pb_bus_reply_defer(struct pb_bus_reply *reply);
/* Requests may come sealed to `keypair` (pb/sealed.h, lent for the bus's
 * life): {"sealed":"<base64>","transaction":...} is opened before the
 * handler sees it. A request in clear still works (mosquitto_rr), but one
 * carrying a field named in `secret_fields` (NULL-terminated, static) is
 * logged as a warning. */
struct pb_keypair;
void pb_bus_serve_sealed(struct pb_bus *bus, const struct pb_keypair *keypair,
                         const char *const *secret_fields);

/* Client side: sends `request` (taken) to <service>/request/<action> and calls
 * `done` with the response object, or with NULL after timeout_ms. Transaction
 * ids are random, and an answer counts only when it arrives on a topic of the
 * service that was asked (R/svc/<service>/response/...). */
typedef void pb_bus_response_cb(struct pb_bus *bus, json_t *response, void *ud);
int pb_bus_request(struct pb_bus *bus, const char *service, const char *action,
                   json_t *request, int timeout_ms, pb_bus_response_cb *done,
                   void *ud);
/* Client side of a command on any topic (`topic` relative to the root, e.g.
 * ext/main/2000/override/set) that `service` executes: published (not
 * retained) with an MQTT 5 response topic R/svc/<service>/response/command
 * (which only that service may write, docs/security.md) and a random
 * correlation id;
 * `done` gets the answer ({"status":"ok"|"error",...}) or NULL after
 * timeout_ms. PB_EUNAVAIL with MQTT 3.1.1, which has no response topic. */
int pb_bus_command(struct pb_bus *bus, const char *service, const char *topic,
                   const void *payload, size_t len, int timeout_ms,
                   pb_bus_response_cb *done, void *ud);

#endif
