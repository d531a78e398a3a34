/* The live event stream, GET /api/events/stream (Server-Sent Events, WHATWG
 * HTML "Server-sent events"). Events go into a bounded ring (each already
 * formatted once); every client is only a read position in it. A client is
 * written to from the server's stream callback (web_stream_new), which runs
 * only when its socket can take more, so a slow reader never blocks the loop:
 * it falls behind, and once the ring has overwritten what it has not read yet
 * it is dropped (it reconnects with Last-Event-ID and is told to resync).
 * An idle client's connection is suspended and resumed by the next event
 * or heartbeat. A finished call (`cdr`) goes only to admins and to the
 * readonly users who own its extension (user_exts.c), as the call log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "web.h"

struct ring_ev {
  uint64_t id;
  char *text; /* "id: N\nevent: T\ndata: {...}\n\n" */
  size_t len;
  bool restricted;           /* only for admins and the owner of `owner` */
  char owner[2 * PB_ID_MAX]; /* "site/ext"; "" when no extension */
};

#define CLIENT_EXTS_MAX 64 /* as many as an account may own */

struct sse_client {
  struct sse_client *next, *prev;
  struct web *w;
  struct web_stream *stream;
  char user[PB_ID_MAX]; /* whose credentials opened it */
  bool admin;
  char (*exts)[2 * PB_ID_MAX]; /* the user's "site/ext", when it opened */
  size_t nexts;
  uint64_t next_id; /* the next event it must get */
  size_t partial;   /* bytes of that event already written */
  char intro[256];  /* retry/resync lines sent first */
  size_t intro_len, intro_off;
  bool suspended;
  bool heartbeat_due;
  bool closing;
  bool dropped; /* counted in sse_dropped already */
};

struct web_sse {
  struct ring_ev *ring;
  size_t cap, count, head; /* head: index of the oldest event */
  uint64_t next_id;
  struct sse_client *clients;
  size_t nclients, max_clients, max_per_user;
  struct web_note full_note, user_note;
  struct pb_timer *heartbeat;
  int64_t heartbeat_ms;
};

static struct ring_ev *ring_at(struct web_sse *s, uint64_t id) {
  if (!s->count)
    return NULL;
  uint64_t oldest = s->ring[s->head].id;
  if (id < oldest || id >= s->next_id)
    return NULL;
  return &s->ring[(s->head + (size_t)(id - oldest)) % s->cap];
}

static void wake(struct sse_client *c) {
  if (c->suspended) {
    c->suspended = false;
    web_stream_resume(c->stream);
  }
}

static void wake_all(struct web *w) {
  for (struct sse_client *c = w->sse->clients; c; c = c->next)
    wake(c);
  web_http_kick(w);
}

static void publish(struct web *w, const char *type, json_t *data,
                    bool restricted, const char *site, const char *ext);

void web_sse_publish(struct web *w, const char *type, json_t *data) {
  publish(w, type, data, false, NULL, NULL);
}

void web_sse_publish_ext(struct web *w, const char *type, json_t *data,
                         const char *site, const char *ext) {
  publish(w, type, data, true, site, ext);
}

static void publish(struct web *w, const char *type, json_t *data,
                    bool restricted, const char *site, const char *ext) {
  struct web_sse *s = w->sse;
  if (!s || !data) {
    json_decref(data);
    return;
  }
  char *json = pb_json_dump(data);
  json_decref(data);
  if (!json)
    return;
  uint64_t id = s->next_id;
  size_t len = strlen(json) + strlen(type) + 64;
  char *text = malloc(len);
  if (!text) {
    free(json);
    return;
  }
  int n = snprintf(text, len, "id: %llu\nevent: %s\ndata: %s\n\n",
                   (unsigned long long)id, type, json);
  free(json);
  struct ring_ev *slot;
  if (s->count == s->cap) {
    slot = &s->ring[s->head]; /* overwrite the oldest */
    free(slot->text);
    s->head = (s->head + 1) % s->cap;
  } else {
    slot = &s->ring[(s->head + s->count) % s->cap];
    s->count++;
  }
  slot->id = id;
  slot->text = text;
  slot->len = (size_t)n;
  slot->restricted = restricted;
  slot->owner[0] = '\0';
  if (restricted && site && ext && *site && *ext)
    snprintf(slot->owner, sizeof slot->owner, "%s/%s", site, ext);
  s->next_id++;
  wake_all(w);
}

static size_t copy_out(char *buf, size_t max, const char *src, size_t len,
                       size_t *off) {
  size_t n = len - *off;
  if (n > max)
    n = max;
  memcpy(buf, src + *off, n);
  *off += n;
  return n;
}

static bool may_see(const struct sse_client *c, const struct ring_ev *ev) {
  if (!ev->restricted || c->admin)
    return true;
  for (size_t i = 0; ev->owner[0] && i < c->nexts; i++)
    if (strcmp(c->exts[i], ev->owner) == 0)
      return true;
  return false;
}

static long reader(void *cls, char *buf, size_t max) {
  struct sse_client *c = cls;
  struct web *w = c->w;
  struct web_sse *s = w->sse;
  if (c->closing)
    return WEB_STREAM_END;
  size_t out = 0;
  if (c->intro_off < c->intro_len)
    out += copy_out(buf, max, c->intro, c->intro_len, &c->intro_off);
  while (out < max && c->next_id < s->next_id) {
    struct ring_ev *ev = ring_at(s, c->next_id);
    if (!ev) {
      /* The ring went past what this client had not read yet. */
      pb_warn(
          "event stream: dropping a client %llu events behind (ring of %zu)",
          (unsigned long long)(s->next_id - c->next_id), s->cap);
      w->metrics.sse_dropped++;
      c->dropped = true;
      return WEB_STREAM_ERROR;
    }
    if (c->partial == 0 && !may_see(c, ev)) {
      c->next_id++;
      continue;
    }
    out += copy_out(buf + out, max - out, ev->text, ev->len, &c->partial);
    if (c->partial == ev->len) {
      c->partial = 0;
      c->next_id++;
    }
  }
  if (out == 0 && c->heartbeat_due) {
    static const char ping[] = ": ping\n\n";
    if (max >= sizeof ping - 1) {
      memcpy(buf, ping, sizeof ping - 1);
      out = sizeof ping - 1;
      c->heartbeat_due = false;
    }
  }
  if (out == 0) {
    /* Nothing to send: the connection is parked until the next event. */
    c->suspended = true;
  }
  return (long)out;
}

static void free_client(void *cls) {
  struct sse_client *c = cls;
  struct web_sse *s = c->w->sse;
  if (s && !c->dropped && !c->closing && s->count &&
      c->next_id < s->ring[s->head].id) {
    /* Closed by the server's idle timeout while the ring went past it: a
     * client that stopped reading altogether. */
    pb_warn("event stream: dropped a client that stopped reading");
    c->w->metrics.sse_dropped++;
  }
  if (s) {
    if (c->prev)
      c->prev->next = c->next;
    else if (s->clients == c)
      s->clients = c->next;
    if (c->next)
      c->next->prev = c->prev;
    s->nclients--;
  }
  free(c->exts);
  free(c);
}

/* A parked (suspended) stream learns that its client left only at the next
 * heartbeat: a page reloaded a few times would meet its own dead streams.
 * A peek at the socket tells at once. */
static bool client_left(struct sse_client *c) {
  if (c->closing)
    return true;
  if (!c->suspended || !web_stream_peer_left(c->stream))
    return false;
  c->closing = true; /* ends the stream at its next turn */
  wake(c);
  web_http_kick(c->w);
  return true;
}

/* One user (a browser left open in many tabs, a script in a loop, a leaked
 * read-only token) may not take the slots everyone shares. */
static bool refused(struct web *w, const char *user,
                    struct web_response *refusal) {
  struct web_sse *s = w->sse;
  size_t mine = 0;
  for (struct sse_client *c = s->clients; c; c = c->next)
    if (strcmp(c->user, user) == 0 && !client_left(c))
      mine++;
  if (mine >= s->max_per_user) {
    web_note(&s->user_note,
             "event stream: user '%s' already holds %zu streams; refusing "
             "another (WEB_SSE_MAX_PER_USER)",
             user, mine);
    pb_strlcpy(refusal->retry_after, "30", sizeof refusal->retry_after);
    web_reply_error(refusal, 429,
                    "user '%s' already has %zu event streams open, the most "
                    "one user may hold (WEB_SSE_MAX_PER_USER): close one "
                    "(another tab or script) first",
                    user, mine);
    return true;
  }
  if (s->nclients >= s->max_clients) {
    web_note(&s->full_note,
             "event stream: %zu clients, refusing one for '%s' "
             "(WEB_SSE_MAX_CLIENTS)",
             s->nclients, user);
    pb_strlcpy(refusal->retry_after, "30", sizeof refusal->retry_after);
    web_reply_error(refusal, 503,
                    "too many event-stream clients (WEB_SSE_MAX_CLIENTS)");
    return true;
  }
  return false;
}

struct web_stream *web_sse_response(struct web *w, struct web_conn *wc,
                                    const char *user, const char *last_event_id,
                                    struct web_response *refusal) {
  struct web_sse *s = w->sse;
  if (refused(w, user, refusal))
    return NULL;
  struct sse_client *c = calloc(1, sizeof *c);
  if (!c) {
    web_reply_error(refusal, 503, "out of memory");
    return NULL;
  }
  c->w = w;
  pb_strlcpy(c->user, user, sizeof c->user);
  c->admin = wc->auth.role == WEB_ROLE_ADMIN;
  if (!c->admin) {
    json_t *mine = web_user_extensions(w, user);
    size_t n = json_array_size(mine);
    if (n > CLIENT_EXTS_MAX)
      n = CLIENT_EXTS_MAX;
    c->exts = n ? calloc(n, sizeof *c->exts) : NULL;
    for (size_t i = 0; c->exts && i < n; i++) {
      json_t *x = json_array_get(mine, i);
      snprintf(c->exts[i], sizeof c->exts[i], "%s/%s", pb_json_str(x, "site"),
               pb_json_str(x, "ext"));
      c->nexts++;
    }
    json_decref(mine);
  }
  c->next_id = s->next_id;
  int n = snprintf(c->intro, sizeof c->intro,
                   "retry: 3000\n: PresenceBus live events\n\n");
  if (last_event_id && *last_event_id) {
    char *end;
    unsigned long long last = strtoull(last_event_id, &end, 10);
    uint64_t oldest = s->count ? s->ring[s->head].id : s->next_id;
    if (*end == '\0' && last + 1 >= oldest && last + 1 <= s->next_id) {
      c->next_id = last + 1; /* resume where it stopped */
    } else {
      /* Older than the ring, or from before a restart: what was missed
       * cannot be replayed, so the client must reload the state. */
      n += snprintf(
          c->intro + n, sizeof c->intro - (size_t)n,
          "event: resync\ndata: {\"reason\":\"event %.40s is no longer "
          "available\"}\n\n",
          last_event_id);
    }
  }
  c->intro_len = (size_t)n < sizeof c->intro ? (size_t)n : sizeof c->intro - 1;
  /* A client that takes nothing for two heartbeats is closed by the
   * server (parked idle streams do not time out; a stuck one is not
   * parked, its socket is full). */
  c->stream = web_stream_new(wc, "text/event-stream; charset=utf-8",
                             (unsigned)(s->heartbeat_ms / 1000 * 2 + 5), reader,
                             free_client, c);
  if (!c->stream) {
    free(c->exts);
    free(c);
    web_reply_error(refusal, 503, "out of memory");
    return NULL;
  }
  c->next = s->clients;
  if (s->clients)
    s->clients->prev = c;
  s->clients = c;
  s->nclients++;
  return c->stream;
}

void web_get_events(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  (void)w;
  if (strcmp(req->method, "HEAD") == 0) {
    /* The headers of a stream, without opening one. */
    resp->raw_static = "";
    resp->content_type = "text/event-stream";
    return;
  }
  resp->sse = true;
}

size_t web_sse_client_count(const struct web *w) {
  return w->sse ? w->sse->nclients : 0;
}

static void on_heartbeat(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  struct web *w = ud;
  for (struct sse_client *c = w->sse->clients; c; c = c->next)
    c->heartbeat_due = true;
  if (w->sse->clients)
    wake_all(w);
  pb_timer_arm_in(t, w->sse->heartbeat_ms);
}

int web_sse_init(struct web *w) {
  struct web_sse *s = calloc(1, sizeof *s);
  if (!s)
    return PB_ENOMEM;
  w->sse = s;
  s->cap = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_SSE_RING_EVENTS);
  s->max_clients = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_SSE_MAX_CLIENTS);
  s->max_per_user = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_SSE_MAX_PER_USER);
  s->heartbeat_ms =
      pb_config_int(w->cfg, PB_CFG_WEB_SSE_HEARTBEAT_SECONDS) * 1000;
  s->ring = calloc(s->cap, sizeof *s->ring);
  /* Ids grow across restarts (milliseconds at start, times 1000), so an id
   * from before a restart is never mistaken for one of this run. */
  s->next_id = (uint64_t)pb_clock_now_ms() * 1000;
  s->heartbeat = pb_timer_new(w->loop, on_heartbeat, w);
  if (!s->ring || !s->heartbeat)
    return PB_ENOMEM;
  pb_timer_arm_in(s->heartbeat, s->heartbeat_ms);
  return 0;
}

void web_sse_close_all(struct web *w) {
  if (!w->sse)
    return;
  for (struct sse_client *c = w->sse->clients; c; c = c->next) {
    c->closing = true;
    wake(c);
  }
}

void web_sse_cleanup(struct web *w) {
  struct web_sse *s = w->sse;
  if (!s)
    return;
  /* Clients still listed belong to streams the server has already ended or
   * is about to end (after web_http_stop): detach them. */
  for (struct sse_client *c = s->clients; c; c = c->next)
    c->w->sse = NULL;
  for (size_t i = 0; i < s->count; i++)
    free(s->ring[(s->head + i) % s->cap].text);
  free(s->ring);
  pb_timer_free(s->heartbeat);
  free(s);
  w->sse = NULL;
}
