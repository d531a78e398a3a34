/* The MQTT bus (pb/bus.h), its connection: libmosquitto's threaded client
 * (the only file that includes <mosquitto.h>), subscriptions, publishes and
 * the service's availability. The network thread only queues what arrives
 * and wakes the service's loop through an eventfd; every handler then runs on
 * the loop thread. Reconnection uses libmosquitto's exponential backoff (1 s
 * doubling to 30 s). Requests, replies, commands and events are built on top
 * of this, in bus_request.c. */
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

#include "bus_int.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/topics.h"

#define MAX_SUBS 64
#define MAX_PAYLOAD (32u * 1024 * 1024)
#define MAX_QUEUE 100000
/* Bytes of received payload waiting for the loop. Past it the network thread
 * waits for the loop to catch up, so a flood of retained messages (every
 * schedule at once after a restart) is throttled by TCP instead of piling up
 * in memory. */
#define MAX_QUEUED_BYTES (8u * 1024 * 1024)
#define TOPIC_MAX PB__BUS_TOPIC_MAX

struct sub {
  char pattern[TOPIC_MAX]; /* relative to the root */
  char full[TOPIC_MAX];    /* as sent to the broker */
  bool absolute;           /* pattern is not under the root */
  int options;             /* MQTT 5 subscription options */
  pb_bus_handler *handler;
  void *ud;
};

struct qmsg {
  struct qmsg *next;
  bool is_connect;
  char *topic; /* full topic */
  char *payload;
  size_t len;
  bool retained;
  char *response_topic;
  void *correlation;
  size_t correlation_len;
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
  pthread_mutex_t lock; /* subs and queue */
  struct sub subs[MAX_SUBS];
  int nsubs;
  struct qmsg *head, *tail;
  size_t queued;
  size_t queued_bytes;    /* payload bytes not yet dispatched */
  pthread_cond_t drained; /* signalled as queued_bytes goes down */
  bool closing;           /* pb_bus_free started: never wait */
  atomic_bool connected;
  atomic_int inflight; /* QoS 1 publishes not yet acknowledged */
  pb_bus_connect_cb *on_connect;
  void *on_connect_ud;
  struct pb__bus_requests requests; /* bus_request.c's */
};

static int full_topic(const struct pb_bus *bus, const char *rel, char *buf,
                      size_t len) {
  return pb_topic_full(buf, len, bus->root, rel);
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
  while (bus->queued_bytes > 0 &&
         bus->queued_bytes + m->len > MAX_QUEUED_BYTES && !bus->closing)
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

static void on_log(struct mosquitto *mosq, void *ud, int level,
                   const char *str) {
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
  bool under_root =
      strncmp(m->topic, bus->root, rlen) == 0 && m->topic[rlen] == '/';
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

static void lib_init(void) {
  mosquitto_lib_init();
}

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
  char availability[TOPIC_MAX];
  if (pb_topic_svc(availability, sizeof availability, bus->service,
                   PB_SVC_AVAILABILITY) ||
      full_topic(bus, availability, bus->availability,
                 sizeof bus->availability)) {
    pb_error("bus: the root '%s' or the service '%s' is too long", bus->root,
             bus->service);
    pthread_cond_destroy(&bus->drained);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
    return PB_ECONFIG;
  }
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
                       bus->protocol == 5 ? MQTT_PROTOCOL_V5
                                          : MQTT_PROTOCOL_V311);
  if (o->username && *o->username &&
      mosquitto_username_pw_set(bus->mosq, o->username,
                                o->password && *o->password ? o->password
                                                            : NULL))
    goto fail;
  if (tls) {
    bool ca = o->ca_file && *o->ca_file;
    bool cert = o->cert_file && *o->cert_file;
    int trc = mosquitto_tls_set(
        bus->mosq, ca ? o->ca_file : NULL, ca ? NULL : "/etc/ssl/certs",
        cert ? o->cert_file : NULL, cert ? o->key_file : NULL, NULL);
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
    pb_error("bus: cannot start the network thread: %s",
             mosquitto_strerror(rc));
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
  pb__bus_requests_cleanup(&bus->requests);
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

bool pb_bus_connected(const struct pb_bus *bus) {
  return bus->connected;
}
size_t pb_bus_unacked(const struct pb_bus *bus) {
  int n = atomic_load(&bus->inflight);
  return n > 0 ? (size_t)n : 0;
}
const char *pb_bus_root(const struct pb_bus *bus) {
  return bus->root;
}
const char *pb_bus_service(const struct pb_bus *bus) {
  return bus->service;
}
struct pb_loop *pb__bus_loop(const struct pb_bus *bus) {
  return bus->loop;
}
int pb__bus_protocol(const struct pb_bus *bus) {
  return bus->protocol;
}
struct pb__bus_requests *pb__bus_requests(struct pb_bus *bus) {
  return &bus->requests;
}

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

static int publish_abs(struct pb_bus *bus, const char *topic,
                       const void *payload, size_t len, bool retain,
                       const mosquitto_property *props) {
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

int pb__bus_publish_props(struct pb_bus *bus, const char *topic,
                          const void *payload, size_t len, bool retain,
                          const struct pb__bus_props *p) {
  if (strlen(topic) >= TOPIC_MAX)
    return PB_ETOOBIG;
  mosquitto_property *props = NULL;
  if (p && p->response_topic &&
      mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC,
                                    p->response_topic) != MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&props);
    return PB_ENOMEM;
  }
  if (p && p->correlation &&
      mosquitto_property_add_binary(
          &props, MQTT_PROP_CORRELATION_DATA, p->correlation,
          (uint16_t)p->correlation_len) != MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&props);
    return PB_ENOMEM;
  }
  int rc = publish_abs(bus, topic, payload, len, retain, props);
  mosquitto_property_free_all(&props);
  return rc;
}

int pb_bus_publish(struct pb_bus *bus, const char *topic, const void *payload,
                   size_t len, bool retain) {
  char full[TOPIC_MAX];
  if (full_topic(bus, topic, full, sizeof full))
    return PB_ETOOBIG;
  return publish_abs(bus, full, payload, len, retain, NULL);
}

int pb_bus_publish_abs(struct pb_bus *bus, const char *topic,
                       const void *payload, size_t len, bool retain) {
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
