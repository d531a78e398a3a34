/* Catch-up from the PBX's CDR search, through yeastar-gateway's
 * `cdr/search` request (docs/call-log.md): per site, from its cursor minus
 * CALL_LOG_BACKFILL_OVERLAP_SECONDS (or CALL_LOG_BACKFILL_DAYS back the
 * first time) to now, page after page, each page stored in one transaction
 * (stores are idempotent: a call already in the log is not counted again).
 * The cursor moves to the window's end once its last page is stored; a
 * page that fails is asked again after a growing, jittered wait, the
 * cursor where it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/jitter.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"
#include "pb/store.h"
#include "pb/topics.h"

#define RETRY_FIRST_MS 2000
#define RETRY_MAX_MS (300 * 1000)

static void send_page(struct calllog_site *s);
static bool stop_if_not_ok(struct calllog_site *s, const char *why);

static void on_retry(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct calllog_site *s = ud;
  if (s->running && !s->waiting && !stop_if_not_ok(s, "waiting to retry"))
    send_page(s);
}

struct calllog_site *calllog_site_get(struct calllog *cl, const char *name,
                                      bool create) {
  struct calllog_site *s = pb_map_get(cl->sites, name);
  if (s || !create || !pb_topic_id_valid(name))
    return s;
  s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->cl = cl;
  s->retry = pb_timer_new(cl->loop, on_retry, s);
  if (calllog_store_cursor(cl->store, name, &s->cursor))
    s->cursor = -1;
  if (!s->retry || pb_map_put(cl->sites, s->name, s)) {
    pb_timer_free(s->retry);
    free(s);
    return NULL;
  }
  return s;
}

static const char *time_text(const struct calllog *cl, int64_t t, char *buf,
                             size_t len) {
  if (t < 0)
    return "none";
  json_t *o = json_object();
  pb_json_set_time_tz(o, "t", t, cl->tz);
  snprintf(buf, len, "%s", pb_json_str(o, "t"));
  json_decref(o);
  return buf;
}

/* A site that is no longer ok (or was removed) stops its catch-up rather
 * than retrying against a PBX known to fail; it starts again, from the
 * cursor, when the site is ok. */
static bool stop_if_not_ok(struct calllog_site *s, const char *why) {
  if (s->ok)
    return false;
  pb_warn("site %s: catch-up page %lld failed (%s) and the site is not ok: "
          "the catch-up stops until it is",
          s->name, (long long)s->page, why);
  s->running = s->again = false;
  pb_timer_disarm(s->retry);
  return true;
}

static void fail(struct calllog_site *s, const char *why) {
  struct calllog *cl = s->cl;
  char cur[40];
  if (stop_if_not_ok(s, why))
    return;
  s->failures++;
  int64_t ms = RETRY_FIRST_MS;
  for (int i = 1; i < s->failures && ms < RETRY_MAX_MS; i++)
    ms *= 2;
  if (ms > RETRY_MAX_MS)
    ms = RETRY_MAX_MS;
  ms = pb_jitter(ms, ms / 10);
  pb_warn("site %s: catch-up page %lld failed: %s; the cursor stays at %s, "
          "next try in %.1f s",
          s->name, (long long)s->page, why,
          time_text(cl, s->cursor, cur, sizeof cur), (double)ms / 1000);
  json_t *ev = json_object();
  json_object_set_new(ev, "site", json_string(s->name));
  json_object_set_new(
      ev, "error",
      json_sprintf("catch-up page %lld: %s", (long long)s->page, why));
  json_object_set_new(ev, "page", json_integer(s->page));
  json_object_set_new(ev, "retry_seconds", json_integer((ms + 999) / 1000));
  cl->io.event(cl->io.ud, PB_EVENT_ERROR, ev);
  pb_timer_arm_in(s->retry, ms);
}

static void send_page(struct calllog_site *s) {
  struct calllog *cl = s->cl;
  if (!cl->gateway_online) {
    pb_debug("site %s: catch-up waits for yeastar-gateway", s->name);
    return; /* calllog_gateway_availability goes on */
  }
  json_t *req = json_object();
  json_object_set_new(req, "site", json_string(s->name));
  pb_json_set_time_tz(req, "start", s->win_start, cl->tz);
  pb_json_set_time_tz(req, "end", s->win_end, cl->tz);
  json_object_set_new(req, "page", json_integer(s->page));
  json_object_set_new(req, "page_size", json_integer(cl->set.page_size));
  s->waiting = true;
  int rc = cl->io.request(cl->io.ud, PB_SERVICE_GATEWAY, PB_ACTION_CDR_SEARCH,
                          req, (int)cl->set.request_timeout_ms, s);
  if (rc) {
    s->waiting = false;
    fail(s, "the request could not be sent");
  }
}

void calllog_backfill_start(struct calllog_site *s, const char *why) {
  struct calllog *cl = s->cl;
  char a[40], b[40];
  if (!s->ok)
    return;
  if (s->running) {
    if (pb_timer_armed(s->retry)) {
      /* A failed page waits: try it now rather than after its backoff. */
      pb_timer_disarm(s->retry);
      send_page(s);
    } else {
      s->again = true;
    }
    return;
  }
  int64_t now = pb_clock_now();
  s->win_end = now;
  s->win_start = s->cursor >= 0 ? s->cursor - cl->set.overlap_seconds
                                : now - cl->set.backfill_days * 86400;
  if (s->win_start > s->win_end) /* the clock went back */
    s->win_start = s->win_end - cl->set.overlap_seconds;
  s->running = true;
  s->again = false;
  s->page = 1;
  s->added = s->seen = 0;
  s->failures = 0;
  pb_info("site %s: catching up (%s) from %s to %s", s->name, why,
          time_text(cl, s->win_start, a, sizeof a),
          time_text(cl, s->win_end, b, sizeof b));
  send_page(s);
}

void calllog_backfill_all(struct calllog *cl, const char *why) {
  size_t pos = 0;
  struct calllog_site *s;
  while ((s = pb_map_next(cl->sites, &pos, NULL)))
    calllog_backfill_start(s, why);
}

void calllog_site_status(struct calllog *cl, const char *site,
                         const char *state) {
  struct calllog_site *s = calllog_site_get(cl, site, state != NULL);
  if (!s)
    return;
  bool was = s->ok;
  s->ok = state && strcmp(state, "ok") == 0;
  if (s->ok && !was)
    calllog_backfill_start(s, "the site is ok");
}

void calllog_gateway_availability(struct calllog *cl, bool online) {
  bool was = cl->gateway_online;
  cl->gateway_online = online;
  if (!online || was)
    return;
  size_t pos = 0;
  struct calllog_site *s;
  while ((s = pb_map_next(cl->sites, &pos, NULL))) {
    if (s->running && !s->waiting) {
      pb_timer_disarm(s->retry);
      send_page(s);
    } else if (!s->running) {
      calllog_backfill_start(s, "yeastar-gateway is back");
    }
  }
}

/* The page's calls in one transaction. Records the contract does not
 * allow are counted and named once, not stored: asking again would bring
 * the same. */
static int store_page(struct calllog_site *s, json_t *cdrs, int64_t *added,
                      char *why, size_t whylen) {
  struct calllog *cl = s->cl;
  size_t i, bad = 0;
  json_t *item;
  char err[300] = "";
  if (pb_store_begin(cl->store)) {
    snprintf(why, whylen, "the database could not start a transaction");
    return PB_EDB;
  }
  json_array_foreach(cdrs, i, item) {
    struct pb_cdr c;
    char e[200];
    int prc = pb_cdr_from_json(item, &c, e, sizeof e);
    if (prc == 0 && strcmp(c.site, s->name) != 0) {
      snprintf(e, sizeof e, "field 'site' is '%s', not '%s'", c.site, s->name);
      prc = PB_EINVAL;
    }
    if (prc == 0) {
      bool was_added = false;
      if (calllog_store_add(cl->store, &c, &was_added)) {
        pb_store_rollback(cl->store);
        snprintf(why, whylen, "the database refused call %s", c.call_id);
        return PB_EDB;
      }
      *added += was_added;
      continue;
    }
    if (!bad++)
      snprintf(err, sizeof err, "cdrs[%zu]: %s", i, e);
  }
  if (pb_store_commit(cl->store)) {
    pb_store_rollback(cl->store);
    snprintf(why, whylen, "the database could not commit the page");
    return PB_EDB;
  }
  if (bad) {
    pb_warn("site %s: catch-up page %lld: %zu records not stored (%s)", s->name,
            (long long)s->page, bad, err);
    json_t *ev = json_object();
    json_object_set_new(ev, "site", json_string(s->name));
    json_object_set_new(
        ev, "error",
        json_sprintf("catch-up page %lld: %zu records not stored (%s)",
                     (long long)s->page, bad, err));
    cl->io.event(cl->io.ud, PB_EVENT_ERROR, ev);
  }
  return 0;
}

static void finish(struct calllog_site *s) {
  struct calllog *cl = s->cl;
  char a[40];
  if (calllog_store_set_cursor(cl->store, s->name, s->win_end)) {
    /* The calls are stored; the next run covers the window again. */
    pb_error("site %s: the catch-up cursor could not be saved", s->name);
  } else {
    s->cursor = s->win_end;
  }
  pb_info("site %s: caught up to %s: %lld calls read, %lld new, %lld pages",
          s->name, time_text(cl, s->win_end, a, sizeof a), (long long)s->seen,
          (long long)s->added, (long long)s->page);
  s->running = false;
  s->failures = 0;
  if (s->again)
    calllog_backfill_start(s, "asked again during the catch-up");
}

void calllog_backfill_answer(struct calllog_site *s, json_t *resp) {
  char why[300];
  s->waiting = false;
  if (!s->running)
    return;
  if (!resp) {
    snprintf(why, sizeof why, "no answer from %s in %lld ms",
             PB_SERVICE_GATEWAY, (long long)s->cl->set.request_timeout_ms);
    fail(s, why);
    return;
  }
  const char *status = pb_json_str(resp, "status");
  if (!status || strcmp(status, "ok") != 0) {
    const char *e = pb_json_str(resp, "error");
    snprintf(why, sizeof why, "%s answered: %s", PB_SERVICE_GATEWAY,
             e ? e : "an error without a message");
    fail(s, why);
    return;
  }
  json_t *data = json_object_get(resp, "data");
  json_t *cdrs = json_object_get(data, "cdrs");
  json_t *total = json_object_get(data, "total");
  if (!json_is_array(cdrs) || !json_is_integer(total)) {
    fail(s, "the answer has no 'cdrs' array or no 'total'");
    return;
  }
  int64_t added = 0;
  if (store_page(s, cdrs, &added, why, sizeof why)) {
    fail(s, why);
    return;
  }
  s->added += added;
  s->seen += (int64_t)json_array_size(cdrs);
  s->failures = 0;
  /* The gateway may cap the page size: its pages are counted in its size. */
  json_int_t ps = json_integer_value(json_object_get(data, "page_size"));
  if (ps <= 0)
    ps = s->cl->set.page_size;
  if (json_array_size(cdrs) == 0 || s->page * ps >= json_integer_value(total)) {
    finish(s);
    return;
  }
  s->page++;
  send_page(s);
}
