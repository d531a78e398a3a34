/* The one file that includes libical: RRULE values (RFC 5545 §3.3.10) are
 * read by libical's parser into our own rule description, every part
 * checked against §3.3.10's ranges. libical's recurrence iterator is not
 * used: one next() call can spin for ever on a rule that never matches
 * (FREQ=SECONDLY;BYMONTHDAY=30;BYMONTH=2), and built with ICU each iterator
 * opens an ICU calendar, megabytes of memory (calendar_rrule.c instead). */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar_int.h"
#include "pb/error.h"
#include "pb/tz.h"

#define RRULE_TEXT_MAX 8192

static void quiet_libical(void) {
  static bool done;
  if (!done) {
    done = true;
    icalerror_set_errors_are_fatal(0);
  }
}

static bool end_of(short v) {
  return v == ICAL_RECURRENCE_ARRAY_MAX;
}

/* Fills a bit set from a libical list, checking each value is in [lo, hi]
 * (negatives, where allowed, go to `neg`). */
static int bits(const short *list, size_t size, int lo, int hi, bool negatives,
                uint64_t *pos, uint64_t *neg, size_t words, const char *part,
                char *err, size_t errlen) {
  for (size_t i = 0; i < size && !end_of(list[i]); i++) {
    int v = list[i];
    int a = v < 0 ? -v : v;
    if ((v < 0 && !negatives) || a < lo || a > hi || (v == 0 && lo > 0)) {
      snprintf(err, errlen, "%s=%d is out of range", part, v);
      return PB_ERANGE;
    }
    uint64_t *set = v < 0 ? neg : pos;
    if ((size_t)a / 64 < words)
      set[a / 64] |= (uint64_t)1 << (a % 64);
  }
  return 0;
}

/* Whether the rule text has a COUNT part at all. */
static bool names_count(const char *rule) {
  for (const char *p = rule; *p; p++)
    if ((p == rule || p[-1] == ';') && strncasecmp(p, "COUNT=", 6) == 0)
      return true;
  return false;
}

/* libical only says "malformed": name the part it cannot take. Also reads
 * INTERVAL (1 when absent) exactly: libical keeps it in a short. */
static bool known_parts(const char *rule, int *interval, char *err,
                        size_t errlen) {
  *interval = 1;
  static const char *const parts[] = {
      "FREQ",     "UNTIL", "COUNT",      "INTERVAL",  "BYSECOND", "BYMINUTE",
      "BYHOUR",   "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH",
      "BYSETPOS", "WKST",  "RSCALE",     "SKIP",      NULL};
  for (const char *p = rule; *p;) {
    const char *end = strchr(p, ';');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *eq = memchr(p, '=', n);
    size_t name = eq ? (size_t)(eq - p) : n;
    bool ok = name == 0;
    for (int i = 0; !ok && parts[i]; i++)
      ok = strlen(parts[i]) == name && strncasecmp(p, parts[i], name) == 0;
    if (!ok || (!eq && n)) {
      snprintf(err, errlen, "'%.*s' is not a rule part of RFC 5545 §3.3.10",
               (int)(n > 40 ? 40 : n), p);
      return false;
    }
    /* libical refuses a bad COUNT or INTERVAL without saying which. */
    if ((name == 5 && strncasecmp(p, "COUNT", 5) == 0) ||
        (name == 8 && strncasecmp(p, "INTERVAL", 8) == 0)) {
      bool digits = n > name + 1;
      for (size_t i = name + 1; i < n; i++)
        digits = digits && p[i] >= '0' && p[i] <= '9';
      if (!digits || (n == name + 2 && p[name + 1] == '0')) {
        snprintf(err, errlen, "%.*s must be a positive integer, not '%.*s'",
                 (int)name, p, (int)(n - name - 1 > 20 ? 20 : n - name - 1),
                 p + name + 1);
        return false;
      }
      if (name == 8) {
        long long v = 0;
        for (size_t i = name + 1; i < n && v <= CAL_INTERVAL_MAX; i++)
          v = v * 10 + (p[i] - '0');
        if (v > CAL_INTERVAL_MAX) {
          snprintf(err, errlen,
                   "INTERVAL=%.*s is larger than this reader takes (%d)",
                   (int)(n - name - 1 > 20 ? 20 : n - name - 1), p + name + 1,
                   CAL_INTERVAL_MAX);
          return false;
        }
        if (v < 1) { /* "00" */
          snprintf(err, errlen, "INTERVAL must be a positive integer");
          return false;
        }
        *interval = (int)v;
      }
    }
    static const char *const freqs[] = {"SECONDLY", "MINUTELY", "HOURLY",
                                        "DAILY",    "WEEKLY",   "MONTHLY",
                                        "YEARLY",   NULL};
    if (name == 4 && strncasecmp(p, "FREQ", 4) == 0) {
      size_t vlen = n - 5;
      bool known = false;
      for (int i = 0; !known && freqs[i]; i++)
        known =
            strlen(freqs[i]) == vlen && strncasecmp(p + 5, freqs[i], vlen) == 0;
      if (!known) {
        snprintf(err, errlen,
                 "FREQ=%.*s is not one of SECONDLY, MINUTELY, "
                 "HOURLY, DAILY, WEEKLY, MONTHLY, YEARLY",
                 (int)(vlen > 20 ? 20 : vlen), p + 5);
        return false;
      }
    }
    p += n + (end ? 1 : 0);
  }
  return true;
}

/* The rule without its INTERVAL parts, for libical: past 32,767 its short
 * wraps (and a wrapped value below 1 makes it refuse the whole rule). */
static void drop_interval(char *rule) {
  char *w = rule;
  for (const char *p = rule; *p;) {
    const char *end = strchr(p, ';');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (!(n >= 9 && strncasecmp(p, "INTERVAL=", 9) == 0)) {
      if (w != rule)
        *w++ = ';';
      memmove(w, p, n);
      w += n;
    }
    p += n + (end ? 1 : 0);
  }
  *w = '\0';
}

int cal_rule_parse(const char *text, size_t len, struct cal_rule *out,
                   char *err, size_t errlen) {
  char buf[RRULE_TEXT_MAX];
  memset(out, 0, sizeof *out);
  if (len >= sizeof buf) {
    snprintf(err, errlen, "the rule is longer than %d bytes", RRULE_TEXT_MAX);
    return PB_ETOOBIG;
  }
  memcpy(buf, text, len);
  buf[len] = '\0';
  int interval;
  if (!known_parts(buf, &interval, err, errlen))
    return PB_EPARSE;
  drop_interval(buf);
  quiet_libical();
  struct icalrecurrencetype r = icalrecurrencetype_from_string(buf);
  if (r.rscale) {
    bool gregorian = strcasecmp(r.rscale, "GREGORIAN") == 0;
    free(r.rscale);
    if (!gregorian) {
      snprintf(err, errlen,
               "RSCALE calendars other than GREGORIAN are not "
               "supported");
      return PB_EINVAL;
    }
  }
  if (r.freq == ICAL_NO_RECURRENCE) {
    snprintf(err, errlen, "libical cannot read the rule (%s)",
             icalerror_strerror(icalerrno));
    icalerrno = ICAL_NO_ERROR;
    return PB_EPARSE;
  }
  out->freq = (int)r.freq - (int)ICAL_SECONDLY_RECURRENCE;
  if (out->freq < CAL_SECONDLY || out->freq > CAL_YEARLY) {
    snprintf(err, errlen, "unknown FREQ");
    return PB_EPARSE;
  }
  /* Ours, not libical's r.interval: a short would wrap past 32,767. */
  out->interval = interval;
  out->count = r.count;
  /* libical reads COUNT=0 as "no COUNT": that would be endless. */
  if (r.count < 0 || (r.count == 0 && names_count(buf))) {
    snprintf(err, errlen, "COUNT must be a positive integer");
    return PB_ERANGE;
  }
  if (!icaltime_is_null_time(r.until)) {
    struct icaltimetype u = r.until;
    if (u.year < 1 || u.year > 9999 || u.month < 1 || u.month > 12 ||
        u.day < 1 || u.day > 31) {
      snprintf(err, errlen, "UNTIL is not a valid date");
      return PB_ERANGE;
    }
    out->has_until = true;
    out->until.day = pb_days_from_civil(u.year, u.month, u.day);
    out->until.kind = u.is_date            ? CAL_T_DATE
                      : icaltime_is_utc(u) ? CAL_T_UTC
                                           : CAL_T_FLOAT;
    if (!u.is_date)
      out->until.sec = u.hour * 3600 + u.minute * 60 + u.second;
  }
  /* libical numbers weekdays from 1 = Sunday; no WKST means Monday. */
  out->wkst = r.week_start == ICAL_NO_WEEKDAY ? 1 : (int)r.week_start - 1;

  uint64_t w[6], nw[6];
  int rc;
  memset(w, 0, sizeof w);
  if ((rc = bits(r.by_second, ICAL_BY_SECOND_SIZE, 0, 60, false, w, nw, 1,
                 "BYSECOND", err, errlen)))
    return rc;
  out->bysecond = w[0];
  memset(w, 0, sizeof w);
  if ((rc = bits(r.by_minute, ICAL_BY_MINUTE_SIZE, 0, 59, false, w, nw, 1,
                 "BYMINUTE", err, errlen)))
    return rc;
  out->byminute = w[0];
  memset(w, 0, sizeof w);
  if ((rc = bits(r.by_hour, ICAL_BY_HOUR_SIZE, 0, 23, false, w, nw, 1, "BYHOUR",
                 err, errlen)))
    return rc;
  out->byhour = (uint32_t)w[0];
  for (size_t i = 0; i < ICAL_BY_MONTH_SIZE && !end_of(r.by_month[i]); i++) {
    int m = icalrecurrencetype_month_month(r.by_month[i]);
    if (icalrecurrencetype_month_is_leap(r.by_month[i]) || m < 1 || m > 12) {
      snprintf(err, errlen, "BYMONTH=%d is out of range", m);
      return PB_ERANGE;
    }
    out->bymonth |= (uint16_t)(1u << m);
  }
  memset(w, 0, sizeof w);
  memset(nw, 0, sizeof nw);
  if ((rc = bits(r.by_month_day, ICAL_BY_MONTHDAY_SIZE, 1, 31, true, w, nw, 1,
                 "BYMONTHDAY", err, errlen)))
    return rc;
  out->bymonthday = (uint32_t)w[0];
  out->bymonthday_neg = (uint32_t)nw[0];
  if ((rc = bits(r.by_year_day, ICAL_BY_YEARDAY_SIZE, 1, 366, true,
                 out->byyearday, out->byyearday_neg, 6, "BYYEARDAY", err,
                 errlen)))
    return rc;
  memset(w, 0, sizeof w);
  memset(nw, 0, sizeof nw);
  if ((rc = bits(r.by_week_no, ICAL_BY_WEEKNO_SIZE, 1, 53, true, w, nw, 1,
                 "BYWEEKNO", err, errlen)))
    return rc;
  out->byweekno = w[0];
  out->byweekno_neg = nw[0];
  for (size_t i = 0; i < ICAL_BY_DAY_SIZE && !end_of(r.by_day[i]); i++) {
    int wd = (int)icalrecurrencetype_day_day_of_week(r.by_day[i]);
    int n = icalrecurrencetype_day_position(r.by_day[i]);
    if (wd < 1 || wd > 7 || n < -53 || n > 53) {
      snprintf(err, errlen, "BYDAY has an invalid day");
      return PB_ERANGE;
    }
    if (n == 0) {
      out->byday |= (uint8_t)(1u << (wd - 1));
    } else if (out->n_nday < CAL_NDAY_MAX) {
      out->nday[out->n_nday].n = (int8_t)n;
      out->nday[out->n_nday++].wday = (uint8_t)(wd - 1);
    } else {
      snprintf(err, errlen, "BYDAY has more than %d ordinal days",
               CAL_NDAY_MAX);
      return PB_ETOOBIG;
    }
  }
  for (size_t i = 0; i < ICAL_BY_SETPOS_SIZE && !end_of(r.by_set_pos[i]); i++) {
    int p = r.by_set_pos[i];
    if (p == 0 || p < -366 || p > 366) {
      snprintf(err, errlen, "BYSETPOS=%d is out of range", p);
      return PB_ERANGE;
    }
    if (out->n_setpos == CAL_SETPOS_MAX) {
      snprintf(err, errlen, "BYSETPOS has more than %d values", CAL_SETPOS_MAX);
      return PB_ETOOBIG;
    }
    out->setpos[out->n_setpos++] = (int16_t)p;
  }
  return 0;
}
