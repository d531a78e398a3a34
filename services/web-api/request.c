/* What routes use of a request and build of an answer, without the HTTP
 * server: JSON and error answers, the JSON body, the path's segments. The
 * server (http_server.c) turns a struct web_response into bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/json.h"
#include "web.h"

void web_reply_json(struct web_response *r, unsigned status, json_t *body) {
  json_decref(r->body);
  r->status = status;
  r->body = body;
}

void web_reply_error(struct web_response *r, unsigned status, const char *fmt,
                     ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* The message may quote client input cut at a byte limit: made valid
   * UTF-8 (a bad byte becomes U+FFFD) rather than lost. */
  json_t *j = json_object();
  json_object_set_new(j, "error", pb_json_text(msg, strlen(msg)));
  json_object_set_new(j, "status", json_integer((json_int_t)status));
  web_reply_json(r, status, j);
}

json_t *web_body_json(const struct web_request *req,
                      struct web_response *resp) {
  const char *ct = web_header(req, "Content-Type");
  /* Requiring application/json also keeps cross-site HTML forms out: a
   * browser cannot send it to another origin without a CORS preflight. */
  if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
    web_reply_error(resp, 415,
                    "the body must be JSON (Content-Type: application/json)");
    return NULL;
  }
  if (!pb_utf8_valid(req->body, req->body_len)) {
    web_reply_error(resp, 400, "the body is not valid UTF-8");
    return NULL;
  }
  char err[256];
  json_t *j = pb_json_parse(req->body, req->body_len, err, sizeof err);
  if (!j) {
    web_reply_error(resp, 400, "%s", err);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    web_reply_error(resp, 400, "the body must be a JSON object");
    return NULL;
  }
  return j;
}

void web_response_cleanup(struct web_response *r) {
  json_decref(r->body);
  r->body = NULL;
  free(r->raw);
  r->raw = NULL;
  r->raw_static = NULL;
}

int web_split_path(char *path, const char **segs, int max) {
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
