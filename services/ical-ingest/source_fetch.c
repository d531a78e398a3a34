/* Downloading calendar URLs with libcurl (shared/http.c) on the service's
 * loop: conditional requests (RFC 9110 If-None-Match / If-Modified-Since),
 * timeouts, bounded redirects and size, basic auth, a refresh interval with
 * jitter, exponential backoff after failures, a server's Retry-After after
 * 429 or 503 (§10.2.3), and permanent redirects (301, 308: §15.4.2,
 * §15.4.9) remembered as the source's new URL. A failure never touches the
 * last good calendar; it is told on the source's status and as an event.
 * A URL given over the bus must not make the service a proxy into its own
 * network: link-local and cloud metadata addresses are never connected to,
 * private and loopback ones only with SOURCE_ALLOW_PRIVATE_ADDRESSES, and
 * an error never quotes what such a server answered (status, type, size). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/jitter.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/tz.h"

#define FIRST_RETRY_S 60        /* first retry after a failure, then doubling */
#define RETRY_AFTER_MAX_S 86400 /* a longer Retry-After waits this long */
#define START_SPREAD_S                                                         \
  10 /* overdue downloads at start are spread over this                        \
      */

/* A download under way. It names its source by id and generation, so an
 * answer that arrives after the source was updated or removed is dropped. */
struct fetch_ticket {
  struct fetch_ticket *next;
  struct ingest *in;
  char id[PB_ID_MAX];
  unsigned generation;
};

/* `seconds` give or take `percent` per cent, so that sources added together
 * do not keep polling together. */
static int64_t jitter(int64_t seconds, int percent) {
  return pb_jitter(seconds, seconds * percent / 100);
}

static int64_t interval_s(const struct ingest *in, const struct source *s) {
  int64_t m = s->def.refresh_minutes
                  ? s->def.refresh_minutes
                  : pb_config_int(in->cfg, PB_CFG_SOURCE_REFRESH_MINUTES);
  return m * 60;
}

/* 1 min, 2, 4... up to SOURCE_BACKOFF_MAX_MINUTES, but never capped below
 * the source's own interval (a failing source is not polled more often
 * than a healthy one once the backoff is long). */
static int64_t backoff_s(const struct ingest *in, const struct source *s) {
  int64_t cap = pb_config_int(in->cfg, PB_CFG_SOURCE_BACKOFF_MAX_MINUTES) * 60;
  if (cap < interval_s(in, s))
    cap = interval_s(in, s);
  int n = s->fetch.failures > 1 ? s->fetch.failures - 1 : 0;
  int64_t d = FIRST_RETRY_S << (n > 20 ? 20 : n);
  return d < cap ? d : cap;
}

static void on_timer(struct pb_loop *loop, struct pb_timer *t, void *ud);

void ingest_fetch_plan(struct ingest *in, struct source *s) {
  if (s->def.kind != SOURCE_URL || s->fetching)
    return;
  if (!s->timer && !(s->timer = pb_timer_new(in->loop, on_timer, s))) {
    pb_error("source %s: no timer for its downloads (out of memory)",
             s->def.id);
    return;
  }
  int64_t now = pb_clock_now(), when;
  if (s->fetch.last_attempt < 0)
    when = now;
  else if (s->fetch.failures > 0)
    when = s->fetch.last_attempt + jitter(backoff_s(in, s), 20);
  else
    when = s->fetch.last_attempt + jitter(interval_s(in, s), 10);
  /* The server's Retry-After, when it asks for longer than the backoff. */
  if (s->fetch.not_before > when)
    when = s->fetch.not_before;
  if (when <=
      now) /* overdue (the service was stopped): soon, not all at once */
    when = now + pb_jitter(START_SPREAD_S / 2, START_SPREAD_S / 2);
  s->next_attempt = when;
  pb_timer_arm(s->timer, when * 1000);
}

static const char *http_reason(int64_t status) {
  switch (status) {
  case 401:
  case 403:
    return ": the server refused the credentials (check the user name and "
           "password, or the token in the URL)";
  case 404:
    return ": no calendar at this URL";
  case 410:
    return ": the calendar was deleted from the server";
  case 304:
    return ": not modified, but no calendar is stored to fall back on";
  case 429:
    return ": the server asks to slow down";
  default:
    return status >= 500 ? ": the server failed" : "";
  }
}

static bool allow_private(const struct ingest *in) {
  return pb_config_bool(in->cfg, PB_CFG_SOURCE_ALLOW_PRIVATE_ADDRESSES);
}

static void describe_failure(const struct ingest *in,
                             const struct pb_http_response *r, char *err,
                             size_t errlen) {
  if (r->failure == PB_HTTP_FAIL_ADDRESS)
    snprintf(err, errlen,
             "refused to connect: %s, calendars are not read from such "
             "addresses%s",
             r->errmsg,
             allow_private(in) || !strstr(r->errmsg, "private")
                 ? ""
                 : " (SOURCE_ALLOW_PRIVATE_ADDRESSES=true allows private "
                   "and loopback addresses, for an on-premise calendar)");
  else if (r->err == PB_ETOOBIG || r->failure == PB_HTTP_FAIL_TOO_BIG)
    snprintf(err, errlen,
             "the calendar is larger than SOURCE_MAX_BYTES (%lld "
             "bytes): refused",
             (long long)pb_config_int(in->cfg, PB_CFG_SOURCE_MAX_BYTES));
  else if (r->err == PB_ETIMEOUT)
    snprintf(err, errlen, "the download timed out (%s)", r->errmsg);
  else if (r->err)
    snprintf(err, errlen, "the download failed: %s",
             r->errmsg ? r->errmsg : "");
  else
    snprintf(err, errlen, "HTTP %ld%s", r->status, http_reason(r->status));
}

/* A 429 or 503 with Retry-After: no attempt before the time it names
 * (capped at RETRY_AFTER_MAX_S), told in the error. */
static void read_retry_after(const struct ingest *in, struct source *s,
                             const struct pb_http_response *r, int64_t now,
                             char *err, size_t errlen) {
  s->fetch.not_before = 0;
  if (r->err || (r->status != 429 && r->status != 503) || !r->retry_after)
    return;
  int64_t at;
  if (ingest_retry_after(r->retry_after, now, RETRY_AFTER_MAX_S, &at)) {
    pb_warn("source %s: Retry-After '%.40s' is neither seconds nor an "
            "HTTP-date: ignored",
            s->def.id, r->retry_after);
    return;
  }
  s->fetch.not_before = at;
  char when[40];
  pb_time_format_rfc3339(at, pb_tz_offset_at(in->tz, at), when, sizeof when);
  size_t n = strlen(err);
  snprintf(err + n, errlen - n, " (it asks to wait until %s)", when);
}

/* After a good answer reached through permanent redirects only, later
 * downloads go to the new URL directly (when it may be stored). */
static void follow_move(struct ingest *in, struct source *s,
                        const struct pb_http_response *r) {
  if (!r->redirects_permanent || !r->final_url)
    return;
  struct source_url to;
  char why[200];
  char was[SOURCE_URL_MAX + 1];
  pb_strlcpy(was, s->def.url.shown, sizeof was);
  if (ingest_url_moved(&s->def.url, r->final_url, s->def.username[0] != '\0',
                       &to, why, sizeof why)) {
    pb_info("source %s: %s moved permanently, but it is kept: %s", s->def.id,
            was, why);
    return;
  }
  if (ingest_source_move(in, s, &to)) {
    pb_error("source %s: its new URL could not be stored (database error)",
             s->def.id);
    ingest_url_cleanup(&to);
    return;
  }
  pb_info("source %s: the calendar moved permanently (%d redirect%s): %s is "
          "now %s",
          s->def.id, r->redirects, r->redirects == 1 ? "" : "s", was,
          s->def.url.shown);
  json_t *ev =
      json_pack("{s:s,s:s,s:I}", "url", s->def.url.shown, "previous_url", was,
                "http_status", (json_int_t)r->status);
  ingest_source_event(in, &s->def, "moved", ev);
}

static struct fetch_ticket *take_ticket(struct ingest *in,
                                        struct fetch_ticket *t) {
  for (struct fetch_ticket **pp = &in->tickets; *pp; pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      return t;
    }
  }
  return NULL;
}

static void on_done(const struct pb_http_response *r, void *ud) {
  struct fetch_ticket *t = ud;
  struct ingest *in = t->in;
  struct source *s = ingest_source_find(in, t->id);
  bool current = s && s->generation == t->generation && s->fetching;
  free(take_ticket(in, t));
  if (!current)
    return; /* updated or removed meanwhile: this answer is for nothing */
  s->fetching = false;
  char err[512] = "";
  bool ok = false, changed = false, not_modified = false;
  s->fetch.http_status = r->status;
  if (r->err || r->failure == PB_HTTP_FAIL_TOO_BIG) {
    describe_failure(in, r, err, sizeof err);
  } else if (r->status == 304 && s->has_body) {
    /* Not modified, but the horizon may have moved since the last read. */
    ok = not_modified = true;
    if (ingest_source_expand(in, s, false, &changed) == 0 && changed)
      ingest_publish_source(in, &s->def);
  } else if (r->status >= 200 && r->status < 300) {
    ok = ingest_source_accept(in, s, r->body, r->len, r->etag, r->last_modified,
                              &changed, err, sizeof err) == 0;
    if (!ok) {
      /* What was answered, never its bytes: the URL may lead anywhere. */
      char what[700];
      snprintf(what, sizeof what, "HTTP %ld, %.80s, %zu bytes: %s", r->status,
               r->content_type ? r->content_type : "no Content-Type", r->len,
               err);
      pb_strlcpy(err, what, sizeof err);
    }
  } else {
    describe_failure(in, r, err, sizeof err);
  }
  ingest_redact(err, sizeof err, &s->def.url, s->def.password);
  int64_t now = pb_clock_now();
  read_retry_after(in, s, r, now, err, sizeof err);
  if (ok)
    follow_move(in, s, r);
  bool recovered = s->fetch.failures > 0 || s->fetch.last_success < 0;
  if (ok) {
    s->fetch.failures = 0;
    s->fetch.error[0] = '\0';
    s->fetch.last_success = now;
    if (changed || s->fetch.last_change < 0)
      s->fetch.last_change = now;
    pb_info("source %s: %s in %.2f s, %zu slots in the horizon%s", s->def.id,
            not_modified ? "not modified" : "downloaded", r->seconds,
            s->slots.count, changed ? " (changed)" : "");
  } else {
    s->fetch.failures++;
    pb_strlcpy(s->fetch.error, err, sizeof s->fetch.error);
    pb_warn("source %s: %s (failure %d in a row; the last good schedule stays)",
            s->def.id, err, s->fetch.failures);
  }
  if (ingest_store_save_fetch(in->store, s->def.id, &s->fetch))
    pb_error("source %s: the fetch state could not be stored", s->def.id);
  ingest_fetch_plan(in, s);
  ingest_status_publish(in, s);
  if (!ok) {
    json_t *ev =
        json_pack("{s:s,s:i,s:I}", "error", err, "failures", s->fetch.failures,
                  "http_status", (json_int_t)s->fetch.http_status);
    pb_json_set_time_tz(ev, "next_attempt", s->next_attempt, in->tz);
    ingest_source_event(in, &s->def, "failed", ev);
  } else if (changed || recovered) {
    json_t *ev =
        json_pack("{s:b,s:b,s:I,s:I}", "changed", changed, "not_modified",
                  not_modified, "http_status", (json_int_t)s->fetch.http_status,
                  "horizon_slots", (json_int_t)s->slots.count);
    ingest_source_event(in, &s->def, "fetched", ev);
  }
}

int ingest_fetch_now(struct ingest *in, struct source *s) {
  if (s->def.kind != SOURCE_URL)
    return PB_EINVAL;
  if (s->fetching)
    return PB_ESTATE;
  if (s->timer)
    pb_timer_disarm(s->timer);
  s->next_attempt = -1;
  struct fetch_ticket *t = calloc(1, sizeof *t);
  if (!t)
    return PB_ENOMEM;
  t->in = in;
  pb_strlcpy(t->id, s->def.id, sizeof t->id);
  t->generation = s->generation;
  struct pb_http_request req = {
      .method = "GET",
      .url = s->def.url.full,
      .user_agent = "PresenceBus/" PB_VERSION " (calendar)",
      .connect_timeout_ms =
          (long)pb_config_int(in->cfg, PB_CFG_SOURCE_CONNECT_TIMEOUT_SECONDS) *
          1000,
      .timeout_ms =
          (long)pb_config_int(in->cfg, PB_CFG_SOURCE_TIMEOUT_SECONDS) * 1000,
      .max_bytes = (size_t)pb_config_int(in->cfg, PB_CFG_SOURCE_MAX_BYTES),
      .max_redirects = (int)pb_config_int(in->cfg, PB_CFG_SOURCE_MAX_REDIRECTS),
      /* Validators only with a calendar to fall back on: a 304 must not
       * leave a source without one. */
      .if_none_match = s->has_body && s->etag[0] ? s->etag : NULL,
      .if_modified_since =
          s->has_body && s->last_modified[0] ? s->last_modified : NULL,
      .username = s->def.username[0] ? s->def.username : NULL,
      .password = s->def.password,
      .accept_encoding = true,
      .addresses = allow_private(in) ? PB_ADDR_NOT_LINK_LOCAL : PB_ADDR_PUBLIC,
  };
  int rc = pb_http_send(in->http, &req, on_done, t);
  if (rc) {
    free(t);
    return rc;
  }
  t->next = in->tickets;
  in->tickets = t;
  s->fetching = true;
  s->fetch.last_attempt = pb_clock_now();
  pb_debug("source %s: downloading %s", s->def.id, s->def.url.shown);
  return 0;
}

static void on_timer(struct pb_loop *loop, struct pb_timer *timer, void *ud) {
  (void)loop;
  (void)timer;
  struct source *s = ud;
  struct ingest *in = s->in;
  int rc = ingest_fetch_now(in, s);
  if (rc && rc != PB_ESTATE) {
    pb_error("source %s: the download could not start: %s", s->def.id,
             pb_strerror(rc));
    s->fetch.failures++;
    s->fetch.last_attempt = pb_clock_now();
    ingest_fetch_plan(in, s);
  }
}

void ingest_fetch_cancel(struct ingest *in, struct source *s) {
  (void)in;
  s->generation++;
  s->fetching = false;
  if (s->timer)
    pb_timer_disarm(s->timer);
  s->next_attempt = -1;
}

void ingest_fetch_shutdown(struct ingest *in) {
  /* pb_http_free cancelled the transfers without calling back. */
  while (in->tickets) {
    struct fetch_ticket *t = in->tickets;
    in->tickets = t->next;
    free(t);
  }
}
