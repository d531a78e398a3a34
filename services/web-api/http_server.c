/* libmicrohttpd on the service's loop: MHD runs in epoll mode without a
 * thread of its own, its epoll descriptor is watched by the loop and its
 * timeout is a loop timer, so routes run on the loop thread beside the bus
 * handlers and share the read model without locks. Who sends a request and
 * whether they may is decided from its head, before any body is read; bodies
 * are capped; connections are limited and given deadlines by conn_limits.c.
 * An answer that waits for another service suspends its connection (MHD's
 * suspend/resume), so nothing ever blocks the loop. This is the only file
 * that knows libmicrohttpd: the rest of web-api sees requests, answers,
 * streams and connections through web.h's project-owned interface. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "web.h"

/* Refused requests with a larger body are answered without reading it. */
#define DRAIN_MAX (64 * 1024)

/* Each connection is a descriptor: a soft limit of 1024 (systemd's
 * default) would refuse connections below WEB_MAX_CONNECTIONS. */
static void enough_descriptors(unsigned max_conns) {
  struct rlimit rl;
  rlim_t want = (rlim_t)max_conns + 128;
  if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
    return;
  rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
  if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)
    pb_warn("only %llu file descriptors for WEB_MAX_CONNECTIONS=%u: raise "
            "LimitNOFILE",
            (unsigned long long)rl.rlim_cur, max_conns);
}

static struct MHD_Connection *conn_of(const struct web_conn *wc) {
  return wc->conn;
}

static struct MHD_Daemon *daemon_of(const struct web *w) {
  return w->httpd;
}

const char *web_query(const struct web_request *req, const char *key) {
  return MHD_lookup_connection_value(conn_of(req->wc), MHD_GET_ARGUMENT_KIND,
                                     key);
}

const char *web_header(const struct web_request *req, const char *name) {
  return MHD_lookup_connection_value(conn_of(req->wc), MHD_HEADER_KIND, name);
}

const char *web_cookie(const struct web_request *req, const char *name) {
  return MHD_lookup_connection_value(conn_of(req->wc), MHD_COOKIE_KIND, name);
}

void web_http_kick(struct web *w) {
  pb_timer_arm_in(w->http_timer, 0);
}

/* The limits of the connection a request came on (conn_limits.c). */
static struct web_sock *sock_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void add_common_headers(struct MHD_Response *resp,
                               const struct web_response *r) {
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Cache-Control",
                          r->cacheable ? "no-cache" : "no-store");
  if (r->allow[0])
    MHD_add_response_header(resp, "Allow", r->allow);
  if (r->set_cookie[0])
    MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
  if (r->retry_after[0])
    MHD_add_response_header(resp, "Retry-After", r->retry_after);
  if (r->etag[0])
    MHD_add_response_header(resp, "ETag", r->etag);
  if (r->csp)
    MHD_add_response_header(resp, "Content-Security-Policy", r->csp);
  if (r->gzip)
    MHD_add_response_header(resp, "Content-Encoding", "gzip");
  if (r->gzip || r->vary_encoding)
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
  if (r->accept_ranges)
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
  if (r->content_range[0])
    MHD_add_response_header(resp, "Content-Range", r->content_range);
  if (r->disposition[0])
    MHD_add_response_header(resp, "Content-Disposition", r->disposition);
}

/* Builds the libmicrohttpd response (body, headers) and empties `r`. */
static struct MHD_Response *response_build(struct web_response *r) {
  struct MHD_Response *resp;
  if (r->raw || r->raw_static) {
    /* MHD takes a non-const pointer but never writes a persistent one. */
    bool persistent = !r->raw;
    void *data = r->raw ? r->raw : (void *)(uintptr_t)r->raw_static;
    resp = MHD_create_response_from_buffer(r->raw_len, data,
                                           persistent ? MHD_RESPMEM_PERSISTENT
                                                      : MHD_RESPMEM_MUST_FREE);
    if (resp && !persistent)
      r->raw = NULL; /* MHD frees it now */
    if (resp)
      MHD_add_response_header(resp, "Content-Type", r->content_type);
  } else {
    char *text = r->body ? pb_json_dump(r->body) : strdup("{}");
    if (!text) {
      web_response_cleanup(r);
      return NULL;
    }
    size_t len = strlen(text);
    /* Newline-terminated: friendlier for curl in a terminal. */
    char *withnl = realloc(text, len + 2);
    if (!withnl) {
      free(text);
      web_response_cleanup(r);
      return NULL;
    }
    withnl[len] = '\n';
    withnl[len + 1] = '\0';
    resp =
        MHD_create_response_from_buffer(len + 1, withnl, MHD_RESPMEM_MUST_FREE);
    if (!resp)
      free(withnl);
    else
      MHD_add_response_header(resp, "Content-Type",
                              "application/json; charset=utf-8");
  }
  if (resp)
    add_common_headers(resp, r);
  web_response_cleanup(r);
  return resp;
}

/* A prebuilt answer: libmicrohttpd counts the references of a response
 * queued to many connections. */
struct web_shared {
  struct MHD_Response *resp;
};

struct web_shared *web_response_share(struct web_response *r) {
  struct web_shared *s = malloc(sizeof *s);
  if (!s) {
    web_response_cleanup(r);
    return NULL;
  }
  if (!(s->resp = response_build(r))) {
    free(s);
    return NULL;
  }
  return s;
}

void web_shared_free(struct web_shared *s) {
  if (!s)
    return;
  MHD_destroy_response(s->resp);
  free(s);
}

static enum MHD_Result send_response(struct web *w, struct MHD_Connection *conn,
                                     struct web_response *r) {
  unsigned status = r->status;
  struct MHD_Response *resp = r->shared ? r->shared->resp : NULL;
  if (resp)
    web_response_cleanup(r);
  else if (!(resp = response_build(r)))
    return MHD_NO;
  unsigned cls = status / 100;
  if (cls >= 1 && cls <= 5)
    w->metrics.http_requests[cls]++;
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  if (!r->shared)
    MHD_destroy_response(resp);
  r->shared = NULL;
  return ret;
}

static const struct sockaddr *client_sockaddr(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  return ci ? ci->client_addr : NULL;
}

static enum MHD_Result last_xff(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value) {
  (void)kind;
  if (key && value && strcasecmp(key, "X-Forwarded-For") == 0)
    *(const char **)cls = value;
  return MHD_YES;
}

/* Several X-Forwarded-For lines make one list (RFC 9110 §5.3): the
 * proxy's entry is at the end of the last one. */
static const char *last_forwarded_for(struct MHD_Connection *conn) {
  const char *xff = NULL;
  MHD_get_connection_values(conn, MHD_HEADER_KIND, last_xff, &xff);
  return xff;
}

/* Fills req from the request target (the path MHD hands over): 400, 404 or 414
 * in resp when it cannot. */
static bool read_target(struct web *w, struct MHD_Connection *conn,
                        const char *url, char *path, size_t pathlen,
                        struct web_request *req, struct web_response *resp) {
  if (strlen(url) >= pathlen) {
    web_reply_error(resp, 414, "URL too long");
    return false;
  }
  if (!pb_utf8_valid(url, strlen(url))) {
    web_reply_error(resp, 400, "the URL is not valid UTF-8");
    return false;
  }
  pb_strlcpy(path, url, pathlen);
  req->path = url;
  req->nsegs = web_split_path(path, req->segs, 8);
  struct web_addr a;
  web_client_address(w, client_sockaddr(conn),
                     web_proxies_any(w) ? last_forwarded_for(conn) : NULL, &a);
  web_addr_text(&a, req->client_ip, sizeof req->client_ip);
  if (req->nsegs < 0) {
    web_reply_error(resp, 404, "no such resource: %s", url);
    return false;
  }
  return true;
}

/* What the head alone decides, on the first call, before any body is read:
 * the URL, the announced size, who sends it and whether they may use the
 * route. A refused request's body is never buffered. False with the
 * answer in resp. */
static bool check_head(struct web *w, struct web_conn *wc,
                       struct MHD_Connection *conn, const char *url,
                       const char *method, struct web_response *resp) {
  char path[1024];
  struct web_request req = {
      .method = method, .wc = wc, .body = "", .check_only = true};
  if (!read_target(w, conn, url, path, sizeof path, &req, resp))
    return false;
  web_auth_identify(
      w, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
      MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, WEB_COOKIE),
      &wc->auth);
  req.auth = wc->auth;
  web_route(w, &req, resp);
  if (resp->status == 401 || resp->status == 403)
    return false; /* who may not send it is told first */
  const char *cl = web_header(&req, "Content-Length");
  if (cl && strtoull(cl, NULL, 10) > w->max_body) {
    web_response_cleanup(resp);
    resp->allow[0] = '\0';
    web_reply_error(resp, 413,
                    "request body larger than %zu bytes (WEB_MAX_BODY_BYTES)",
                    w->max_body);
    return false;
  }
  return resp->status == 200 && !resp->body;
}

/* A refusal decided from the head is sent at once (and the connection
 * closed, the body unread) when the client waits for it (Expect:
 * 100-continue), or when it refuses credentials and the body is large or of
 * unknown length: nobody unknown gets to make us read a megabyte. Otherwise
 * the body is read and thrown away first (never buffered): a client that
 * writes its whole request before reading, as most libraries do, would
 * otherwise meet a reset connection instead of the answer. */
static bool refuse_now(struct MHD_Connection *conn, unsigned status) {
  const char *expect =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
  if (expect && strcasecmp(expect, "100-continue") == 0)
    return true;
  if (status != 401 && status != 403)
    return false;
  if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding"))
    return true;
  const char *cl =
      MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
  return cl && strtoull(cl, NULL, 10) > DRAIN_MAX;
}

static void unlink_suspended(struct web *w, struct web_conn *wc) {
  if (!wc->suspended)
    return;
  if (wc->prev)
    wc->prev->next = wc->next;
  else
    w->suspended = wc->next;
  if (wc->next)
    wc->next->prev = wc->prev;
  wc->next = wc->prev = NULL;
  wc->suspended = false;
}

bool web_conn_alive(const struct web_conn *wc) {
  return wc && wc->conn;
}

void web_conn_finish(struct web_conn *wc, struct web_response *resp) {
  struct web *w = wc->w;
  struct web_response *copy = malloc(sizeof *copy);
  if (!copy) {
    web_response_cleanup(resp);
    return; /* the connection stays suspended until shutdown: memory is gone */
  }
  *copy = *resp;
  copy->deferred = false;
  wc->resp = copy;
  wc->ready = true;
  unlink_suspended(w, wc);
  MHD_resume_connection(conn_of(wc));
  /* Let MHD see the resumed connection on the next loop turn. */
  web_http_kick(w);
}

/* ---- streamed answers (the event stream, sse.c) ---- */

struct web_stream {
  struct MHD_Connection *conn;
  struct MHD_Response *resp; /* until queued */
  web_stream_read_fn *read;
  web_stream_done_fn *done;
  void *ud;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct web_stream *s = cls;
  long n = s->read(s->ud, buf, max);
  if (n == WEB_STREAM_END)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (n < 0)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  if (n == 0) /* nothing to send: parked until web_stream_resume */
    MHD_suspend_connection(s->conn);
  return (ssize_t)n;
}

static void stream_free(void *cls) {
  struct web_stream *s = cls;
  s->done(s->ud);
  free(s);
}

struct web_stream *web_stream_new(struct web_conn *wc, const char *content_type,
                                  unsigned idle_timeout_s,
                                  web_stream_read_fn *read,
                                  web_stream_done_fn *done, void *ud) {
  struct web_stream *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->conn = conn_of(wc);
  s->read = read;
  s->done = done;
  s->ud = ud;
  s->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                              stream_read, s, stream_free);
  if (!s->resp) {
    free(s);
    return NULL;
  }
  MHD_add_response_header(s->resp, "Content-Type", content_type);
  MHD_add_response_header(s->resp, "Cache-Control", "no-store");
  MHD_add_response_header(s->resp, "X-Content-Type-Options", "nosniff");
  /* Proxies such as nginx must not buffer the stream. */
  MHD_add_response_header(s->resp, "X-Accel-Buffering", "no");
  /* libmicrohttpd's timeout: suspended connections do not time out. */
  MHD_set_connection_option(s->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                            idle_timeout_s);
  return s;
}

void web_stream_resume(struct web_stream *s) {
  MHD_resume_connection(s->conn);
}

bool web_stream_peer_left(const struct web_stream *s) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  char b;
  ssize_t n = ci ? recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) : 1;
  /* Data, or nothing yet: still there. */
  return !(n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)));
}

/* The stream's response is queued once: from then on it belongs to the
 * connection (stream_free runs when it ends). */
static enum MHD_Result queue_stream(struct web *w, struct MHD_Connection *conn,
                                    struct web_stream *s) {
  struct MHD_Response *r = s->resp;
  s->resp = NULL;
  w->metrics.http_requests[2]++;
  enum MHD_Result ret = MHD_queue_response(conn, 200, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result handle(struct web *w, struct web_conn *wc,
                              struct MHD_Connection *conn, const char *url,
                              const char *method) {
  struct web_response resp = {.status = 200};
  char path[1024];
  struct web_request req = {.method = method,
                            .wc = wc,
                            .body = pb_buf_str(&wc->body),
                            .body_len = pb_buf_len(&wc->body)};
  web_limits_busy(w, sock_of(conn));
  if (wc->too_big) {
    web_reply_error(&resp, 413,
                    "request body larger than %zu bytes (WEB_MAX_BODY_BYTES)",
                    w->max_body);
  } else if (read_target(w, conn, url, path, sizeof path, &req, &resp)) {
    req.auth = wc->auth; /* read from the head (check_head) */
    web_route(w, &req, &resp);
  }
  pb_debug("%s %s -> %u%s", method, url, resp.status,
           resp.deferred ? " (waiting)"
           : resp.sse    ? " (stream)"
                         : "");
  if (resp.deferred) {
    web_response_cleanup(&resp);
    wc->suspended = true;
    wc->prev = NULL;
    wc->next = w->suspended;
    if (w->suspended)
      w->suspended->prev = wc;
    w->suspended = wc;
    MHD_suspend_connection(conn);
    return MHD_YES;
  }
  if (resp.sse) {
    web_response_cleanup(&resp);
    struct web_stream *st = web_sse_response(
        w, wc, req.auth.user, web_header(&req, "Last-Event-ID"), &resp);
    if (!st)
      return send_response(w, conn, &resp);
    return queue_stream(w, conn, st);
  }
  return send_response(w, conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  struct web *w = cls;
  struct web_conn *wc = *con_cls;
  if (!wc) {
    wc = calloc(1, sizeof *wc);
    if (!wc)
      return MHD_NO;
    wc->w = w;
    wc->conn = conn;
    pb_buf_init(&wc->body, w->max_body);
    *con_cls = wc;
    struct web_response resp = {.status = 200};
    if (!check_head(w, wc, conn, url, method, &resp)) {
      if (refuse_now(conn, resp.status)) {
        web_limits_busy(w, sock_of(conn));
        return send_response(w, conn, &resp);
      }
      /* Answered once the body (thrown away) is in. */
      if (!(wc->refusal = malloc(sizeof *wc->refusal))) {
        web_response_cleanup(&resp);
        return MHD_NO;
      }
      *wc->refusal = resp;
    }
    web_limits_head_in(w, sock_of(conn), wc->auth.role != WEB_ROLE_NONE);
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (wc->refusal)
      return MHD_YES;
    if (wc->too_big)
      return MHD_YES;
    int rc = pb_buf_add(&wc->body, upload_data, n);
    if (rc == PB_ETOOBIG) {
      wc->too_big = true;
      pb_buf_free(&wc->body);
      return MHD_YES; /* keep reading, answer 413 at the end */
    }
    return rc ? MHD_NO : MHD_YES;
  }
  if (wc->refusal) {
    struct web_response *r = wc->refusal;
    wc->refusal = NULL;
    web_limits_busy(w, sock_of(conn));
    enum MHD_Result ret = send_response(w, conn, r);
    free(r);
    return ret;
  }
  if (wc->ready) {
    wc->ready = false;
    struct web_response *r = wc->resp;
    wc->resp = NULL;
    enum MHD_Result ret = send_response(w, conn, r);
    free(r);
    return ret;
  }
  if (wc->suspended)
    return MHD_YES;
  return handle(w, wc, conn, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)toe;
  struct web *w = cls;
  struct web_conn *wc = *con_cls;
  web_limits_idle(w, sock_of(conn));
  if (wc) {
    unlink_suspended(w, wc);
    if (wc->wait)
      web_command_detach(wc);
    web_calls_detach(wc);
    web_pw_job_detach(wc);
    if (wc->resp) {
      web_response_cleanup(wc->resp);
      free(wc->resp);
    }
    if (wc->refusal) {
      web_response_cleanup(wc->refusal);
      free(wc->refusal);
    }
    pb_buf_free(&wc->body);
    free(wc);
  }
  *con_cls = NULL;
}

/* Connection limits (conn_limits.c), told of every connection. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa,
                                 socklen_t salen) {
  (void)salen;
  return web_limits_accept(cls, sa) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  struct web *w = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const struct sockaddr *peer = client_sockaddr(conn);
    *socket_context =
        fd && peer ? web_limits_opened(w, fd->connect_fd, peer) : NULL;
    return;
  }
  web_limits_closed(w, *socket_context);
  *socket_context = NULL;
}

static void rearm(struct web *w) {
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(daemon_of(w), &ms) == MHD_YES)
    pb_timer_arm_in(w->http_timer, (int64_t)(ms > 3600000 ? 3600000 : ms));
  else
    pb_timer_disarm(w->http_timer);
}

static void on_http_fd(struct pb_loop *loop, int fd, unsigned events,
                       void *ud) {
  (void)loop;
  (void)fd;
  (void)events;
  struct web *w = ud;
  MHD_run(daemon_of(w));
  rearm(w);
}

static void on_http_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct web *w = ud;
  MHD_run(daemon_of(w));
  rearm(w);
}

static void on_panic(void *cls, const char *file, unsigned int line,
                     const char *reason) {
  (void)cls;
  pb_error("libmicrohttpd: fatal error at %s:%u: %s", file ? file : "?", line,
           reason ? reason : "");
  abort();
}

int web_http_start(struct web *w) {
  char host[256];
  int port;
  const char *listen = pb_config_str(w->cfg, PB_CFG_WEB_LISTEN);
  if (pb_parse_listen(listen, host, sizeof host, &port))
    return PB_ECONFIG;
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE};
  struct addrinfo *ai = NULL;
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%d", port);
  if (getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai) {
    pb_error("WEB_LISTEN: cannot resolve '%s'", host);
    return PB_ECONFIG;
  }
  unsigned max_conns =
      (unsigned)pb_config_int(w->cfg, PB_CFG_WEB_MAX_CONNECTIONS);
  int rc = web_proxies_init(w);
  if (!rc)
    rc = web_limits_init(w, max_conns);
  if (rc) {
    freeaddrinfo(ai);
    return rc;
  }
  enough_descriptors(max_conns);
  MHD_set_panic_func(on_panic, NULL);
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  w->httpd = MHD_start_daemon(
      flags, (uint16_t)port, on_accept, w, on_request, w, MHD_OPTION_SOCK_ADDR,
      ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
      MHD_OPTION_CONNECTION_LIMIT, max_conns, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!w->httpd) {
    pb_error("cannot listen on %s (WEB_LISTEN): address in use or not allowed",
             listen);
    return PB_EIO;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(daemon_of(w), MHD_DAEMON_INFO_EPOLL_FD);
  w->http_timer = pb_timer_new(w->loop, on_http_timer, w);
  if (!info || !w->http_timer ||
      pb_loop_watch(w->loop, info->epoll_fd, PB_LOOP_READ, on_http_fd, w))
    return PB_EIO;
  pb_info("listening on http://%s/", listen);
  rearm(w);
  return 0;
}

void web_http_stop(struct web *w) {
  /* Password checks under way finish first: their requests get answers. */
  web_pw_stop(w);
  if (w->httpd) {
    /* Suspended requests and event streams must be resumed before MHD can
     * close them; each gets a 503 and its closure is freed as usual. */
    while (w->suspended) {
      struct web_conn *wc = w->suspended;
      struct web_response r = {0};
      web_reply_error(&r, 503, "web-api is stopping");
      web_conn_finish(wc, &r);
    }
    web_sse_close_all(w);
    MHD_run(daemon_of(w));
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(daemon_of(w), MHD_DAEMON_INFO_EPOLL_FD);
    if (info)
      pb_loop_unwatch(w->loop, info->epoll_fd);
    MHD_stop_daemon(daemon_of(w));
    w->httpd = NULL;
  }
  pb_timer_free(w->http_timer);
  w->http_timer = NULL;
  web_limits_cleanup(w);
  web_proxies_cleanup(w);
}
