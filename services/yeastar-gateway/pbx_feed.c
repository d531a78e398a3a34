/* The PBX's live event feed, per site (P-Series developer guide, "Monitor
 * Events via WebSocket", "API Events Overview"): open
 * {ws|wss}://<pbx>/openapi/v1.0/subscribe?access_token=<token>, send
 * {"topic_list":[...]} and expect {"errcode":0,"errmsg":"SUCCESS"}, send
 * `heartbeat` every 25 s (the PBX closes a connection idle for 60 s) and
 * expect `heartbeat response`. A refused, dropped or silent connection is
 * opened again after a backoff (1 s doubling to 60 s, +-20 %). When the
 * site's access token changes (refresh, new login), a second connection
 * opens with the new token and replaces the first once subscribed; events
 * both deliver meanwhile are de-duplicated on the common path
 * (pbx_event.c). The token is never logged: URLs in logs stop at the path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/jitter.h"
#include "pb/json.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/topics.h"
#include "pb/url.h"
#include "pb/ws.h"

#define TICK_MS 1000
static const char subscription[] = "{\"topic_list\":[30007,30008,30009,"
                                   "30011,30012]}";

struct conn {
  struct gw_feed *f;
  struct pb_ws *ws;
  unsigned number; /* the event source it is (pbx_event.c) */
  char token[128];
  bool subscribed;
  int64_t opened_ms, last_rx_ms, last_hb_ms;
};

struct gw_feed {
  struct gw_site *s;
  struct conn *cur;  /* the connection events come from */
  struct conn *next; /* opened with a newer token, replaces cur */
  struct pb_timer *timer;
  int failures;
  int64_t retry_at_ms;
  unsigned opened; /* connections opened: their numbers */
  bool warned_pin;
  char shown_url[GW_URL_MAX + 64]; /* for logs: no query */
};

int gw_feed_url(const char *base_url, const char *token, char *out,
                size_t len) {
  const char *rest;
  const char *scheme;
  if (strncmp(base_url, "https://", 8) == 0)
    scheme = "wss://", rest = base_url + 8;
  else if (strncmp(base_url, "http://", 7) == 0)
    scheme = "ws://", rest = base_url + 7;
  else
    return PB_EINVAL;
  for (const char *p = token; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789-._~",
                *p))
      return PB_EINVAL; /* a token the PBX never gives: not sent */
  size_t rl = strlen(rest);
  const char *slash = rl && rest[rl - 1] == '/' ? "" : "/";
  int n = *token ? snprintf(out, len, "%s%s%ssubscribe?access_token=%s", scheme,
                            rest, slash, token)
                 : snprintf(out, len, "%s%s%ssubscribe", scheme, rest, slash);
  if (n < 0 || (size_t)n >= len) {
    if (len)
      out[0] = '\0';
    return PB_ETOOBIG;
  }
  return 0;
}

static void conn_free(struct conn *c) {
  if (!c)
    return;
  pb_ws_free(c->ws);
  free(c);
}

static int64_t backoff_ms(int failures) {
  int64_t base = GW_FEED_BACKOFF_FIRST_MS;
  for (int i = 1; i < failures && base < GW_FEED_BACKOFF_MAX_MS; i++)
    base *= 2;
  if (base > GW_FEED_BACKOFF_MAX_MS)
    base = GW_FEED_BACKOFF_MAX_MS;
  return pb_jitter(base, base / 5);
}

static bool token_usable(const struct gw_site *s) {
  return s->token_state == TOKEN_VALID && s->access_token[0];
}

/* The connection `c` is over (closed, refused, silent): forget it; when it
 * was the only one, try again after the backoff, or at once when its token
 * was replaced (a PBX closes a connection whose token was refreshed away). */
static void conn_lost(struct gw_feed *f, struct conn *c, const char *reason) {
  struct gw_site *s = f->s;
  char why[300]; /* `reason` may live in the connection freed below */
  snprintf(why, sizeof why, "%s", reason);
  bool was_cur = c == f->cur;
  bool subscribed = c->subscribed;
  bool old_token = token_usable(s) && strcmp(c->token, s->access_token) != 0;
  if (was_cur)
    f->cur = NULL;
  else if (c == f->next)
    f->next = NULL;
  conn_free(c);
  if (was_cur && f->next) {
    pb_info("site %s: event feed %s: %s; its replacement is opening", s->name,
            f->shown_url, why);
    return;
  }
  if (f->cur && !was_cur) { /* the replacement failed; the old one goes on */
    pb_warn("site %s: event feed %s (new token): %s", s->name, f->shown_url,
            why);
    return;
  }
  if (was_cur && subscribed && old_token) {
    pb_info("site %s: event feed %s: %s; opening it again with the new "
            "token",
            s->name, f->shown_url, why);
    f->failures = 0;
    f->retry_at_ms = 0;
    pb_timer_arm_in(f->timer, 0);
    return;
  }
  if (subscribed)
    f->failures = 0;
  f->failures++;
  int64_t delay = backoff_ms(f->failures);
  f->retry_at_ms = pb_clock_now_ms() + delay;
  pb_warn("site %s: event feed %s: %s; again in %.1f s (live events meanwhile "
          "only through the webhook relay, drift through the read-back)",
          s->name, f->shown_url, why, (double)delay / 1000.0);
  pb_timer_arm_in(f->timer, delay < TICK_MS ? delay : TICK_MS);
}

static struct conn *conn_of(struct gw_feed *f, struct pb_ws *ws) {
  if (f->cur && f->cur->ws == ws)
    return f->cur;
  if (f->next && f->next->ws == ws)
    return f->next;
  return NULL;
}

static void on_open(struct pb_ws *ws, void *ud) {
  struct conn *c = ud;
  if (pb_ws_send_text(ws, subscription, sizeof subscription - 1))
    pb_warn("site %s: event feed: the subscription could not be queued",
            c->f->s->name);
}

static void subscribed(struct gw_feed *f, struct conn *c) {
  c->subscribed = true;
  if (c == f->next) { /* the new token's connection takes over */
    struct conn *old = f->cur;
    f->cur = c;
    f->next = NULL;
    conn_free(old);
    pb_info("site %s: event feed %s moved to the new token", f->s->name,
            f->shown_url);
    return;
  }
  pb_info("site %s: event feed %s subscribed (30007, 30008, 30009, 30011, "
          "30012)",
          f->s->name, f->shown_url);
  f->failures = 0;
}

static void feed_error(struct gw_site *s, const char *err, const char *text,
                       size_t len) {
  pb_warn("site %s: event from the feed refused: %s", s->name, err);
  json_t *ev = json_pack("{s:s,s:s,s:s}", "site", s->name, "source", "pbx_feed",
                         "error", err);
  json_object_set_new(ev, "payload", pb_json_text(text, len > 200 ? 200 : len));
  gw_event(s->gw, PB_EVENT_ERROR, ev);
}

static void on_message(struct pb_ws *ws, const char *data, size_t len,
                       bool binary, void *ud) {
  struct conn *c = ud;
  struct gw_feed *f = c->f;
  struct gw_site *s = f->s;
  char err[256];
  c->last_rx_ms = pb_clock_now_ms();
  if (binary) {
    feed_error(s, "a binary message (the PBX sends text)", "", 0);
    return;
  }
  if (len == 18 && memcmp(data, "heartbeat response", 18) == 0)
    return;
  json_t *j = pb_json_parse(data, len, err, sizeof err);
  if (!json_is_object(j)) {
    feed_error(s, j ? "a message that is not a JSON object" : err, data, len);
    json_decref(j);
    return;
  }
  if (json_object_get(j, "errcode") && !json_object_get(j, "type")) {
    int64_t code = -1;
    const char *msg = "";
    gw_envelope(j, &code, &msg);
    if (code == 0 && !c->subscribed) {
      subscribed(f, c);
    } else if (code != 0) {
      char why[300];
      snprintf(why, sizeof why, "the PBX refused the subscription: %lld %s",
               (long long)code, msg ? msg : "");
      json_decref(j);
      if (conn_of(f, ws))
        conn_lost(f, c, why);
      return;
    }
    json_decref(j);
    return;
  }
  struct pb_pbx_event ev = {0};
  if (pb_pbx_event_from_json(j, &ev, err, sizeof err) ||
      gw_pbx_event_handle(s, &ev, c->number, err, sizeof err))
    feed_error(s, err, data, len);
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
}

static void on_close(struct pb_ws *ws, int err, const char *why, void *ud) {
  struct conn *c = ud;
  (void)err;
  if (conn_of(c->f, ws))
    conn_lost(c->f, c, why);
}

static struct conn *conn_open(struct gw_feed *f) {
  struct gw_site *s = f->s;
  char url[GW_URL_MAX + 256], err[256];
  if (gw_feed_url(s->base_url, s->access_token, url, sizeof url)) {
    f->failures++;
    f->retry_at_ms = pb_clock_now_ms() + backoff_ms(f->failures);
    pb_error("site %s: no WebSocket URL can be made of %s", s->name,
             f->shown_url);
    return NULL;
  }
  struct conn *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->f = f;
  c->number = ++f->opened ? f->opened : ++f->opened; /* never 0: the relay */
  pb_strlcpy(c->token, s->access_token, sizeof c->token);
  c->opened_ms = c->last_rx_ms = c->last_hb_ms = pb_clock_now_ms();
  struct pb_ws_options opt = {.url = url,
                              .ca_file = s->set.ca_file,
                              .insecure = s->set.insecure,
                              .user_agent = s->gw->user_agent,
                              .max_message = GW_FEED_MESSAGE_MAX};
  struct pb_ws_handler h = {.on_open = on_open,
                            .on_message = on_message,
                            .on_close = on_close,
                            .ud = c};
  int rc = pb_ws_open(s->gw->loop, &opt, &h, &c->ws, err, sizeof err);
  memset(url, 0, sizeof url); /* the token */
  if (rc) {
    free(c);
    f->failures++;
    f->retry_at_ms = pb_clock_now_ms() + backoff_ms(f->failures);
    pb_error("site %s: event feed %s cannot start: %s", s->name, f->shown_url,
             err);
    return NULL;
  }
  pb_debug("site %s: event feed %s connecting", s->name, f->shown_url);
  return c;
}

static void check_conn(struct gw_feed *f, struct conn *c, int64_t now) {
  if (!c->subscribed) {
    if (now - c->opened_ms >= GW_FEED_SUBSCRIBE_MS + 10000)
      conn_lost(f, c, "no answer to the connection or the subscription");
    return;
  }
  if (now - c->last_rx_ms >= GW_FEED_SILENT_MS) {
    conn_lost(f, c, "silent (no heartbeat response)");
    return;
  }
  if (now - c->last_hb_ms >= GW_FEED_HEARTBEAT_MS) {
    c->last_hb_ms = now;
    if (pb_ws_send_text(c->ws, "heartbeat", 9))
      conn_lost(f, c, "the heartbeat could not be sent");
  }
}

static void on_tick(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  struct gw_feed *f = ud;
  struct gw_site *s = f->s;
  int64_t now = pb_clock_now_ms();
  pb_timer_arm_in(t, TICK_MS);
  if (f->next)
    check_conn(f, f->next, now);
  if (f->cur)
    check_conn(f, f->cur, now);
  if (!token_usable(s))
    return;
  if (!f->cur && !f->next) {
    if (now >= f->retry_at_ms)
      f->cur = conn_open(f);
  } else if (f->cur && f->cur->subscribed && !f->next &&
             strcmp(f->cur->token, s->access_token) != 0) {
    f->next = conn_open(f);
  }
}

void gw_feed_start(struct gw_site *s) {
  gw_feed_stop(s);
  if (!s->gw->feed_on)
    return;
  struct gw_feed *f = calloc(1, sizeof *f);
  if (!f)
    return;
  f->s = s;
  f->timer = pb_timer_new(s->gw->loop, on_tick, f);
  if (!f->timer) {
    free(f);
    return;
  }
  if (gw_feed_url(s->base_url, "", f->shown_url, sizeof f->shown_url))
    pb_strlcpy(f->shown_url, "(no URL)", sizeof f->shown_url);
  char *shown = pb_url_redacted(f->shown_url);
  if (shown)
    pb_strlcpy(f->shown_url, shown, sizeof f->shown_url);
  free(shown);
  if (s->set.pinned_key[0] && strncmp(f->shown_url, "wss:", 4) == 0) {
    if (s->set.insecure) {
      pb_error("site %s: the event feed is off: the site is pinned to a key "
               "with insecure on, and the WebSocket library cannot check a "
               "pin (use ca_file for the PBX's certificate)",
               s->name);
      pb_timer_free(f->timer);
      free(f);
      return;
    }
    pb_warn("site %s: the event feed checks the PBX's certificate against "
            "the CA, not the pinned key",
            s->name);
  }
  s->feed = f;
  pb_timer_arm_in(f->timer, 0);
}

void gw_feed_stop(struct gw_site *s) {
  struct gw_feed *f = s->feed;
  if (!f)
    return;
  s->feed = NULL;
  conn_free(f->cur);
  conn_free(f->next);
  pb_timer_free(f->timer);
  free(f);
}
