/* A feed's own VTIMEZONE (RFC 5545 §3.6.5), for TZIDs that are neither IANA
 * nor Windows names: each STANDARD/DAYLIGHT observance's onsets (DTSTART,
 * its RRULE, its RDATEs, all in local time before the change) become a
 * sorted list of UTC transitions, read like a TZif file. Local times follow
 * §3.3.5: a repeated one is its first occurrence, one in a gap takes the
 * offset before the gap. Not libical's icaltimezone: built with ICU, every
 * libical recurrence iterator opens an ICU calendar (megabytes of RSS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar_int.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/tz.h"

#define MAX_OBSERVANCES 1000
#define MAX_TRANSITIONS 20000
#define OFF_LIMIT (26 * 3600) /* RFC 5545 utc-offset: under 24 h */

struct transition {
  int64_t utc;
  int32_t from, to;
};

struct cal_vtz {
  struct transition *t;
  size_t n;
};

struct observance {
  bool has_start, has_from, has_to;
  struct cal_time start;
  int32_t from, to;
  struct cal_rule rule;
  bool has_rule;
  size_t rdate_first, rdate_count;
};

struct build {
  struct cal_vtz *z;
  size_t cap;
  struct cal_value *rdates;
  size_t n_rdates, cap_rdates;
  int end_year;
};

/* "+0100", "-0530", "+013045" (§3.3.14). */
static int parse_offset(const char *s, size_t len, int32_t *out) {
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  if ((len != 5 && len != 7) || (s[0] != '+' && s[0] != '-'))
    return PB_EPARSE;
  int v[3] = {0, 0, 0};
  for (size_t i = 1; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return PB_EPARSE;
    v[(i - 1) / 2] = v[(i - 1) / 2] * 10 + (s[i] - '0');
  }
  if (v[1] > 59 || v[2] > 59)
    return PB_ERANGE;
  int32_t off = v[0] * 3600 + v[1] * 60 + v[2];
  if (off >= OFF_LIMIT)
    return PB_ERANGE;
  *out = s[0] == '-' ? -off : off;
  return 0;
}

static int add_transition(struct build *b, int64_t utc, int32_t from,
                          int32_t to) {
  struct cal_vtz *z = b->z;
  if (z->n == MAX_TRANSITIONS)
    return 0; /* enough for centuries: the last offset then holds */
  int rc =
      pb_array_grow(&z->t, &b->cap, z->n + 1, sizeof *z->t, MAX_TRANSITIONS);
  if (rc)
    return rc;
  z->t[z->n++] = (struct transition){utc, from, to};
  return 0;
}

/* Every onset of one observance, up to the end of b->end_year. */
static int onsets(struct build *b, struct observance *o) {
  int64_t start = o->start.day * CAL_DAY + o->start.sec;
  int rc = add_transition(
      b, o->start.kind == CAL_T_UTC ? start : start - o->from, o->from, o->to);
  if (rc)
    return rc;
  int64_t last_day = pb_days_from_civil(b->end_year, 12, 31);
  if (o->has_rule) {
    struct cal_recur_setup s = {.rule = &o->rule,
                                .day = o->start.day,
                                .sec = o->start.sec,
                                .from_day = o->start.day,
                                .stop_day = last_day,
                                .count = o->rule.count};
    if (o->rule.has_until) {
      /* A UTC UNTIL is read in the local time before the change. */
      int64_t u = o->rule.until.day * CAL_DAY + o->rule.until.sec;
      if (o->rule.until.kind == CAL_T_UTC)
        u += o->from;
      if (o->rule.until.kind == CAL_T_DATE)
        u += CAL_DAY - 1;
      s.has_until = true;
      s.until_day = u / CAL_DAY - (u % CAL_DAY < 0);
      s.until_sec = (int32_t)(u - s.until_day * CAL_DAY);
    }
    struct cal_recur *it;
    if ((rc = cal_recur_new(&s, &it)))
      return rc;
    int64_t d;
    int32_t sec;
    int r;
    while ((r = cal_recur_next(it, &d, &sec)) == 1)
      if ((rc = add_transition(b, d * CAL_DAY + sec - o->from, o->from, o->to)))
        break;
    cal_recur_free(it);
    if (rc)
      return rc;
  }
  for (size_t i = 0; i < o->rdate_count; i++) {
    const struct cal_time *t = &b->rdates[o->rdate_first + i].t;
    int64_t l = t->day * CAL_DAY + t->sec;
    if ((rc = add_transition(b, t->kind == CAL_T_UTC ? l : l - o->from, o->from,
                             o->to)))
      return rc;
  }
  return 0;
}

static int cmp_transition(const void *a, const void *b) {
  const struct transition *p = a, *q = b;
  return p->utc < q->utc ? -1 : p->utc > q->utc;
}

static int observance_line(struct build *b, struct observance *o,
                           const struct cal_line *l, char *err, size_t errlen) {
  if (cal_name_is(l->name, l->name_len, "DTSTART")) {
    if (cal_parse_time(l->value, l->value_len, false, &o->start) ||
        o->start.kind == CAL_T_DATE) {
      snprintf(err, errlen, "line %d: bad DTSTART", l->line);
      return PB_EPARSE;
    }
    o->has_start = true;
  } else if (cal_name_is(l->name, l->name_len, "TZOFFSETFROM")) {
    if (parse_offset(l->value, l->value_len, &o->from)) {
      snprintf(err, errlen, "line %d: bad TZOFFSETFROM", l->line);
      return PB_EPARSE;
    }
    o->has_from = true;
  } else if (cal_name_is(l->name, l->name_len, "TZOFFSETTO")) {
    if (parse_offset(l->value, l->value_len, &o->to)) {
      snprintf(err, errlen, "line %d: bad TZOFFSETTO", l->line);
      return PB_EPARSE;
    }
    o->has_to = true;
  } else if (cal_name_is(l->name, l->name_len, "RRULE") && l->value_len) {
    char why[160];
    if (cal_rule_parse(l->value, l->value_len, &o->rule, why, sizeof why)) {
      snprintf(err, errlen, "line %d: RRULE: %s", l->line, why);
      return PB_EPARSE;
    }
    o->has_rule = true;
  } else if (cal_name_is(l->name, l->name_len, "RDATE")) {
    const char *p = l->value, *end = l->value + l->value_len;
    while (p < end) {
      const char *comma = memchr(p, ',', (size_t)(end - p));
      const char *stop = comma ? comma : end;
      struct cal_value v;
      if (stop > p &&
          cal_parse_value(p, (size_t)(stop - p), false, true, &v) == 0 &&
          v.t.kind != CAL_T_DATE) {
        int rc = pb_array_grow(&b->rdates, &b->cap_rdates, b->n_rdates + 1,
                               sizeof *b->rdates, MAX_TRANSITIONS);
        if (rc)
          return rc;
        b->rdates[b->n_rdates++] = v;
        o->rdate_count++;
      }
      p = stop + 1;
    }
  }
  return 0;
}

int cal_vtz_new(const char *text, size_t len, int end_year,
                struct cal_vtz **out, char *err, size_t errlen) {
  *out = NULL;
  struct cal_vtz *z = calloc(1, sizeof *z);
  if (!z)
    return PB_ENOMEM;
  struct build b = {.z = z, .end_year = end_year};
  struct cal_lines lr;
  struct cal_line l;
  struct observance o;
  bool in_obs = false;
  int rc = 0, count = 0;
  cal_lines_init(&lr, text, len);
  while (rc == 0 && cal_lines_next(&lr, NULL, NULL, &l) == 1) {
    if (!l.value)
      continue;
    bool begin = cal_name_is(l.name, l.name_len, "BEGIN");
    bool endl = cal_name_is(l.name, l.name_len, "END");
    bool obs = (l.value_len == 8 && strncasecmp(l.value, "STANDARD", 8) == 0) ||
               (l.value_len == 8 && strncasecmp(l.value, "DAYLIGHT", 8) == 0);
    if (begin && obs) {
      if (++count > MAX_OBSERVANCES) {
        snprintf(err, errlen, "more than %d observances", MAX_OBSERVANCES);
        rc = PB_ETOOBIG;
        break;
      }
      memset(&o, 0, sizeof o);
      o.rdate_first = b.n_rdates;
      in_obs = true;
    } else if (endl && obs && in_obs) {
      in_obs = false;
      if (!o.has_start || !o.has_from || !o.has_to) {
        snprintf(err, errlen,
                 "line %d: an observance needs DTSTART, "
                 "TZOFFSETFROM and TZOFFSETTO",
                 l.line);
        rc = PB_EPARSE;
        break;
      }
      rc = onsets(&b, &o);
    } else if (in_obs) {
      rc = observance_line(&b, &o, &l, err, errlen);
    }
  }
  cal_lines_cleanup(&lr);
  free(b.rdates);
  if (rc == 0 && z->n == 0) {
    snprintf(err, errlen, "no STANDARD or DAYLIGHT observance");
    rc = PB_EPARSE;
  }
  if (rc) {
    cal_vtz_free(z);
    return rc;
  }
  qsort(z->t, z->n, sizeof *z->t, cmp_transition);
  *out = z;
  return 0;
}

void cal_vtz_free(struct cal_vtz *z) {
  if (!z)
    return;
  free(z->t);
  free(z);
}

/* The offset in force at `utc`, and when the next change comes. */
static int32_t lookup(const struct cal_vtz *z, int64_t utc, int64_t *next) {
  size_t lo = 0, hi = z->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (z->t[mid].utc <= utc)
      lo = mid + 1;
    else
      hi = mid;
  }
  *next = lo < z->n ? z->t[lo].utc : INT64_MAX;
  /* Before the first onset, the offset it changes from. */
  return lo ? z->t[lo - 1].to : z->t[0].from;
}

void cal_vtz_from_utc(const struct cal_vtz *z, int64_t utc, int64_t *day,
                      int32_t *sec) {
  int64_t next;
  int64_t local = utc + lookup(z, utc, &next);
  int64_t d = local / CAL_DAY - (local % CAL_DAY < 0);
  *day = d;
  *sec = (int32_t)(local - d * CAL_DAY);
}

int64_t cal_vtz_to_utc(const struct cal_vtz *z, int64_t day, int32_t sec) {
  int64_t l = day * CAL_DAY + sec;
  int64_t s = l - OFF_LIMIT, e;
  int32_t off = lookup(z, s, &e), before = off;
  for (int i = 0; i < 64; i++) {
    int64_t t = l - off;
    if (t >= s && t < e)
      return t;
    if (t >= e)
      before = off;
    if (e > l + OFF_LIMIT)
      break;
    s = e;
    off = lookup(z, s, &e);
  }
  return l - before;
}
