/* Calendar URLs and their secrets: checking an http(s) URL (RFC 3986 shape),
 * splitting off user:password@, and building the form that may be shown in
 * logs, on the bus and in responses. Feeds carry their credential in the
 * URL (iPlanning ?u=TOKEN, Google's /private-HEX/, Outlook's and Nextcloud's
 * path tokens), so everything that could be one is hidden. Also which URL a
 * permanent redirect may leave a source with. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/error.h"
#include "pb/secretbox.h"

#define SHOWN_SEGMENT_MAX 20

void ingest_url_cleanup(struct source_url *u) {
  if (!u)
    return;
  pb_secret_free(u->full);
  pb_secret_free(u->username);
  pb_secret_free(u->password);
  free(u->shown);
  for (size_t i = 0; i < u->nsecrets; i++)
    pb_secret_free(u->secrets[i]);
  memset(u, 0, sizeof *u);
}

/* A path segment or bare query word that reads as a plain word ("feed",
 * "basic.ics", "public-calendars") rather than a token. */
static bool plain_word(const char *s, size_t n) {
  if (n == 0 || n > SHOWN_SEGMENT_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '.' || s[i] == '-' ||
          s[i] == '_'))
      return false;
  return true;
}

static bool plain_key(const char *s, size_t n) {
  if (n == 0 || n > 32)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' ||
          s[i] == '_'))
      return false;
  return true;
}

struct outbuf {
  char *p;
  size_t len, cap;
};

static void put(struct outbuf *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap)
    n = o->cap - o->len - 1;
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static int add_secret(struct source_url *u, const char *s, size_t n) {
  if (n < 4 || u->nsecrets >= SOURCE_URL_SECRETS)
    return 0; /* the full URL is registered as a secret anyway */
  char *copy = strndup(s, n);
  if (!copy)
    return PB_ENOMEM;
  u->secrets[u->nsecrets++] = copy;
  return 0;
}

/* Hides `s` (n bytes) unless `keep`, recording it as a secret. */
static int shown_part(struct source_url *u, struct outbuf *o, const char *s,
                      size_t n, bool keep) {
  if (keep || n == 0) {
    put(o, s, n);
    return 0;
  }
  put(o, "***", 3);
  return add_secret(u, s, n);
}

static int check_chars(const char *text, char *err, size_t errlen) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p <= 0x20 || *p >= 0x7f) {
      snprintf(err, errlen,
               "the URL contains a space, a control character or "
               "a non-ASCII byte at position %zu (percent-encode it)",
               (size_t)(p - (const unsigned char *)text) + 1);
      return PB_EINVAL;
    }
  }
  return 0;
}

int ingest_url_parse(const char *text, struct source_url *out, char *err,
                     size_t errlen) {
  memset(out, 0, sizeof *out);
  size_t len = strlen(text);
  if (len == 0 || len > SOURCE_URL_MAX) {
    snprintf(err, errlen, "field 'url' must be 1-%d characters",
             SOURCE_URL_MAX);
    return PB_EINVAL;
  }
  if (check_chars(text, err, errlen))
    return PB_EINVAL;
  /* webcal:// is how calendar links ask to be subscribed to; like
   * calendar clients, fetch them over https. */
  static const struct {
    const char *given, *used;
  } schemes[] = {{"https://", "https://"},
                 {"http://", "http://"},
                 {"webcals://", "https://"},
                 {"webcal://", "https://"}};
  const char *scheme = NULL;
  size_t skip = 0;
  for (size_t i = 0; !scheme && i < sizeof schemes / sizeof schemes[0]; i++) {
    if (strncasecmp(text, schemes[i].given, strlen(schemes[i].given)) == 0) {
      scheme = schemes[i].used;
      skip = strlen(schemes[i].given);
    }
  }
  if (!scheme) {
    snprintf(err, errlen,
             "field 'url' must start with http://, https:// or "
             "webcal://");
    return PB_EINVAL;
  }
  size_t scheme_len = strlen(scheme);
  const char *auth = text + skip;
  size_t auth_len = strcspn(auth, "/?#");
  /* the last '@' of the authority ends the userinfo (RFC 3986 3.2.1) */
  const char *at = NULL;
  for (size_t i = auth_len; i > 0 && !at; i--)
    if (auth[i - 1] == '@')
      at = auth + i - 1;
  const char *host = at ? at + 1 : auth;
  size_t host_len = (size_t)(auth + auth_len - host);
  if (host_len == 0 || host[0] == ':') {
    snprintf(err, errlen, "field 'url' has no host name");
    return PB_EINVAL;
  }
  const char *rest = auth + auth_len;
  size_t rest_len = strcspn(rest, "#"); /* the fragment is never sent */
  int rc = PB_ENOMEM;
  if (at) {
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    size_t ulen = colon ? (size_t)(colon - auth) : (size_t)(at - auth);
    out->username = strndup(auth, ulen);
    out->password = colon ? strndup(colon + 1, (size_t)(at - colon - 1)) : NULL;
    if (!out->username || (colon && !out->password))
      goto fail;
  }
  /* full = scheme + host + path/query, without userinfo and fragment */
  size_t full_len = scheme_len + host_len + rest_len;
  out->full = malloc(full_len + 1);
  if (!out->full)
    goto fail;
  memcpy(out->full, scheme, scheme_len);
  memcpy(out->full + scheme_len, host, host_len);
  memcpy(out->full + scheme_len + host_len, rest, rest_len);
  out->full[full_len] = '\0';

  struct outbuf o = {.cap = 3 * full_len + 8};
  o.p = malloc(o.cap);
  if (!o.p)
    goto fail;
  o.p[0] = '\0';
  out->shown = o.p;
  put(&o, out->full, scheme_len + host_len);
  const char *p = out->full + scheme_len + host_len;
  const char *query = strchr(p, '?');
  const char *path_end = query ? query : p + strlen(p);
  /* path: "/seg/seg/..." */
  while (p < path_end) {
    put(&o, "/", 1);
    p++;
    size_t n = strcspn(p, "/?");
    if (p + n > path_end)
      n = (size_t)(path_end - p);
    if ((rc = shown_part(out, &o, p, n, plain_word(p, n))))
      goto fail;
    p += n;
  }
  if (query) {
    put(&o, "?", 1);
    p = query + 1;
    while (*p) {
      size_t n = strcspn(p, "&;");
      const char *eq = memchr(p, '=', n);
      if (eq) {
        size_t klen = (size_t)(eq - p);
        if ((rc = shown_part(out, &o, p, klen, plain_key(p, klen))))
          goto fail;
        put(&o, "=", 1);
        if ((rc = shown_part(out, &o, eq + 1, n - klen - 1, false)))
          goto fail;
      } else if ((rc = shown_part(out, &o, p, n, plain_word(p, n)))) {
        goto fail;
      }
      p += n;
      if (*p) {
        put(&o, p, 1);
        p++;
      }
    }
  }
  if (out->password &&
      (rc = add_secret(out, out->password, strlen(out->password))))
    goto fail;
  return 0;
fail:
  snprintf(err, errlen, "out of memory");
  ingest_url_cleanup(out);
  return rc ? rc : PB_ENOMEM;
}

/* Replaces every occurrence of `secret` in `text` by "***" (never grows). */
static void mask(char *text, const char *secret) {
  size_t n = secret ? strlen(secret) : 0;
  if (n < 3)
    return;
  char *hit;
  while ((hit = strstr(text, secret)) != NULL) {
    memcpy(hit, "***", 3);
    memmove(hit + 3, hit + n, strlen(hit + n) + 1);
  }
}

void ingest_redact(char *text, size_t cap, const struct source_url *u,
                   const char *password) {
  (void)cap; /* masking only shortens the text */
  if (!text)
    return;
  if (u) {
    mask(text, u->full);
    for (size_t i = 0; i < u->nsecrets; i++)
      mask(text, u->secrets[i]);
    mask(text, u->password);
  }
  mask(text, password);
}

/* "scheme://host[:port]" of a URL without userinfo: its length. */
static size_t origin_len(const char *full) {
  const char *auth = strstr(full, "://");
  if (!auth)
    return 0;
  auth += 3;
  return (size_t)(auth - full) + strcspn(auth, "/?#");
}

bool ingest_url_same_origin(const char *a, const char *b) {
  size_t na = origin_len(a), nb = origin_len(b);
  return na > 0 && na == nb && strncasecmp(a, b, na) == 0;
}

int ingest_url_moved(const struct source_url *from, const char *to,
                     bool credentials, struct source_url *out, char *why,
                     size_t whylen) {
  memset(out, 0, sizeof *out);
  if (!to || strcmp(to, from->full) == 0) {
    snprintf(why, whylen, "it is the same URL");
    return PB_EINVAL;
  }
  bool https = strncasecmp(to, "https://", 8) == 0;
  if (!https && strncasecmp(to, "http://", 7) != 0) {
    snprintf(why, whylen, "the new URL is not http or https");
    return PB_EINVAL;
  }
  if (!https && strncasecmp(from->full, "https://", 8) == 0) {
    snprintf(why, whylen, "the new URL is plain http, the stored one https");
    return PB_EINVAL;
  }
  char err[200];
  if (ingest_url_parse(to, out, err, sizeof err)) {
    snprintf(why, whylen, "the new URL is refused: %s", err);
    return PB_EINVAL;
  }
  if (out->username) {
    snprintf(why, whylen, "the new URL holds a user name or password");
    ingest_url_cleanup(out);
    return PB_EINVAL;
  }
  /* Credentials are only sent back to the origin they were given for
   * (libcurl does not send them across a redirect to another host either). */
  if (credentials && !ingest_url_same_origin(from->full, out->full)) {
    snprintf(why, whylen,
             "it is on another host, and the source's user name and password "
             "must not be sent there");
    ingest_url_cleanup(out);
    return PB_EINVAL;
  }
  return 0;
}
