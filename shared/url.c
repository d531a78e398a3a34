/* URLs over libcurl's URL API (curl_url, curl_url_set/get); see pb/url.h.
 * curl is given the URL as written (CURLU_PATH_AS_IS, schemes it does not
 * speak allowed) and what it hands back is copied into fixed fields, so no
 * caller holds a curl handle. */
#include "pb/url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PARSE_FLAGS (CURLU_NON_SUPPORT_SCHEME | CURLU_PATH_AS_IS)

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return PB_EINVAL;
}

/* Copies part `what` of `h` into out[outlen]; CURLUE_NO_* leaves "". */
static CURLUcode get_part(CURLU *h, CURLUPart what, char *out, size_t outlen,
                          bool *present) {
  char *v = NULL;
  out[0] = '\0';
  CURLUcode rc = curl_url_get(h, what, &v, 0);
  if (present)
    *present = rc == CURLUE_OK;
  if (rc != CURLUE_OK)
    return rc == CURLUE_OUT_OF_MEMORY ? rc : CURLUE_OK;
  size_t n = strlen(v);
  if (n >= outlen) {
    curl_free(v);
    return CURLUE_MALFORMED_INPUT;
  }
  memcpy(out, v, n + 1);
  curl_free(v);
  return CURLUE_OK;
}

static int split(CURLU *h, const char *text, const char *const *schemes,
                 struct pb_url *out, char *err, size_t errlen) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p <= 0x20 || *p >= 0x7f)
      return fail(err, errlen,
                  "the URL contains a space, a control character or a "
                  "non-ASCII byte at position %zu (percent-encode it)",
                  (size_t)(p - (const unsigned char *)text) + 1);
  /* "host:port" would read as scheme "host": a scheme must be followed by
   * an authority here. */
  const char *sep = strstr(text, "://");
  if (!sep || sep == text || (size_t)(sep - text) >= sizeof out->scheme)
    return fail(err, errlen, "the URL must start with a scheme like https://");
  for (const char *c = text; c < sep; c++)
    if (!isalpha((unsigned char)*c))
      return fail(err, errlen,
                  "the URL must start with a scheme like https://");
  /* libcurl reads "http:///x" as host "x"; an authority must be there. */
  if (strchr("/?#", sep[3]))
    return fail(err, errlen, "the URL has no host name");
  CURLUcode rc = curl_url_set(h, CURLUPART_URL, text, PARSE_FLAGS);
  if (rc == CURLUE_OUT_OF_MEMORY)
    return PB_ENOMEM;
  if (rc == CURLUE_NO_HOST)
    return fail(err, errlen, "the URL has no host name");
  if (rc == CURLUE_BAD_PORT_NUMBER)
    return fail(err, errlen, "the URL's port must be a number 1-65535");
  if (rc != CURLUE_OK)
    return fail(err, errlen, "the URL is malformed (%s)",
                curl_url_strerror(rc));
  char port[16];
  bool has_port, has_user, has_password;
  if ((rc = get_part(h, CURLUPART_SCHEME, out->scheme, sizeof out->scheme,
                     NULL)) ||
      (rc = get_part(h, CURLUPART_HOST, out->host, sizeof out->host, NULL)) ||
      (rc = get_part(h, CURLUPART_PORT, port, sizeof port, &has_port)))
    return rc == CURLUE_OUT_OF_MEMORY
               ? PB_ENOMEM
               : fail(err, errlen, "the URL's host name is too long");
  char *v = NULL;
  has_user = curl_url_get(h, CURLUPART_USER, &v, 0) == CURLUE_OK;
  curl_free(v);
  v = NULL;
  has_password = curl_url_get(h, CURLUPART_PASSWORD, &v, 0) == CURLUE_OK;
  curl_free(v);
  out->userinfo = has_user || has_password;
  for (char *c = out->scheme; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  if (!out->host[0])
    return fail(err, errlen, "the URL has no host name");
  if (has_port) {
    char *end;
    long n = strtol(port, &end, 10);
    if (*end || n < 1 || n > 65535)
      return fail(err, errlen, "the URL's port must be a number 1-65535");
    out->port = (int)n;
  } else {
    /* "host:" names no port: refused like a bad one, not read as none */
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen && auth[alen - 1] == ':')
      return fail(err, errlen, "the URL's port must be a number 1-65535");
  }
  /* curl reports "/" for an empty path; the caller sees what was written */
  const char *auth = sep + 3;
  bool has_path = auth[strcspn(auth, "/?#")] == '/';
  if (has_path &&
      (rc = get_part(h, CURLUPART_PATH, out->path, sizeof out->path, NULL)))
    return rc == CURLUE_OUT_OF_MEMORY
               ? PB_ENOMEM
               : fail(err, errlen, "the URL's path is too long");
  char *query = NULL;
  rc = curl_url_get(h, CURLUPART_QUERY, &query, 0);
  if (rc == CURLUE_OUT_OF_MEMORY)
    return PB_ENOMEM;
  if (rc == CURLUE_OK) {
    size_t n = strlen(out->path), q = strlen(query);
    if (n + 1 + q >= sizeof out->path) {
      curl_free(query);
      return fail(err, errlen, "the URL's path is too long");
    }
    out->path[n] = '?';
    memcpy(out->path + n + 1, query, q + 1);
    curl_free(query);
  }
  if (schemes) {
    size_t i = 0;
    while (schemes[i] && strcmp(schemes[i], out->scheme) != 0)
      i++;
    if (!schemes[i])
      return fail(err, errlen, "the URL's scheme %s is not one allowed here",
                  out->scheme);
  }
  return 0;
}

int pb_url_split(const char *text, const char *const *schemes,
                 struct pb_url *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!text || !*text)
    return fail(err, errlen, "the URL is empty");
  CURLU *h = curl_url();
  if (!h)
    return PB_ENOMEM;
  int rc = split(h, text, schemes, out, err, errlen);
  curl_url_cleanup(h);
  if (rc) {
    if (rc == PB_ENOMEM)
      fail(err, errlen, "out of memory");
    memset(out, 0, sizeof *out);
  }
  return rc;
}

int pb_url_parse(const char *text, struct pb_url *out) {
  return pb_url_split(text, NULL, out, NULL, 0);
}

int pb_url_port(const struct pb_url *u) {
  static const struct {
    const char *scheme;
    int port;
  } known[] = {{"http", 80}, {"https", 443}, {"mqtt", 1883}, {"mqtts", 8883}};
  if (u->port)
    return u->port;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcasecmp(u->scheme, known[i].scheme) == 0)
      return known[i].port;
  return 0;
}

bool pb_url_same_origin(const char *a, const char *b) {
  struct pb_url x, y;
  return pb_url_parse(a, &x) == 0 && pb_url_parse(b, &y) == 0 &&
         strcasecmp(x.scheme, y.scheme) == 0 &&
         strcasecmp(x.host, y.host) == 0 && pb_url_port(&x) == pb_url_port(&y);
}

char *pb_url_redacted(const char *text) {
  if (!text)
    return NULL;
  char *copy = strdup(text);
  const char *auth = strstr(text, "://");
  if (!copy || !auth)
    return copy;
  auth += 3;
  const char *at = NULL;
  for (const char *p = auth; *p && !strchr("/?#", *p); p++)
    if (*p == '@')
      at = p;
  if (at)
    memmove(copy + (auth - text), copy + (at + 1 - text), strlen(at + 1) + 1);
  return copy;
}

int pb_url_resolve(const char *base, const char *ref, char **out) {
  *out = NULL;
  if (!base || !ref)
    return PB_EINVAL;
  CURLU *h = curl_url();
  if (!h)
    return PB_ENOMEM;
  int rc = PB_EINVAL;
  char *url = NULL;
  CURLUcode c = curl_url_set(h, CURLUPART_URL, base, PARSE_FLAGS);
  /* A relative URL set on a handle holding one is resolved against it. */
  if (c == CURLUE_OK)
    c = curl_url_set(h, CURLUPART_URL, ref, CURLU_NON_SUPPORT_SCHEME);
  if (c == CURLUE_OK)
    c = curl_url_get(h, CURLUPART_URL, &url, 0);
  if (c == CURLUE_OUT_OF_MEMORY)
    rc = PB_ENOMEM;
  else if (c == CURLUE_OK && (*out = strdup(url)) != NULL)
    rc = 0;
  else if (c == CURLUE_OK)
    rc = PB_ENOMEM;
  curl_free(url);
  curl_url_cleanup(h);
  return rc;
}
