/* HTTP client over libcurl's multi interface, driven by the service's loop
 * (libcurl is included by http.c, http_date.c and url.c only). Requests run
 * concurrently up to a bound; each completes with one callback on the loop
 * thread. */
#ifndef PB_HTTP_H
#define PB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb/error.h"
#include "pb/netaddr.h"

struct pb_http;
struct pb_loop;

struct pb_http_request {
  const char *method; /* "GET" or "POST" */
  const char *url;
  const char *body;         /* POST body, NULL for none */
  const char *content_type; /* e.g. "application/json" */
  const char *user_agent;
  long connect_timeout_ms; /* 0: 5000 */
  long timeout_ms;         /* 0: 10000 */
  size_t max_bytes;        /* 0: 8 MiB; larger answers fail with TOOBIG */
  int max_redirects;       /* 0: none followed */
  const char *ca_file;     /* extra trust, NULL for system CAs */
  bool insecure;           /* skip certificate verification */
  const char *if_none_match;
  const char *if_modified_since;
  const char *username, *password; /* HTTP basic auth when set */
  /* "sha256//<base64>" (several joined by ';') or a PEM/DER public key
   * file: the server's key must match. The key then authenticates the
   * server on its own (a self-signed PBX): chain and host name are not
   * checked. */
  const char *pinned_public_key;
  /* Offer gzip/deflate/br (calendar feeds shrink tenfold); max_bytes then
   * caps the decoded answer. */
  bool accept_encoding;
  /* Addresses the transfer may connect to, checked on the address each
   * connection really goes to (after DNS, at every redirect): a refused
   * one fails the transfer with PB_HTTP_FAIL_ADDRESS. */
  enum pb_addr_policy addresses;
};

/* Where a transfer without an HTTP answer failed, for diagnostics. */
enum pb_http_failure {
  PB_HTTP_FAIL_NONE = 0,
  PB_HTTP_FAIL_DNS,     /* the host name does not resolve */
  PB_HTTP_FAIL_CONNECT, /* no TCP connection: refused, unreachable, timeout */
  PB_HTTP_FAIL_TLS,     /* the TLS handshake failed */
  PB_HTTP_FAIL_TLS_VERIFY, /* certificate not trusted, wrong name, bad CA file
                            */
  PB_HTTP_FAIL_TLS_PIN,    /* the public key is not the pinned one */
  PB_HTTP_FAIL_TIMEOUT,    /* connected, but no complete answer in time */
  PB_HTTP_FAIL_NO_ANSWER, /* the connection broke or closed without an answer */
  PB_HTTP_FAIL_TOO_BIG,   /* the answer exceeded max_bytes */
  PB_HTTP_FAIL_OTHER,
  PB_HTTP_FAIL_ADDRESS, /* the address is one the request may not reach */
};
const char *pb_http_failure_name(enum pb_http_failure f); /* "dns", "tls"... */

struct pb_http_response {
  int err;            /* 0, or a PB_E* error (no HTTP answer) */
  const char *errmsg; /* libcurl's message when err != 0 */
  int curl_code;      /* libcurl's CURLcode, for site diagnostics */
  long status;        /* HTTP status, 0 without an answer */
  const char *body;   /* NUL-terminated, lent during the callback */
  size_t len;
  const char *etag, *last_modified;
  double seconds;               /* total transfer time */
  enum pb_http_failure failure; /* PB_HTTP_FAIL_NONE when there is an answer */
  const char *primary_ip;       /* address connected to, "" when none */
  /* The final answer's Retry-After header as sent (RFC 9110 §10.2.3:
   * seconds or an HTTP-date), NULL when none. */
  const char *retry_after;
  /* Redirects followed (max_redirects), and the URL of the final answer
   * (the request's own URL when none was followed), without any
   * user:password@ libcurl puts in it. */
  int redirects;
  const char *final_url;
  /* The final answer's Content-Type, NULL when none. */
  const char *content_type;
  /* Every redirect followed was permanent (301 or 308; false when none
   * was followed): final_url may replace the URL asked for. */
  bool redirects_permanent;
};

typedef void pb_http_done(const struct pb_http_response *resp, void *ud);

/* max_parallel: transfers running at once (others wait in libcurl). */
int pb_http_new(struct pb_loop *loop, int max_parallel, struct pb_http **out);
/* Cancels running transfers (their callbacks are not called). */
void pb_http_free(struct pb_http *http);
int pb_http_send(struct pb_http *http, const struct pb_http_request *req,
                 pb_http_done *done, void *ud);
size_t pb_http_running(const struct pb_http *http);

/* A Retry-After value (RFC 9110 §10.2.3: delay-seconds, or an HTTP-date in
 * any of the three forms of §5.6.7, read with curl_getdate) as the seconds
 * to wait from `now` (Unix seconds): 0 for a date in the past, INT64_MAX for
 * more digits than fit. PB_EPARSE for anything else, NULL included. */
PB_MUST_CHECK int pb_http_retry_after(const char *value, int64_t now,
                                      int64_t *seconds);

#endif
