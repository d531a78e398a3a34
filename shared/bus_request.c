/* The request/response layer of the bus (pb/bus.h), on top of the
 * connection (bus.c, bus_int.h): events on R/events/<kind>, refused
 * commands, requests served on R/svc/<service>/request/<action> and their
 * replies, and the client side of requests and commands with their
 * transactions (zigbee2mqtt's bridge pattern, MQTT 5 request/response;
 * docs/topics.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bus_int.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/sealed.h"
#include "pb/topics.h"

#define TOPIC_MAX PB__BUS_TOPIC_MAX

struct pb__bus_served {
  struct pb__bus_served *next;
  char action[64];
  pb_bus_request_handler *handler;
  void *ud;
};

struct pb__bus_pending {
  struct pb__bus_pending *next;
  char transaction[64];
  char service[64]; /* the only service whose answer counts */
  pb_bus_response_cb *done;
  void *ud;
  struct pb_timer *timer;
  struct pb_bus *bus;
};

void pb__bus_requests_cleanup(struct pb__bus_requests *rq) {
  while (rq->pending) {
    struct pb__bus_pending *p = rq->pending;
    rq->pending = p->next;
    pb_timer_free(p->timer);
    free(p);
  }
  while (rq->served) {
    struct pb__bus_served *sv = rq->served;
    rq->served = sv->next;
    free(sv);
  }
}

int pb_bus_event(struct pb_bus *bus, const char *kind, json_t *event) {
  if (!event)
    return PB_ENOMEM;
  char topic[128];
  if (pb_topic_event(topic, sizeof topic, kind)) {
    json_decref(event);
    return PB_ETOOBIG;
  }
  json_object_set_new(event, "kind", json_string(kind));
  pb_json_set_time(event, "at", pb_clock_now(), 0);
  json_object_set_new(event, "service", json_string(pb_bus_service(bus)));
  int rc = pb_bus_publish_json(bus, topic, event, false);
  json_decref(event);
  return rc;
}

/* Copies the "transaction" of a command's JSON payload, if any, into `to`. */
static void copy_transaction(const struct pb_bus_msg *msg, json_t *to) {
  json_t *req = msg->len && msg->payload[0] == '{'
                    ? pb_json_parse(msg->payload, msg->len, NULL, 0)
                    : NULL;
  json_t *tx = json_object_get(req, "transaction");
  if (tx)
    json_object_set(to, "transaction", tx);
  json_decref(req);
}

int pb_bus_error_event(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       const char *error) {
  pb_warn("refused message on %s: %s", msg->topic, error);
  size_t n = msg->len > 200 ? 200 : msg->len;
  json_t *ev = json_pack("{s:s,s:s}", "topic", msg->topic, "error", error);
  json_object_set_new(ev, "payload", pb_json_text(msg->payload, n));
  copy_transaction(msg, ev);
  pb_bus_command_result(bus, msg, error);
  return pb_bus_event(bus, PB_EVENT_ERROR, ev);
}

void pb_bus_command_result(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           const char *error) {
  if (!msg->response_topic)
    return;
  json_t *body = error
                     ? json_pack("{s:s,s:s}", "status", "error", "error", error)
                     : json_pack("{s:s}", "status", "ok");
  copy_transaction(msg, body);
  const struct pb__bus_props props = {.correlation = msg->correlation,
                                      .correlation_len = msg->correlation_len};
  char *text = pb_json_dump(body);
  if (text)
    pb__bus_publish_props(bus, msg->response_topic, text, strlen(text), false,
                          &props);
  free(text);
  json_decref(body);
}

/* ---- request/response, server side ---- */

struct pb_bus_reply {
  struct pb_bus *bus;
  char topic[TOPIC_MAX]; /* absolute */
  const void *correlation;
  size_t correlation_len;
  void *correlation_copy; /* owned by a deferred reply */
  json_t *transaction;
  bool sent;
  bool deferred; /* heap copy from pb_bus_reply_defer */
};

static void send_reply(struct pb_bus_reply *r, json_t *body) {
  if (r->transaction)
    json_object_set(body, "transaction", r->transaction);
  const struct pb__bus_props props = {.correlation = r->correlation,
                                      .correlation_len = r->correlation_len};
  char *s = pb_json_dump(body);
  if (s)
    pb__bus_publish_props(r->bus, r->topic, s, strlen(s), false, &props);
  free(s);
  json_decref(body);
  r->sent = true;
  if (r->deferred) {
    json_decref(r->transaction);
    free(r->correlation_copy);
    free(r);
  }
}

struct pb_bus_reply *pb_bus_reply_defer(struct pb_bus_reply *r) {
  if (r->sent || r->deferred)
    return NULL;
  struct pb_bus_reply *copy = calloc(1, sizeof *copy);
  void *corr = r->correlation_len ? malloc(r->correlation_len) : NULL;
  if (!copy || (r->correlation_len && !corr)) {
    free(copy);
    free(corr);
    pb_bus_reply_error(r, "out of memory", NULL);
    return NULL;
  }
  *copy = *r;
  if (corr)
    memcpy(corr, r->correlation, r->correlation_len);
  copy->correlation = corr;
  copy->correlation_copy = corr;
  copy->transaction = json_incref(r->transaction);
  copy->deferred = true;
  r->sent = true; /* the copy answers; the handler's caller must not */
  return copy;
}

void pb_bus_reply_ok(struct pb_bus_reply *r, json_t *data) {
  if (r->sent) {
    json_decref(data);
    return;
  }
  json_t *body = json_pack("{s:s}", "status", "ok");
  json_object_set_new(body, "data", data ? data : json_object());
  send_reply(r, body);
}

void pb_bus_reply_error(struct pb_bus_reply *r, const char *message,
                        json_t *details) {
  if (r->sent) {
    json_decref(details);
    return;
  }
  json_t *body = json_pack("{s:s,s:s}", "status", "error", "error", message);
  if (details)
    json_object_set_new(body, "details", details);
  send_reply(r, body);
}

static void on_request(struct pb_bus *bus, const struct pb_bus_msg *msg,
                       void *ud) {
  struct pb__bus_served *sv = ud;
  const struct pb__bus_requests *rq = pb__bus_requests(bus);
  const char *service = pb_bus_service(bus);
  struct pb_bus_reply reply = {.bus = bus,
                               .correlation = msg->correlation,
                               .correlation_len = msg->correlation_len};
  char rel[TOPIC_MAX];
  if (msg->response_topic)
    snprintf(reply.topic, sizeof reply.topic, "%s", msg->response_topic);
  else if (pb_topic_response(rel, sizeof rel, service, sv->action) ||
           pb_topic_full(reply.topic, sizeof reply.topic, pb_bus_root(bus),
                         rel))
    pb_warn("bus: no response topic for %s fits", msg->topic);
  char err[256];
  json_t *req = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  if (req && !json_is_object(req)) {
    json_decref(req);
    req = NULL;
    snprintf(err, sizeof err, "the request must be a JSON object");
  }
  if (!req) {
    pb_warn("bus: bad request on %s: %s", msg->topic, err);
    pb_bus_reply_error(&reply, err, NULL);
    return;
  }
  json_t *tx = json_object_get(req, "transaction");
  if (tx)
    reply.transaction = json_incref(tx);
  if (json_object_get(req, "sealed")) {
    /* {"sealed":..., "transaction":...}: the handler sees what was sealed,
     * with the transaction of the envelope. */
    json_t *inner =
        rq->keypair ? pb_sealed_request_open(rq->keypair, req, err, sizeof err)
                    : NULL;
    if (!rq->keypair)
      snprintf(err, sizeof err, "%s takes no sealed requests", service);
    json_decref(req);
    if (!inner) {
      pb_warn("bus: refused a sealed request on %s: %s", msg->topic, err);
      pb_bus_reply_error(&reply, err, NULL);
      json_decref(reply.transaction);
      return;
    }
    req = inner;
    if (tx)
      json_object_set(req, "transaction", reply.transaction);
    else
      json_object_del(req, "transaction");
  } else if (rq->keypair) {
    for (size_t i = 0; rq->secret_fields && rq->secret_fields[i]; i++)
      if (json_object_get(req, rq->secret_fields[i]))
        pb_warn("bus: a request on %s carries '%s' in clear: seal it to the "
                "key on R/svc/%s/pubkey (docs/topics.md)",
                msg->topic, rq->secret_fields[i], service);
  }
  sv->handler(bus, sv->action, req, &reply, sv->ud);
  if (!reply.sent)
    pb_bus_reply_error(&reply, "the service gave no answer", NULL);
  json_decref(reply.transaction);
  json_decref(req);
}

int pb_bus_serve(struct pb_bus *bus, const char *action,
                 pb_bus_request_handler *handler, void *ud) {
  struct pb__bus_requests *rq = pb__bus_requests(bus);
  struct pb__bus_served *sv = calloc(1, sizeof *sv);
  if (!sv)
    return PB_ENOMEM;
  sv->next = rq->served;
  rq->served = sv;
  snprintf(sv->action, sizeof sv->action, "%s", action);
  sv->handler = handler;
  sv->ud = ud;
  char pattern[TOPIC_MAX];
  if (pb_topic_request(pattern, sizeof pattern, pb_bus_service(bus), action))
    return PB_ETOOBIG;
  return pb_bus_subscribe(bus, pattern, on_request, sv);
}

int pb_bus_serve_table(struct pb_bus *bus, const struct pb_bus_action *table,
                       size_t n, void *ud) {
  for (size_t i = 0; i < n; i++) {
    int rc = pb_bus_serve(bus, table[i].action, table[i].handler, ud);
    if (rc)
      return rc;
  }
  return 0;
}

void pb_bus_serve_sealed(struct pb_bus *bus, const struct pb_keypair *keypair,
                         const char *const *secret_fields) {
  struct pb__bus_requests *rq = pb__bus_requests(bus);
  rq->keypair = keypair;
  rq->secret_fields = secret_fields;
}

/* ---- request/response, client side ---- */

/* The request waiting for `tx`, taken off the list; NULL when none, or when
 * `topic` (a response's, relative to the root) is not under the asked
 * service's svc/<service>/response/: the broker's ACL lets only that service
 * write there, so an answer from anywhere else is a forgery and is ignored. */
static struct pb__bus_pending *take_pending(struct pb_bus *bus, const char *tx,
                                            const char *topic) {
  struct pb__bus_requests *rq = pb__bus_requests(bus);
  for (struct pb__bus_pending **pp = &rq->pending; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->transaction, tx) == 0) {
      if (topic) {
        /* svc/<service>/response/ */
        char prefix[TOPIC_MAX];
        if (pb_topic_response(prefix, sizeof prefix, (*pp)->service, "") ||
            strncmp(topic, prefix, strlen(prefix))) {
          pb_warn("bus: ignoring an answer to %s on %s: only %s answers it", tx,
                  topic, (*pp)->service);
          return NULL;
        }
      }
      struct pb__bus_pending *p = *pp;
      *pp = p->next;
      return p;
    }
  }
  return NULL;
}

static void on_response(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  (void)ud;
  json_t *resp = pb_json_parse(msg->payload, msg->len, NULL, 0);
  const char *tx = pb_json_str(resp, "transaction");
  struct pb__bus_pending *p = tx ? take_pending(bus, tx, msg->topic) : NULL;
  /* A command on an ext/... topic may carry no JSON transaction (a bare
   * status word): its answer is matched by the MQTT 5 correlation data. */
  char corr[64];
  if (!p && msg->correlation && msg->correlation_len < sizeof corr) {
    memcpy(corr, msg->correlation, msg->correlation_len);
    corr[msg->correlation_len] = '\0';
    p = take_pending(bus, corr, msg->topic);
  }
  if (p) {
    pb_timer_free(p->timer);
    p->done(bus, resp, p->ud);
    free(p);
  }
  json_decref(resp);
}

static void on_request_timeout(struct pb_loop *loop, struct pb_timer *t,
                               void *ud) {
  (void)loop;
  (void)t;
  struct pb__bus_pending *p = ud;
  struct pb_bus *bus = p->bus;
  if (take_pending(bus, p->transaction, NULL) != p)
    return;
  pb_timer_free(p->timer);
  p->done(bus, NULL, p->ud);
  free(p);
}

/* After the request was published (rc 0): wait for its answer or its
 * timeout; otherwise forget it. */
static int track(struct pb_bus *bus, struct pb__bus_pending *p, int rc,
                 int timeout_ms) {
  if (rc) {
    pb_timer_free(p->timer);
    free(p);
    return rc;
  }
  struct pb__bus_requests *rq = pb__bus_requests(bus);
  p->next = rq->pending;
  rq->pending = p;
  pb_timer_arm_in(p->timer, timeout_ms);
  return 0;
}

static struct pb__bus_pending *new_pending(struct pb_bus *bus,
                                           const char *service,
                                           pb_bus_response_cb *done, void *ud) {
  struct pb__bus_requests *rq = pb__bus_requests(bus);
  if (!rq->responses_subscribed) {
    /* "#": actions may have several levels (source/list, site/test). */
    if (pb_bus_subscribe(bus, PB_TOPIC_RESPONSES_ALL, on_response, NULL))
      return NULL;
    rq->responses_subscribed = true;
  }
  struct pb__bus_pending *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  /* Unguessable: a client that may publish commands cannot make a service
   * answer a request of ours by guessing its id. */
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
    free(p);
    return NULL;
  }
  int n = snprintf(p->transaction, sizeof p->transaction, "%.24s-",
                   pb_bus_service(bus));
  for (size_t i = 0; i < sizeof r && n > 0; i++)
    n += snprintf(p->transaction + n, sizeof p->transaction - (size_t)n, "%02x",
                  r[i]);
  snprintf(p->service, sizeof p->service, "%s", service);
  p->done = done;
  p->ud = ud;
  p->bus = bus;
  p->timer = pb_timer_new(pb__bus_loop(bus), on_request_timeout, p);
  if (!p->timer) {
    free(p);
    return NULL;
  }
  return p;
}

int pb_bus_command(struct pb_bus *bus, const char *service, const char *topic,
                   const void *payload, size_t len, int timeout_ms,
                   pb_bus_response_cb *done, void *ud) {
  if (pb__bus_protocol(bus) != 5)
    return PB_EUNAVAIL; /* MQTT 3.1.1 has no response topic */
  struct pb__bus_pending *p = new_pending(bus, service, done, ud);
  if (!p)
    return PB_ENOMEM;
  const char *root = pb_bus_root(bus);
  char full[TOPIC_MAX], rel[TOPIC_MAX], reply[TOPIC_MAX];
  int rc = pb_topic_full(full, sizeof full, root, topic);
  if (!rc)
    rc = pb_topic_response(rel, sizeof rel, service, PB_ACTION_COMMAND);
  if (!rc)
    rc = pb_topic_full(reply, sizeof reply, root, rel);
  const struct pb__bus_props props = {.response_topic = reply,
                                      .correlation = p->transaction,
                                      .correlation_len =
                                          strlen(p->transaction)};
  if (!rc)
    rc = pb__bus_publish_props(bus, full, payload, len, false, &props);
  return track(bus, p, rc, timeout_ms);
}

int pb_bus_request(struct pb_bus *bus, const char *service, const char *action,
                   json_t *request, int timeout_ms, pb_bus_response_cb *done,
                   void *ud) {
  struct pb__bus_pending *p = new_pending(bus, service, done, ud);
  if (!p) {
    json_decref(request);
    return PB_ENOMEM;
  }
  json_object_set_new(request, "transaction", json_string(p->transaction));
  char topic[TOPIC_MAX];
  int rc = pb_topic_request(topic, sizeof topic, service, action);
  if (!rc)
    rc = pb_bus_publish_json(bus, topic, request, false);
  json_decref(request);
  return track(bus, p, rc, timeout_ms);
}
