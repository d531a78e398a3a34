/* The call log's `stats` answer (docs/call-log.md): totals, per extension
 * and per outside number (calls, answered, missed, talk time, average and
 * longest, last calls) and per day, week or month in TIMEZONE. Counters are
 * summed by SQLite over the filter's index; periods are cut in C from one
 * pass over the calls in start order, since local midnights move with DST. */
#include <stdlib.h>
#include <string.h>

#include "calllog.h"
#include "pb/store.h"
#include "pb/tz.h"

struct counters {
  int64_t calls, answered, talk, longest;
};

static json_t *counters_json(const struct counters *c, json_t *obj) {
  json_object_set_new(obj, "calls", json_integer(c->calls));
  json_object_set_new(obj, "answered", json_integer(c->answered));
  json_object_set_new(obj, "missed", json_integer(c->calls - c->answered));
  json_object_set_new(obj, "talk_seconds", json_integer(c->talk));
  json_object_set_new(
      obj, "average_talk_seconds",
      json_integer(c->answered ? (c->talk + c->answered / 2) / c->answered
                               : 0));
  json_object_set_new(obj, "longest_talk_seconds", json_integer(c->longest));
  return obj;
}

/* The local start of the day, week (Monday) or month holding t. */
static int64_t period_floor(const struct pb_tz *tz, int64_t t,
                            enum calllog_group g) {
  struct pb_civil c;
  pb_tz_utc_to_local(tz, t, &c);
  int64_t days = pb_days_from_civil(c.year, c.month, c.day);
  if (g == CALLLOG_GROUP_WEEK)
    days -= (pb_weekday_from_days(days) + 6) % 7;
  else if (g == CALLLOG_GROUP_MONTH)
    days -= c.day - 1;
  struct pb_civil l = {0};
  pb_civil_from_days(days, &l.year, &l.month, &l.day);
  return pb_tz_local_to_utc(tz, &l);
}

static int64_t period_next(const struct pb_tz *tz, int64_t start,
                           enum calllog_group g) {
  struct pb_civil c;
  pb_tz_utc_to_local(tz, start, &c);
  int64_t days = pb_days_from_civil(c.year, c.month, c.day);
  struct pb_civil l = {0};
  if (g == CALLLOG_GROUP_MONTH) {
    l.year = c.month == 12 ? c.year + 1 : c.year;
    l.month = c.month == 12 ? 1 : c.month + 1;
    l.day = 1;
  } else {
    pb_civil_from_days(days + (g == CALLLOG_GROUP_WEEK ? 7 : 1), &l.year,
                       &l.month, &l.day);
  }
  return pb_tz_local_to_utc(tz, &l);
}

struct period {
  int64_t start;
  struct counters c;
};

/* One pass over the selected calls: the totals and each period's. */
static int stream(struct pb_store *store, const struct calllog_stats_req *r,
                  const struct pb_tz *tz, struct counters *total,
                  json_t *periods_out) {
  struct period *p = NULL;
  size_t n = 0;
  if (r->group != CALLLOG_GROUP_NONE) {
    p = calloc(CALLLOG_PERIODS_MAX, sizeof *p);
    if (!p)
      return PB_ENOMEM;
    for (int64_t t = period_floor(tz, r->f.from, r->group);
         t < r->f.to && n < CALLLOG_PERIODS_MAX;
         t = period_next(tz, t, r->group))
      p[n++].start = t;
  }
  struct pb_stmt *st = calllog_filter_stmt(store, CALLLOG_SQL_STREAM, &r->f);
  if (!st) {
    free(p);
    return PB_EDB;
  }
  size_t i = 0;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    int64_t start = pb_stmt_int(st, 0), talk = pb_stmt_int(st, 2);
    bool answered = pb_stmt_int(st, 1) != 0;
    struct counters *cs[2] = {total, NULL};
    if (n) {
      while (i + 1 < n && p[i + 1].start <= start)
        i++;
      cs[1] = &p[i].c;
    }
    for (int k = 0; k < 2 && cs[k]; k++) {
      cs[k]->calls++;
      cs[k]->answered += answered;
      cs[k]->talk += talk;
      if (talk > cs[k]->longest)
        cs[k]->longest = talk;
    }
  }
  for (size_t k = 0; k < n; k++) {
    json_t *o = json_object();
    pb_json_set_time_tz(o, "start", p[k].start, tz);
    json_object_set_new(o, "calls", json_integer(p[k].c.calls));
    json_object_set_new(o, "answered", json_integer(p[k].c.answered));
    json_object_set_new(o, "missed",
                        json_integer(p[k].c.calls - p[k].c.answered));
    json_object_set_new(o, "talk_seconds", json_integer(p[k].c.talk));
    json_array_append_new(periods_out, o);
  }
  free(p);
  return rc < 0 ? rc : 0;
}

/* Per extension (by_number false) or outside number: the top rows, each
 * with its last calls within the same filter. */
static int grouped(struct pb_store *store, const struct calllog_stats_req *r,
                   const struct pb_tz *tz, bool by_number, json_t *out) {
  struct pb_stmt *st = calllog_filter_stmt(
      store, by_number ? CALLLOG_SQL_BY_NUMBER : CALLLOG_SQL_BY_EXT, &r->f);
  if (!st || pb_stmt_bind_int(st, 11, r->top))
    return PB_EDB;
  int rc;
  while ((rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct counters c = {pb_stmt_int(st, 1), pb_stmt_int(st, 2),
                         pb_stmt_int(st, 3), pb_stmt_int(st, 4)};
    json_t *o = json_object();
    json_object_set_new(o, by_number ? "number" : "ext",
                        json_string(pb_stmt_text(st, 0)));
    json_array_append_new(out, counters_json(&c, o));
  }
  if (rc < 0)
    return rc;
  /* The last calls, once the grouping statement is done with. */
  size_t idx;
  json_t *o;
  json_array_foreach(out, idx, o) {
    const char *key =
        json_string_value(json_object_get(o, by_number ? "number" : "ext"));
    struct pb_stmt *last = calllog_filter_stmt(
        store, by_number ? CALLLOG_SQL_NUMBER_LAST : CALLLOG_SQL_EXT_LAST,
        &r->f);
    if (!last || pb_stmt_bind_text(last, 13, key))
      return PB_EDB;
    json_t *calls = json_array();
    json_object_set_new(o, "last_calls", calls);
    while ((rc = pb_stmt_step(last)) == PB_STMT_ROW) {
      struct pb_cdr cdr;
      calllog_cdr_from_row(last, &cdr);
      json_array_append_new(calls, pb_cdr_to_json(&cdr, tz));
    }
    if (rc < 0)
      return rc;
  }
  return 0;
}

json_t *calllog_stats_run(struct pb_store *store,
                          const struct calllog_stats_req *r,
                          const struct pb_tz *tz) {
  struct counters total = {0};
  json_t *out = json_object(), *exts = json_array(), *nums = json_array(),
         *periods = json_array();
  pb_json_set_time_tz(out, "from", r->f.from, tz);
  pb_json_set_time_tz(out, "to", r->f.to, tz);
  int rc = stream(store, r, tz, &total, periods);
  if (!rc)
    rc = grouped(store, r, tz, false, exts);
  if (!rc)
    rc = grouped(store, r, tz, true, nums);
  json_object_set_new(out, "totals", counters_json(&total, json_object()));
  json_object_set_new(out, "extensions", exts);
  json_object_set_new(out, "numbers", nums);
  json_object_set_new(out, "periods", periods);
  if (rc) {
    json_decref(out);
    return NULL;
  }
  return out;
}
