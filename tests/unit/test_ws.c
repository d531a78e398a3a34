/* pb_ws (shared/ws.c) against a tiny WebSocket server written here with
 * libwebsockets on 127.0.0.1 (a free port): open, text both ways, a
 * fragmented message delivered whole, a message over the cap, a refused
 * handshake, a refused connection, a peer close, bad URLs, and freeing the
 * handle from its own callbacks. The server runs in this thread: the test
 * loop services it between turns of pb_loop. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/ws.h"

/* ---- the server ---- */

static struct lws_context *srv;
static int srv_port;
static char srv_last[256];  /* last text received */
static char srv_reply[300]; /* what to send on the next writeable */
static int srv_mode;        /* what the reply is: see srv_callback */
enum { SEND_TEXT = 1, SEND_FRAGMENTS, SEND_BIG, SEND_CLOSE };

static int srv_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len) {
  (void)user;
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    char q[128] = "";
    /* only ?access_token=good is let in, as the PBX checks its token */
    const char *v = lws_get_urlarg_by_name(wsi, "access_token=", q, sizeof q);
    if (!v || strcmp(v, "good") != 0)
      return 1;
    return 0;
  }
  case LWS_CALLBACK_RECEIVE:
    snprintf(srv_last, sizeof srv_last, "%.*s", (int)len, (const char *)in);
    if (strcmp(srv_last, "heartbeat") == 0) {
      snprintf(srv_reply, sizeof srv_reply, "heartbeat response");
      srv_mode = SEND_TEXT;
    } else if (strcmp(srv_last, "fragments") == 0) {
      srv_mode = SEND_FRAGMENTS;
    } else if (strcmp(srv_last, "big") == 0) {
      srv_mode = SEND_BIG;
    } else if (strcmp(srv_last, "close") == 0) {
      srv_mode = SEND_CLOSE;
    } else {
      snprintf(srv_reply, sizeof srv_reply, "echo:%s", srv_last);
      srv_mode = SEND_TEXT;
    }
    lws_callback_on_writable(wsi);
    return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE: {
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *p = buf + LWS_PRE;
    int mode = srv_mode;
    srv_mode = 0;
    if (mode == SEND_TEXT) {
      size_t n = strlen(srv_reply);
      memcpy(p, srv_reply, n);
      lws_write(wsi, p, n, LWS_WRITE_TEXT);
    } else if (mode == SEND_FRAGMENTS) {
      /* "abc" "def" "ghi" as three frames of one message */
      memcpy(p, "abc", 3);
      lws_write(wsi, p, 3, LWS_WRITE_TEXT | LWS_WRITE_NO_FIN);
      memcpy(p, "def", 3);
      lws_write(wsi, p, 3, LWS_WRITE_CONTINUATION | LWS_WRITE_NO_FIN);
      memcpy(p, "ghi", 3);
      lws_write(wsi, p, 3, LWS_WRITE_CONTINUATION);
    } else if (mode == SEND_BIG) {
      memset(p, 'x', 4000);
      lws_write(wsi, p, 4000, LWS_WRITE_TEXT);
    } else if (mode == SEND_CLOSE) {
      lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"bye",
                       3);
      return -1;
    }
    return 0;
  }
  default:
    return 0;
  }
}

static const struct lws_protocols srv_protocols[] = {
    {.name = "test", .callback = srv_callback, .rx_buffer_size = 8192},
    {0},
};

static void server_start(void) {
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = 0; /* any free port */
  info.iface = "127.0.0.1";
  info.protocols = srv_protocols;
  info.gid = -1;
  info.uid = -1;
  srv = lws_create_context(&info);
  CHECK(srv != NULL);
  srv_port = lws_get_vhost_listen_port(lws_get_vhost_by_name(srv, "default"));
  CHECK(srv_port > 0);
}

/* ---- the client side ---- */

struct seen {
  int opens, closes, messages;
  int close_err;
  char close_why[256];
  char last[8192];
  size_t last_len;
  bool free_on_message;
  bool free_on_close;
  struct pb_ws *ws;
};

static void c_open(struct pb_ws *ws, void *ud) {
  (void)ws;
  ((struct seen *)ud)->opens++;
}

static void c_message(struct pb_ws *ws, const char *data, size_t len,
                      bool binary, void *ud) {
  (void)binary;
  struct seen *s = ud;
  s->messages++;
  s->last_len = len;
  snprintf(s->last, sizeof s->last, "%.*s", (int)len, data);
  if (s->free_on_message) {
    pb_ws_free(ws);
    s->ws = NULL;
  }
}

static void c_close(struct pb_ws *ws, int err, const char *why, void *ud) {
  struct seen *s = ud;
  s->closes++;
  s->close_err = err;
  snprintf(s->close_why, sizeof s->close_why, "%s", why);
  if (s->free_on_close) {
    pb_ws_free(ws);
    s->ws = NULL;
  }
}

static struct pb_loop *loop;

/* Turns the loop and the server until `done` or about 5 s passed. */
static void run_until(bool (*done)(struct seen *), struct seen *s) {
  for (int i = 0; i < 1000 && !done(s); i++) {
    pb_loop_run_once(loop, 5);
    lws_service(srv, -1);
  }
}

static bool opened(struct seen *s) {
  return s->opens > 0 || s->closes > 0;
}
static bool closed(struct seen *s) {
  return s->closes > 0;
}
static bool got_message(struct seen *s) {
  return s->messages > 0 || s->closes > 0;
}

static struct pb_ws *open_ws(const char *query, size_t max, struct seen *s) {
  char url[256], err[256] = "";
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/openapi/v1.0/subscribe%s",
           srv_port, query);
  struct pb_ws_options opt = {.url = url, .max_message = max};
  struct pb_ws_handler h = {
      .on_open = c_open, .on_message = c_message, .on_close = c_close, .ud = s};
  struct pb_ws *ws = NULL;
  CHECK_INT(pb_ws_open(loop, &opt, &h, &ws, err, sizeof err), 0);
  s->ws = ws;
  return ws;
}

static void test_text_both_ways(void) {
  struct seen s = {0};
  struct pb_ws *ws = open_ws("?access_token=good", 0, &s);
  run_until(opened, &s);
  CHECK_INT(s.opens, 1);
  if (s.closes)
    fprintf(stderr, "closed: %s\n", s.close_why);
  CHECK(pb_ws_is_open(ws));
  CHECK_INT(pb_ws_send_text(ws, "heartbeat", 9), 0);
  run_until(got_message, &s);
  CHECK_STR(s.last, "heartbeat response");
  CHECK_STR(srv_last, "heartbeat");
  s.messages = 0;
  const char *sub = "{\"topic_list\":[30011,30012]}";
  CHECK_INT(pb_ws_send_text(ws, sub, strlen(sub)), 0);
  run_until(got_message, &s);
  CHECK_STR(s.last, "echo:{\"topic_list\":[30011,30012]}");
  CHECK_INT(s.closes, 0);
  pb_ws_free(ws);
}

static void test_fragments_whole(void) {
  struct seen s = {0};
  struct pb_ws *ws = open_ws("?access_token=good", 0, &s);
  run_until(opened, &s);
  CHECK_INT(pb_ws_send_text(ws, "fragments", 9), 0);
  run_until(got_message, &s);
  CHECK_INT(s.messages, 1);
  CHECK_STR(s.last, "abcdefghi");
  pb_ws_free(ws);
}

static void test_message_over_cap(void) {
  struct seen s = {0};
  struct pb_ws *ws = open_ws("?access_token=good", 1000, &s);
  run_until(opened, &s);
  CHECK_INT(pb_ws_send_text(ws, "big", 3), 0);
  run_until(closed, &s);
  CHECK_INT(s.messages, 0);
  CHECK_INT(s.closes, 1);
  CHECK_INT(s.close_err, PB_ETOOBIG);
  CHECK(strstr(s.close_why, "larger than 1000 bytes") != NULL);
  /* over the cap on the way out too */
  char big[1001];
  memset(big, 'y', sizeof big);
  CHECK(pb_ws_send_text(ws, big, sizeof big) != 0);
  pb_ws_free(ws);
}

static void test_refused_handshake(void) {
  struct seen s = {0};
  struct pb_ws *ws = open_ws("?access_token=expired", 0, &s);
  run_until(closed, &s);
  CHECK_INT(s.opens, 0);
  CHECK_INT(s.closes, 1);
  CHECK(s.close_err != 0);
  CHECK(s.close_why[0] != 0);
  CHECK(strstr(s.close_why, "expired") == NULL); /* never the query */
  CHECK(!pb_ws_is_open(ws));
  CHECK_INT(pb_ws_send_text(ws, "x", 1), PB_ESTATE);
  pb_ws_free(ws);
}

static void test_refused_connection(void) {
  /* a port nobody listens on: bind one, close it */
  struct seen s = {0};
  char url[128], err[256];
  snprintf(url, sizeof url, "ws://127.0.0.1:1/openapi/v1.0/subscribe");
  struct pb_ws_options opt = {.url = url};
  struct pb_ws_handler h = {.on_open = c_open,
                            .on_message = c_message,
                            .on_close = c_close,
                            .ud = &s};
  struct pb_ws *ws = NULL;
  CHECK_INT(pb_ws_open(loop, &opt, &h, &ws, err, sizeof err), 0);
  CHECK_INT(s.closes, 0); /* never from inside pb_ws_open */
  run_until(closed, &s);
  CHECK_INT(s.closes, 1);
  CHECK_INT(s.close_err, PB_EIO);
  pb_ws_free(ws);
}

static void test_peer_close_and_free_in_callback(void) {
  struct seen s = {.free_on_close = true};
  struct pb_ws *ws = open_ws("?access_token=good", 0, &s);
  run_until(opened, &s);
  CHECK_INT(pb_ws_send_text(ws, "close", 5), 0);
  run_until(closed, &s);
  CHECK_INT(s.closes, 1);
  CHECK(strstr(s.close_why, "closed") != NULL);
  CHECK(s.ws == NULL); /* freed by the callback; ASan checks the rest */
  /* freed from on_message: nothing more arrives, nothing leaks */
  struct seen s2 = {.free_on_message = true};
  ws = open_ws("?access_token=good", 0, &s2);
  run_until(opened, &s2);
  CHECK_INT(pb_ws_send_text(ws, "heartbeat", 9), 0);
  run_until(got_message, &s2);
  CHECK_INT(s2.messages, 1);
  for (int i = 0; i < 20; i++) {
    pb_loop_run_once(loop, 5);
    lws_service(srv, -1);
  }
  CHECK_INT(s2.closes, 0);
}

static void test_bad_urls(void) {
  struct seen s = {0};
  struct pb_ws_handler h = {.on_close = c_close, .ud = &s};
  const char *bad[] = {"http://127.0.0.1/x", "ws://", "not a url",
                       "ws://user:pw@127.0.0.1/x", NULL};
  for (int i = 0; bad[i]; i++) {
    char err[256] = "";
    struct pb_ws *ws = (struct pb_ws *)1;
    struct pb_ws_options opt = {.url = bad[i]};
    CHECK_INT(pb_ws_open(loop, &opt, &h, &ws, err, sizeof err), PB_EINVAL);
    CHECK(ws == NULL);
    CHECK(err[0] != 0);
  }
  pb_ws_free(NULL);
  CHECK_INT(s.closes, 0);
}

int main(void) {
  pb_log_init("test_ws", PB_LOG_WARN);
  lws_set_log_level(0, NULL);
  if (pb_loop_new(&loop))
    return 1;
  server_start();
  if (!srv)
    return CHECK_DONE();
  RUN(test_text_both_ways);
  RUN(test_fragments_whole);
  RUN(test_message_over_cap);
  RUN(test_refused_handshake);
  RUN(test_refused_connection);
  RUN(test_peer_close_and_free_in_callback);
  RUN(test_bad_urls);
  lws_context_destroy(srv);
  pb_loop_free(loop);
  return CHECK_DONE();
}
