/* A call's recording for the browser's player (GET /api/calls/<site>/<id>/
 * recording, docs/api.md): call-log's `get` gives the call (who may hear it,
 * the PBX's file name), then yeastar-gateway's `recording/get` gives the
 * bytes, at most CHUNK_BYTES per request, as the gateway downloads them with
 * its token: the PBX's link never reaches the browser. A Range request
 * (RFC 9110 §14: one `bytes=a-b` or `bytes=a-`) is answered 206 with at most
 * one chunk, which lets the HTML5 player seek; a whole file is gathered
 * chunk by chunk, up to WHOLE_MAX_BYTES. Every listen goes to the audit
 * log (the same user, call and minute once). */
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/payload_call.h"
#include "pb/topics.h"
#include "web.h"

#define CHUNK_BYTES (1024 * 1024)
#define WHOLE_MAX_BYTES (64 * 1024 * 1024)
#define AUDIT_AGAIN_SECONDS 60

struct listen {
  char site[PB_ID_MAX], call_id[PB_CALL_ID_MAX], ext[PB_NUMBER_MAX];
  char recording[PB_TEXT_MAX];
  char content_type[64];
  bool ranged;         /* a Range request: one chunk, 206 */
  int64_t first, last; /* the range asked; last -1: to the end */
  int64_t offset;      /* the next byte to fetch */
  int64_t size;        /* the file's, -1 until known */
  unsigned char *data; /* what came so far */
  size_t len, cap;
};

static void free_listen(void *p) {
  struct listen *l = p;
  if (l)
    free(l->data);
  free(l);
}

/* "bytes=a-b" or "bytes=a-": false for anything else (suffixes, several
 * ranges), which is then answered whole (RFC 9110 allows ignoring Range). */
bool web_parse_range(const char *h, int64_t *first, int64_t *last) {
  if (!h || strncasecmp(h, "bytes=", 6) != 0)
    return false;
  const char *p = h + 6;
  char *end;
  if (*p < '0' || *p > '9')
    return false;
  long long a = strtoll(p, &end, 10);
  if (*end != '-')
    return false;
  p = end + 1;
  if (!*p) {
    *first = a;
    *last = -1;
    return true;
  }
  if (*p < '0' || *p > '9')
    return false;
  long long b = strtoll(p, &end, 10);
  if (*end || b < a)
    return false;
  *first = a;
  *last = b;
  return true;
}

__attribute__((format(printf, 3, 4))) static void
reply(struct web_calls_job *job, unsigned status, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct web_response r = {.status = 200};
  web_reply_error(&r, status, "%s", msg);
  web_calls_job_finish(job, &r);
}

static void send_chunk(struct web_calls_job *job);

static void finish(struct web_calls_job *job) {
  struct listen *l = job->state;
  struct web_response r = {.status = l->ranged ? 206 : 200};
  r.raw = (char *)l->data;
  r.raw_len = l->len;
  l->data = NULL;
  if (!r.raw) {
    r.raw_static = "";
    r.raw_len = 0;
  }
  r.accept_ranges = true;
  if (l->ranged)
    snprintf(r.content_range, sizeof r.content_range,
             "bytes %" PRId64 "-%" PRId64 "/%" PRId64, l->first,
             l->first + (int64_t)r.raw_len - 1, l->size);
  /* The response outlives the job's state: the type is a constant. */
  r.content_type =
      strcmp(l->content_type, "audio/mpeg") == 0 ? "audio/mpeg" : "audio/wav";
  web_calls_job_finish(job, &r);
}

static void chunk_answered(struct web_calls_job *job, const json_t *answer) {
  struct listen *l = job->state;
  const char *status = pb_json_str(answer, "status");
  const char *error = pb_json_str(answer, "error");
  if (error && strcmp(error, "recording not found") == 0) {
    reply(job, 404, "recording not found");
    return;
  }
  /* A range that starts past the end: the gateway says so with the size
   * ("field 'offset' is past the end of the recording (N bytes)"). */
  const char *past = error ? strstr(error, "past the end") : NULL;
  if (past && l->ranged) {
    const char *paren = strrchr(error, '(');
    long long size = paren ? strtoll(paren + 1, NULL, 10) : -1;
    struct web_response r = {.status = 200};
    web_reply_error(&r, 416, "%s", error);
    if (size >= 0)
      snprintf(r.content_range, sizeof r.content_range, "bytes */%lld", size);
    web_calls_job_finish(job, &r);
    return;
  }
  if (!status || strcmp(status, "ok") != 0) {
    web_calls_job_fail(job, answer);
    return;
  }
  const json_t *d = json_object_get(answer, "data");
  json_int_t size = json_integer_value(json_object_get(d, "size"));
  const char *b64 = pb_json_str(d, "data");
  const char *ct = pb_json_str(d, "content_type");
  if (!json_is_integer(json_object_get(d, "size")) || size < 0 || !b64) {
    reply(job, 502,
          "yeastar-gateway's recording/get answer has no size or data");
    return;
  }
  if (ct)
    pb_strlcpy(l->content_type, ct, sizeof l->content_type);
  l->size = size;
  if (l->offset >= size && size > 0) {
    struct web_response r = {.status = 200};
    web_reply_error(&r, 416, "the recording has %lld bytes", (long long)size);
    snprintf(r.content_range, sizeof r.content_range, "bytes */%lld",
             (long long)size);
    web_calls_job_finish(job, &r);
    return;
  }
  if (!l->ranged && size > WHOLE_MAX_BYTES) {
    reply(job, 413,
          "the recording is larger than 64 MiB: fetch it with "
          "Range requests (the dashboard's player does)");
    return;
  }
  size_t b64len = strlen(b64), max = b64len / 4 * 3 + 3, n = 0;
  if (l->len + max > l->cap) {
    size_t cap = l->len + max;
    unsigned char *p = realloc(l->data, cap ? cap : 1);
    if (!p) {
      reply(job, 503, "out of memory");
      return;
    }
    l->data = p;
    l->cap = cap;
  }
  if (sodium_base642bin(l->data + l->len, l->cap - l->len, b64, b64len, NULL,
                        &n, NULL, sodium_base64_VARIANT_ORIGINAL)) {
    reply(job, 502, "yeastar-gateway's recording data is not Base64");
    return;
  }
  l->len += n;
  l->offset += (int64_t)n;
  bool done = n == 0 || l->offset >= size || l->ranged;
  if (done) {
    finish(job);
    return;
  }
  send_chunk(job);
}

static void send_chunk(struct web_calls_job *job) {
  struct listen *l = job->state;
  int64_t want = CHUNK_BYTES;
  if (l->ranged && l->last >= 0 && l->last - l->first + 1 < want)
    want = l->last - l->first + 1;
  json_t *r =
      json_pack("{s:s,s:s,s:I,s:I}", "site", l->site, "recording", l->recording,
                "offset", (json_int_t)l->offset, "max_bytes", (json_int_t)want);
  int rc = web_calls_job_send(job, PB_SERVICE_GATEWAY, PB_ACTION_RECORDING_GET,
                              r, chunk_answered);
  if (rc)
    reply(job, 503, "cannot send the request on the bus: %s", pb_strerror(rc));
}

/* Recent listens, so that a player's many Range requests are one entry. */
static struct {
  char key[PB_ID_MAX * 2 + PB_CALL_ID_MAX];
  int64_t at;
} recent[32];

static void audit_listen(struct web *w, const struct web_calls_job *job,
                         const struct listen *l) {
  char key[sizeof recent[0].key];
  snprintf(key, sizeof key, "%s|%s|%s", job->actor, l->site, l->call_id);
  int64_t now = pb_clock_now();
  size_t oldest = 0;
  for (size_t i = 0; i < sizeof recent / sizeof recent[0]; i++) {
    if (strcmp(recent[i].key, key) == 0 &&
        now - recent[i].at < AUDIT_AGAIN_SECONDS)
      return;
    if (recent[i].at < recent[oldest].at)
      oldest = i;
  }
  pb_strlcpy(recent[oldest].key, key, sizeof recent[oldest].key);
  recent[oldest].at = now;
  char what[256];
  snprintf(what, sizeof what, "listened to the recording of call %s",
           l->call_id);
  web_audit_add(w, "recording", l->site, l->ext, job->actor, what,
                json_pack("{s:s,s:s}", "call_id", l->call_id, "site", l->site));
}

static void cdr_answered(struct web_calls_job *job, const json_t *answer) {
  struct listen *l = job->state;
  const char *status = pb_json_str(answer, "status");
  if (!status || strcmp(status, "ok") != 0) {
    web_calls_job_fail(job, answer);
    return;
  }
  const json_t *cdr = json_object_get(json_object_get(answer, "data"), "cdr");
  const char *rec = pb_json_str(cdr, "recording");
  const char *ext = pb_json_str(cdr, "extension");
  pb_strlcpy(l->ext, ext ? ext : "", sizeof l->ext);
  struct web_auth auth = {.role = job->role};
  pb_strlcpy(auth.user, job->actor, sizeof auth.user);
  if (!web_may_use_ext(job->w, &auth, l->site, l->ext)) {
    reply(job, 403, "user '%s' may hear only the calls of its own extensions",
          job->actor);
    return;
  }
  if (!rec || !*rec) {
    reply(job, 404, "call %s has no recording", l->call_id);
    return;
  }
  pb_strlcpy(l->recording, rec, sizeof l->recording);
  audit_listen(job->w, job, l);
  send_chunk(job);
}

static bool call_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n >= PB_CALL_ID_MAX)
    return false;
  for (const char *p = id; *p; p++)
    if (!(*p == '.' || *p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
          (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return false;
  return true;
}

static void recording(struct web *w, const struct web_request *req,
                      struct web_response *resp, const char *site,
                      const char *call_id) {
  if (!site)
    site = pb_config_str(w->cfg, PB_CFG_SITE);
  if (!pb_topic_id_valid(site) || !call_id_valid(call_id)) {
    web_reply_error(resp, 400,
                    "site must be 1-64 characters of [A-Za-z0-9_-] and the "
                    "call id 1-96 of [A-Za-z0-9._-]");
    return;
  }
  if (web_service_down(w, PB_SERVICE_CALL_LOG, resp) ||
      web_service_down(w, PB_SERVICE_GATEWAY, resp))
    return;
  struct web_calls_job *job =
      web_calls_job_new(w, req, resp, sizeof(struct listen), free_listen);
  if (!job)
    return;
  struct listen *l = job->state;
  pb_strlcpy(l->site, site, sizeof l->site);
  pb_strlcpy(l->call_id, call_id, sizeof l->call_id);
  pb_strlcpy(l->content_type, "audio/wav", sizeof l->content_type);
  l->size = -1;
  l->ranged = web_parse_range(web_header(req, "Range"), &l->first, &l->last);
  /* A Range answer holds one chunk; a whole file up to 64 MiB. */
  if (!l->ranged && !web_calls_job_heavy(job, resp)) {
    web_calls_job_free(job);
    return;
  }
  l->offset = l->ranged ? l->first : 0;
  web_calls_job_start(job, resp, PB_SERVICE_CALL_LOG, PB_ACTION_CALLS_GET,
                      json_pack("{s:s,s:s}", "site", site, "call_id", call_id),
                      cdr_answered);
}

/* GET /api/calls/<site>/<call_id>/recording */
void web_get_site_recording(struct web *w, const struct web_request *req,
                            struct web_response *resp) {
  recording(w, req, resp, req->segs[2], req->segs[3]);
}

/* GET /api/calls/<call_id>/recording?site= */
void web_get_recording(struct web *w, const struct web_request *req,
                       struct web_response *resp) {
  recording(w, req, resp, web_query(req, "site"), req->segs[2]);
}
