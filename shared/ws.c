/* The WebSocket client of pb/ws.h over libwebsockets (the only file that
 * includes it). Each handle owns one lws context (its own TLS settings:
 * CA file, insecure) and one client connection, run on our loop: every
 * turn is one non-blocking lws_service() (lws polls its own sockets with a
 * zero timeout and runs its scheduled timeouts). Turns come from the
 * connection's socket, watched with pb_loop_watch once the WebSocket is
 * open (readable; writable while something waits to be sent), and from a
 * timer: every 10 ms while connecting (TCP, TLS, handshake), every 250 ms
 * after. Debian's libwebsockets is built without LWS_WITH_EXTERNAL_POLL, so
 * its ADD/DEL_POLL_FD callbacks never come: the socket is taken from
 * lws_get_socket_fd instead. The user's on_close is delivered from a
 * timer, never from inside pb_ws_open or a library callback, so a handler
 * may free the handle from any callback. */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "pb/buf.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/url.h"
#include "pb/ws.h"

/* lws's scheduled work (connect and close timeouts) is looked at this
 * often; data never waits for it (a ready fd is serviced at once). */
#define TICK_MS 250
#define CONNECTING_TICK_MS 10
#define SEND_QUEUE_MAX 64
#define FORCED_SERVICE_ROUNDS 16

struct out_msg {
  struct out_msg *next;
  size_t len;
  unsigned char bytes[]; /* LWS_PRE bytes of room, then the message */
};

struct pb_ws {
  struct pb_loop *loop;
  struct lws_context *ctx;
  struct lws *wsi;
  struct pb_timer *tick;   /* lws's scheduled work */
  struct pb_timer *notify; /* delivers on_close */
  struct pb_ws_handler h;
  size_t max_message;
  struct pb_buf rx;
  bool rx_binary;
  struct out_msg *out_head, *out_tail;
  size_t out_count;
  bool open;
  int fd; /* the watched socket, -1 none */
  unsigned fd_events;
  bool ended;        /* the connection is over (on_close due or sent) */
  bool close_sent;   /* on_close was delivered */
  bool in_service;   /* inside lws: freeing waits */
  bool free_pending; /* pb_ws_free was called inside lws */
  bool destroying;   /* lws_context_destroy under way: no callbacks */
  int peer_code;     /* close code the peer sent, 0 if none */
  int close_err;     /* set before the library closes (message too big) */
  char close_why[256];
  char host[256];
  char host_header[300];
  char user_agent[256];
  char path[2048];
};

static void lws_log_emit(int level, const char *line) {
  (void)level;
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    n--;
  pb_debug("libwebsockets: %.*s", (int)n, line);
}

static void set_end(struct pb_ws *ws, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_end(struct pb_ws *ws, int err, const char *fmt, ...) {
  if (ws->ended)
    return;
  ws->ended = true;
  ws->open = false;
  ws->close_err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ws->close_why, sizeof ws->close_why, fmt, ap);
  va_end(ap);
  pb_timer_arm_in(ws->notify, 0);
}

static void really_free(struct pb_ws *ws);

static void unwatch(struct pb_ws *ws) {
  if (ws->fd >= 0)
    pb_loop_unwatch(ws->loop, ws->fd);
  ws->fd = -1;
  ws->fd_events = 0;
}

static void on_fd(struct pb_loop *loop, int fd, unsigned events, void *ud);

/* Readable always once open; writable while a message waits (ours, or
 * the rest of one lws could not send at once). */
static void sync_watch(struct pb_ws *ws) {
  if (!ws->open || ws->ended || !ws->wsi) {
    unwatch(ws);
    return;
  }
  int fd = (int)lws_get_socket_fd(ws->wsi);
  unsigned ev = PB_LOOP_READ;
  if (ws->out_head || lws_partial_buffered(ws->wsi))
    ev |= PB_LOOP_WRITE;
  if (fd == ws->fd && ev == ws->fd_events)
    return;
  unwatch(ws);
  if (fd < 0 || pb_loop_watch(ws->loop, fd, ev, on_fd, ws))
    return; /* the timer still turns lws */
  ws->fd = fd;
  ws->fd_events = ev;
}

/* One non-blocking pass of lws (ready fds, its timers), then the forced
 * service it asks for (TLS records already read but not yet handed up). */
static void service(struct pb_ws *ws) {
  if (!ws->ctx)
    return;
  ws->in_service = true;
  lws_service(ws->ctx, -1);
  for (int i = 0; i < FORCED_SERVICE_ROUNDS && !ws->free_pending &&
                  lws_service_adjust_timeout(ws->ctx, 1, 0) == 0;
       i++)
    lws_service(ws->ctx, -1);
  ws->in_service = false;
  if (ws->free_pending)
    really_free(ws);
  else
    sync_watch(ws);
}

static void on_fd(struct pb_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  (void)fd;
  (void)events;
  service(ud);
}

static void on_tick(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  struct pb_ws *ws = ud;
  pb_timer_arm_in(t, ws->open || ws->ended ? TICK_MS : CONNECTING_TICK_MS);
  service(ws);
}

static void on_notify(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct pb_ws *ws = ud;
  if (ws->close_sent || !ws->ended)
    return;
  ws->close_sent = true;
  if (ws->h.on_close)
    ws->h.on_close(ws, ws->close_err, ws->close_why, ws->h.ud);
}

static void deliver_message(struct pb_ws *ws) {
  if (ws->h.on_message && !ws->free_pending)
    ws->h.on_message(ws, pb_buf_str(&ws->rx), pb_buf_len(&ws->rx),
                     ws->rx_binary, ws->h.ud);
  pb_buf_reset(&ws->rx);
}

static int on_receive(struct pb_ws *ws, struct lws *wsi, const void *in,
                      size_t len) {
  if (lws_is_first_fragment(wsi)) {
    pb_buf_reset(&ws->rx);
    ws->rx_binary = lws_frame_is_binary(wsi) != 0;
  }
  if (len && pb_buf_add(&ws->rx, in, len)) {
    set_end(ws, PB_ETOOBIG,
            "the server sent a message larger than %zu bytes: connection "
            "closed",
            ws->max_message);
    pb_buf_free(&ws->rx);
    return -1;
  }
  if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
    deliver_message(ws);
  return 0;
}

static int on_writeable(struct pb_ws *ws, struct lws *wsi) {
  struct out_msg *m = ws->out_head;
  if (!m)
    return 0;
  ws->out_head = m->next;
  if (!ws->out_head)
    ws->out_tail = NULL;
  ws->out_count--;
  int n = lws_write(wsi, m->bytes + LWS_PRE, m->len, LWS_WRITE_TEXT);
  free(m);
  if (n < 0) {
    set_end(ws, PB_EIO, "sending to the server failed: connection closed");
    return -1;
  }
  if (ws->out_head)
    lws_callback_on_writable(wsi);
  return 0;
}

static void connection_error(struct pb_ws *ws, struct lws *wsi,
                             const char *in) {
  unsigned status = wsi ? lws_http_client_http_response(wsi) : 0;
  if (status && status != 101)
    set_end(ws, PB_EHTTP,
            "the server answered HTTP %u instead of accepting the WebSocket",
            status);
  else
    set_end(ws, PB_EIO, "connecting failed: %s",
            in && *in ? in : "no reason given by libwebsockets");
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason,
                       void *user, void *in, size_t len) {
  (void)user;
  struct pb_ws *ws = lws_context_user(lws_get_context(wsi));
  if (!ws)
    return 0;
  switch (reason) {
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    unwatch(ws);
    if (!ws->destroying)
      connection_error(ws, wsi, in);
    ws->wsi = NULL;
    return 0;
  case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
    unsigned char **p = in, *end = *p + len;
    if (ws->user_agent[0] &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT,
                                     (unsigned char *)ws->user_agent,
                                     (int)strlen(ws->user_agent), p, end))
      return -1;
    return 0;
  }
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    ws->open = true;
    if (ws->out_head)
      lws_callback_on_writable(wsi);
    if (ws->h.on_open && !ws->free_pending)
      ws->h.on_open(ws, ws->h.ud);
    return 0;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    return ws->ended ? -1 : on_receive(ws, wsi, in, len);
  case LWS_CALLBACK_CLIENT_WRITEABLE:
    return ws->ended ? -1 : on_writeable(ws, wsi);
  case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    if (len >= 2) {
      const unsigned char *p = in;
      ws->peer_code = (p[0] << 8) | p[1];
    } else {
      ws->peer_code = 1005;
    }
    return 0;
  case LWS_CALLBACK_CLIENT_CLOSED:
    unwatch(ws); /* before lws closes the socket */
    if (!ws->destroying) {
      if (ws->peer_code)
        set_end(ws, 0, "the server closed the connection (code %d)",
                ws->peer_code);
      else
        set_end(ws, PB_EIO, "the connection was lost");
    }
    ws->wsi = NULL;
    return 0;
  default:
    return 0;
  }
}

static const struct lws_protocols protocols[] = {
    {.name = "pb-ws", .callback = ws_callback},
    {0},
};

static int parse_url(struct pb_ws *ws, const struct pb_ws_options *opt,
                     bool *tls, int *port, char *err, size_t errlen) {
  static const char *const schemes[] = {"ws", "wss", NULL};
  struct pb_url u;
  if (pb_url_split(opt->url, schemes, &u, err, errlen))
    return PB_EINVAL;
  if (u.userinfo) {
    snprintf(err, errlen, "a WebSocket URL cannot carry user:password@");
    return PB_EINVAL;
  }
  *tls = strcmp(u.scheme, "wss") == 0;
  *port = u.port ? u.port : (*tls ? 443 : 80);
  /* lws wants the host without IPv6 brackets, the Host header with them. */
  size_t hl = strlen(u.host);
  if (hl >= 2 && u.host[0] == '[' && u.host[hl - 1] == ']')
    snprintf(ws->host, sizeof ws->host, "%.*s", (int)(hl - 2), u.host + 1);
  else
    snprintf(ws->host, sizeof ws->host, "%s", u.host);
  if (u.port)
    snprintf(ws->host_header, sizeof ws->host_header, "%s:%d", u.host, u.port);
  else
    snprintf(ws->host_header, sizeof ws->host_header, "%s", u.host);
  snprintf(ws->path, sizeof ws->path, "%s", *u.path ? u.path : "/");
  return 0;
}

int pb_ws_open(struct pb_loop *loop, const struct pb_ws_options *opt,
               const struct pb_ws_handler *h, struct pb_ws **out, char *err,
               size_t errlen) {
  static bool log_routed;
  *out = NULL;
  if (!loop || !opt || !opt->url || !h) {
    snprintf(err, errlen, "pb_ws_open: missing argument");
    return PB_EINVAL;
  }
  struct pb_ws *ws = calloc(1, sizeof *ws);
  if (!ws) {
    snprintf(err, errlen, "out of memory");
    return PB_ENOMEM;
  }
  bool tls = false;
  int port = 0;
  int rc = parse_url(ws, opt, &tls, &port, err, errlen);
  if (rc) {
    free(ws);
    return rc;
  }
  if (!log_routed) {
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    log_routed = true;
  }
  ws->loop = loop;
  ws->fd = -1;
  ws->h = *h;
  if (opt->user_agent)
    snprintf(ws->user_agent, sizeof ws->user_agent, "%s", opt->user_agent);
  ws->max_message =
      opt->max_message ? opt->max_message : (size_t)PB_WS_MESSAGE_MAX_DEFAULT;
  pb_buf_init(&ws->rx, ws->max_message);
  ws->tick = pb_timer_new(loop, on_tick, ws);
  ws->notify = pb_timer_new(loop, on_notify, ws);
  if (!ws->tick || !ws->notify) {
    snprintf(err, errlen, "out of memory");
    rc = PB_ENOMEM;
    goto fail;
  }

  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.gid = -1;
  info.uid = -1;
  info.user = ws;
  info.timeout_secs =
      opt->connect_timeout_s > 0 ? (unsigned)opt->connect_timeout_s : 10;
  info.connect_timeout_secs = info.timeout_secs;
  if (tls) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (opt->ca_file && *opt->ca_file)
      info.client_ssl_ca_filepath = opt->ca_file;
  }
  ws->in_service = true; /* lws may call back from here */
  ws->ctx = lws_create_context(&info);
  if (!ws->ctx) {
    ws->in_service = false;
    snprintf(err, errlen,
             "libwebsockets could not start a client (TLS set-up or CA file "
             "'%s'?)",
             opt->ca_file ? opt->ca_file : "");
    rc = PB_EIO;
    goto fail;
  }

  struct lws_client_connect_info ci;
  memset(&ci, 0, sizeof ci);
  ci.context = ws->ctx;
  ci.address = ws->host;
  ci.port = port;
  ci.path = ws->path;
  ci.host = ws->host_header;
  ci.origin = ws->host_header;
  ci.protocol = NULL; /* no subprotocol: the PBX names none */
  ci.local_protocol_name = protocols[0].name;
  ci.pwsi = &ws->wsi;
  if (tls) {
    ci.ssl_connection = LCCSCF_USE_SSL;
    if (opt->insecure)
      ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
                           LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                           LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
  }
  if (!lws_client_connect_via_info(&ci)) {
    ws->wsi = NULL;
    set_end(ws, PB_EIO,
            "connecting to %s:%d failed at once (name "
            "resolution or socket)",
            ws->host, port);
  }
  ws->in_service = false;
  pb_timer_arm_in(ws->tick, CONNECTING_TICK_MS);
  *out = ws;
  if (ws->free_pending) /* cannot happen: no user callback ran */
    really_free(ws);
  return 0;
fail:
  pb_timer_free(ws->tick);
  pb_timer_free(ws->notify);
  pb_buf_free(&ws->rx);
  free(ws);
  return rc;
}

int pb_ws_send_text(struct pb_ws *ws, const char *text, size_t len) {
  if (!ws || !ws->wsi || ws->ended || ws->free_pending)
    return PB_ESTATE;
  if (len > ws->max_message || ws->out_count >= SEND_QUEUE_MAX)
    return PB_ETOOBIG;
  struct out_msg *m = malloc(sizeof *m + LWS_PRE + len);
  if (!m)
    return PB_ENOMEM;
  m->next = NULL;
  m->len = len;
  memcpy(m->bytes + LWS_PRE, text, len);
  if (ws->out_tail)
    ws->out_tail->next = m;
  else
    ws->out_head = m;
  ws->out_tail = m;
  ws->out_count++;
  if (ws->open) {
    lws_callback_on_writable(ws->wsi);
    if (!ws->in_service)
      sync_watch(ws);
  }
  return 0;
}

bool pb_ws_is_open(const struct pb_ws *ws) {
  return ws && ws->open && !ws->ended;
}

static void really_free(struct pb_ws *ws) {
  ws->destroying = true;
  unwatch(ws);
  if (ws->ctx) {
    /* Closes the connection; its DEL_POLL_FD callbacks unwatch the fds. */
    lws_context_destroy(ws->ctx);
    ws->ctx = NULL;
  }
  pb_timer_free(ws->tick);
  pb_timer_free(ws->notify);
  pb_buf_free(&ws->rx);
  while (ws->out_head) {
    struct out_msg *m = ws->out_head;
    ws->out_head = m->next;
    free(m);
  }
  free(ws);
}

void pb_ws_free(struct pb_ws *ws) {
  if (!ws)
    return;
  ws->ended = true; /* no callback from now on */
  ws->close_sent = true;
  if (ws->in_service) {
    ws->free_pending = true;
    return;
  }
  really_free(ws);
}
