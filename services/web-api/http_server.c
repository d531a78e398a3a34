/* libmicrohttpd on the service's loop: MHD runs in epoll mode without a
 * thread of its own, its epoll descriptor is watched by the loop and its
 * timeout is a loop timer, so routes run on the loop thread beside the bus
 * handlers and share the read model without locks. Bodies are capped. */
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "web.h"

struct upload {
  char *buf;
  size_t len, cap;
  bool too_big;
};

void web_reply_json(struct web_response *r, unsigned status, json_t *body) {
  json_decref(r->body);
  r->status = status;
  r->body = body;
}

void web_reply_error(struct web_response *r, unsigned status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  web_reply_json(r, status, json_pack("{s:s,s:i}", "error", msg, "status", (int)status));
}

const char *web_query(const struct web_request *req, const char *key) {
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_json(struct MHD_Connection *conn,
                                 struct web_response *r) {
  char *text = r->body ? pb_json_dump(r->body) : strdup("{}");
  json_decref(r->body);
  r->body = NULL;
  if (!text)
    return MHD_NO;
  size_t len = strlen(text);
  /* Newline-terminated: friendlier for curl in a terminal. */
  char *withnl = realloc(text, len + 2);
  if (!withnl) {
    free(text);
    return MHD_NO;
  }
  withnl[len] = '\n';
  withnl[len + 1] = '\0';
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len + 1, withnl, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(withnl);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (r->allow[0])
    MHD_add_response_header(resp, "Allow", r->allow);
  enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static int split_path(char *path, const char **segs, int max) {
  int n = 0;
  char *p = path;
  while (*p == '/')
    p++;
  while (*p) {
    if (n == max)
      return -1;
    segs[n++] = p;
    char *slash = strchr(p, '/');
    if (!slash)
      break;
    *slash = '\0';
    p = slash + 1;
  }
  return n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  struct web *w = cls;
  struct upload *up = *con_cls;
  if (!up) {
    up = calloc(1, sizeof *up);
    if (!up)
      return MHD_NO;
    *con_cls = up;
    return MHD_YES;
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (up->too_big || up->len + n > w->max_body) {
      up->too_big = true;
      return MHD_YES; /* keep reading, answer 413 at the end */
    }
    if (up->len + n + 1 > up->cap) {
      size_t cap = up->cap ? up->cap : 4096;
      while (cap < up->len + n + 1)
        cap *= 2;
      char *b = realloc(up->buf, cap);
      if (!b)
        return MHD_NO;
      up->buf = b;
      up->cap = cap;
    }
    memcpy(up->buf + up->len, upload_data, n);
    up->len += n;
    up->buf[up->len] = '\0';
    return MHD_YES;
  }
  struct web_response resp = {.status = 200};
  char path[1024];
  struct web_request req = {.method = method, .conn = conn,
                            .body = up->buf ? up->buf : "", .body_len = up->len};
  if (up->too_big) {
    web_reply_error(&resp, 413, "request body larger than %zu bytes", w->max_body);
  } else if (strlen(url) >= sizeof path) {
    web_reply_error(&resp, 414, "URL too long");
  } else {
    pb_strlcpy(path, url, sizeof path);
    req.path = url;
    req.nsegs = split_path(path, req.segs, 8);
    if (req.nsegs < 0)
      web_reply_error(&resp, 404, "no such resource: %s", url);
    else
      web_route(w, &req, &resp);
  }
  pb_debug("%s %s -> %u", method, url, resp.status);
  return send_json(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  struct upload *up = *con_cls;
  if (up) {
    free(up->buf);
    free(up);
  }
  *con_cls = NULL;
}

static void rearm(struct web *w) {
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(w->httpd, &ms) == MHD_YES)
    pb_timer_arm_in(w->http_timer, (int64_t)(ms > 3600000 ? 3600000 : ms));
  else
    pb_timer_disarm(w->http_timer);
}

static void on_http_fd(struct pb_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  (void)fd;
  (void)events;
  struct web *w = ud;
  MHD_run(w->httpd);
  rearm(w);
}

static void on_http_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct web *w = ud;
  MHD_run(w->httpd);
  rearm(w);
}

int web_http_start(struct web *w) {
  char host[256];
  int port;
  const char *listen = pb_config_str(w->cfg, PB_CFG_WEB_LISTEN);
  if (pb_parse_listen(listen, host, sizeof host, &port))
    return PB_ECONFIG;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE};
  struct addrinfo *ai = NULL;
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%d", port);
  if (getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai) {
    pb_error("WEB_LISTEN: cannot resolve '%s'", host);
    return PB_ECONFIG;
  }
  unsigned flags = MHD_USE_EPOLL;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  w->httpd = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
      ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)60, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!w->httpd) {
    pb_error("cannot listen on %s (WEB_LISTEN): address in use or not allowed",
             listen);
    return PB_EIO;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(w->httpd, MHD_DAEMON_INFO_EPOLL_FD);
  w->http_timer = pb_timer_new(w->loop, on_http_timer, w);
  if (!info || !w->http_timer ||
      pb_loop_watch(w->loop, info->epoll_fd, PB_LOOP_READ, on_http_fd, w))
    return PB_EIO;
  pb_info("listening on http://%s/", listen);
  rearm(w);
  return 0;
}

void web_http_stop(struct web *w) {
  if (w->httpd) {
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(w->httpd, MHD_DAEMON_INFO_EPOLL_FD);
    if (info)
      pb_loop_unwatch(w->loop, info->epoll_fd);
    MHD_stop_daemon(w->httpd);
    w->httpd = NULL;
  }
  pb_timer_free(w->http_timer);
  w->http_timer = NULL;
}
