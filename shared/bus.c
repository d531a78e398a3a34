/* The MQTT bus (pb/bus.h) over libmosquitto's threaded client. The network
 * thread only queues what arrives and wakes the service's loop through an
 * eventfd; every handler then runs on the loop thread. Reconnection uses
 * libmosquitto's exponential backoff (1 s doubling to 30 s). */
#include "pb/bus.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/sealed.h"

#define MAX_SUBS 64
#define MAX_PAYLOAD (32u * 1024 * 1024)
#define MAX_QUEUE 100000
/* Bytes of received payload waiting for the loop. Past it the network thread
 * waits for the loop to catch up, so a flood of retained messages (every
 * schedule at once after a restart) is throttled by TCP instead of piling up
 * in memory. */
#define MAX_QUEUED_BYTES (8u * 1024 * 1024)
#define TOPIC_MAX 512

struct sub {
  char pattern[TOPIC_MAX];     /* relative to the root */
  char full[TOPIC_MAX];        /* as sent to the broker */
  bool absolute;               /* pattern is not under the root */
  int options;                 /* MQTT 5 subscription options */
  pb_bus_handler *handler;
  void *ud;
};

struct qmsg {
  struct qmsg *next;
  bool is_connect;
  char *topic;                 /* full topic */
  char *payload;
  size_t len;
  bool retained;
  char *response_topic;
  void *correlation;
  size_t correlation_len;
};

struct served {
  struct served *next;
  char action[64];
  pb_bus_request_handler *handler;
  void *ud;
};

struct pending {
  struct pending *next;
  char transaction[64];
  char service[64];            /* the only service whose answer counts */
  pb_bus_response_cb *done;
  void *ud;
  struct pb_timer *timer;
  struct pb_bus *bus;
};

struct pb_bus {
  struct pb_loop *loop;
  struct mosquitto *mosq;
  char root[160];
  char service[64];
  char host[256];
  int port;
  int protocol;
  bool ephemeral;
  unsigned session_expiry;
  char availability[TOPIC_MAX];
  int evfd;
  pthread_mutex_t lock;        /* subs and queue */
  struct sub subs[MAX_SUBS];
  int nsubs;
  struct qmsg *head, *tail;
  size_t queued;
  size_t queued_bytes;         /* payload bytes not yet dispatched */
  pthread_cond_t drained;      /* signalled as queued_bytes goes down */
  bool closing;                /* pb_bus_free started: never wait */
  atomic_bool connected;
  atomic_int inflight;         /* QoS 1 publishes not yet acknowledged */
  pb_bus_connect_cb *on_connect;
  void *on_connect_ud;
  struct pending *pending;
  struct served *served;         /* request handlers, freed with the bus */
  const struct pb_keypair *keypair; /* opens sealed requests (lent) */
  const char *const *secret_fields; /* warned about when sent in clear */
  bool responses_subscribed;
};

static int full_topic(const struct pb_bus *bus, const char *rel, char *buf,
                      size_t len) {
  int n = snprintf(buf, len, "%s/%s", bus->root, rel);
  return (n < 0 || (size_t)n >= len) ? PB_ETOOBIG : 0;
}

static void qmsg_free(struct qmsg *m) {
  if (!m)
    return;
  free(m->topic);
  free(m->payload);
  free(m->response_topic);
  free(m->correlation);
  free(m);
}

static void enqueue(struct pb_bus *bus, struct qmsg *m) {
  pthread_mutex_lock(&bus->lock);
  /* Backpressure: only the network thread enqueues, and it stops reading the
   * socket while the loop is behind (one message always passes). */
  while (bus->queued_bytes > 0 && bus->queued_bytes + m->len > MAX_QUEUED_BYTES &&
         !bus->closing)
    pthread_cond_wait(&bus->drained, &bus->lock);
  if (bus->queued >= MAX_QUEUE || bus->closing) {
    pthread_mutex_unlock(&bus->lock);
    pb_error("bus: dropping a message, %d are waiting for the loop", MAX_QUEUE);
    qmsg_free(m);
    return;
  }
  if (bus->tail)
    bus->tail->next = m;
  else
    bus->head = m;
  bus->tail = m;
  bus->queued++;
  bus->queued_bytes += m->len;
  pthread_mutex_unlock(&bus->lock);
  uint64_t one = 1;
  if (write(bus->evfd, &one, sizeof one) < 0) {
    /* the counter is saturated: the loop is awake anyway */
  }
}

/* ---- network thread callbacks ---- */

static void on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                       const mosquitto_property *props) {
  (void)props;
  struct pb_bus *bus = ud;
  if (rc != 0) {
    /* Wrong user name or password, or a client id or will topic the ACL
     * refuses: said once per attempt, with the broker's reason. */
    pb_warn("bus: broker refused the connection: %s",
            bus->protocol == 5 ? mosquitto_reason_string(rc)
                               : mosquitto_connack_string(rc));
    return;
  }
  if (!bus->ephemeral)
    pb_debug("bus: session %s", (flags & 1) ? "resumed" : "new");
  pthread_mutex_lock(&bus->lock);
  for (int i = 0; i < bus->nsubs; i++)
    mosquitto_subscribe_v5(mosq, NULL, bus->subs[i].full, 1,
                           bus->subs[i].options, NULL);
  pthread_mutex_unlock(&bus->lock);
  if (!bus->ephemeral) {
    atomic_fetch_add(&bus->inflight, 1);
    if (mosquitto_publish(mosq, NULL, bus->availability, 6, "online", 1, true))
      atomic_fetch_sub(&bus->inflight, 1);
  }
  bus->connected = true;
  struct qmsg *m = calloc(1, sizeof *m);
  if (m) {
    m->is_connect = true;
    enqueue(bus, m);
  }
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc,
                          const mosquitto_property *props) {
  (void)mosq;
  (void)props;
  struct pb_bus *bus = ud;
  bus->connected = false;
  if (rc != 0)
    pb_warn("bus: connection to %s:%d lost (%s); reconnecting with backoff",
            bus->host, bus->port, mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid, int rc,
                       const mosquitto_property *props) {
  (void)mosq;
  (void)mid;
  (void)rc;
  (void)props;
  struct pb_bus *bus = ud;
  atomic_fetch_sub(&bus->inflight, 1);
}

static void on_message(struct mosquitto *mosq, void *ud,
                       const struct mosquitto_message *msg,
                       const mosquitto_property *props) {
  (void)mosq;
  struct pb_bus *bus = ud;
  if ((size_t)msg->payloadlen > MAX_PAYLOAD) {
    pb_warn("bus: ignoring a %d-byte message on %s (limit %u)", msg->payloadlen,
            msg->topic, MAX_PAYLOAD);
    return;
  }
  struct qmsg *m = calloc(1, sizeof *m);
  if (!m)
    return;
  m->topic = strdup(msg->topic);
  m->len = (size_t)msg->payloadlen;
  m->payload = malloc(m->len + 1);
  m->retained = msg->retain;
  if (!m->topic || !m->payload) {
    qmsg_free(m);
    return;
  }
  if (m->len)
    memcpy(m->payload, msg->payload, m->len);
  m->payload[m->len] = '\0';
  char *rt = NULL;
  if (mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &rt,
                                     false))
    m->response_topic = rt;
  void *corr = NULL;
  uint16_t clen = 0;
  if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr,
                                     &clen, false)) {
    m->correlation = corr;
    m->correlation_len = clen;
  }
  enqueue(bus, m);
}

static void on_log(struct mosquitto *mosq, void *ud, int level, const char *str) {
  (void)mosq;
  (void)ud;
  if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
    pb_debug("libmosquitto: %s", str);
}

/* ---- loop thread ---- */

static void dispatch(struct pb_bus *bus, struct qmsg *m) {
  if (m->is_connect) {
    pb_info("bus: connected to %s:%d", bus->host, bus->port);
    if (bus->on_connect)
      bus->on_connect(bus, bus->on_connect_ud);
    return;
  }
  size_t rlen = strlen(bus->root);
  bool under_root = strncmp(m->topic, bus->root, rlen) == 0 && m->topic[rlen] == '/';
  struct pb_bus_msg msg = {
      .topic = under_root ? m->topic + rlen + 1 : m->topic,
      .payload = m->payload,
      .len = m->len,
      .retained = m->retained,
      .response_topic = m->response_topic,
      .correlation = m->correlation,
      .correlation_len = m->correlation_len,
  };
  /* Handlers may subscribe more: walk by index, the array only grows. */
  for (int i = 0; i < bus->nsubs; i++) {
    const struct sub *s = &bus->subs[i];
    if (s->absolute) {
      msg.topic = m->topic;
      if (pb_topic_matches(s->pattern, m->topic))
        s->handler(bus, &msg, s->ud);
    } else if (under_root) {
      msg.topic = m->topic + rlen + 1;
      if (pb_topic_matches(s->pattern, msg.topic))
        s->handler(bus, &msg, s->ud);
    }
  }
}

static void on_wakeup(struct pb_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  (void)events;
  struct pb_bus *bus = ud;
  uint64_t n;
  if (read(fd, &n, sizeof n) < 0) {
    /* nothing to read: another wake-up already drained the queue */
  }
  pthread_mutex_lock(&bus->lock);
  struct qmsg *m = bus->head;
  bus->head = bus->tail = NULL;
  bus->queued = 0;
  pthread_mutex_unlock(&bus->lock);
  while (m) {
    struct qmsg *next = m->next;
    size_t len = m->len;
    dispatch(bus, m);
    qmsg_free(m);
    pthread_mutex_lock(&bus->lock);
    bus->queued_bytes -= len;
    pthread_cond_signal(&bus->drained);
    pthread_mutex_unlock(&bus->lock);
    m = next;
  }
}

static void lib_init(void) { mosquitto_lib_init(); }

int pb_bus_new(struct pb_loop *loop, const struct pb_bus_options *o,
               struct pb_bus **out) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, lib_init);
  struct pb_url url;
  if (pb_url_parse(o->url, &url) != 0 ||
      (strcmp(url.scheme, "mqtt") && strcmp(url.scheme, "mqtts"))) {
    pb_error("bus: MQTT_URL '%s' is not mqtt://host:port or mqtts://host:port",
             o->url);
    return PB_ECONFIG;
  }
  struct pb_bus *bus = calloc(1, sizeof *bus);
  if (!bus)
    return PB_ENOMEM;
  bus->loop = loop;
  bus->evfd = -1;
  pthread_mutex_init(&bus->lock, NULL);
  pthread_cond_init(&bus->drained, NULL);
  snprintf(bus->root, sizeof bus->root, "%s", o->root);
  snprintf(bus->service, sizeof bus->service, "%s", o->service);
  snprintf(bus->host, sizeof bus->host, "%s", url.host);
  bool tls = strcmp(url.scheme, "mqtts") == 0;
  bus->port = url.port ? url.port : (tls ? 8883 : 1883);
  bus->protocol = o->protocol == 4 ? 4 : 5;
  bus->ephemeral = o->ephemeral;
  snprintf(bus->availability, sizeof bus->availability,
           "%s/svc/%s/availability", bus->root, bus->service);
  bus->session_expiry = o->session_expiry;
  /* A service keeps one persistent session under a fixed id, so QoS 1
   * commands published while it restarts wait for it at the broker; a
   * command-line client takes a one-off id and a clean session, so it never
   * steals the running service's session. */
  char cid[128], host[64] = "host";
  gethostname(host, sizeof host - 1);
  if (o->client_id && *o->client_id) {
    snprintf(cid, sizeof cid, "%s", o->client_id);
  } else if (bus->ephemeral) {
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
      r = (unsigned)pb_clock_mono_ms();
    snprintf(cid, sizeof cid, "%s-%.40s-%ld-%08x", o->service, host,
             (long)getpid(), r);
  } else {
    const char *inst = o->instance && *o->instance ? o->instance : host;
    snprintf(cid, sizeof cid, "%s-%.64s", o->service, inst);
  }
  bus->mosq = mosquitto_new(cid, bus->ephemeral, bus);
  bus->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!bus->mosq || bus->evfd < 0)
    goto fail;
  /* Small messages go out at once rather than waiting for Nagle's
   * algorithm: a boundary's burst of decisions is latency-bound. */
  mosquitto_int_option(bus->mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_int_option(bus->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                       bus->protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  if (o->username && *o->username &&
      mosquitto_username_pw_set(bus->mosq, o->username,
                                o->password && *o->password ? o->password : NULL))
    goto fail;
  if (tls) {
    bool ca = o->ca_file && *o->ca_file;
    bool cert = o->cert_file && *o->cert_file;
    int trc = mosquitto_tls_set(bus->mosq, ca ? o->ca_file : NULL,
                                ca ? NULL : "/etc/ssl/certs",
                                cert ? o->cert_file : NULL,
                                cert ? o->key_file : NULL, NULL);
    if (trc != MOSQ_ERR_SUCCESS) {
      pb_error("bus: cannot set up TLS for %s (CA %s, certificate %s): %s",
               o->url, ca ? o->ca_file : "system", cert ? o->cert_file : "none",
               mosquitto_strerror(trc));
      goto fail;
    }
  } else if ((o->ca_file && *o->ca_file) || (o->cert_file && *o->cert_file)) {
    pb_warn("bus: MQTT_CA_FILE/MQTT_CERT_FILE are set but MQTT_URL is not "
            "mqtts://: the connection is NOT encrypted");
  }
  if (!bus->ephemeral &&
      mosquitto_will_set(bus->mosq, bus->availability, 7, "offline", 1, true))
    goto fail;
  mosquitto_reconnect_delay_set(bus->mosq, 1, 30, true);
  mosquitto_connect_v5_callback_set(bus->mosq, on_connect);
  mosquitto_disconnect_v5_callback_set(bus->mosq, on_disconnect);
  mosquitto_publish_v5_callback_set(bus->mosq, on_publish);
  mosquitto_message_v5_callback_set(bus->mosq, on_message);
  mosquitto_log_callback_set(bus->mosq, on_log);
  if (pb_loop_watch(loop, bus->evfd, PB_LOOP_READ, on_wakeup, bus))
    goto fail;
  *out = bus;
  return 0;
fail:
  pb_error("bus: cannot create the MQTT client");
  if (bus->mosq)
    mosquitto_destroy(bus->mosq);
  if (bus->evfd >= 0)
    close(bus->evfd);
  pthread_cond_destroy(&bus->drained);
  pthread_mutex_destroy(&bus->lock);
  free(bus);
  return PB_EBUS;
}

int pb_bus_start(struct pb_bus *bus) {
  int rc;
  if (bus->protocol == 5 && !bus->ephemeral && bus->session_expiry) {
    /* MQTT 5 ends a session at disconnect unless CONNECT asks otherwise;
     * libmosquitto keeps these properties for every reconnect. The first
     * attempt is synchronous (a TCP connect); the network thread retries. */
    mosquitto_property *props = NULL;
    rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                      bus->session_expiry);
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_connect_bind_v5(bus->mosq, bus->host, bus->port, 30, NULL,
                                     props);
    mosquitto_property_free_all(&props);
  } else {
    rc = mosquitto_connect_async(bus->mosq, bus->host, bus->port, 30);
  }
  if (rc != MOSQ_ERR_SUCCESS)
    pb_warn("bus: cannot reach %s:%d yet (%s); retrying in the background",
            bus->host, bus->port, mosquitto_strerror(rc));
  rc = mosquitto_loop_start(bus->mosq);
  if (rc != MOSQ_ERR_SUCCESS) {
    pb_error("bus: cannot start the network thread: %s", mosquitto_strerror(rc));
    return PB_EBUS;
  }
  return 0;
}

static void wait_inflight(struct pb_bus *bus, int64_t ms) {
  int64_t deadline = pb_clock_mono_ms() + ms;
  while (atomic_load(&bus->inflight) > 0 && bus->connected &&
         pb_clock_mono_ms() < deadline) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

void pb_bus_free(struct pb_bus *bus) {
  if (!bus)
    return;
  /* A network thread waiting for the loop to drain would never be joined. */
  pthread_mutex_lock(&bus->lock);
  bus->closing = true;
  pthread_cond_broadcast(&bus->drained);
  pthread_mutex_unlock(&bus->lock);
  if (bus->connected) {
    atomic_fetch_add(&bus->inflight, 1);
    if (bus->ephemeral ||
        mosquitto_publish(bus->mosq, NULL, bus->availability, 7, "offline", 1,
                          true) != MOSQ_ERR_SUCCESS)
      atomic_fetch_sub(&bus->inflight, 1);
    wait_inflight(bus, 2000);
    mosquitto_disconnect(bus->mosq);
  }
  mosquitto_loop_stop(bus->mosq, bus->connected ? false : true);
  mosquitto_destroy(bus->mosq);
  pb_loop_unwatch(bus->loop, bus->evfd);
  close(bus->evfd);
  while (bus->pending) {
    struct pending *p = bus->pending;
    bus->pending = p->next;
    pb_timer_free(p->timer);
    free(p);
  }
  while (bus->served) {
    struct served *sv = bus->served;
    bus->served = sv->next;
    free(sv);
  }
  struct qmsg *m = bus->head;
  while (m) {
    struct qmsg *next = m->next;
    qmsg_free(m);
    m = next;
  }
  pthread_cond_destroy(&bus->drained);
  pthread_mutex_destroy(&bus->lock);
  free(bus);
}

bool pb_bus_connected(const struct pb_bus *bus) { return bus->connected; }
size_t pb_bus_unacked(const struct pb_bus *bus) {
  int n = atomic_load(&bus->inflight);
  return n > 0 ? (size_t)n : 0;
}
const char *pb_bus_root(const struct pb_bus *bus) { return bus->root; }
const char *pb_bus_service(const struct pb_bus *bus) { return bus->service; }

static int subscribe(struct pb_bus *bus, const char *pattern, bool absolute,
                     int options, pb_bus_handler *handler, void *ud) {
  pthread_mutex_lock(&bus->lock);
  if (bus->nsubs == MAX_SUBS) {
    pthread_mutex_unlock(&bus->lock);
    return PB_ETOOBIG;
  }
  struct sub *s = &bus->subs[bus->nsubs];
  snprintf(s->pattern, sizeof s->pattern, "%s", pattern);
  int n = absolute ? snprintf(s->full, sizeof s->full, "%s", pattern) : 0;
  if ((absolute && (n < 0 || (size_t)n >= sizeof s->full)) ||
      (!absolute && full_topic(bus, pattern, s->full, sizeof s->full))) {
    pthread_mutex_unlock(&bus->lock);
    return PB_ETOOBIG;
  }
  s->absolute = absolute;
  s->options = bus->protocol == 5 ? options : 0;
  s->handler = handler;
  s->ud = ud;
  bus->nsubs++;
  if (bus->connected)
    mosquitto_subscribe_v5(bus->mosq, NULL, s->full, 1, s->options, NULL);
  pthread_mutex_unlock(&bus->lock);
  return 0;
}

int pb_bus_subscribe(struct pb_bus *bus, const char *pattern,
                     pb_bus_handler *handler, void *ud) {
  return subscribe(bus, pattern, false, 0, handler, ud);
}

int pb_bus_subscribe_abs(struct pb_bus *bus, const char *pattern,
                         pb_bus_handler *handler, void *ud) {
  return subscribe(bus, pattern, true, 0, handler, ud);
}

int pb_bus_subscribe_own(struct pb_bus *bus, const char *pattern, bool absolute,
                         pb_bus_handler *handler, void *ud) {
  return subscribe(bus, pattern, absolute, MQTT_SUB_OPT_NO_LOCAL, handler, ud);
}

void pb_bus_on_connect(struct pb_bus *bus, pb_bus_connect_cb *cb, void *ud) {
  bus->on_connect = cb;
  bus->on_connect_ud = ud;
}

static int publish_abs(struct pb_bus *bus, const char *topic, const void *payload,
                       size_t len, bool retain, const mosquitto_property *props) {
  if (len > MAX_PAYLOAD)
    return PB_ETOOBIG;
  atomic_fetch_add(&bus->inflight, 1);
  int rc = mosquitto_publish_v5(bus->mosq, NULL, topic, (int)len, payload, 1,
                                retain, bus->protocol == 5 ? props : NULL);
  if (rc == MOSQ_ERR_SUCCESS)
    return 0;
  atomic_fetch_sub(&bus->inflight, 1);
  /* libmosquitto queues QoS 1 messages while disconnected; what still fails
   * here is lost, and services re-publish their retained state on every
   * reconnect anyway. */
  if (rc == MOSQ_ERR_NO_CONN)
    pb_debug("bus: not connected, %s not sent", topic);
  else
    pb_warn("bus: publishing to %s failed: %s", topic, mosquitto_strerror(rc));
  return PB_EBUS;
}

int pb_bus_publish(struct pb_bus *bus, const char *topic, const void *payload,
                   size_t len, bool retain) {
  char full[TOPIC_MAX];
  if (full_topic(bus, topic, full, sizeof full))
    return PB_ETOOBIG;
  return publish_abs(bus, full, payload, len, retain, NULL);
}

int pb_bus_publish_abs(struct pb_bus *bus, const char *topic, const void *payload,
                       size_t len, bool retain) {
  if (strlen(topic) >= TOPIC_MAX)
    return PB_ETOOBIG;
  return publish_abs(bus, topic, payload, len, retain, NULL);
}

int pb_bus_publish_str(struct pb_bus *bus, const char *topic, const char *text,
                       bool retain) {
  return pb_bus_publish(bus, topic, text, strlen(text), retain);
}

int pb_bus_publish_json(struct pb_bus *bus, const char *topic, const json_t *j,
                        bool retain) {
  char *s = pb_json_dump(j);
  if (!s)
    return PB_ENOMEM;
  int rc = pb_bus_publish(bus, topic, s, strlen(s), retain);
  free(s);
  return rc;
}

int pb_bus_clear(struct pb_bus *bus, const char *topic) {
  return pb_bus_publish(bus, topic, "", 0, true);
}

int pb_bus_event(struct pb_bus *bus, const char *kind, json_t *event) {
  if (!event)
    return PB_ENOMEM;
  char topic[128];
  snprintf(topic, sizeof topic, "events/%s", kind);
  json_object_set_new(event, "kind", json_string(kind));
  pb_json_set_time(event, "at", pb_clock_now(), 0);
  json_object_set_new(event, "service", json_string(bus->service));
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
  return pb_bus_event(bus, "error", ev);
}

void pb_bus_command_result(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           const char *error) {
  if (!msg->response_topic)
    return;
  json_t *body = error ? json_pack("{s:s,s:s}", "status", "error", "error", error)
                       : json_pack("{s:s}", "status", "ok");
  copy_transaction(msg, body);
  mosquitto_property *props = NULL;
  if (msg->correlation)
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
                                  msg->correlation, (uint16_t)msg->correlation_len);
  char *text = pb_json_dump(body);
  if (text)
    publish_abs(bus, msg->response_topic, text, strlen(text), false, props);
  free(text);
  mosquitto_property_free_all(&props);
  json_decref(body);
}

/* ---- request/response, server side ---- */

struct pb_bus_reply {
  struct pb_bus *bus;
  char topic[TOPIC_MAX];       /* absolute */
  const void *correlation;
  size_t correlation_len;
  json_t *transaction;
  bool sent;
  bool deferred;               /* heap copy from pb_bus_reply_defer */
};

static void send_reply(struct pb_bus_reply *r, json_t *body) {
  if (r->transaction)
    json_object_set(body, "transaction", r->transaction);
  mosquitto_property *props = NULL;
  if (r->correlation)
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
                                  r->correlation, (uint16_t)r->correlation_len);
  char *s = pb_json_dump(body);
  if (s)
    publish_abs(r->bus, r->topic, s, strlen(s), false, props);
  free(s);
  mosquitto_property_free_all(&props);
  json_decref(body);
  r->sent = true;
  if (r->deferred) {
    json_decref(r->transaction);
    free((void *)r->correlation);
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

static void on_request(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  struct served *sv = ud;
  struct pb_bus_reply reply = {.bus = bus,
                               .correlation = msg->correlation,
                               .correlation_len = msg->correlation_len};
  if (msg->response_topic)
    snprintf(reply.topic, sizeof reply.topic, "%s", msg->response_topic);
  else
    snprintf(reply.topic, sizeof reply.topic, "%s/svc/%s/response/%s", bus->root,
             bus->service, sv->action);
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
    json_t *inner = bus->keypair ? pb_sealed_request_open(bus->keypair, req,
                                                          err, sizeof err)
                                 : NULL;
    if (!bus->keypair)
      snprintf(err, sizeof err, "%s takes no sealed requests", bus->service);
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
  } else if (bus->keypair) {
    for (size_t i = 0; bus->secret_fields && bus->secret_fields[i]; i++)
      if (json_object_get(req, bus->secret_fields[i]))
        pb_warn("bus: a request on %s carries '%s' in clear: seal it to the "
                "key on R/svc/%s/pubkey (docs/topics.md)",
                msg->topic, bus->secret_fields[i], bus->service);
  }
  sv->handler(bus, sv->action, req, &reply, sv->ud);
  if (!reply.sent)
    pb_bus_reply_error(&reply, "the service gave no answer", NULL);
  json_decref(reply.transaction);
  json_decref(req);
}

int pb_bus_serve(struct pb_bus *bus, const char *action,
                 pb_bus_request_handler *handler, void *ud) {
  struct served *sv = calloc(1, sizeof *sv);
  if (!sv)
    return PB_ENOMEM;
  sv->next = bus->served;
  bus->served = sv;
  snprintf(sv->action, sizeof sv->action, "%s", action);
  sv->handler = handler;
  sv->ud = ud;
  char pattern[TOPIC_MAX];
  snprintf(pattern, sizeof pattern, "svc/%s/request/%s", bus->service, action);
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
  bus->keypair = keypair;
  bus->secret_fields = secret_fields;
}

/* ---- request/response, client side ---- */

/* The request waiting for `tx`, taken off the list; NULL when none, or when
 * `topic` (a response's, relative to the root) is not under the asked
 * service's svc/<service>/response/: the broker's ACL lets only that service
 * write there, so an answer from anywhere else is a forgery and is ignored. */
static struct pending *take_pending(struct pb_bus *bus, const char *tx,
                                    const char *topic) {
  for (struct pending **pp = &bus->pending; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->transaction, tx) == 0) {
      if (topic) {
        size_t n = strlen((*pp)->service);
        if (strncmp(topic, "svc/", 4) || strncmp(topic + 4, (*pp)->service, n) ||
            strncmp(topic + 4 + n, "/response/", 10)) {
          pb_warn("bus: ignoring an answer to %s on %s: only %s answers it",
                  tx, topic, (*pp)->service);
          return NULL;
        }
      }
      struct pending *p = *pp;
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
  struct pending *p = tx ? take_pending(bus, tx, msg->topic) : NULL;
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

static void on_request_timeout(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct pending *p = ud;
  struct pb_bus *bus = p->bus;
  if (take_pending(bus, p->transaction, NULL) != p)
    return;
  pb_timer_free(p->timer);
  p->done(bus, NULL, p->ud);
  free(p);
}

/* After the request was published (rc 0): wait for its answer or its
 * timeout; otherwise forget it. */
static int track(struct pb_bus *bus, struct pending *p, int rc, int timeout_ms) {
  if (rc) {
    pb_timer_free(p->timer);
    free(p);
    return rc;
  }
  p->next = bus->pending;
  bus->pending = p;
  pb_timer_arm_in(p->timer, timeout_ms);
  return 0;
}

static struct pending *new_pending(struct pb_bus *bus, const char *service,
                                   pb_bus_response_cb *done, void *ud) {
  if (!bus->responses_subscribed) {
    /* "#": actions may have several levels (source/list, site/test). */
    if (pb_bus_subscribe(bus, "svc/+/response/#", on_response, NULL))
      return NULL;
    bus->responses_subscribed = true;
  }
  struct pending *p = calloc(1, sizeof *p);
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
                   bus->service);
  for (size_t i = 0; i < sizeof r && n > 0; i++)
    n += snprintf(p->transaction + n, sizeof p->transaction - (size_t)n,
                  "%02x", r[i]);
  snprintf(p->service, sizeof p->service, "%s", service);
  p->done = done;
  p->ud = ud;
  p->bus = bus;
  p->timer = pb_timer_new(bus->loop, on_request_timeout, p);
  if (!p->timer) {
    free(p);
    return NULL;
  }
  return p;
}

int pb_bus_command(struct pb_bus *bus, const char *service, const char *topic,
                   const void *payload, size_t len, int timeout_ms,
                   pb_bus_response_cb *done, void *ud) {
  if (bus->protocol != 5)
    return PB_EUNAVAIL; /* MQTT 3.1.1 has no response topic */
  struct pending *p = new_pending(bus, service, done, ud);
  if (!p)
    return PB_ENOMEM;
  char full[TOPIC_MAX], reply[TOPIC_MAX];
  snprintf(reply, sizeof reply, "%s/svc/%s/response/command", bus->root,
           service);
  mosquitto_property *props = NULL;
  int rc = full_topic(bus, topic, full, sizeof full);
  if (!rc &&
      (mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, reply) ||
       mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA,
                                     p->transaction,
                                     (uint16_t)strlen(p->transaction))))
    rc = PB_ENOMEM;
  if (!rc)
    rc = publish_abs(bus, full, payload, len, false, props);
  mosquitto_property_free_all(&props);
  return track(bus, p, rc, timeout_ms);
}

int pb_bus_request(struct pb_bus *bus, const char *service, const char *action,
                   json_t *request, int timeout_ms, pb_bus_response_cb *done,
                   void *ud) {
  struct pending *p = new_pending(bus, service, done, ud);
  if (!p) {
    json_decref(request);
    return PB_ENOMEM;
  }
  json_object_set_new(request, "transaction", json_string(p->transaction));
  char topic[TOPIC_MAX];
  snprintf(topic, sizeof topic, "svc/%s/request/%s", service, action);
  int rc = pb_bus_publish_json(bus, topic, request, false);
  json_decref(request);
  return track(bus, p, rc, timeout_ms);
}
