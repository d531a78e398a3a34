/* From event records to occurrences in the window (RFC 5545 §3.8.5): the
 * recurrence set is DTSTART, the RRULE instances and the RDATEs, less the
 * EXDATEs; a RECURRENCE-ID event replaces the instance it names (§3.8.4.4),
 * RANGE=THISANDFUTURE also moves the instances after it, and a cancelled or
 * transparent replacement removes its instance. Each instance is produced
 * once: replaced instances are never also emitted, which is what a naive
 * icalcomponent_foreach_recurrence gets wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar_int.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/tz.h"

struct cand {
  int64_t day;
  int32_t sec;
  bool has_end;
  int64_t end; /* an RDATE period's own end: UTC, or a day */
  int64_t key; /* UTC start, or the local day for all-day events */
  bool excluded;
};

struct texts {
  size_t ev; /* event index + 1 whose texts are decoded, 0: none */
  char *uid, *summary, *location, *description, *categories, *busystatus;
};

struct xp {
  struct cal_reader *rd;
  cal_occurrence_cb *cb;
  void *ud;
  struct cal_overrides ov; /* replacements, by UID */
  struct cand *cands;
  size_t n_cands, cap_cands, cand_cap;
  bool too_many;
  int64_t lo, hi; /* instants an instance may start between */
  struct texts main, range;
  int64_t *ex_keys, *ex_days; /* one event's EXDATEs: instants, days */
  size_t n_keys, n_days, cap_keys, cap_days;
  int rc;
};

static bool in_window(const struct cal_options *o, const struct cal_place *s) {
  if (s->start == s->end)
    return s->start >= o->from && s->start < o->to;
  return s->start < o->to && s->end > o->from;
}

/* ---- texts and emission ---- */

static int texts_init(struct texts *t) {
  char **f[] = {&t->uid,         &t->summary,    &t->location,
                &t->description, &t->categories, &t->busystatus};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (!(*f[i] = malloc(CAL_TEXT_MAX)))
      return PB_ENOMEM;
  return 0;
}

static void texts_cleanup(struct texts *t) {
  free(t->uid);
  free(t->summary);
  free(t->location);
  free(t->description);
  free(t->categories);
  free(t->busystatus);
}

static const char *text(const struct cal_reader *rd, struct cal_span s,
                        char *buf) {
  if (!s.len)
    return NULL;
  cal_span_text(rd, s, buf, CAL_TEXT_MAX);
  return buf;
}

static void decode(const struct cal_reader *rd, size_t idx, struct texts *t,
                   struct cal_event_info *info) {
  const struct cal_event *ev = &rd->events[idx];
  if (t->ev != idx + 1) {
    t->ev = idx + 1;
    text(rd, ev->uid, t->uid);
    text(rd, ev->summary, t->summary);
    text(rd, ev->location, t->location);
    text(rd, ev->description, t->description);
    text(rd, ev->busystatus, t->busystatus);
    size_t n = 0;
    t->categories[0] = '\0';
    for (uint32_t i = 0; i < ev->cat_count && n + 2 < CAL_TEXT_MAX; i++) {
      if (n)
        t->categories[n++] = ',';
      n += cal_span_text(rd, rd->cats[ev->cat_first + i], t->categories + n,
                         CAL_TEXT_MAX - n);
    }
  }
  info->uid = ev->uid.len ? t->uid : NULL;
  info->summary = ev->summary.len ? t->summary : NULL;
  info->location = ev->location.len ? t->location : NULL;
  info->description = ev->description.len ? t->description : NULL;
  info->categories = ev->cat_count ? t->categories : NULL;
  info->busystatus = ev->busystatus.len ? t->busystatus : NULL;
}

static void civil_ymd(int64_t day, int *out) {
  int y, m, d;
  pb_civil_from_days(day, &y, &m, &d);
  *out = y * 10000 + m * 100 + d;
}

static int emit(struct xp *x, size_t idx, struct texts *t,
                const struct cal_frame *f, const struct cal_place *s) {
  struct cal_reader *rd = x->rd;
  if (!in_window(rd->opts, s))
    return 0;
  if (rd->emitted >= rd->max_occurrences) {
    snprintf(rd->err, rd->errlen, "more than %zu occurrences in the window",
             rd->max_occurrences);
    return PB_ETOOBIG;
  }
  rd->emitted++;
  struct cal_occurrence o;
  memset(&o, 0, sizeof o);
  o.start = s->start;
  o.end = s->end;
  o.all_day = f->is_date;
  if (f->is_date) {
    civil_ymd(s->day, &o.start_date);
    civil_ymd(s->end_day, &o.end_date);
  }
  decode(rd, idx, t, &o.ev);
  return x->cb(&o, x->ud);
}

/* Cancelled events, and transparent ones (free time, RFC 5545 §3.8.2.7),
 * hold no slot. */
static bool ignored(const struct cal_reader *rd, const struct cal_event *ev) {
  return !rd->opts->include_ignored &&
         (ev->flags & (CAL_EV_CANCELLED | CAL_EV_TRANSPARENT));
}

/* ---- the recurrence set of one event ---- */

/* One more candidate instance of the current event. Past cand_cap the
 * event alone holds more occurrences than the reading allows: refused. */
static int add_cand(struct xp *x, int64_t day, int32_t sec, bool has_end,
                    int64_t end) {
  if (x->n_cands >= x->cand_cap) {
    x->too_many = true;
    return PB_ETOOBIG;
  }
  int rc = pb_array_grow(&x->cands, &x->cap_cands, x->n_cands + 1,
                         sizeof *x->cands, x->cand_cap);
  if (rc)
    return rc;
  x->cands[x->n_cands++] =
      (struct cand){.day = day, .sec = sec, .has_end = has_end, .end = end};
  return 0;
}

static int cmp_cand(const void *a, const void *b) {
  const struct cand *p = a, *q = b;
  if (p->key != q->key)
    return p->key < q->key ? -1 : 1;
  return (int)q->has_end - (int)p->has_end; /* an RDATE period first */
}

static int cmp_i64(const void *a, const void *b) {
  int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;
  return p < q ? -1 : p > q;
}

/* The instances of each RRULE between from_day and stop_day. */
static int rule_instances(struct xp *x, const struct cal_event *ev,
                          const struct cal_frame *f, int64_t from_day,
                          int64_t stop_day, bool *bad) {
  struct cal_reader *rd = x->rd;
  for (uint32_t i = 0; i < ev->rrule_count; i++) {
    char text[8192], why[160];
    struct cal_rule rule;
    cal_span_value(rd, rd->rrules[ev->rrule_first + i], text, sizeof text);
    if (cal_rule_parse(text, strlen(text), &rule, why, sizeof why)) {
      cal_warn(rd, ev->line,
               "the event of line %d is skipped: RRULE '%.60s': %s", ev->line,
               text, why);
      *bad = true;
      return 0;
    }
    struct cal_recur_setup s = {.rule = &rule,
                                .day = f->d0,
                                .sec = f->s0,
                                .is_date = f->is_date,
                                .from_day = from_day,
                                .stop_day = stop_day,
                                .count = rule.count};
    if (rule.has_until) {
      /* UNTIL bounds inclusively (§3.3.10); a DATE bounds its whole day. */
      s.has_until = true;
      s.until_day = rule.until.day;
      s.until_sec = rule.until.sec;
      if (rule.until.kind == CAL_T_UTC)
        cal_zone_from_utc(f->zone, rule.until.day * CAL_DAY + rule.until.sec,
                          &s.until_day, &s.until_sec);
      if (rule.until.kind == CAL_T_DATE || f->is_date)
        s.until_sec = CAL_DAY - 1;
    }
    struct cal_recur *it;
    int rc = cal_recur_new(&s, &it);
    if (rc)
      return rc;
    int64_t day;
    int32_t sec;
    while ((rc = cal_recur_next(it, &day, &sec)) == 1) {
      /* Days of margin were asked for: keep only what can reach the window. */
      int64_t at = cal_zone_to_utc(f->zone, day, f->is_date ? 0 : sec);
      if (day >= from_day && at >= x->lo && at <= x->hi &&
          (rc = add_cand(x, day, sec, false, 0)))
        break;
    }
    cal_recur_free(it);
    if (x->too_many)
      return PB_ETOOBIG;
    if (rc == PB_ETOOBIG)
      cal_warn(rd, ev->line,
               "RRULE '%.60s' needs too much work: its later "
               "instances are left out",
               text);
    else if (rc == PB_ERANGE)
      cal_warn(rd, ev->line,
               "RRULE '%.60s': a BYSETPOS period holds more than %d "
               "instants: its later instances are left out",
               text, CAL_SETPOS_PERIOD_MAX);
    else if (rc)
      return rc;
  }
  return 0;
}

static int exdates(struct xp *x, const struct cal_event *ev,
                   const struct cal_frame *f) {
  struct cal_reader *rd = x->rd;
  x->n_keys = x->n_days = 0;
  int rc = pb_array_grow(&x->ex_keys, &x->cap_keys, ev->exdate_count,
                         sizeof *x->ex_keys, CAL_ITEMS_MAX);
  if (!rc)
    rc = pb_array_grow(&x->ex_days, &x->cap_days, ev->exdate_count,
                       sizeof *x->ex_days, CAL_ITEMS_MAX);
  if (rc)
    return rc;
  for (uint32_t i = 0; i < ev->exdate_count; i++) {
    const struct cal_time *t = &rd->exdates[ev->exdate_first + i].t;
    if (t->kind == CAL_T_DATE || f->is_date)
      x->ex_days[x->n_days++] = cal_day_of(rd, ev, f, t, NULL);
    else
      x->ex_keys[x->n_keys++] = cal_utc_of(rd, ev, f, t);
  }
  if (x->n_keys)
    qsort(x->ex_keys, x->n_keys, sizeof *x->ex_keys, cmp_i64);
  if (x->n_days)
    qsort(x->ex_days, x->n_days, sizeof *x->ex_days, cmp_i64);
  return 0;
}

static bool excluded(const struct xp *x, int64_t key, int64_t day) {
  return (x->n_keys &&
          bsearch(&key, x->ex_keys, x->n_keys, sizeof key, cmp_i64)) ||
         (x->n_days &&
          bsearch(&day, x->ex_days, x->n_days, sizeof day, cmp_i64));
}

static int too_many(struct cal_reader *rd, const struct cal_event *ev) {
  snprintf(rd->err, rd->errlen,
           "more than %zu occurrences in the window (the event of line %d "
           "alone would pass it)",
           rd->max_occurrences, ev->line);
  return PB_ETOOBIG;
}

static int expand_master(struct xp *x, size_t idx) {
  struct cal_reader *rd = x->rd;
  const struct cal_event *ev = &rd->events[idx];
  if (ev->flags & CAL_EV_LOST)
    return 0; /* an older revision of a series written again */
  struct cal_frame f;
  cal_frame_of(rd, ev, &f);
  struct cal_length len = cal_length_of(rd, ev, &f);
  if (len.days < 0 || len.secs < 0)
    cal_warn(rd, ev->line,
             "the event ends before it starts: read from its end "
             "to its start");

  /* Its replacements, and how far a THISANDFUTURE one moves instances. */
  struct cal_overrides *ov = &x->ov;
  int64_t shift = 0;
  int rc = cal_overrides_prepare(ov, ev, &f);
  if (rc)
    return rc;
  for (size_t i = 0; i < ov->n_sorted; i++) {
    const struct cal_event *o = &rd->events[ov->sorted[i].ev];
    if (!(o->flags & CAL_EV_RANGE_FUTURE))
      continue;
    struct cal_frame of;
    cal_frame_of(rd, o, &of);
    int64_t d = (f.is_date ? of.d0 * CAL_DAY : of.start_utc) -
                (f.is_date ? ov->sorted[i].key * CAL_DAY : ov->sorted[i].key);
    struct cal_length ol = cal_length_of(rd, o, &of);
    d = (d < 0 ? -d : d) + (ol.days < 0 ? -ol.days : ol.days) * CAL_DAY +
        (ol.secs < 0 ? -ol.secs : ol.secs);
    if (d > shift)
      shift = d;
  }

  /* The local days whose instances can reach the window. */
  int64_t reach = (len.days < 0 ? -len.days : len.days) * CAL_DAY +
                  (len.secs < 0 ? -len.secs : len.secs) + shift;
  int64_t from_day, stop_day;
  int32_t sec;
  cal_zone_from_utc(f.zone, rd->opts->from - reach, &from_day, &sec);
  cal_zone_from_utc(f.zone, rd->opts->to + shift, &stop_day, &sec);
  from_day -= 1;
  stop_day += 1;
  x->lo = rd->opts->from - reach - CAL_DAY;
  x->hi = rd->opts->to + shift + CAL_DAY;
  /* Every candidate is emitted, or removed by an EXDATE or a replacement:
   * more than that many cannot fit in what is left of max_occurrences. */
  x->too_many = false;
  x->cand_cap = rd->max_occurrences - rd->emitted + ev->exdate_count +
                ov->n_sorted + 1024;

  x->n_cands = 0;
  rc = add_cand(x, f.d0, f.s0, false, 0);
  bool bad = false;
  if (!rc)
    rc = rule_instances(x, ev, &f, from_day, stop_day, &bad);
  if (rc == PB_ETOOBIG && x->too_many)
    return too_many(rd, ev);
  if (rc || bad)
    return rc;
  for (uint32_t i = 0; i < ev->rdate_count && !rc; i++) {
    const struct cal_value *v = &rd->rdates[ev->rdate_first + i];
    int32_t s;
    int64_t d = cal_day_of(rd, ev, &f, &v->t, &s);
    if (f.is_date)
      s = 0;
    if (d < from_day || d > stop_day)
      continue;
    if (v->period == 1 && !f.is_date)
      rc = add_cand(x, d, s, true, cal_utc_of(rd, ev, &f, &v->end));
    else if (v->period == 2 && !f.is_date)
      rc = add_cand(x, d, s, true,
                    (v->dur.days ? cal_zone_to_utc(f.zone, d + v->dur.days, s)
                                 : cal_zone_to_utc(f.zone, d, s)) +
                        v->dur.secs);
    else
      rc = add_cand(x, d, s, false, 0);
  }
  if (rc == PB_ETOOBIG && x->too_many)
    return too_many(rd, ev);
  if (rc)
    return rc;

  /* Keys, order, and one instance per start. */
  for (size_t i = 0; i < x->n_cands; i++) {
    struct cand *c = &x->cands[i];
    c->key = f.is_date ? c->day : cal_zone_to_utc(f.zone, c->day, c->sec);
  }
  qsort(x->cands, x->n_cands, sizeof *x->cands, cmp_cand);
  for (size_t i = 1; i < x->n_cands; i++)
    if (x->cands[i].key == x->cands[i - 1].key)
      x->cands[i].excluded = true;

  /* EXDATE: by instant, or by local day when either side is a date. */
  if ((rc = exdates(x, ev, &f)))
    return rc;
  for (size_t i = 0; i < x->n_cands; i++) {
    struct cand *c = &x->cands[i];
    if (excluded(x, c->key, c->day))
      c->excluded = true;
  }
  /* A newer revision of the series (higher SEQUENCE) that deletes an
   * instance also deletes an older replacement of it. */
  for (size_t i = 0; i < ov->n_sorted; i++) {
    struct cal_event *o = &rd->events[ov->sorted[i].ev];
    int64_t key = ov->sorted[i].key, day = key;
    if (!f.is_date)
      cal_zone_from_utc(f.zone, key, &day, &sec);
    if (o->sequence < ev->sequence && excluded(x, key, day)) {
      o->flags |= CAL_EV_LOST;
      ov->sorted[i].lost = true;
    }
  }

  bool skip_all = ignored(rd, ev);
  for (size_t i = 0; i < x->n_cands && !rc; i++) {
    const struct cand *c = &x->cands[i];
    if (c->excluded)
      continue;
    bool exact = false;
    const struct cal_ov *o =
        ov->n_sorted ? cal_overrides_find(ov, c->key, &exact) : NULL;
    if (exact)
      continue; /* its replacement stands in for it */
    int64_t start_utc = f.is_date ? 0 : c->key;
    struct cal_place s;
    if (o) {
      /* THISANDFUTURE: the later instances move and last as it does. */
      const struct cal_event *oe = &rd->events[o->ev];
      if (ignored(rd, oe))
        continue;
      struct cal_frame of;
      cal_frame_of(rd, oe, &of);
      struct cal_length ol = cal_length_of(rd, oe, &of);
      if (f.is_date) {
        int64_t day =
            c->day + (of.is_date ? of.d0 : of.start_utc / CAL_DAY) - o->key;
        s = cal_place_at(&f, &ol, day, 0, 0);
      } else {
        int64_t st = c->key + (of.start_utc - o->key);
        s.start = st;
        s.end = st + (ol.days * CAL_DAY + ol.secs);
        if (s.end < s.start) {
          int64_t t = s.start;
          s.start = s.end;
          s.end = t;
        }
        s.day = s.end_day = 0;
      }
      rc = emit(x, o->ev, &x->range, &f, &s);
      continue;
    }
    if (skip_all)
      continue;
    if (c->has_end) {
      s.start = start_utc;
      s.end = c->end;
      s.day = s.end_day = 0;
      if (s.end < s.start) {
        int64_t t = s.start;
        s.start = s.end;
        s.end = t;
      }
    } else {
      s = cal_place_at(&f, &len, c->day, c->sec, start_utc);
    }
    rc = emit(x, idx, &x->main, &f, &s);
  }
  return rc;
}

/* A replacement's own occurrence: its DTSTART and length, no recurrence. */
static int expand_override(struct xp *x, size_t idx) {
  struct cal_reader *rd = x->rd;
  const struct cal_event *ev = &rd->events[idx];
  if (ignored(rd, ev))
    return 0;
  struct cal_frame f;
  cal_frame_of(rd, ev, &f);
  struct cal_length len = cal_length_of(rd, ev, &f);
  struct cal_place s = cal_place_at(&f, &len, f.d0, f.s0, f.start_utc);
  return emit(x, idx, &x->main, &f, &s);
}

int cal_expand_all(struct cal_reader *rd, cal_occurrence_cb *cb, void *ud) {
  struct xp x;
  memset(&x, 0, sizeof x);
  x.rd = rd;
  x.cb = cb;
  x.ud = ud;
  int rc = PB_ENOMEM;
  if (texts_init(&x.main) || texts_init(&x.range))
    goto out;
  if ((rc = cal_overrides_init(rd, &x.ov)))
    goto out;
  /* Masters first: matching them to their replacements may find more
   * duplicates (one instance named in two spellings). */
  for (size_t i = 0; i < rd->n_events && rc == 0; i++)
    if (!(rd->events[i].flags & CAL_EV_RECURID))
      rc = expand_master(&x, i);
  for (size_t i = 0; i < rd->n_events && rc == 0; i++)
    if ((rd->events[i].flags & CAL_EV_RECURID) &&
        !(rd->events[i].flags & CAL_EV_LOST))
      rc = expand_override(&x, i);
  if (rc == PB_ENOMEM)
    snprintf(rd->err, rd->errlen, "out of memory");
out:
  cal_overrides_cleanup(&x.ov);
  texts_cleanup(&x.main);
  texts_cleanup(&x.range);
  free(x.cands);
  free(x.ex_keys);
  free(x.ex_days);
  if (rc == PB_ENOMEM && rd->errlen && !rd->err[0])
    snprintf(rd->err, rd->errlen, "out of memory");
  return rc;
}
