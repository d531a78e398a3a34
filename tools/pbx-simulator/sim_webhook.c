/* Webhooks, the PBX's other way to report events (firmware with "Monitor
 * Events via Webhook"): up to five URLs, each with the event ids it takes;
 * every event is POSTed as the same envelope the WebSocket sends, with
 * X-Signature = Base64(HMAC-SHA256(secret, raw body)). One sender thread
 * delivers in order; plain HTTP only (a test tool). */
#include "sim.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "pb/secretbox.h"

#define URL_MAX 512
#define SECRET_MAX 128
#define TIMEOUT_S 5

struct hook {
  char url[URL_MAX];
  char host[256], port[8], path[URL_MAX];
  char secret[SECRET_MAX];
  int types[16];
  size_t n_types;
  uint64_t delivered, failed;
  long last_status; /* 0: no answer */
};

struct item {
  struct item *next;
  int type;
  char *body;
};

struct sim_webhooks {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_t thread;
  bool running, stop;
  char user_agent[64];
  struct hook hooks[SIM_WEBHOOKS_MAX];
  size_t n_hooks;
  struct item *head, *tail;
  size_t queued;
  uint64_t dropped;
};

/* http://host[:port][/path] into the hook; -1 when it is not one. */
static int parse_url(const char *url, struct hook *h) {
  const char *p, *slash, *colon;
  size_t hostlen;

  if (strncmp(url, "http://", 7) != 0 || strlen(url) >= URL_MAX)
    return -1;
  p = url + 7;
  slash = strchr(p, '/');
  if (slash == NULL)
    slash = p + strlen(p);
  colon = memchr(p, ':', (size_t)(slash - p));
  hostlen = (size_t)((colon ? colon : slash) - p);
  if (hostlen == 0 || hostlen >= sizeof h->host)
    return -1;
  memcpy(h->host, p, hostlen);
  h->host[hostlen] = '\0';
  if (colon != NULL) {
    long port;
    char text[8];
    size_t n = (size_t)(slash - colon - 1);
    if (n == 0 || n >= sizeof text)
      return -1;
    memcpy(text, colon + 1, n);
    text[n] = '\0';
    if (sim_parse_long(text, 1, 65535, &port) != 0)
      return -1;
    snprintf(h->port, sizeof h->port, "%ld", port);
  } else {
    snprintf(h->port, sizeof h->port, "80");
  }
  snprintf(h->path, sizeof h->path, "%s", *slash ? slash : "/");
  for (const char *c = h->path; *c; c++)
    if ((unsigned char)*c <= 0x20 || *c == 0x7f)
      return -1;
  snprintf(h->url, sizeof h->url, "%s", url);
  return 0;
}

static int connect_to(const char *host, const char *port) {
  struct addrinfo hints = {0}, *res, *ai;
  struct timeval tv = {TIMEOUT_S, 0};
  int fd = -1;

  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res) != 0)
    return -1;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
      continue;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* One POST; the HTTP status of the answer, 0 without one. */
static long post(const struct hook *h, const char *ua, const char *body) {
  char sig[64], head[2048], status_line[64];
  size_t got = 0, len = strlen(body);
  long status = 0;
  int fd;

  if (pb_hmac_sha256_base64(h->secret, strlen(h->secret), body, len, sig,
                            sizeof sig) != 0)
    return 0;
  fd = connect_to(h->host, h->port);
  if (fd < 0)
    return 0;
  snprintf(head, sizeof head,
           "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %zu\r\n"
           "X-Signature: %s\r\nConnection: close\r\n\r\n",
           h->path, h->host, h->port, ua, len, sig);
  if (send_all(fd, head, strlen(head)) == 0 && send_all(fd, body, len) == 0) {
    while (got < sizeof status_line - 1) {
      ssize_t r = recv(fd, status_line + got, sizeof status_line - 1 - got, 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t)r;
      if (memchr(status_line, '\n', got) != NULL)
        break;
    }
    status_line[got] = '\0';
    if (strncmp(status_line, "HTTP/1.", 7) == 0 && got >= 12)
      status = strtol(status_line + 9, NULL, 10);
  }
  close(fd);
  return status;
}

static bool takes(const struct hook *h, int type) {
  for (size_t i = 0; i < h->n_types; i++)
    if (h->types[i] == type)
      return true;
  return false;
}

static void *sender(void *arg) {
  struct sim_webhooks *w = arg;

  pthread_mutex_lock(&w->mu);
  for (;;) {
    struct item *it;
    struct hook snap[SIM_WEBHOOKS_MAX];
    size_t n;

    while (!w->stop && w->head == NULL)
      pthread_cond_wait(&w->wake, &w->mu);
    if (w->stop)
      break;
    it = w->head;
    w->head = it->next;
    if (w->head == NULL)
      w->tail = NULL;
    w->queued--;
    n = w->n_hooks;
    memcpy(snap, w->hooks, n * sizeof snap[0]);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
      long status;
      if (!takes(&snap[i], it->type))
        continue;
      status = post(&snap[i], w->user_agent, it->body);
      pthread_mutex_lock(&w->mu);
      /* the list may have changed meanwhile: count by URL */
      for (size_t k = 0; k < w->n_hooks; k++)
        if (strcmp(w->hooks[k].url, snap[i].url) == 0) {
          w->hooks[k].last_status = status;
          if (status >= 200 && status < 300)
            w->hooks[k].delivered++;
          else
            w->hooks[k].failed++;
        }
      pthread_mutex_unlock(&w->mu);
    }
    free(it->body);
    free(it);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

struct sim_webhooks *sim_webhooks_new(const char *user_agent) {
  struct sim_webhooks *w = calloc(1, sizeof *w);

  if (w == NULL)
    return NULL;
  snprintf(w->user_agent, sizeof w->user_agent, "%s", user_agent);
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->wake, NULL);
  if (pthread_create(&w->thread, NULL, sender, w) != 0) {
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
  }
  w->running = true;
  return w;
}

void sim_webhooks_free(struct sim_webhooks *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->mu);
  if (w->running)
    pthread_join(w->thread, NULL);
  while (w->head != NULL) {
    struct item *it = w->head;
    w->head = it->next;
    free(it->body);
    free(it);
  }
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

int sim_webhooks_add(struct sim_webhooks *w, const char *url,
                     const char *secret, const int *types, size_t n_types) {
  struct hook h;
  int rc = -1;

  memset(&h, 0, sizeof h);
  if (parse_url(url, &h) != 0 || strlen(secret) >= SECRET_MAX ||
      n_types > sizeof h.types / sizeof h.types[0])
    return -1;
  snprintf(h.secret, sizeof h.secret, "%s", secret);
  memcpy(h.types, types, n_types * sizeof types[0]);
  h.n_types = n_types;
  pthread_mutex_lock(&w->mu);
  if (w->n_hooks < SIM_WEBHOOKS_MAX) {
    w->hooks[w->n_hooks++] = h;
    rc = 0;
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

void sim_webhooks_clear(struct sim_webhooks *w) {
  pthread_mutex_lock(&w->mu);
  w->n_hooks = 0;
  pthread_mutex_unlock(&w->mu);
}

json_t *sim_webhooks_json(struct sim_webhooks *w) {
  json_t *a = json_array(), *j;

  pthread_mutex_lock(&w->mu);
  for (size_t i = 0; i < w->n_hooks; i++) {
    const struct hook *h = &w->hooks[i];
    json_t *types = json_array();
    for (size_t k = 0; k < h->n_types; k++)
      json_array_append_new(types, json_integer(h->types[k]));
    json_array_append_new(a, json_pack("{s:s,s:o,s:I,s:I,s:I}", "url", h->url,
                                       "events", types, "delivered",
                                       (json_int_t)h->delivered, "failed",
                                       (json_int_t)h->failed, "last_status",
                                       (json_int_t)h->last_status));
  }
  j = json_pack("{s:o,s:I,s:I}", "webhooks", a, "queued", (json_int_t)w->queued,
                "dropped", (json_int_t)w->dropped);
  pthread_mutex_unlock(&w->mu);
  return j;
}

void sim_webhooks_post(struct sim_webhooks *w, int type, const char *body) {
  struct item *it;
  bool wanted = false;

  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  for (size_t i = 0; i < w->n_hooks && !wanted; i++)
    wanted = takes(&w->hooks[i], type);
  if (!wanted) {
    pthread_mutex_unlock(&w->mu);
    return;
  }
  it = w->queued < SIM_WEBHOOK_QUEUE ? calloc(1, sizeof *it) : NULL;
  if (it != NULL && (it->body = strdup(body)) == NULL) {
    free(it);
    it = NULL;
  }
  if (it == NULL) {
    w->dropped++;
    pthread_mutex_unlock(&w->mu);
    return;
  }
  it->type = type;
  if (w->tail)
    w->tail->next = it;
  else
    w->head = it;
  w->tail = it;
  w->queued++;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->mu);
}
