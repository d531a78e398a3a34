/* The audit log: one row per thing that happened, kept in web-api.db from
 * the bus events (R/events/<kind>, docs/topics.md, read by
 * handle_event.c) — statuses applied (old -> new, cause), overrides
 * set/cleared/expired (who, reason), apply and source failures, refused
 * commands — and from web-api's own actions
 * (logins, users, tokens, commands sent). Paginated by GET /api/logs; rows
 * older than WEB_AUDIT_RETENTION_DAYS are deleted every hour. Anyone on the
 * bus may publish an event, so its size is capped where it comes in
 * (WEB_EVENT_MAX_BYTES), and one GET /api/logs reads at most LOGS_MAX_BYTES
 * for at most LOGS_BUDGET_MS, then answers what it has with a cursor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/store.h"
#include "web.h"

#define PRUNE_EVERY_MS (3600 * 1000)
#define PER_PAGE_MAX 500
/* One answer of GET /api/logs: the loop is held for at most this long, and
 * the body holds about this many bytes of entries. */
#define LOGS_BUDGET_MS 200
#define LOGS_MAX_BYTES (4 * 1024 * 1024)

struct web_audit {
  struct pb_timer *prune;
};

void web_audit_add(struct web *w, const char *kind, const char *site,
                   const char *ext, const char *actor, const char *message,
                   json_t *data) {
  char *text = data ? pb_json_dump(data) : NULL;
  struct pb_stmt *st = pb_store_stmt(
      w->store, "INSERT INTO audit(at, kind, site, ext, actor, message, data) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!st || pb_stmt_bind_int(st, 1, pb_clock_now()) ||
      pb_stmt_bind_text(st, 2, kind) ||
      pb_stmt_bind_text(st, 3, site ? site : "") ||
      pb_stmt_bind_text(st, 4, ext ? ext : "") ||
      pb_stmt_bind_text(st, 5, actor ? actor : "") ||
      pb_stmt_bind_text(st, 6, message) ||
      (text ? pb_stmt_bind_text(st, 7, text) : pb_stmt_bind_null(st, 7)) ||
      pb_stmt_run(st))
    pb_warn("audit: cannot record '%s' (%s)", message, kind);
  free(text);
  json_decref(data);
}

static void prune(struct web *w) {
  int64_t days = pb_config_int(w->cfg, PB_CFG_WEB_AUDIT_RETENTION_DAYS);
  struct pb_stmt *st =
      pb_store_stmt(w->store, "DELETE FROM audit WHERE at < ?1");
  if (st && !pb_stmt_bind_int(st, 1, pb_clock_now() - days * 86400) &&
      !pb_stmt_run(st) && pb_store_changes(w->store) > 0)
    pb_info("audit: removed %lld entries older than %lld days",
            (long long)pb_store_changes(w->store), (long long)days);
}

static void on_prune(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  prune(ud);
  pb_timer_arm_in(t, PRUNE_EVERY_MS);
}

int web_audit_init(struct web *w) {
  struct web_audit *a = calloc(1, sizeof *a);
  if (!a)
    return PB_ENOMEM;
  w->audit = a;
  a->prune = pb_timer_new(w->loop, on_prune, w);
  if (!a->prune)
    return PB_ENOMEM;
  prune(w);
  pb_timer_arm_in(a->prune, PRUNE_EVERY_MS);
  return 0;
}

void web_audit_cleanup(struct web *w) {
  if (!w->audit)
    return;
  pb_timer_free(w->audit->prune);
  free(w->audit);
  w->audit = NULL;
}

/* ---- GET /api/logs ---- */

static int int_param(const struct web_request *req, const char *name,
                     int64_t def, int64_t min, int64_t max, int64_t *out,
                     struct web_response *resp) {
  const char *v = web_query(req, name);
  *out = def;
  if (!v)
    return 0;
  char *end;
  long long n = strtoll(v, &end, 10);
  if (!*v || *end || n < min || n > max) {
    web_reply_error(resp, 400,
                    "query parameter '%s' must be an integer from %lld to %lld",
                    name, (long long)min, (long long)max);
    return -1;
  }
  *out = n;
  return 0;
}

static int time_param(const struct web_request *req, const char *name,
                      int64_t *out, struct web_response *resp) {
  const char *v = web_query(req, name);
  *out = -1;
  if (!v)
    return 0;
  if (pb_time_parse_rfc3339(v, out)) {
    web_reply_error(resp, 400,
                    "query parameter '%s' must be an RFC 3339 time like "
                    "2026-11-23T08:00:00+01:00",
                    name);
    return -1;
  }
  return 0;
}

void web_get_logs(struct web *w, const struct web_request *req,
                  struct web_response *resp) {
  int64_t page, per_page, from, to, before;
  const char *ext = web_query(req, "extension");
  const char *site = web_query(req, "site");
  const char *kind = web_query(req, "kind");
  if (int_param(req, "page", 1, 1, 1000000, &page, resp) ||
      int_param(req, "per_page", 50, 1, PER_PAGE_MAX, &per_page, resp) ||
      int_param(req, "before", 0, 1, INT64_MAX, &before, resp) ||
      time_param(req, "from", &from, resp) || time_param(req, "to", &to, resp))
    return;
  if ((ext && !pb_topic_id_valid(ext)) || (site && !pb_topic_id_valid(site)) ||
      (kind && !pb_topic_id_valid(kind))) {
    web_reply_error(resp, 400,
                    "query parameters 'extension', 'site' and 'kind' must be "
                    "[A-Za-z0-9_-]");
    return;
  }
  /* With a cursor (`before`, from an earlier answer's next_before) the
   * entries are those below it: `page` does not apply. */
  if (before)
    page = 1;
#define WHERE                                                                  \
  " FROM audit WHERE (?1 IS NULL OR ext = ?1) AND (?2 IS NULL OR site = ?2)"   \
  " AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR at >= ?4)"                \
  " AND (?5 IS NULL OR at < ?5)"
  /* Two literals: the store caches statements by their SQL text. */
  static const char *const sqls[2] = {
      "SELECT COUNT(*)" WHERE,
      "SELECT id, at, kind, site, ext, actor, message, data" WHERE
      " AND (?8 IS NULL OR id < ?8) ORDER BY id DESC LIMIT ?6 OFFSET ?7"};
#undef WHERE
  int64_t total = 0, started = pb_clock_mono_ms(), last_id = 0;
  size_t bytes = 0, n = 0;
  bool truncated = false;
  json_t *entries = json_array();
  for (int pass = 0; pass < 2; pass++) {
    struct pb_stmt *st = pb_store_stmt(w->store, sqls[pass]);
    if (!st ||
        (ext ? pb_stmt_bind_text(st, 1, ext) : pb_stmt_bind_null(st, 1)) ||
        (site ? pb_stmt_bind_text(st, 2, site) : pb_stmt_bind_null(st, 2)) ||
        (kind ? pb_stmt_bind_text(st, 3, kind) : pb_stmt_bind_null(st, 3)) ||
        (from >= 0 ? pb_stmt_bind_int(st, 4, from)
                   : pb_stmt_bind_null(st, 4)) ||
        (to >= 0 ? pb_stmt_bind_int(st, 5, to) : pb_stmt_bind_null(st, 5)) ||
        (pass && (pb_stmt_bind_int(st, 6, per_page) ||
                  pb_stmt_bind_int(st, 7, (page - 1) * per_page) ||
                  (before ? pb_stmt_bind_int(st, 8, before)
                          : pb_stmt_bind_null(st, 8))))) {
      json_decref(entries);
      web_reply_error(resp, 503, "cannot read the audit log");
      return;
    }
    while (pb_stmt_step(st) == PB_STMT_ROW) {
      if (!pass) {
        total = pb_stmt_int(st, 0);
        continue;
      }
      last_id = pb_stmt_int(st, 0);
      json_t *e = json_pack("{s:I}", "id", (json_int_t)last_id);
      pb_json_set_time_tz(e, "at", pb_stmt_int(st, 1), w->tz);
      json_object_set_new(e, "kind", json_string(pb_stmt_text(st, 2)));
      json_object_set_new(e, "site", json_string(pb_stmt_text(st, 3)));
      json_object_set_new(e, "extension", json_string(pb_stmt_text(st, 4)));
      json_object_set_new(e, "actor", json_string(pb_stmt_text(st, 5)));
      const char *message = pb_stmt_text(st, 6);
      json_object_set_new(e, "message", json_string(message));
      const char *data = pb_stmt_is_null(st, 7) ? NULL : pb_stmt_text(st, 7);
      size_t dlen = data ? strlen(data) : 0;
      json_t *dj = data ? pb_json_parse(data, dlen, NULL, 0) : NULL;
      json_object_set_new(e, "data", dj ? dj : json_null());
      json_array_append_new(entries, e);
      n++;
      bytes += strlen(message) + dlen + 200;
      if ((bytes >= LOGS_MAX_BYTES ||
           pb_clock_mono_ms() - started >= LOGS_BUDGET_MS) &&
          n < (size_t)per_page) {
        truncated = true;
        /* Fetching the statement again resets it: its read transaction
         * ends without reading the rows left. */
        pb_store_stmt(w->store, sqls[pass]);
        break;
      }
    }
  }
  if (truncated)
    pb_info("GET /api/logs: answered %zu entries of %lld asked (%zu bytes, "
            "%lld ms): truncated",
            n, (long long)per_page, bytes,
            (long long)(pb_clock_mono_ms() - started));
  json_t *out =
      json_pack("{s:I,s:I,s:I,s:I,s:o,s:b}", "page", (json_int_t)page,
                "per_page", (json_int_t)per_page, "total", (json_int_t)total,
                "pages", (json_int_t)((total + per_page - 1) / per_page),
                "entries", entries, "truncated", truncated);
  /* Where the next answer starts: the oldest id of this one. */
  json_object_set_new(out, "next_before",
                      n && (truncated || n == (size_t)per_page)
                          ? json_integer(last_id)
                          : json_null());
  web_reply_json(resp, 200, out);
}
