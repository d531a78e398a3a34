/* The dashboard's files (services/web-api/static/), embedded in the binary
 * at build time (embed_static.cmake), so web-api serves them from anywhere
 * with no file system access: a path can only name a file of the table,
 * and ".." or "." segments are refused before any route runs. */
#include <stdio.h>
#include <string.h>

#include "web.h"

/* A strict policy: the dashboard loads nothing from anywhere else, runs no
 * inline script and cannot be framed; its audio player plays recordings
 * from web-api only. */
static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
    "data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

static const struct {
  const char *ext;
  const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *content_type(const char *name) {
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0)
      return types[i].type;
  return "application/octet-stream";
}

static bool name_ok(const char *name) {
  if (!*name || name[0] == '.' || strlen(name) > 64)
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
      return false;
  return true;
}

void web_get_static(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  (void)w;
  const char *name = req->nsegs == 0 ? "index.html" : req->segs[1];
  if (!name_ok(name)) {
    web_reply_error(resp, 400, "bad file name '%.64s'", name);
    return;
  }
  for (size_t i = 0; i < web_static_count; i++) {
    const struct web_static_file *f = &web_static_files[i];
    if (strcmp(f->path, name) != 0)
      continue;
    /* FNV-1a of the content: a file's ETag changes with the build that
     * changes it, so browsers revalidate and get 304 otherwise. */
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < f->len; k++)
      h = (h ^ f->data[k]) * 1099511628211ull;
    snprintf(resp->etag, sizeof resp->etag, "\"%016llx\"",
             (unsigned long long)h);
    resp->cacheable = true;
    const char *inm = web_header(req, "If-None-Match");
    if (inm && strcmp(inm, resp->etag) == 0) {
      resp->status = 304;
      resp->raw_static = "";
      resp->raw_len = 0;
      resp->content_type = content_type(name);
      return;
    }
    resp->status = 200;
    resp->raw_static = (const char *)f->data;
    resp->raw_len = f->len;
    resp->content_type = content_type(name);
    if (strstr(name, ".html"))
      resp->csp = csp;
    return;
  }
  web_reply_error(resp, 404, "no such resource: %s", req->path);
}
