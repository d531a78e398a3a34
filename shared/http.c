/* The HTTP client (pb/http.h): libcurl's multi-socket interface on the
 * service's loop, so many PBX or calendar requests run at once without
 * threads. Answers are capped in size while they arrive. */
#include "pb/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/buf.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/url.h"

#define DEFAULT_MAX_BYTES (8u * 1024 * 1024)

struct transfer {
  struct transfer *next, *prev;
  struct pb_http *http;
  CURL *easy;
  struct curl_slist *headers;
  struct pb_buf body; /* capped at the request's max_bytes */
  bool too_big;
  char etag[256], last_modified[128];
  char retry_after[64];
  char content_type[128];
  enum pb_addr_policy addresses;
  char refused[160]; /* why a connection was not opened */
  /* The answers seen (interim 1xx ones aside), the status of the last, and
   * whether an answer that was followed by another was not a permanent
   * redirect. */
  int answers;
  long answer_status;
  bool temporary_hop;
  char *final_url;
  char errbuf[CURL_ERROR_SIZE];
  pb_http_done *done;
  void *ud;
};

struct pb_http {
  struct pb_loop *loop;
  CURLM *multi;
  struct pb_timer *timer;
  struct transfer *transfers;
  size_t running;
};

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  struct transfer *t = ud;
  size_t bytes = size * n;
  int rc = pb_buf_add(&t->body, data, bytes);
  if (rc == PB_ETOOBIG)
    t->too_big = true;
  return rc ? 0 : bytes; /* 0 aborts the transfer with CURLE_WRITE_ERROR */
}

static void copy_header(const char *value, size_t n, char *out, size_t outlen) {
  while (n &&
         (value[n - 1] == '\r' || value[n - 1] == '\n' || value[n - 1] == ' '))
    n--;
  while (n && *value == ' ') {
    value++;
    n--;
  }
  if (n >= outlen)
    n = outlen - 1;
  memcpy(out, value, n);
  out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  struct transfer *t = ud;
  size_t bytes = size * n;
  /* A new status line starts the headers of the next answer of a redirect
   * chain: only the final answer's headers count. An interim answer (1xx)
   * is not one of the chain. */
  if (bytes > 5 && strncmp(data, "HTTP/", 5) == 0) {
    const char *sp = memchr(data, ' ', bytes);
    long status = 0;
    for (const char *p = sp ? sp + 1 : data + bytes;
         p < data + bytes && *p >= '0' && *p <= '9' && status < 1000; p++)
      status = status * 10 + (*p - '0');
    t->etag[0] = '\0';
    t->last_modified[0] = '\0';
    t->retry_after[0] = '\0';
    t->content_type[0] = '\0';
    if (status >= 200) {
      if (t->answers > 0 && t->answer_status != 301 && t->answer_status != 308)
        t->temporary_hop = true;
      t->answers++;
      t->answer_status = status;
    }
  }
  if (bytes > 5 && strncasecmp(data, "ETag:", 5) == 0)
    copy_header(data + 5, bytes - 5, t->etag, sizeof t->etag);
  else if (bytes > 14 && strncasecmp(data, "Last-Modified:", 14) == 0)
    copy_header(data + 14, bytes - 14, t->last_modified,
                sizeof t->last_modified);
  else if (bytes > 12 && strncasecmp(data, "Retry-After:", 12) == 0)
    copy_header(data + 12, bytes - 12, t->retry_after, sizeof t->retry_after);
  else if (bytes > 13 && strncasecmp(data, "Content-Type:", 13) == 0)
    copy_header(data + 13, bytes - 13, t->content_type, sizeof t->content_type);
  return bytes;
}

static void transfer_free(struct transfer *t) {
  struct pb_http *http = t->http;
  if (t->prev)
    t->prev->next = t->next;
  else
    http->transfers = t->next;
  if (t->next)
    t->next->prev = t->prev;
  curl_multi_remove_handle(http->multi, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  pb_buf_free(&t->body);
  free(t->final_url);
  free(t);
  http->running--;
}

const char *pb_http_failure_name(enum pb_http_failure f) {
  static const char *const names[] = {
      "none",    "dns",       "connect", "tls",   "tls_verify", "tls_pin",
      "timeout", "no_answer", "too_big", "other", "address"};
  return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "other";
}

static enum pb_http_failure classify(CURL *easy, CURLcode code) {
  switch (code) {
  case CURLE_OK:
    return PB_HTTP_FAIL_NONE;
  case CURLE_COULDNT_RESOLVE_HOST:
    return PB_HTTP_FAIL_DNS;
  case CURLE_COULDNT_CONNECT:
    return PB_HTTP_FAIL_CONNECT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
    return PB_HTTP_FAIL_TLS;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
    return PB_HTTP_FAIL_TLS_VERIFY;
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    return PB_HTTP_FAIL_TLS_PIN;
  case CURLE_OPERATION_TIMEDOUT: {
    /* No connect time yet: the TCP connection itself timed out. */
    double connect = 0;
    curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME, &connect);
    return connect > 0 ? PB_HTTP_FAIL_TIMEOUT : PB_HTTP_FAIL_CONNECT;
  }
  case CURLE_GOT_NOTHING:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_PARTIAL_FILE:
    return PB_HTTP_FAIL_NO_ANSWER;
  case CURLE_WRITE_ERROR:
  case CURLE_FILESIZE_EXCEEDED:
    return PB_HTTP_FAIL_TOO_BIG;
  default:
    return PB_HTTP_FAIL_OTHER;
  }
}

static void finish(struct transfer *t, CURLcode code) {
  struct pb_http_response r = {0};
  r.curl_code = (int)code;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &r.seconds);
  r.failure = classify(t->easy, code);
  char *ip = NULL;
  curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip);
  r.primary_ip = ip ? ip : "";
  if (code != CURLE_OK && t->refused[0]) {
    r.failure = PB_HTTP_FAIL_ADDRESS;
    r.err = PB_EHTTP;
    r.errmsg = t->refused;
  } else if (t->too_big) {
    r.failure = PB_HTTP_FAIL_TOO_BIG;
    r.err = PB_ETOOBIG;
    r.errmsg = "the answer is larger than the allowed size";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    r.err = PB_ETIMEOUT;
    r.errmsg = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
  } else if (code != CURLE_OK) {
    r.err = PB_EHTTP;
    r.errmsg = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
  }
  r.body = pb_buf_str(&t->body);
  r.len = pb_buf_len(&t->body);
  r.etag = t->etag[0] ? t->etag : NULL;
  r.last_modified = t->last_modified[0] ? t->last_modified : NULL;
  r.retry_after = t->retry_after[0] ? t->retry_after : NULL;
  r.content_type = t->content_type[0] ? t->content_type : NULL;
  long redirects = 0;
  curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &redirects);
  r.redirects = (int)redirects;
  char *final_url = NULL;
  curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &final_url);
  /* libcurl writes the credentials it was given into the effective URL */
  r.final_url = t->final_url = pb_url_redacted(final_url);
  /* Each answer but the last was a redirect followed; an answer that was
   * not (an authentication round) leaves the chain unclear: not permanent. */
  r.redirects_permanent =
      redirects > 0 && t->answers == redirects + 1 && !t->temporary_hop;
  pb_http_done *done = t->done;
  void *ud = t->ud;
  /* The buffer must outlive the callback: free the transfer afterwards. */
  done(&r, ud);
  transfer_free(t);
}

static void check_done(struct pb_http *http) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(http->multi, &left))) {
    if (m->msg != CURLMSG_DONE)
      continue;
    struct transfer *t = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    finish(t, m->data.result);
  }
}

static void on_fd(struct pb_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  struct pb_http *http = ud;
  int mask = 0, running;
  if (events & PB_LOOP_READ)
    mask |= CURL_CSELECT_IN;
  if (events & PB_LOOP_WRITE)
    mask |= CURL_CSELECT_OUT;
  curl_multi_socket_action(http->multi, fd, mask, &running);
  check_done(http);
}

static void on_timer(struct pb_loop *loop, struct pb_timer *timer, void *ud) {
  (void)loop;
  (void)timer;
  struct pb_http *http = ud;
  int running;
  curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(http);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp) {
  (void)easy;
  (void)socketp;
  struct pb_http *http = userp;
  if (what == CURL_POLL_REMOVE) {
    pb_loop_unwatch(http->loop, s);
    return 0;
  }
  unsigned ev = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
    ev |= PB_LOOP_READ;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
    ev |= PB_LOOP_WRITE;
  pb_loop_watch(http->loop, s, ev, on_fd, http);
  return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  struct pb_http *http = userp;
  if (timeout_ms < 0)
    pb_timer_disarm(http->timer);
  else
    pb_timer_arm_in(http->timer, timeout_ms);
  return 0;
}

/* Every connection a transfer opens (after DNS, at each redirect, to each
 * address tried) passes here, so the address checked is the one used: a
 * host name that resolves elsewhere the second time (DNS rebinding) or a
 * redirect to an internal host is caught too. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose,
                                 struct curl_sockaddr *a) {
  struct transfer *t = ud;
  if (purpose == CURLSOCKTYPE_IPCXN &&
      pb_addr_check(&a->addr, a->addrlen, t->addresses, t->refused,
                    sizeof t->refused) != 0)
    return CURL_SOCKET_BAD;
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void global_init(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pb_http_new(struct pb_loop *loop, int max_parallel, struct pb_http **out) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, global_init);
  struct pb_http *http = calloc(1, sizeof *http);
  if (!http)
    return PB_ENOMEM;
  http->loop = loop;
  http->multi = curl_multi_init();
  http->timer = pb_timer_new(loop, on_timer, http);
  if (!http->multi || !http->timer) {
    pb_http_free(http);
    return PB_ENOMEM;
  }
  curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
  curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
  curl_multi_setopt(http->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    (long)(max_parallel > 0 ? max_parallel : 4));
  curl_multi_setopt(http->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    (long)(max_parallel > 0 ? max_parallel : 4));
  *out = http;
  return 0;
}

void pb_http_free(struct pb_http *http) {
  if (!http)
    return;
  while (http->transfers)
    transfer_free(http->transfers);
  if (http->multi)
    curl_multi_cleanup(http->multi);
  pb_timer_free(http->timer);
  free(http);
}

size_t pb_http_running(const struct pb_http *http) {
  return http->running;
}

int pb_http_send(struct pb_http *http, const struct pb_http_request *req,
                 pb_http_done *done, void *ud) {
  struct transfer *t = calloc(1, sizeof *t);
  if (!t)
    return PB_ENOMEM;
  t->http = http;
  t->done = done;
  t->ud = ud;
  pb_buf_init(&t->body, req->max_bytes ? req->max_bytes : DEFAULT_MAX_BYTES);
  t->easy = curl_easy_init();
  if (!t->easy) {
    free(t);
    return PB_ENOMEM;
  }
  CURL *e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, req->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  t->addresses = req->addresses;
  if (req->addresses != PB_ADDR_ANY) {
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
  }
  /* A proxy's CONNECT answer is not one of the server's answers. */
  curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   req->connect_timeout_ms ? req->connect_timeout_ms : 5000L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   req->timeout_ms ? req->timeout_ms : 10000L);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->body.max);
  if (req->max_redirects > 0) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)req->max_redirects);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  if (req->user_agent)
    curl_easy_setopt(e, CURLOPT_USERAGENT, req->user_agent);
  if (req->accept_encoding)
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* every one built in */
  if (req->ca_file && *req->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
  if (req->insecure || (req->pinned_public_key && *req->pinned_public_key)) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  /* libcurl checks the pin even with VERIFYPEER off (CURLOPT_PINNEDPUBLICKEY).
   */
  if (req->pinned_public_key && *req->pinned_public_key)
    curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, req->pinned_public_key);
  if (req->username) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, req->username);
    curl_easy_setopt(e, CURLOPT_PASSWORD, req->password ? req->password : "");
  }
  char h[512];
  if (req->content_type) {
    snprintf(h, sizeof h, "Content-Type: %s", req->content_type);
    t->headers = curl_slist_append(t->headers, h);
  }
  if (req->if_none_match) {
    snprintf(h, sizeof h, "If-None-Match: %s", req->if_none_match);
    t->headers = curl_slist_append(t->headers, h);
  }
  if (req->if_modified_since) {
    snprintf(h, sizeof h, "If-Modified-Since: %s", req->if_modified_since);
    t->headers = curl_slist_append(t->headers, h);
  }
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  if (req->method && strcmp(req->method, "POST") == 0) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  t->next = http->transfers;
  if (http->transfers)
    http->transfers->prev = t;
  http->transfers = t;
  http->running++;
  if (curl_multi_add_handle(http->multi, e) != CURLM_OK) {
    transfer_free(t);
    return PB_EHTTP;
  }
  return 0;
}
