/* URLs, read by libcurl's URL parser (RFC 3986): the broker and PBX URLs of
 * the settings, calendar feed URLs, redirect targets. One place decides
 * what a URL's scheme, host, port and path are, and how a URL is shown
 * without its credentials. */
#ifndef PB_URL_H
#define PB_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "pb/error.h"

struct pb_url {
  char scheme[16]; /* lower case: "https", "mqtts" */
  char host[256];  /* as written; an IPv6 address keeps its brackets */
  int port;        /* as written, 0 when absent (see pb_url_port) */
  char path[2048]; /* path and ?query as written, "" when there is none;
                      never the #fragment */
  bool userinfo;   /* the URL holds user[:password]@ */
};

/* Splits "scheme://[user[:password]@]host[:port][/path][?query][#frag]".
 * `schemes`: the schemes allowed (lower case, NULL-terminated), NULL for
 * any. 0, or PB_EINVAL with a sentence in `err` naming the problem ("the
 * URL has no host name"), PB_ENOMEM. The URL must be printable ASCII
 * without spaces: percent-encode anything else. */
PB_MUST_CHECK int pb_url_split(const char *text, const char *const *schemes,
                               struct pb_url *out, char *err, size_t errlen);
/* pb_url_split with any scheme and no error text (the settings' URLs). */
int pb_url_parse(const char *text, struct pb_url *out);

/* The port given, else the scheme's own (http 80, https 443, mqtt 1883,
 * mqtts 8883), else 0. */
int pb_url_port(const struct pb_url *u);
/* Scheme, host and port alike (RFC 6454), upper or lower case; false when
 * either is not a URL. */
bool pb_url_same_origin(const char *a, const char *b);

/* A copy of `text` without the user[:password]@ of its authority (RFC 3986
 * §3.2.1: up to the last '@' before the first '/', '?' or '#'), for logs
 * and for URLs libcurl reports back; the rest stays byte for byte. Works on
 * text that is not a valid URL too, so a log never shows a password.
 * free() it; NULL when out of memory or `text` is NULL. */
PB_MUST_CHECK char *pb_url_redacted(const char *text);

/* Resolves `ref` (a Location header, "openapi/v1.0/", "/x?y", or an absolute
 * URL) against the absolute URL `base` (RFC 3986 §5.2), e.g. a redirect
 * target or an API path under a configured base URL. *out: the absolute
 * URL, free() it. 0, PB_EINVAL (base or result not a URL), PB_ENOMEM. */
PB_MUST_CHECK int pb_url_resolve(const char *base, const char *ref, char **out);

#endif
