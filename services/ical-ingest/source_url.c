/* Calendar URLs and their secrets: a URL read by pb_url (libcurl's URL
 * parser, RFC 3986) with the http, https and webcal schemes, user:password@
 * taken out, and the form that may be shown in logs, on the bus and in
 * responses. Feeds carry their credential in the URL (iPlanning ?u=TOKEN,
 * Google's /private-HEX/, Outlook's and Nextcloud's path tokens), so
 * everything that could be one is hidden. Also which URL a permanent
 * redirect may leave a source with. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/error.h"
#include "pb/secretbox.h"
#include "pb/url.h"

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

/* The schemes a calendar URL may have; webcal:// and webcals:// are how
 * calendar links ask to be subscribed to and, like calendar clients, they
 * are fetched over https. */
static const char *const url_schemes[] = {"http", "https", "webcal", "webcals",
                                          NULL};

/* Whether `text` is written with one of url_schemes, so a refusal can say
 * what is wrong with the rest instead. */
static bool scheme_written(const char *text) {
  for (size_t i = 0; url_schemes[i]; i++) {
    size_t n = strlen(url_schemes[i]);
    if (strncasecmp(text, url_schemes[i], n) == 0 &&
        strncmp(text + n, "://", 3) == 0)
      return true;
  }
  return false;
}

/* user[:password] of `text`, which pb_url_split found to hold userinfo:
 * what pb_url_redacted takes out of the authority, without its '@'. */
static int take_userinfo(const char *text, struct source_url *out) {
  char *rest = pb_url_redacted(text);
  if (!rest)
    return PB_ENOMEM;
  const char *info = strstr(text, "://") + 3;
  size_t n = strlen(text) - strlen(rest) - 1;
  pb_secret_free(rest); /* it still holds the URL's tokens */
  const char *colon = memchr(info, ':', n);
  out->username = strndup(info, colon ? (size_t)(colon - info) : n);
  out->password =
      colon ? strndup(colon + 1, n - (size_t)(colon - info) - 1) : NULL;
  return out->username && (!colon || out->password) ? 0 : PB_ENOMEM;
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
  struct pb_url u;
  int rc = pb_url_split(text, url_schemes, &u, err, errlen);
  if (rc == PB_EINVAL && !scheme_written(text))
    snprintf(err, errlen,
             "field 'url' must start with http://, https:// or "
             "webcal://");
  if (rc)
    return rc;
  if (u.userinfo && (rc = take_userinfo(text, out)))
    goto fail;
  /* full = scheme + host + port + path/query, without userinfo and
   * fragment */
  const char *scheme = strcmp(u.scheme, "http") == 0 ? "http" : "https";
  char port[8] = "";
  if (u.port)
    snprintf(port, sizeof port, ":%d", u.port);
  size_t origin = strlen(scheme) + 3 + strlen(u.host) + strlen(port);
  size_t full_len = origin + strlen(u.path);
  rc = PB_ENOMEM;
  out->full = malloc(full_len + 1);
  if (!out->full)
    goto fail;
  snprintf(out->full, full_len + 1, "%s://%s%s%s", scheme, u.host, port,
           u.path);

  struct outbuf o = {.cap = 3 * full_len + 8};
  o.p = malloc(o.cap);
  if (!o.p)
    goto fail;
  o.p[0] = '\0';
  out->shown = o.p;
  put(&o, out->full, origin);
  const char *p = out->full + origin;
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

/* Whether `url` is https (0), http (1), or neither (-1). */
static int web_scheme(const char *url) {
  struct pb_url u;
  if (pb_url_parse(url, &u))
    return -1;
  return strcmp(u.scheme, "https") == 0  ? 0
         : strcmp(u.scheme, "http") == 0 ? 1
                                         : -1;
}

/* `to` read against `from` (RFC 3986 §5.2) and checked as a move. */
static int check_move(const struct source_url *from, const char *to,
                      bool credentials, struct source_url *out, char *why,
                      size_t whylen) {
  char *target = NULL, *self = NULL;
  int rc = pb_url_resolve(from->full, to, &target);
  if (!rc)
    rc = pb_url_resolve(from->full, from->full, &self);
  if (rc == PB_ENOMEM) {
    snprintf(why, whylen, "out of memory");
    goto out;
  }
  char err[200];
  if (rc) {
    /* libcurl would not read it: let the source checks say why */
    if (ingest_url_parse(to, out, err, sizeof err) == 0) {
      ingest_url_cleanup(out);
      snprintf(err, sizeof err, "it cannot be read as a URL");
    }
    snprintf(why, whylen, "the new URL is refused: %s", err);
    rc = PB_EINVAL;
    goto out;
  }
  rc = PB_EINVAL;
  int scheme = web_scheme(target);
  if (strcmp(target, self) == 0) {
    snprintf(why, whylen, "it is the same URL");
  } else if (scheme < 0) {
    snprintf(why, whylen, "the new URL is not http or https");
  } else if (scheme == 1 && web_scheme(from->full) == 0) {
    snprintf(why, whylen, "the new URL is plain http, the stored one https");
  } else if (ingest_url_parse(target, out, err, sizeof err)) {
    snprintf(why, whylen, "the new URL is refused: %s", err);
  } else if (out->username) {
    snprintf(why, whylen, "the new URL holds a user name or password");
    ingest_url_cleanup(out);
  } else if (strcmp(out->full, from->full) == 0) {
    snprintf(why, whylen, "it is the same URL"); /* a #fragment aside */
    ingest_url_cleanup(out);
  } else if (credentials && !pb_url_same_origin(from->full, out->full)) {
    /* Credentials are only sent back to the origin they were given for
     * (libcurl does not send them across a redirect to another host
     * either); the scheme's own port, written or not, is the same origin. */
    snprintf(why, whylen,
             "it is on another host, and the source's user name and password "
             "must not be sent there");
    ingest_url_cleanup(out);
  } else {
    rc = 0;
  }
out:
  pb_secret_free(target);
  pb_secret_free(self);
  return rc;
}

int ingest_url_moved(const struct source_url *from, const char *to,
                     bool credentials, struct source_url *out, char *why,
                     size_t whylen) {
  memset(out, 0, sizeof *out);
  if (!to) {
    snprintf(why, whylen, "it is the same URL");
    return PB_EINVAL;
  }
  return check_move(from, to, credentials, out, why, whylen);
}
