/* A fake of web-api's HTTP server (the functions web.h lists under
 * http_server.c), so that unit tests run web_core's real routing,
 * authorization and accounts without libmicrohttpd or a socket (the
 * mosquitto *_stubs.c pattern). A request is built with fake_req_init and
 * fake_req_header; a deferred answer lands in the fake connection. */
#ifndef TEST_WEB_FAKE_H
#define TEST_WEB_FAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/error.h"
#include "web.h"

#define FAKE_UNUSED __attribute__((unused))

struct fake_kv {
  const char *name, *value;
};

/* What the fake server knows of one connection. */
struct fake_http {
  struct fake_kv headers[16], query[8], cookies[4];
  size_t nheaders, nquery, ncookies;
  struct web_response finished; /* web_conn_finish's answer */
  bool has_finished;
};

struct fake_req {
  struct fake_http http;
  struct web_conn wc;
  struct web_request req;
  struct web_response resp;
  char path[256];
};

static unsigned fake_kicks;

static const char *lookup(const struct fake_kv *kv, size_t n,
                          const char *name) {
  for (size_t i = n; i-- > 0;)
    if (strcasecmp(kv[i].name, name) == 0)
      return kv[i].value;
  return NULL;
}

static const struct fake_http *http_of(const struct web_request *req) {
  return req->wc->conn;
}

const char *web_query(const struct web_request *req, const char *key) {
  const struct fake_http *h = http_of(req);
  return lookup(h->query, h->nquery, key);
}

const char *web_header(const struct web_request *req, const char *name) {
  const struct fake_http *h = http_of(req);
  return lookup(h->headers, h->nheaders, name);
}

const char *web_cookie(const struct web_request *req, const char *name) {
  const struct fake_http *h = http_of(req);
  return lookup(h->cookies, h->ncookies, name);
}

void web_conn_finish(struct web_conn *wc, struct web_response *resp) {
  struct fake_http *h = wc->conn;
  web_response_cleanup(&h->finished);
  h->finished = *resp;
  h->finished.deferred = false;
  h->has_finished = true;
}

bool web_conn_alive(const struct web_conn *wc) {
  return wc && wc->conn;
}

void web_http_kick(struct web *w) {
  (void)w;
  fake_kicks++;
}

struct web_shared {
  struct web_response r;
};

struct web_shared *web_response_share(struct web_response *r) {
  struct web_shared *s = malloc(sizeof *s);
  if (!s) {
    web_response_cleanup(r);
    return NULL;
  }
  s->r = *r;
  memset(r, 0, sizeof *r);
  return s;
}

void web_shared_free(struct web_shared *s) {
  if (s)
    web_response_cleanup(&s->r);
  free(s);
}

/* No stream is ever opened: the event stream answers 503 as when memory
 * is gone. */
struct web_stream *web_stream_new(struct web_conn *wc, const char *content_type,
                                  unsigned idle_timeout_s,
                                  web_stream_read_fn *read,
                                  web_stream_done_fn *done, void *ud) {
  (void)wc, (void)content_type, (void)idle_timeout_s, (void)read, (void)done,
      (void)ud;
  return NULL;
}

void web_stream_resume(struct web_stream *s) {
  (void)s;
}

bool web_stream_peer_left(const struct web_stream *s) {
  (void)s;
  return false;
}

/* A request for `method` `url` (no query string) on a fresh connection. */
FAKE_UNUSED static void fake_req_init(struct fake_req *f, struct web *w,
                                      const char *method, const char *url) {
  memset(f, 0, sizeof *f);
  f->wc.w = w;
  f->wc.conn = &f->http;
  f->req.method = method;
  f->req.path = url;
  f->req.wc = &f->wc;
  f->req.body = "";
  snprintf(f->path, sizeof f->path, "%s", url);
  f->req.nsegs = web_split_path(f->path, f->req.segs, 8);
  snprintf(f->req.client_ip, sizeof f->req.client_ip, "192.0.2.10");
  f->resp.status = 200;
}

FAKE_UNUSED static void fake_req_header(struct fake_req *f, const char *name,
                                        const char *value) {
  struct fake_http *h = &f->http;
  if (h->nheaders < sizeof h->headers / sizeof h->headers[0])
    h->headers[h->nheaders++] = (struct fake_kv){name, value};
}

FAKE_UNUSED static void fake_req_query(struct fake_req *f, const char *key,
                                       const char *value) {
  struct fake_http *h = &f->http;
  if (h->nquery < sizeof h->query / sizeof h->query[0])
    h->query[h->nquery++] = (struct fake_kv){key, value};
}

FAKE_UNUSED static void fake_req_cleanup(struct fake_req *f) {
  web_response_cleanup(&f->resp);
  web_response_cleanup(&f->http.finished);
}

/* The "error" of a JSON error answer, or "" */
FAKE_UNUSED static const char *fake_error(const struct web_response *r) {
  const char *e = pb_json_str(r->body, "error");
  return e ? e : "";
}

#endif
