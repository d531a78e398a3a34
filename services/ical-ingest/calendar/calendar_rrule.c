/* The recurrence rule iterator, RFC 5545 §3.3.10: periods of FREQ*INTERVAL
 * from DTSTART, BYxxx parts that limit or expand them (the table of
 * §3.3.10), BYSETPOS within each period, then UNTIL and COUNT. It works in
 * the local frame of DTSTART (a 09:00 class stays 09:00 across DST), skips
 * straight to the window when there is no COUNT, and every loop draws from
 * a fixed allowance of steps, so no rule can run for long. */
#include <stdlib.h>
#include <string.h>

#include "calendar_int.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/tz.h"

#define LAST_DAY 2932896 /* 9999-12-31 */

struct item {
  int64_t day;
  int32_t sec;
};

struct cal_recur {
  struct cal_recur_setup s;
  const struct cal_rule *r;
  int freq, interval;
  /* The effective filters, with RFC 5545's defaults from DTSTART filled in. */
  uint32_t hours;
  uint64_t minutes, seconds;
  uint16_t months;           /* 0: any month */
  uint32_t mdays, mdays_neg; /* both 0: any day of the month */
  bool weekday_filter;
  uint8_t wdays;
  int y0, m0;
  int64_t week0, base; /* DTSTART's week; sub-daily unit count */
  /* The raw walk over candidate instants. */
  int64_t day, raw_stop;
  int32_t cursor; /* last time tried in `day`, -1: none */
  bool day_checked, raw_done;
  int64_t steps, emitted;
  int status;
  /* BYSETPOS: the instants of one period, and the next one looked ahead. */
  struct item *group;
  size_t n_group, i_group, cap_group;
  bool *chosen;
  size_t cap_chosen;
  bool first_seen;
  bool have_next;
  struct item next;
};

static int64_t fmod64(int64_t a, int64_t b) {
  int64_t m = a % b;
  return m < 0 ? m + b : m;
}

static bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_len(int y, int m) {
  static const int ml[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : ml[m - 1];
}

static int64_t week_start(int64_t day, int wkst) {
  return day - fmod64(pb_weekday_from_days(day) - wkst, 7);
}

/* The first day of ISO-style week 1 of `y` with weeks starting on wkst:
 * the week that holds at least four days of the year (§3.3.10, BYWEEKNO). */
static int64_t week1_start(int y, int wkst) {
  int64_t jan1 = pb_days_from_civil(y, 1, 1);
  int64_t off = fmod64(pb_weekday_from_days(jan1) - wkst, 7);
  return off >= 4 ? jan1 - off + 7 : jan1 - off;
}

static bool weekno_matches(const struct cal_recur *it, int64_t day, int y) {
  int wy = y;
  int64_t w1 = week1_start(y, it->r->wkst);
  if (day < w1) {
    wy = y - 1;
    w1 = week1_start(wy, it->r->wkst);
  } else if (day >= week1_start(y + 1, it->r->wkst)) {
    wy = y + 1;
    w1 = week1_start(wy, it->r->wkst);
  }
  int64_t numweeks = (week1_start(wy + 1, it->r->wkst) - w1) / 7;
  int64_t n = (day - w1) / 7 + 1;
  int64_t neg = numweeks - n + 1;
  return (it->r->byweekno >> n & 1) ||
         (neg >= 1 && (it->r->byweekno_neg >> neg & 1));
}

static bool bit366(const uint64_t *set, int64_t n) {
  return n >= 1 && n <= 366 && (set[n / 64] >> (n % 64) & 1);
}

static bool yearday_given(const struct cal_rule *r) {
  for (int i = 0; i < 6; i++)
    if (r->byyearday[i] || r->byyearday_neg[i])
      return true;
  return false;
}

/* Ordinal BYDAY: "the n-th weekday" of the month (MONTHLY, or YEARLY with
 * BYMONTH) or of the year (YEARLY); other frequencies ignore the ordinal. */
static bool nday_matches(const struct cal_recur *it, int wday, int d, int mlen,
                         int64_t yday, int64_t ylen) {
  bool in_month =
      it->freq == CAL_MONTHLY || (it->freq == CAL_YEARLY && it->r->bymonth);
  for (int i = 0; i < it->r->n_nday; i++) {
    if (it->r->nday[i].wday != wday)
      continue;
    int n = it->r->nday[i].n;
    if (it->freq != CAL_MONTHLY && it->freq != CAL_YEARLY)
      return true;
    int64_t pos = in_month ? d : yday, len = in_month ? mlen : ylen;
    if (n > 0 && (pos - 1) / 7 + 1 == n)
      return true;
    if (n < 0 && (len - pos) / 7 + 1 == -n)
      return true;
  }
  return false;
}

static bool day_matches(const struct cal_recur *it, int64_t day) {
  int y, m, d;
  pb_civil_from_days(day, &y, &m, &d);
  if (it->months && !(it->months >> m & 1))
    return false;
  if ((it->r->byweekno || it->r->byweekno_neg) && !weekno_matches(it, day, y))
    return false;
  int64_t ylen = leap(y) ? 366 : 365;
  int64_t yday = day - pb_days_from_civil(y, 1, 1) + 1;
  if (yearday_given(it->r) && !bit366(it->r->byyearday, yday) &&
      !bit366(it->r->byyearday_neg, ylen - yday + 1))
    return false;
  int mlen = month_len(y, m);
  if ((it->mdays || it->mdays_neg) && !(it->mdays >> d & 1) &&
      !(it->mdays_neg >> (mlen - d + 1) & 1))
    return false;
  if (it->weekday_filter) {
    int wday = pb_weekday_from_days(day);
    if (!(it->wdays >> wday & 1) &&
        !nday_matches(it, wday, d, mlen, yday, ylen))
      return false;
  }
  return true;
}

/* Whether `day` lies in a period that the INTERVAL keeps; if not, *next is
 * the first day of the next one that does. */
static bool aligned(const struct cal_recur *it, int64_t day, int64_t *next) {
  int y, m, d;
  int64_t k;
  switch (it->freq) {
  case CAL_YEARLY:
    pb_civil_from_days(day, &y, &m, &d);
    if ((k = fmod64(y - it->y0, it->interval)) == 0)
      return true;
    *next = pb_days_from_civil(y + (int)(it->interval - k), 1, 1);
    return false;
  case CAL_MONTHLY: {
    pb_civil_from_days(day, &y, &m, &d);
    int64_t mi = (int64_t)y * 12 + m - 1;
    if ((k = fmod64(mi - ((int64_t)it->y0 * 12 + it->m0 - 1), it->interval)) ==
        0)
      return true;
    mi += it->interval - k;
    *next = pb_days_from_civil((int)(mi / 12), (int)(mi % 12) + 1, 1);
    return false;
  }
  case CAL_WEEKLY: {
    int64_t ws = week_start(day, it->r->wkst);
    if ((k = fmod64((ws - it->week0) / 7, it->interval)) == 0)
      return true;
    *next = ws + 7 * (it->interval - k);
    return false;
  }
  case CAL_DAILY:
    if ((k = fmod64(day - it->s.day, it->interval)) == 0)
      return true;
    *next = day + it->interval - k;
    return false;
  default:
    return true;
  }
}

/* The first time of `day` after `after` (-1: from midnight) that the rule
 * keeps, or -1. Sub-daily frequencies also keep to their INTERVAL. */
static int32_t next_time(struct cal_recur *it, int64_t day, int32_t after) {
  if (it->s.is_date)
    return after < 0 ? 0 : -1;
  int64_t t = after + 1;
  while (t < CAL_DAY) {
    if (++it->steps > CAL_RULE_STEPS_MAX)
      return -1;
    int h = (int)(t / 3600), m = (int)(t / 60 % 60), s = (int)(t % 60);
    if (!(it->hours >> h & 1)) {
      t = (int64_t)(h + 1) * 3600;
      continue;
    }
    if (!(it->minutes >> m & 1)) {
      t = (int64_t)h * 3600 + (m + 1) * 60;
      continue;
    }
    if (!(it->seconds >> s & 1)) {
      t++;
      continue;
    }
    int64_t k;
    if (it->freq == CAL_HOURLY &&
        (k = fmod64(day * 24 + h - it->base, it->interval))) {
      t = (int64_t)(h + it->interval - k) * 3600;
      continue;
    }
    if (it->freq == CAL_MINUTELY &&
        (k = fmod64(day * 1440 + h * 60 + m - it->base, it->interval))) {
      t = (int64_t)h * 3600 + (m + it->interval - k) * 60;
      continue;
    }
    if (it->freq == CAL_SECONDLY &&
        (k = fmod64(day * CAL_DAY + t - it->base, it->interval))) {
      t += it->interval - k;
      continue;
    }
    return (int32_t)t;
  }
  return -1;
}

/* The candidate instants in order, before DTSTART, UNTIL and COUNT. */
static int raw_next(struct cal_recur *it, struct item *out) {
  while (!it->raw_done) {
    if (it->steps > CAL_RULE_STEPS_MAX) {
      it->status = PB_ETOOBIG;
      it->raw_done = true;
      break;
    }
    if (it->day > it->raw_stop || it->day > LAST_DAY) {
      it->raw_done = true;
      break;
    }
    if (!it->day_checked) {
      it->steps++;
      int64_t next;
      if (!aligned(it, it->day, &next)) {
        it->day = next;
        continue;
      }
      int y, m, d;
      pb_civil_from_days(it->day, &y, &m, &d);
      if (it->months && !(it->months >> m & 1)) {
        it->day = pb_days_from_civil(y, m + 1, 1); /* month 13 rolls over */
        continue;
      }
      if (!day_matches(it, it->day)) {
        it->day++;
        continue;
      }
      it->day_checked = true;
      it->cursor = -1;
    }
    int32_t t = next_time(it, it->day, it->cursor);
    if (t < 0) {
      it->day++;
      it->day_checked = false;
      continue;
    }
    it->cursor = t;
    out->day = it->day;
    out->sec = t;
    return 1;
  }
  return 0;
}

static int64_t period_of(const struct cal_recur *it, const struct item *x) {
  int y, m, d;
  switch (it->freq) {
  case CAL_YEARLY:
    pb_civil_from_days(x->day, &y, &m, &d);
    return y;
  case CAL_MONTHLY:
    pb_civil_from_days(x->day, &y, &m, &d);
    return (int64_t)y * 12 + m;
  case CAL_WEEKLY:
    return week_start(x->day, it->r->wkst);
  case CAL_DAILY:
    return x->day;
  case CAL_HOURLY:
    return x->day * 24 + x->sec / 3600;
  case CAL_MINUTELY:
    return x->day * 1440 + x->sec / 60;
  default:
    return x->day * CAL_DAY + x->sec;
  }
}

/* The first and last day of the period holding `day`. */
static void period_days(const struct cal_recur *it, int64_t day, int64_t *first,
                        int64_t *last) {
  int y, m, d;
  pb_civil_from_days(day, &y, &m, &d);
  *first = *last = day;
  if (it->freq == CAL_YEARLY) {
    *first = pb_days_from_civil(y, 1, 1);
    *last = pb_days_from_civil(y, 12, 31);
  } else if (it->freq == CAL_MONTHLY) {
    *first = pb_days_from_civil(y, m, 1);
    *last = *first + month_len(y, m) - 1;
  } else if (it->freq == CAL_WEEKLY) {
    *first = week_start(day, it->r->wkst);
    *last = *first + 6;
  }
}

/* The next period's instants, of which BYSETPOS then picks. */
static int fill_group(struct cal_recur *it) {
  it->n_group = it->i_group = 0;
  if (!it->have_next && !(it->have_next = raw_next(it, &it->next) == 1))
    return 0;
  int64_t period = period_of(it, &it->next);
  do {
    size_t need = it->n_group + 1;
    int rc = pb_array_grow(&it->group, &it->cap_group, need, sizeof *it->group,
                           CAL_SETPOS_PERIOD_MAX);
    if (!rc)
      rc = pb_array_grow(&it->chosen, &it->cap_chosen, need, sizeof *it->chosen,
                         CAL_SETPOS_PERIOD_MAX);
    if (rc) {
      /* Past the cap it is the period, not the work allowance. */
      it->status = rc == PB_ETOOBIG ? PB_ERANGE : rc;
      it->raw_done = true;
      return 0;
    }
    it->group[it->n_group++] = it->next;
    it->have_next = raw_next(it, &it->next) == 1;
  } while (it->have_next && period_of(it, &it->next) == period);
  size_t n = it->n_group;
  memset(it->chosen, 0, n * sizeof *it->chosen);
  for (int i = 0; i < it->r->n_setpos; i++) {
    int p = it->r->setpos[i];
    int64_t idx = p > 0 ? p - 1 : (int64_t)n + p;
    if (idx >= 0 && idx < (int64_t)n)
      it->chosen[idx] = true;
  }
  return 1;
}

static int next_candidate(struct cal_recur *it, struct item *out) {
  if (!it->r->n_setpos)
    return raw_next(it, out);
  for (;;) {
    while (it->i_group < it->n_group) {
      size_t i = it->i_group++;
      if (it->chosen[i]) {
        *out = it->group[i];
        return 1;
      }
    }
    if (!fill_group(it))
      return 0;
  }
}

int cal_recur_next(struct cal_recur *it, int64_t *day, int32_t *sec) {
  struct item x;
  while (next_candidate(it, &x) == 1) {
    if (x.day < it->s.day || (x.day == it->s.day && x.sec < it->s.sec))
      continue;
    if (x.day > it->s.stop_day)
      break;
    if (it->s.has_until &&
        (x.day > it->s.until_day ||
         (x.day == it->s.until_day && x.sec > it->s.until_sec)))
      break;
    /* §3.3.10: DTSTART always counts as the first instance, even when
     * the rule itself would not produce it. */
    if (it->s.count && !it->first_seen) {
      it->first_seen = true;
      if (x.day != it->s.day || x.sec != it->s.sec)
        it->emitted++;
    }
    if (it->s.count && it->emitted >= it->s.count)
      break;
    it->emitted++;
    *day = x.day;
    *sec = x.sec;
    return 1;
  }
  it->raw_done = true;
  it->n_group = it->i_group = 0;
  return it->status;
}

/* RFC 5545 §3.3.10: BYxxx parts that are absent take DTSTART's values. */
static void set_defaults(struct cal_recur *it) {
  const struct cal_rule *r = it->r;
  int y, m, d;
  pb_civil_from_days(it->s.day, &y, &m, &d);
  int h = it->s.sec / 3600, mi = it->s.sec / 60 % 60, se = it->s.sec % 60;
  it->y0 = y;
  it->m0 = m;
  it->hours = r->byhour               ? r->byhour
              : it->freq >= CAL_DAILY ? 1u << h
                                      : 0xFFFFFFu;
  it->minutes = r->byminute              ? r->byminute
                : it->freq >= CAL_HOURLY ? (uint64_t)1 << mi
                                         : ((uint64_t)1 << 60) - 1;
  it->seconds = r->bysecond                ? r->bysecond
                : it->freq >= CAL_MINUTELY ? (uint64_t)1 << se
                                           : ((uint64_t)1 << 61) - 1;
  it->months = r->bymonth;
  it->mdays = r->bymonthday;
  it->mdays_neg = r->bymonthday_neg;
  it->wdays = r->byday;
  it->weekday_filter = r->byday || r->n_nday;
  bool no_day_part = !r->byweekno && !r->byweekno_neg && !yearday_given(r) &&
                     !r->bymonthday && !r->bymonthday_neg &&
                     !it->weekday_filter;
  if (no_day_part) {
    if (it->freq == CAL_YEARLY) {
      if (!it->months)
        it->months = (uint16_t)(1u << m);
      it->mdays = 1u << d;
    } else if (it->freq == CAL_MONTHLY) {
      it->mdays = 1u << d;
    } else if (it->freq == CAL_WEEKLY) {
      it->wdays = (uint8_t)(1u << pb_weekday_from_days(it->s.day));
      it->weekday_filter = true;
    }
  }
  /* §3.3.10 again, where a day part is given but does not say it all: a
   * yearly rule with days of the month and no month (how Google Calendar and
   * Windows write a yearly event: BYMONTHDAY=20) recurs in DTSTART's month,
   * as libical reads it; with weeks of the year and no weekday, on DTSTART's
   * weekday. BYYEARDAY names whole days and needs nothing more. */
  if (it->freq == CAL_YEARLY && !yearday_given(r)) {
    bool weekno = r->byweekno || r->byweekno_neg;
    bool mday = r->bymonthday || r->bymonthday_neg;
    if (mday && !weekno && !r->bymonth)
      it->months = (uint16_t)(1u << m);
    if (weekno && !mday && !it->weekday_filter) {
      it->wdays = (uint8_t)(1u << pb_weekday_from_days(it->s.day));
      it->weekday_filter = true;
    }
  }
  it->week0 = week_start(it->s.day, r->wkst);
  if (it->freq == CAL_HOURLY)
    it->base = it->s.day * 24 + h;
  else if (it->freq == CAL_MINUTELY)
    it->base = it->s.day * 1440 + h * 60 + mi;
  else
    it->base = it->s.day * CAL_DAY + it->s.sec;
}

int cal_recur_new(const struct cal_recur_setup *s, struct cal_recur **out) {
  *out = NULL;
  struct cal_recur *it = calloc(1, sizeof *it);
  if (!it)
    return PB_ENOMEM;
  it->s = *s;
  it->r = s->rule;
  it->freq = s->rule->freq;
  it->interval = s->rule->interval > 0 ? s->rule->interval : 1;
  /* A sub-daily rule on an all-day event can only mean every day. */
  if (s->is_date && it->freq < CAL_DAILY) {
    it->freq = CAL_DAILY;
    it->interval = 1;
  }
  set_defaults(it);
  /* Without COUNT nothing before the window needs counting: start there. */
  int64_t start = s->day;
  if (!s->rule->count && s->from_day > start)
    start = s->from_day;
  int64_t first, last, stop = s->stop_day;
  if (s->has_until && s->until_day < stop)
    stop = s->until_day;
  it->raw_stop = stop;
  if (s->rule->n_setpos) {
    /* BYSETPOS counts within whole periods. */
    period_days(it, start, &first, &last);
    start = first;
    period_days(it, stop, &first, &last);
    it->raw_stop = last;
  }
  it->day = start;
  it->cursor = -1;
  *out = it;
  return 0;
}

void cal_recur_free(struct cal_recur *it) {
  if (!it)
    return;
  free(it->group);
  free(it->chosen);
  free(it);
}
