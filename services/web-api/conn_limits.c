/* Connection limits and deadlines, so that nobody can starve web-api
 * without logging in (docs/api.md "Limits"). A connection is anonymous
 * until a request on it shows valid credentials; anonymous connections may
 * use only WEB_MAX_ANONYMOUS_CONNECTIONS of the WEB_MAX_CONNECTIONS, and
 * WEB_MAX_ANONYMOUS_PER_ADDRESS each per client address. When the
 * anonymous share is full, a new connection takes the place of one that is
 * still only sending, from the address holding the most (its oldest): a
 * crowd of tricklers evicts itself, never the lone client that sends its
 * request at once. A request head must be whole within
 * WEB_HEADER_TIMEOUT_SECONDS and its body within WEB_BODY_TIMEOUT_SECONDS:
 * the HTTP server's own timeout restarts at every byte, so a loop timer
 * shuts down the sockets past their deadline and the server closes them.
 * The server (http_server.c) reports each connection and request here. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "web.h"

#define SWEEP_MS 500

/* One TCP connection (the server's socket context). */
struct web_sock {
  struct web_sock *next, *prev;
  int fd;
  char key[64];             /* the per-address key (IPv6: its /64) */
  char peer[64];            /* the peer's address, for the log */
  bool anonymous;           /* counted in `anonymous` and in *count */
  struct addr_count *count; /* its address's anonymous connections */
  bool evicted;             /* shut down; the server has not closed it yet */
  int64_t wait_since;       /* monotonic ms the current wait began; 0: busy */
  int64_t deadline;         /* monotonic ms; 0: none (a request is handled) */
  const char *waiting_for;  /* "request head", "request body" */
};

struct addr_count {
  size_t n;
};

struct web_limits {
  struct web_sock *socks;
  size_t total, anonymous, evicting;
  struct pb_map *per_addr; /* key -> addr_count, anonymous connections */
  size_t max_anonymous, max_per_addr;
  int64_t head_ms, body_ms;
  struct pb_timer *sweep;
  struct web_note per_addr_note, evict_note, full_note, head_note, body_note;
};

static void arm_sweep(struct web_limits *l) {
  if (!pb_timer_armed(l->sweep))
    pb_timer_arm_in(l->sweep, SWEEP_MS);
}

static void wait_for(struct web_limits *l, struct web_sock *s, const char *what,
                     int64_t ms) {
  s->wait_since = pb_clock_mono_ms();
  s->deadline = s->wait_since + ms;
  s->waiting_for = what;
  arm_sweep(l);
}

static void forget_anonymous(struct web_limits *l, struct web_sock *s) {
  if (!s->anonymous)
    return;
  s->anonymous = false;
  l->anonymous--;
  if (s->evicted)
    l->evicting--;
  if (--s->count->n == 0)
    free(pb_map_remove(l->per_addr, s->key));
  s->count = NULL;
}

static void cut(struct web_limits *l, struct web_sock *s) {
  /* The server sees the socket end at its next turn and closes the
   * connection the usual way (completion callbacks included). */
  shutdown(s->fd, SHUT_RDWR);
  s->evicted = true;
  s->deadline = 0;
  if (s->anonymous)
    l->evicting++;
}

/* An anonymous connection still only sending to us (not one whose request
 * is being answered): from the address holding the most, its oldest. */
static struct web_sock *victim(struct web_limits *l) {
  struct web_sock *best = NULL;
  for (struct web_sock *s = l->socks; s; s = s->next) {
    if (!s->anonymous || s->evicted || !s->wait_since)
      continue;
    if (!best || s->count->n > best->count->n ||
        (s->count->n == best->count->n && s->wait_since < best->wait_since))
      best = s;
  }
  return best;
}

bool web_limits_accept(struct web *w, const struct sockaddr *sa) {
  struct web_limits *l = w->limits;
  struct web_addr a;
  if (web_addr_from_sockaddr(sa, &a))
    return true; /* not IP (never on our sockets) */
  char key[64], peer[64];
  web_addr_key(&a, key, sizeof key);
  web_addr_text(&a, peer, sizeof peer);
  if (!web_proxy_trusted(w, &a)) {
    const struct addr_count *c = pb_map_get(l->per_addr, key);
    if (c && c->n >= l->max_per_addr) {
      w->metrics.conns_refused++;
      web_note(
          &l->per_addr_note,
          "connection limit: refusing connections from %s, which holds %zu "
          "without credentials (WEB_MAX_ANONYMOUS_PER_ADDRESS)",
          key, c->n);
      return false;
    }
  }
  if (l->anonymous - l->evicting < l->max_anonymous)
    return true;
  struct web_sock *old = victim(l);
  if (!old) {
    w->metrics.conns_refused++;
    web_note(&l->full_note,
             "connection limit: %zu connections without credentials are all "
             "being answered; refusing one from %s "
             "(WEB_MAX_ANONYMOUS_CONNECTIONS)",
             l->anonymous, peer);
    return false;
  }
  w->metrics.conns_evicted++;
  web_note(
      &l->evict_note,
      "connection limit: %zu connections without credentials; closing one "
      "from %s (which holds %zu), still sending its %s after %lld ms, to let "
      "one from %s in (WEB_MAX_ANONYMOUS_CONNECTIONS)",
      l->anonymous, old->key, old->count->n, old->waiting_for,
      (long long)(pb_clock_mono_ms() - old->wait_since), peer);
  cut(l, old);
  return true;
}

struct web_sock *web_limits_opened(struct web *w, int fd,
                                   const struct sockaddr *peer) {
  struct web_limits *l = w->limits;
  struct web_sock *s = calloc(1, sizeof *s);
  struct web_addr a;
  if (!s || web_addr_from_sockaddr(peer, &a)) {
    free(s);
    return NULL; /* not limited: memory is gone anyway */
  }
  s->fd = fd;
  web_addr_key(&a, s->key, sizeof s->key);
  web_addr_text(&a, s->peer, sizeof s->peer);
  struct addr_count *c = pb_map_get(l->per_addr, s->key);
  if (!c && (c = calloc(1, sizeof *c)) && pb_map_put(l->per_addr, s->key, c)) {
    free(c);
    c = NULL;
  }
  if (c) {
    c->n++;
    s->count = c;
    s->anonymous = true;
    l->anonymous++;
  }
  s->next = l->socks;
  if (l->socks)
    l->socks->prev = s;
  l->socks = s;
  l->total++;
  wait_for(l, s, "request head", l->head_ms);
  return s;
}

void web_limits_closed(struct web *w, struct web_sock *s) {
  struct web_limits *l = w->limits;
  if (!s)
    return;
  forget_anonymous(l, s);
  if (s->prev)
    s->prev->next = s->next;
  else
    l->socks = s->next;
  if (s->next)
    s->next->prev = s->prev;
  l->total--;
  free(s);
}

static void on_sweep(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  struct web *w = ud;
  struct web_limits *l = w->limits;
  int64_t now = pb_clock_mono_ms();
  bool waiting = false, cut_some = false;
  for (struct web_sock *s = l->socks; s; s = s->next) {
    if (!s->deadline)
      continue;
    if (now < s->deadline) {
      waiting = true;
      continue;
    }
    bool head = strcmp(s->waiting_for, "request head") == 0;
    w->metrics.conns_timed_out++;
    web_note(head ? &l->head_note : &l->body_note,
             "connection from %s closed: its %s took more than %lld s (%s)",
             s->peer, s->waiting_for,
             (long long)((head ? l->head_ms : l->body_ms) / 1000),
             head ? "WEB_HEADER_TIMEOUT_SECONDS" : "WEB_BODY_TIMEOUT_SECONDS");
    cut(l, s);
    cut_some = true;
  }
  if (waiting)
    pb_timer_arm_in(t, SWEEP_MS);
  if (cut_some) /* let the server see the sockets just shut down */
    web_http_kick(w);
}

void web_limits_head_in(struct web *w, struct web_sock *s, bool authenticated) {
  if (!s)
    return;
  if (authenticated)
    forget_anonymous(w->limits, s);
  wait_for(w->limits, s, "request body", w->limits->body_ms);
}

void web_limits_busy(struct web *w, struct web_sock *s) {
  (void)w;
  if (s) {
    s->wait_since = 0;
    s->deadline = 0;
  }
}

void web_limits_idle(struct web *w, struct web_sock *s) {
  if (s && !s->evicted)
    wait_for(w->limits, s, "request head", w->limits->head_ms);
}

int web_limits_init(struct web *w, unsigned max_connections) {
  struct web_limits *l = calloc(1, sizeof *l);
  if (!l)
    return PB_ENOMEM;
  w->limits = l;
  l->per_addr = pb_map_new();
  l->sweep = pb_timer_new(w->loop, on_sweep, w);
  if (!l->per_addr || !l->sweep)
    return PB_ENOMEM;
  l->max_anonymous =
      (size_t)pb_config_int(w->cfg, PB_CFG_WEB_MAX_ANONYMOUS_CONNECTIONS);
  if (l->max_anonymous >= max_connections) {
    /* Logged-in users must always find room. */
    size_t cap = max_connections - max_connections / 4;
    pb_warn("WEB_MAX_ANONYMOUS_CONNECTIONS=%zu is not below "
            "WEB_MAX_CONNECTIONS=%u: using %zu",
            l->max_anonymous, max_connections, cap);
    l->max_anonymous = cap;
  }
  l->max_per_addr =
      (size_t)pb_config_int(w->cfg, PB_CFG_WEB_MAX_ANONYMOUS_PER_ADDRESS);
  l->head_ms = pb_config_int(w->cfg, PB_CFG_WEB_HEADER_TIMEOUT_SECONDS) * 1000;
  l->body_ms = pb_config_int(w->cfg, PB_CFG_WEB_BODY_TIMEOUT_SECONDS) * 1000;
  return 0;
}

void web_limits_cleanup(struct web *w) {
  struct web_limits *l = w->limits;
  if (!l)
    return;
  /* The server, stopped, has closed every connection (web_limits_closed). */
  size_t pos = 0;
  void *v;
  while (l->per_addr && (v = pb_map_next(l->per_addr, &pos, NULL)))
    free(v);
  pb_map_free(l->per_addr);
  pb_timer_free(l->sweep);
  free(l);
  w->limits = NULL;
}
