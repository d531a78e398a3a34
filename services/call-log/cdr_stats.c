/* The call log's `stats` answer (docs/call-log.md): totals, per extension
 * and per outside number (calls, answered, missed, talk time, average and
 * longest, last calls) and per day, week or month in TIMEZONE. One pass over
 * the selected calls in start order (by the filter's index) feeds every
 * counter, each key's last calls (the newest ids seen) and the periods,
 * whose local midnights move with DST; then only the calls shown are read
 * whole. A month of a thousand extensions is one scan, not a query each. */
#include <stdint.h>
#include <stdio.h>
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

/* One extension's or outside number's counters and newest call ids. */
struct agg {
  struct counters c;
  int64_t last[CALLLOG_LAST_CALLS]; /* a ring: last[(seen - 1) % N] newest */
  int64_t seen;
  char key[PB_NUMBER_MAX];
};

/* The aggregates by key: one array and an open-addressing index into it,
 * so a month with 60,000 outside numbers costs two allocations that grow,
 * not two per number. */
struct aggs {
  struct agg *v;
  size_t n, cap;
  uint32_t *slots; /* index + 1 into v; 0: empty */
  size_t nslots;   /* a power of two, at least twice n */
};

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static int place(struct aggs *t, size_t idx) {
  size_t mask = t->nslots - 1, i = hash(t->v[idx].key) & mask;
  while (t->slots[i])
    i = (i + 1) & mask;
  t->slots[i] = (uint32_t)(idx + 1);
  return 0;
}

static struct agg *agg_get(struct aggs *t, const char *key) {
  if ((t->n + 1) * 2 > t->nslots) {
    size_t ns = t->nslots ? t->nslots * 2 : 1024;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots || ns > UINT32_MAX)
      return free(slots), NULL;
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    for (size_t k = 0; k < t->n; k++)
      place(t, k);
  }
  size_t mask = t->nslots - 1, i = hash(key) & mask;
  for (; t->slots[i]; i = (i + 1) & mask)
    if (strcmp(t->v[t->slots[i] - 1].key, key) == 0)
      return &t->v[t->slots[i] - 1];
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    struct agg *v = realloc(t->v, cap * sizeof *v);
    if (!v)
      return NULL;
    t->v = v;
    t->cap = cap;
  }
  struct agg *a = &t->v[t->n];
  memset(a, 0, sizeof *a);
  snprintf(a->key, sizeof a->key, "%s", key);
  t->slots[i] = (uint32_t)(++t->n);
  return a;
}

static void count(struct counters *c, bool answered, int64_t talk) {
  c->calls++;
  c->answered += answered;
  c->talk += talk;
  if (talk > c->longest)
    c->longest = talk;
}

static int tally(struct aggs *t, const char *key, bool answered, int64_t talk,
                 int64_t id) {
  struct agg *a = agg_get(t, key);
  if (!a)
    return PB_ENOMEM;
  count(&a->c, answered, talk);
  a->last[a->seen++ % CALLLOG_LAST_CALLS] = id;
  return 0;
}

static void aggs_free(struct aggs *t) {
  free(t->v);
  free(t->slots);
}

static int by_calls(const void *x, const void *y) {
  const struct agg *a = *(const struct agg *const *)x;
  const struct agg *b = *(const struct agg *const *)y;
  if (a->c.calls != b->c.calls)
    return a->c.calls > b->c.calls ? -1 : 1;
  return strcmp(a->key, b->key);
}

/* The `top` keys with the most calls, most first (NULL: no memory). */
static const struct agg **rank(const struct aggs *t, int64_t top,
                               size_t *count) {
  const struct agg **r = calloc(t->n ? t->n : 1, sizeof *r);
  if (!r)
    return NULL;
  for (size_t k = 0; k < t->n; k++)
    r[k] = &t->v[k];
  qsort(r, t->n, sizeof *r, by_calls);
  *count = (int64_t)t->n < top ? t->n : (size_t)top;
  return r;
}

static int64_t last_id(const struct agg *a, int64_t j) {
  return a->last[(a->seen - j) % CALLLOG_LAST_CALLS];
}

static int64_t shown_count(const struct agg *a) {
  return a->seen < CALLLOG_LAST_CALLS ? a->seen : CALLLOG_LAST_CALLS;
}

/* The calls the lists show, read once each and in id order (ids follow
 * the ring time, so the month's pages are read in turn rather than at
 * random), each shared by every list that shows it. */
struct shown {
  int64_t *ids;
  json_t **json;
  size_t n;
};

static int by_id(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return a < b ? -1 : a > b;
}

static int shown_load(struct pb_store *store, struct shown *s,
                      const struct agg *const *lists[2], const size_t n[2],
                      const struct pb_tz *tz) {
  size_t cap = (n[0] + n[1]) * CALLLOG_LAST_CALLS;
  s->ids = calloc(cap ? cap : 1, sizeof *s->ids);
  if (!s->ids)
    return PB_ENOMEM;
  for (int l = 0; l < 2; l++)
    for (size_t k = 0; k < n[l]; k++)
      for (int64_t j = 1; j <= shown_count(lists[l][k]); j++)
        s->ids[s->n++] = last_id(lists[l][k], j);
  qsort(s->ids, s->n, sizeof *s->ids, by_id);
  size_t u = 0;
  for (size_t k = 0; k < s->n; k++)
    if (u == 0 || s->ids[u - 1] != s->ids[k])
      s->ids[u++] = s->ids[k];
  s->n = u;
  s->json = calloc(u ? u : 1, sizeof *s->json);
  if (!s->json)
    return PB_ENOMEM;
  for (size_t k = 0; k < u; k++) {
    struct pb_stmt *st = pb_store_stmt(store, "SELECT " CALLLOG_CDR_COLUMNS
                                              " FROM cdrs WHERE id = ?1");
    if (!st || pb_stmt_bind_int(st, 1, s->ids[k]))
      return PB_EDB;
    int step = pb_stmt_step(st);
    if (step < 0)
      return step;
    if (step == PB_STMT_ROW) {
      struct pb_cdr cdr;
      calllog_cdr_from_row(st, &cdr);
      s->json[k] = pb_cdr_to_json(&cdr, tz);
    }
  }
  return 0;
}

static void shown_free(struct shown *s) {
  for (size_t k = 0; s->json && k < s->n; k++)
    json_decref(s->json[k]);
  free(s->json);
  free(s->ids);
}

static void emit(const struct agg *const *r, size_t n, const char *name,
                 const struct shown *s, json_t *out) {
  for (size_t k = 0; k < n; k++) {
    json_t *o = json_object(), *calls = json_array();
    json_object_set_new(o, name, json_string(r[k]->key));
    json_array_append_new(out, counters_json(&r[k]->c, o));
    json_object_set_new(o, "last_calls", calls);
    for (int64_t j = 1; j <= shown_count(r[k]); j++) {
      int64_t id = last_id(r[k], j);
      const int64_t *at = bsearch(&id, s->ids, s->n, sizeof id, by_id);
      if (at && s->json[at - s->ids])
        json_array_append(calls, s->json[at - s->ids]);
    }
  }
}

/* The extensions' and numbers' lists, each key with its last calls. */
static int lists_json(struct pb_store *store, const struct aggs *exts,
                      const struct aggs *nums, int64_t top,
                      const struct pb_tz *tz, json_t *e, json_t *nu) {
  size_t n[2] = {0, 0};
  const struct agg **r[2] = {rank(exts, top, &n[0]), rank(nums, top, &n[1])};
  struct shown s = {0};
  int rc = r[0] && r[1] ? 0 : PB_ENOMEM;
  if (!rc) {
    const struct agg *const *lists[2] = {r[0], r[1]};
    rc = shown_load(store, &s, lists, n, tz);
  }
  if (!rc) {
    emit(r[0], n[0], "ext", &s, e);
    emit(r[1], n[1], "number", &s, nu);
  }
  shown_free(&s);
  free(r[0]);
  free(r[1]);
  return rc;
}

/* One pass over the selected calls: totals, periods, extensions, numbers. */
static int stream(struct pb_store *store, const struct calllog_stats_req *r,
                  const struct pb_tz *tz, json_t *out) {
  struct counters total = {0};
  struct period *p = NULL;
  size_t n = 0;
  struct aggs exts = {0}, nums = {0};
  int rc = 0;
  if (!rc && r->group != CALLLOG_GROUP_NONE) {
    p = calloc(CALLLOG_PERIODS_MAX, sizeof *p);
    if (!p)
      rc = PB_ENOMEM;
    for (int64_t t = period_floor(tz, r->f.from, r->group);
         p && t < r->f.to && n < CALLLOG_PERIODS_MAX;
         t = period_next(tz, t, r->group))
      p[n++].start = t;
  }
  struct pb_stmt *st =
      rc ? NULL : calllog_filter_stmt(store, CALLLOG_SQL_STREAM, &r->f);
  if (!rc && !st)
    rc = PB_EDB;
  size_t i = 0;
  while (!rc && (rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    rc = 0;
    int64_t start = pb_stmt_int(st, 0), talk = pb_stmt_int(st, 2);
    int64_t id = pb_stmt_int(st, 5);
    bool answered = pb_stmt_int(st, 1) != 0;
    count(&total, answered, talk);
    if (n) {
      while (i + 1 < n && p[i + 1].start <= start)
        i++;
      count(&p[i].c, answered, talk);
    }
    if (!pb_stmt_is_null(st, 3))
      rc = tally(&exts, pb_stmt_text(st, 3), answered, talk, id);
    if (!rc && !pb_stmt_is_null(st, 4))
      rc = tally(&nums, pb_stmt_text(st, 4), answered, talk, id);
  }
  json_t *periods = json_array(), *e = json_array(), *nu = json_array();
  json_object_set_new(out, "totals", counters_json(&total, json_object()));
  json_object_set_new(out, "extensions", e);
  json_object_set_new(out, "numbers", nu);
  json_object_set_new(out, "periods", periods);
  if (rc == PB_STMT_DONE)
    rc = lists_json(store, &exts, &nums, r->top, tz, e, nu);
  for (size_t k = 0; k < n && !rc; k++) {
    json_t *o = json_object();
    pb_json_set_time_tz(o, "start", p[k].start, tz);
    json_object_set_new(o, "calls", json_integer(p[k].c.calls));
    json_object_set_new(o, "answered", json_integer(p[k].c.answered));
    json_object_set_new(o, "missed",
                        json_integer(p[k].c.calls - p[k].c.answered));
    json_object_set_new(o, "talk_seconds", json_integer(p[k].c.talk));
    json_array_append_new(periods, o);
  }
  free(p);
  aggs_free(&exts);
  aggs_free(&nums);
  return rc;
}

json_t *calllog_stats_run(struct pb_store *store,
                          const struct calllog_stats_req *r,
                          const struct pb_tz *tz) {
  json_t *out = json_object();
  pb_json_set_time_tz(out, "from", r->f.from, tz);
  pb_json_set_time_tz(out, "to", r->f.to, tz);
  /* One read transaction: the thousands of small reads of the last calls
   * take SQLite's locks once, and see the same log as the scan. */
  int rc = pb_store_begin(store);
  if (!rc) {
    rc = stream(store, r, tz, out);
    if (pb_store_commit(store))
      pb_store_rollback(store);
  }
  if (rc) {
    json_decref(out);
    return NULL;
  }
  return out;
}
