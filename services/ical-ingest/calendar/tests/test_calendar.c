/* Unit tests of the calendar reader (services/ical-ingest/calendar/):
 * content lines and values (RFC 5545 §3.1, §3.3), the recurrence engine
 * against the examples of §3.8.5.3, time zones (IANA, Windows, a feed's
 * VTIMEZONE), and cal_expand's handling of replaced, cancelled and free
 * instances, bounds and errors, and whether a reading depends on the zone
 * it is given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar_int.h"
#include "check.h"
#include "pb/error.h"
#include "pb/tz.h"

static int64_t utc(int y, int mo, int d, int h, int mi) {
  return pb_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* ---- collecting occurrences ---- */

#define MAX_OCC 512

struct occ {
  int64_t start, end;
  bool all_day;
  int start_date, end_date;
  char uid[64], summary[128], categories[64], busystatus[16], location[64];
};

struct got {
  struct occ o[MAX_OCC];
  size_t n;
  int warnings;
  char last_warning[400];
  int stop_after;
};

static void copy(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src ? src : "(null)");
}

static int collect(const struct cal_occurrence *o, void *ud) {
  struct got *g = ud;
  if (g->n < MAX_OCC) {
    struct occ *x = &g->o[g->n];
    x->start = o->start;
    x->end = o->end;
    x->all_day = o->all_day;
    x->start_date = o->start_date;
    x->end_date = o->end_date;
    copy(x->uid, sizeof x->uid, o->ev.uid);
    copy(x->summary, sizeof x->summary, o->ev.summary);
    copy(x->categories, sizeof x->categories, o->ev.categories);
    copy(x->busystatus, sizeof x->busystatus, o->ev.busystatus);
    copy(x->location, sizeof x->location, o->ev.location);
  }
  g->n++;
  return g->stop_after && (int)g->n >= g->stop_after ? 42 : 0;
}

static void on_warning(int line, const char *msg, void *ud) {
  struct got *g = ud;
  (void)line;
  g->warnings++;
  snprintf(g->last_warning, sizeof g->last_warning, "%s", msg);
}

static int by_start(const void *a, const void *b) {
  const struct occ *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return strcmp(x->uid, y->uid);
}

static struct pb_tz *paris;

static int expand(const char *ics, int64_t from, int64_t to, struct got *g,
                  char *err, size_t errlen, bool all) {
  memset(g, 0, sizeof *g);
  struct cal_options o = {.tz = paris,
                          .from = from,
                          .to = to,
                          .warn = on_warning,
                          .warn_ud = g,
                          .include_ignored = all};
  char local[300];
  if (!err) {
    err = local;
    errlen = sizeof local;
  }
  int rc = cal_expand(ics, strlen(ics), &o, collect, g, err, errlen);
  if (g->n > 1)
    qsort(g->o, g->n < MAX_OCC ? g->n : MAX_OCC, sizeof g->o[0], by_start);
  return rc;
}

/* A calendar of one VEVENT made of the given property lines. */
static char *one_event(const char *props) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:e\r\n%s"
           "END:VEVENT\r\nEND:VCALENDAR\r\n",
           props);
  return buf;
}

/* ---- content lines and values ---- */

static void test_lines(void) {
  const char *text = "SUMMARY;LANGUAGE=fr:Cours de\r\n  maths\r\n"
                     "DTSTART;TZID=\"Europe/Paris:x\":20250101T080000\n"
                     "\r\n"
                     "X-LONG:a\r\n\tb\r\n c\r\n"
                     "no colon here\r\n";
  struct cal_lines r;
  struct cal_line l;
  cal_lines_init(&r, text, strlen(text));
  CHECK_INT(cal_lines_next(&r, NULL, NULL, &l), 1);
  CHECK(cal_name_is(l.name, l.name_len, "summary"));
  /* The fold's line break and one blank go; the second blank stays. */
  CHECK(l.value && l.value_len == 14 &&
        memcmp(l.value, "Cours de maths", 14) == 0);
  CHECK_INT(l.line, 1);
  CHECK_INT(cal_lines_next(&r, NULL, NULL, &l), 1);
  char tz[64];
  CHECK(cal_param(l.params, l.params_len, "tzid", tz, sizeof tz));
  CHECK_STR(tz, "Europe/Paris:x");
  CHECK(l.value_len == 15 && memcmp(l.value, "20250101T080000", 15) == 0);
  CHECK(!cal_param(l.params, l.params_len, "VALUE", tz, sizeof tz));
  CHECK_INT(cal_lines_next(&r, NULL, NULL, &l), 1);
  CHECK(l.value_len == 3 && memcmp(l.value, "abc", 3) == 0);
  CHECK_INT(l.line, 5);
  CHECK_INT(cal_lines_next(&r, NULL, NULL, &l), 1);
  CHECK(l.malformed);
  CHECK_INT(cal_lines_next(&r, NULL, NULL, &l), 0);
  cal_lines_cleanup(&r);
}

static void test_values(void) {
  struct cal_time t;
  CHECK_INT(cal_parse_time("20240229", 8, false, &t), 0);
  CHECK_INT(t.kind, CAL_T_DATE);
  CHECK_INT(t.day, pb_days_from_civil(2024, 2, 29));
  CHECK(cal_parse_time("20230229", 8, false, &t) != 0);
  CHECK(cal_parse_time("20230230T100000", 15, false, &t) != 0);
  CHECK_INT(cal_parse_time("20230101T235960Z", 16, false, &t), 0);
  CHECK_INT(t.kind, CAL_T_UTC);
  CHECK_INT(t.sec, 86399); /* a leap second is the last of its minute */
  CHECK(cal_parse_time("20230101T240000", 15, false, &t) != 0);
  CHECK(cal_parse_time("2023-01-01", 10, false, &t) != 0);
  CHECK(cal_parse_time("20230101T100000", 15, true, &t) != 0); /* VALUE=DATE */
  CHECK_INT(cal_parse_time(" 20230101T100000 ", 17, false, &t), 0);
  CHECK_INT(t.kind, CAL_T_FLOAT);

  struct cal_dur d;
  CHECK_INT(cal_parse_duration("P1W", 3, &d), 0);
  CHECK_INT(d.days, 7);
  CHECK_INT(cal_parse_duration("-PT15M", 6, &d), 0);
  CHECK_INT(d.secs, -900);
  CHECK_INT(cal_parse_duration("P1DT2H3M4S", 10, &d), 0);
  CHECK_INT(d.days, 1);
  CHECK_INT(d.secs, 7384);
  CHECK(cal_parse_duration("P", 1, &d) != 0);
  CHECK(cal_parse_duration("PT", 2, &d) != 0);
  CHECK(cal_parse_duration("P1H", 3, &d) != 0);
  CHECK(cal_parse_duration("PT99999999999H", 14, &d) != 0);

  struct cal_value v;
  CHECK_INT(cal_parse_value("20250402T080000Z/PT30M", 22, false, true, &v), 0);
  CHECK_INT(v.period, 2);
  CHECK_INT(v.dur.secs, 1800);
  CHECK(cal_parse_value("20250402T080000Z/PT30M", 22, false, false, &v) != 0);

  char out[64];
  const char *esc = "a\\, b\\; c\\\\ d\\nE\\Nf \\x";
  cal_text_unescape(esc, strlen(esc), out, sizeof out);
  CHECK_STR(out, "a, b; c\\ d\nE\nf \\x");
  /* Cutting never leaves half a UTF-8 character. */
  cal_text_unescape("ab\xc3\xa9", 4, out, 4);
  CHECK_STR(out, "ab");
}

/* ---- the recurrence engine, on RFC 5545 §3.8.5.3's examples ---- */

static int instances(const char *rule_text, int y, int mo, int d, int h, int mi,
                     int64_t *out, int max) {
  struct cal_rule rule;
  char err[200];
  if (cal_rule_parse(rule_text, strlen(rule_text), &rule, err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", rule_text, err);
    return -1;
  }
  struct cal_recur_setup s = {.rule = &rule,
                              .day = pb_days_from_civil(y, mo, d),
                              .sec = h * 3600 + mi * 60,
                              .from_day = pb_days_from_civil(y, mo, d),
                              .stop_day = pb_days_from_civil(y + 10, 1, 1),
                              .count = rule.count};
  if (rule.has_until) {
    s.has_until = true;
    s.until_day = rule.until.day;
    s.until_sec = rule.until.kind == CAL_T_DATE ? 86399 : rule.until.sec;
  }
  struct cal_recur *it;
  if (cal_recur_new(&s, &it))
    return -1;
  int n = 0;
  int64_t day;
  int32_t sec;
  while (n < max && cal_recur_next(it, &day, &sec) == 1)
    out[n++] = day * 86400 + sec;
  cal_recur_free(it);
  return n;
}

#define L(y, mo, d, h, mi) utc(y, mo, d, h, mi)

static void expect(const char *rule, int y, int mo, int d, int h, int mi,
                   const int64_t *want, int nwant) {
  int64_t got[64];
  int n = instances(rule, y, mo, d, h, mi, got, 64);
  CHECK_INT(n, nwant);
  for (int i = 0; i < n && i < nwant; i++)
    if (got[i] != want[i]) {
      int yy, mm, dd;
      pb_civil_from_days(got[i] / 86400, &yy, &mm, &dd);
      fprintf(stderr, "%s: instance %d is %04d-%02d-%02d %02lld:%02lld\n", rule,
              i, yy, mm, dd, (long long)(got[i] % 86400 / 3600),
              (long long)(got[i] % 3600 / 60));
      CHECK(got[i] == want[i]);
      break;
    }
}

static void test_rfc_examples(void) {
  {
    const int64_t w[] = {L(1997, 9, 2, 9, 0), L(1997, 9, 12, 9, 0),
                         L(1997, 9, 22, 9, 0), L(1997, 10, 2, 9, 0),
                         L(1997, 10, 12, 9, 0)};
    expect("FREQ=DAILY;INTERVAL=10;COUNT=5", 1997, 9, 2, 9, 0, w, 5);
  }
  {
    const int64_t w[] = {L(1997, 9, 5, 9, 0),  L(1997, 10, 3, 9, 0),
                         L(1997, 11, 7, 9, 0), L(1997, 12, 5, 9, 0),
                         L(1998, 1, 2, 9, 0),  L(1998, 2, 6, 9, 0),
                         L(1998, 3, 6, 9, 0),  L(1998, 4, 3, 9, 0),
                         L(1998, 5, 1, 9, 0),  L(1998, 6, 5, 9, 0)};
    expect("FREQ=MONTHLY;COUNT=10;BYDAY=1FR", 1997, 9, 5, 9, 0, w, 10);
  }
  {
    const int64_t w[] = {L(1997, 9, 22, 9, 0),  L(1997, 10, 20, 9, 0),
                         L(1997, 11, 17, 9, 0), L(1997, 12, 22, 9, 0),
                         L(1998, 1, 19, 9, 0),  L(1998, 2, 16, 9, 0)};
    expect("FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", 1997, 9, 22, 9, 0, w, 6);
  }
  {
    const int64_t w[] = {L(1997, 9, 28, 9, 0),  L(1997, 10, 29, 9, 0),
                         L(1997, 11, 28, 9, 0), L(1997, 12, 29, 9, 0),
                         L(1998, 1, 29, 9, 0),  L(1998, 2, 26, 9, 0)};
    expect("FREQ=MONTHLY;BYMONTHDAY=-3;COUNT=6", 1997, 9, 28, 9, 0, w, 6);
  }
  {
    const int64_t w[] = {L(1997, 6, 10, 9, 0), L(1997, 7, 10, 9, 0),
                         L(1998, 6, 10, 9, 0), L(1998, 7, 10, 9, 0),
                         L(1999, 6, 10, 9, 0), L(1999, 7, 10, 9, 0)};
    expect("FREQ=YEARLY;COUNT=6;BYMONTH=6,7", 1997, 6, 10, 9, 0, w, 6);
  }
  {
    const int64_t w[] = {L(1997, 5, 19, 9, 0), L(1998, 5, 18, 9, 0),
                         L(1999, 5, 17, 9, 0)};
    expect("FREQ=YEARLY;BYDAY=20MO;COUNT=3", 1997, 5, 19, 9, 0, w, 3);
  }
  {
    const int64_t w[] = {L(1997, 5, 12, 9, 0), L(1998, 5, 11, 9, 0),
                         L(1999, 5, 17, 9, 0)};
    expect("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;COUNT=3", 1997, 5, 12, 9, 0, w, 3);
  }
  {
    const int64_t w[] = {L(1998, 2, 13, 9, 0), L(1998, 3, 13, 9, 0),
                         L(1998, 11, 13, 9, 0), L(1999, 8, 13, 9, 0),
                         L(2000, 10, 13, 9, 0)};
    expect("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=5", 1998, 2, 13, 9, 0, w,
           5);
  }
  {
    const int64_t w[] = {L(1997, 9, 4, 9, 0), L(1997, 10, 7, 9, 0),
                         L(1997, 11, 6, 9, 0)};
    expect("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", 1997, 9, 4, 9, 0,
           w, 3);
  }
  {
    const int64_t w[] = {L(1997, 9, 29, 9, 0),  L(1997, 10, 30, 9, 0),
                         L(1997, 11, 27, 9, 0), L(1997, 12, 30, 9, 0),
                         L(1998, 1, 29, 9, 0),  L(1998, 2, 26, 9, 0),
                         L(1998, 3, 30, 9, 0)};
    expect("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2;COUNT=7", 1997, 9, 29,
           9, 0, w, 7);
  }
  {
    const int64_t w[] = {L(1997, 9, 2, 9, 0), L(1997, 9, 2, 12, 0),
                         L(1997, 9, 2, 15, 0)};
    expect("FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000", 1997, 9, 2, 9, 0, w,
           3);
  }
  {
    const int64_t w[] = {L(1997, 9, 2, 9, 0),  L(1997, 9, 2, 9, 15),
                         L(1997, 9, 2, 9, 30), L(1997, 9, 2, 9, 45),
                         L(1997, 9, 2, 10, 0), L(1997, 9, 2, 10, 15)};
    expect("FREQ=MINUTELY;INTERVAL=15;COUNT=6", 1997, 9, 2, 9, 0, w, 6);
  }
  {
    /* Every 20 minutes from 9:00 to 16:40: 24 a day. */
    int64_t got[64];
    int n = instances(
        "FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40;COUNT=25",
        1997, 9, 2, 9, 0, got, 64);
    CHECK_INT(n, 25);
    CHECK_INT(got[23], L(1997, 9, 2, 16, 40));
    CHECK_INT(got[24], L(1997, 9, 3, 9, 0));
  }
  {
    const int64_t mo[] = {L(1997, 8, 5, 9, 0), L(1997, 8, 10, 9, 0),
                          L(1997, 8, 19, 9, 0), L(1997, 8, 24, 9, 0)};
    expect("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", 1997, 8, 5, 9,
           0, mo, 4);
    const int64_t su[] = {L(1997, 8, 5, 9, 0), L(1997, 8, 17, 9, 0),
                          L(1997, 8, 19, 9, 0), L(1997, 8, 31, 9, 0)};
    expect("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", 1997, 8, 5, 9,
           0, su, 4);
  }
  {
    /* Invalid dates are skipped, not moved (§3.3.10). */
    const int64_t w[] = {L(2007, 1, 15, 9, 0), L(2007, 1, 30, 9, 0),
                         L(2007, 2, 15, 9, 0), L(2007, 3, 15, 9, 0),
                         L(2007, 3, 30, 9, 0)};
    expect("FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5", 2007, 1, 15, 9, 0, w, 5);
  }
  {
    /* Every other week on Monday, Wednesday, Friday until 24 December. */
    int64_t got[64];
    int n = instances(
        "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000;WKST=SU;BYDAY=MO,WE,FR",
        1997, 9, 1, 9, 0, got, 64);
    CHECK_INT(n, 25);
    CHECK_INT(got[n - 1], L(1997, 12, 22, 9, 0));
  }
}

static void test_rule_errors(void) {
  struct cal_rule r;
  char err[200];
  CHECK(cal_rule_parse("FREQ=WEEKLY;UNTL=20191023", 25, &r, err, sizeof err) !=
        0);
  CHECK(strstr(err, "UNTL") != NULL);
  CHECK(cal_rule_parse("FREQ=FORTNIGHTLY", 16, &r, err, sizeof err) != 0);
  CHECK(strstr(err, "FORTNIGHTLY") != NULL);
  CHECK(cal_rule_parse("FREQ=DAILY;COUNT=0", 18, &r, err, sizeof err) != 0);
  CHECK(cal_rule_parse("FREQ=DAILY;COUNT=-1", 19, &r, err, sizeof err) != 0);
  CHECK(cal_rule_parse("FREQ=DAILY;INTERVAL=0", 21, &r, err, sizeof err) != 0);
  CHECK(cal_rule_parse("FREQ=DAILY;BYHOUR=24", 20, &r, err, sizeof err) != 0);
  CHECK(cal_rule_parse("FREQ=MONTHLY;BYMONTHDAY=32", 26, &r, err, sizeof err) !=
        0);
  CHECK(cal_rule_parse("FREQ=DAILY;X-NAME=1", 19, &r, err, sizeof err) != 0);
  CHECK(strstr(err, "X-NAME") != NULL);
  CHECK_INT(cal_rule_parse("freq=daily;count=3", 18, &r, err, sizeof err), 0);
  CHECK_INT(r.count, 3);
}

/* Rules that never match, or match every second, end in bounded work. */
static void test_rule_bounds(void) {
  int64_t got[8];
  CHECK_INT(instances("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", 2000, 1, 1, 0, 0,
                      got, 8),
            0);
  CHECK_INT(instances("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", 2000, 1, 1, 0, 0,
                      got, 8),
            0);
  CHECK_INT(instances("FREQ=MONTHLY;BYDAY=5MO;BYMONTH=2;BYMONTHDAY=1", 2000, 1,
                      1, 0, 0, got, 8),
            0);
  struct cal_rule rule;
  char err[100];
  CHECK_INT(cal_rule_parse("FREQ=SECONDLY;BYSECOND=59;INTERVAL=60", 37, &rule,
                           err, sizeof err),
            0);
  struct cal_recur_setup s = {
      .rule = &rule, .day = 0, .sec = 0, .from_day = 0, .stop_day = 3000000};
  struct cal_recur *it;
  CHECK_INT(cal_recur_new(&s, &it), 0);
  int64_t day;
  int32_t sec;
  CHECK_INT(cal_recur_next(it, &day, &sec), PB_ETOOBIG);
  cal_recur_free(it);
}

/* RFC 5545 §3.3.10: "Information, not contained in the rule, necessary to
 * determine the various recurrence instance start time and dates are
 * derived from the Start Time ("DTSTART")". */
static void test_rrule_parts_from_dtstart(void) {
  {
    /* Google Calendar's and Windows' yearly event: once a year, in
     * DTSTART's month, not the 20th of every month. */
    const int64_t w[] = {L(2022, 8, 20, 0, 0), L(2023, 8, 20, 0, 0),
                         L(2024, 8, 20, 0, 0)};
    expect("FREQ=YEARLY;WKST=SU;INTERVAL=1;BYMONTHDAY=20;COUNT=3", 2022, 8, 20,
           0, 0, w, 3);
  }
  {
    const int64_t w[] = {L(2023, 2, 28, 9, 0), L(2024, 2, 29, 9, 0),
                         L(2025, 2, 28, 9, 0)};
    expect("FREQ=YEARLY;BYMONTHDAY=-1;COUNT=3", 2023, 2, 28, 9, 0, w, 3);
  }
  {
    /* With BYDAY too, the month still comes from DTSTART (as libical). */
    int64_t got[4];
    /* Not January or October 2023 (Fridays the 13th too); the next May the
     * 13th that is a Friday, 2033, is past the ten years looked at. */
    CHECK_INT(instances("FREQ=YEARLY;BYMONTHDAY=13;BYDAY=FR", 2022, 5, 13, 9, 0,
                        got, 4),
              1);
    CHECK_INT(got[0], L(2022, 5, 13, 9, 0));
  }
  {
    /* A month given: nothing is taken from DTSTART's. */
    const int64_t w[] = {L(2022, 1, 20, 9, 0), L(2022, 7, 20, 9, 0),
                         L(2023, 1, 20, 9, 0)};
    expect("FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=20;COUNT=3", 2022, 1, 20, 9, 0,
           w, 3);
  }
  {
    /* MONTHLY is unchanged: the 20th of every month. */
    const int64_t w[] = {L(2022, 8, 20, 9, 0), L(2022, 9, 20, 9, 0),
                         L(2022, 10, 20, 9, 0)};
    expect("FREQ=MONTHLY;BYMONTHDAY=20;COUNT=3", 2022, 8, 20, 9, 0, w, 3);
  }
  {
    /* Weeks of the year without a weekday: DTSTART's (a Monday), as the
     * RFC's own FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO example. */
    const int64_t w[] = {L(1997, 5, 12, 9, 0), L(1998, 5, 11, 9, 0),
                         L(1999, 5, 17, 9, 0)};
    expect("FREQ=YEARLY;BYWEEKNO=20;COUNT=3", 1997, 5, 12, 9, 0, w, 3);
  }
  {
    /* BYYEARDAY names whole days: the 100th, 9 April in a leap year. */
    const int64_t w[] = {L(2022, 4, 10, 9, 0), L(2023, 4, 10, 9, 0),
                         L(2024, 4, 9, 9, 0)};
    expect("FREQ=YEARLY;BYYEARDAY=100;COUNT=3", 2022, 4, 10, 9, 0, w, 3);
  }
  /* The same through cal_expand, on the all-day event Google exports. */
  struct got g;
  CHECK_INT(expand(one_event("DTSTART;VALUE=DATE:20220820\r\n"
                             "RRULE:FREQ=YEARLY;WKST=SU;INTERVAL=1;"
                             "BYMONTHDAY=20\r\n"),
                   utc(2022, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0), &g, NULL, 0,
                   false),
            0);
  CHECK_INT((int64_t)g.n, 3);
  CHECK_INT(g.o[0].start_date, 20220820);
  CHECK_INT(g.o[1].start_date, 20230820);
  CHECK_INT(g.o[2].start_date, 20240820);
}

/* RFC 5545 §3.3.10: INTERVAL is any positive integer. libical keeps it in a
 * short; the reader reads it from the text, exactly, up to its bound. */
static void test_rrule_large_interval(void) {
  struct cal_rule r;
  char err[200];
  CHECK_INT(
      cal_rule_parse("FREQ=SECONDLY;INTERVAL=90061", 28, &r, err, sizeof err),
      0);
  CHECK_INT(r.interval, 90061);
  CHECK_INT(cal_rule_parse("FREQ=DAILY;INTERVAL=65536;COUNT=2", 33, &r, err,
                           sizeof err),
            0);
  CHECK_INT(r.interval, 65536);
  CHECK_INT(
      cal_rule_parse("INTERVAL=1000000000;FREQ=DAILY", 30, &r, err, sizeof err),
      0);
  CHECK_INT(r.interval, 1000000000);
  CHECK_INT(r.freq, CAL_DAILY);
  CHECK(cal_rule_parse("FREQ=DAILY;INTERVAL=1000000001", 30, &r, err,
                       sizeof err) != 0);
  CHECK(strstr(err, "INTERVAL") != NULL);
  CHECK(cal_rule_parse("FREQ=DAILY;INTERVAL=99999999999999999999999", 43, &r,
                       err, sizeof err) != 0);
  CHECK(strstr(err, "INTERVAL") != NULL);
  CHECK(cal_rule_parse("FREQ=DAILY;INTERVAL=00", 22, &r, err, sizeof err) != 0);
  CHECK(strstr(err, "INTERVAL") != NULL);
  /* A day, an hour, a minute and a second apart, not 24,525 s. */
  int64_t got[4];
  CHECK_INT(instances("FREQ=SECONDLY;INTERVAL=90061;COUNT=3", 2026, 1, 1, 0, 0,
                      got, 4),
            3);
  CHECK_INT(got[0], utc(2026, 1, 1, 0, 0));
  CHECK_INT(got[1], utc(2026, 1, 2, 1, 1) + 1);
  CHECK_INT(got[2], utc(2026, 1, 3, 2, 2) + 2);
  CHECK_INT(instances("FREQ=MINUTELY;INTERVAL=65536;COUNT=2", 2026, 1, 1, 0, 0,
                      got, 4),
            2);
  CHECK_INT(got[1], utc(2026, 2, 15, 12, 16));
  /* Too large: the event is skipped, and the warning says why. */
  struct got g;
  CHECK_INT(expand(one_event("DTSTART:20260101T000000Z\r\n"
                             "RRULE:FREQ=SECONDLY;INTERVAL=4000000000\r\n"),
                   utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0), &g, NULL, 0,
                   false),
            0);
  CHECK_INT((int64_t)g.n, 0);
  CHECK_INT(g.warnings, 1);
  CHECK(strstr(g.last_warning, "INTERVAL=4000000000 is larger") != NULL);
}

/* `head` with BYSETPOS=-1 over every second of the day: each second of a
 * period is one of its instants, and costs one step of the allowance. */
static const char *seconds_rule(const char *head, char *buf, size_t n) {
  size_t len = (size_t)snprintf(buf, n, "%s;BYHOUR=0", head);
  for (int h = 1; h < 24 && len < n; h++)
    len += (size_t)snprintf(buf + len, n - len, ",%d", h);
  const char *parts[] = {";BYMINUTE=0", ";BYSECOND=0"};
  for (int p = 0; p < 2 && len < n; p++) {
    len += (size_t)snprintf(buf + len, n - len, "%s", parts[p]);
    for (int m = 1; m < 60 && len < n; m++)
      len += (size_t)snprintf(buf + len, n - len, ",%d", m);
  }
  if (len < n)
    snprintf(buf + len, n - len, ";BYSETPOS=-1");
  return buf;
}

/* RFC 5545 §3.3.10 BYSETPOS: the n-th instant of each period. Periods of up
 * to 100,000 instants (docs/calendars.md) are read, past 65,536 too; a
 * longer one is refused for that reason, not for the work allowance. */
static void test_setpos_period_cap(void) {
  char rule[1024];
  int64_t got[4];
  /* A day of seconds: 86,400 instants; the last second of each day. */
  CHECK_INT(instances(seconds_rule("FREQ=DAILY", rule, sizeof rule), 2025, 1, 1,
                      0, 0, got, 2),
            2);
  CHECK_INT(got[0], utc(2025, 1, 1, 23, 59) + 59);
  CHECK_INT(got[1], utc(2025, 1, 2, 23, 59) + 59);
  /* Two days a week of seconds: 172,800 instants, more than the bound. */
  struct cal_rule r;
  char err[200];
  seconds_rule("FREQ=WEEKLY;BYDAY=MO,TU", rule, sizeof rule);
  CHECK_INT(cal_rule_parse(rule, strlen(rule), &r, err, sizeof err), 0);
  struct cal_recur_setup s = {.rule = &r,
                              .day = pb_days_from_civil(2025, 1, 6),
                              .from_day = pb_days_from_civil(2025, 1, 6),
                              .stop_day = pb_days_from_civil(2025, 3, 1)};
  struct cal_recur *it;
  CHECK_INT(cal_recur_new(&s, &it), 0);
  int64_t day;
  int32_t sec;
  CHECK_INT(cal_recur_next(it, &day, &sec), PB_ERANGE);
  cal_recur_free(it);
  /* The warning names BYSETPOS and the bound, not the work allowance. */
  char props[1200];
  snprintf(props, sizeof props, "DTSTART:20250106T000000\r\nRRULE:%s\r\n",
           rule);
  struct got g;
  CHECK_INT(expand(one_event(props), utc(2025, 1, 6, 0, 0),
                   utc(2025, 3, 1, 0, 0), &g, NULL, 0, false),
            0);
  CHECK_INT(g.warnings, 1);
  CHECK(strstr(g.last_warning, "BYSETPOS") != NULL);
  CHECK(strstr(g.last_warning, "100000") != NULL);
  CHECK(strstr(g.last_warning, "too much work") == NULL);
}

/* ---- time zones ---- */

static void test_windows_zones(void) {
  CHECK_STR(cal_windows_zone("W. Europe Standard Time"), "Europe/Berlin");
  CHECK_STR(cal_windows_zone("romance standard time"), "Europe/Paris");
  CHECK_STR(cal_windows_zone("(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"),
            "Europe/Paris");
  CHECK_STR(cal_windows_zone("(GMT-05:00) Eastern Time (US & Canada)"),
            "America/New_York");
  CHECK(cal_windows_zone("Mars Standard Time") == NULL);
  /* Every zone of the table exists on this system. */
  size_t n = cal_windows_zone_count();
  CHECK(n >= 130);
  for (size_t i = 0; i < n; i++) {
    const char *iana;
    const char *win = cal_windows_zone_at(i, &iana);
    struct pb_tz *tz = NULL;
    if (pb_tz_load(iana, &tz) != 0) {
      fprintf(stderr, "%s -> %s: not in the system's zoneinfo\n", win, iana);
      CHECK(0);
    }
    pb_tz_free(tz);
  }
}

/* Outlook's Europe/Berlin VTIMEZONE (rules from 1601) read by
 * calendar_vtimezone.c agrees with the IANA zone for thirty years. */
static void test_vtimezone(void) {
  const char *vtz =
      "BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\n"
      "DTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\n"
      "TZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
      "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\n"
      "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
      "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n"
      "END:VTIMEZONE\r\n";
  struct cal_vtz *z;
  char err[200];
  CHECK_INT(cal_vtz_new(vtz, strlen(vtz), 2100, &z, err, sizeof err), 0);
  struct pb_tz *berlin;
  CHECK_INT(pb_tz_load("Europe/Berlin", &berlin), 0);
  int bad = 0;
  for (int64_t t = utc(1996, 1, 1, 0, 0); t < utc(2026, 1, 1, 0, 0);
       t += 3 * 3600 + 17) {
    int64_t d;
    int32_t s;
    cal_vtz_from_utc(z, t, &d, &s);
    if (d * 86400 + s - t != pb_tz_offset_at(berlin, t))
      bad++;
  }
  CHECK_INT(bad, 0);
  /* RFC 5545 §3.3.5: a gap takes the offset before it, a repeated time its
   * first occurrence. */
  CHECK_INT(cal_vtz_to_utc(z, pb_days_from_civil(2025, 3, 30), 2 * 3600 + 1800),
            utc(2025, 3, 30, 1, 30));
  CHECK_INT(
      cal_vtz_to_utc(z, pb_days_from_civil(2025, 10, 26), 2 * 3600 + 1800),
      utc(2025, 10, 26, 0, 30));
  CHECK_INT(cal_vtz_to_utc(z, pb_days_from_civil(2025, 7, 1), 12 * 3600),
            utc(2025, 7, 1, 10, 0));
  cal_vtz_free(z);
  pb_tz_free(berlin);
  const char *broken =
      "BEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\n"
      "DTSTART:16010101T030000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
  CHECK(cal_vtz_new(broken, strlen(broken), 2100, &z, err, sizeof err) != 0);
}

/* ---- cal_expand ---- */

/* The naive icalcomponent_foreach_recurrence reports a moved instance
 * twice (at its old and its new time): here it is once, at its new time. */
static void test_moved_instance_once(void) {
  const char *ics =
      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:w\r\nSUMMARY:Cours\r\n"
      "DTSTART;TZID=Europe/Paris:20250303T080000\r\n"
      "DTEND;TZID=Europe/Paris:20250303T100000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
      "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:w\r\nSUMMARY:Cours (moved)\r\n"
      "RECURRENCE-ID;TZID=Europe/Paris:20250310T080000\r\n"
      "DTSTART;TZID=Europe/Paris:20250311T140000\r\n"
      "DTEND;TZID=Europe/"
      "Paris:20250311T150000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  struct got g;
  CHECK_INT(expand(ics, utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), &g, NULL,
                   0, false),
            0);
  CHECK_INT(g.n, 3);
  CHECK_INT(g.o[0].start, utc(2025, 3, 3, 7, 0));
  CHECK_INT(g.o[1].start, utc(2025, 3, 11, 13, 0));
  CHECK_INT(g.o[1].end, utc(2025, 3, 11, 14, 0));
  CHECK_STR(g.o[1].summary, "Cours (moved)");
  CHECK_INT(g.o[2].start, utc(2025, 3, 17, 7, 0));
  /* Moved into the window from outside it, and out of it. */
  CHECK_INT(expand(ics, utc(2025, 3, 11, 0, 0), utc(2025, 3, 12, 0, 0), &g,
                   NULL, 0, false),
            0);
  CHECK_INT(g.n, 1);
  CHECK_INT(expand(ics, utc(2025, 3, 10, 0, 0), utc(2025, 3, 11, 0, 0), &g,
                   NULL, 0, false),
            0);
  CHECK_INT(g.n, 0);
}

static void test_cancelled_and_free(void) {
  const char *ics =
      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:w\r\nSUMMARY:Cours\r\n"
      "DTSTART:20250303T080000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT="
      "4\r\n"
      "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:"
      "20250304T080000Z\r\n"
      "STATUS:CANCELLED\r\nDTSTART:20250304T080000Z\r\nDURATION:PT1H\r\nEND:"
      "VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:20250305T080000Z\r\nTRANSP:"
      "TRANSPARENT\r\n"
      "DTSTART:20250305T080000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n"
      "BEGIN:VEVENT\r\nUID:free\r\nTRANSP:transparent\r\nDTSTART:"
      "20250303T120000Z\r\n"
      "DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  struct got g;
  CHECK_INT(expand(ics, utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), &g, NULL,
                   0, false),
            0);
  CHECK_INT(g.n, 2);
  CHECK_INT(g.o[0].start, utc(2025, 3, 3, 8, 0));
  CHECK_INT(g.o[1].start, utc(2025, 3, 6, 8, 0));
  CHECK_INT(expand(ics, utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), &g, NULL,
                   0, true),
            0);
  CHECK_INT(g.n, 5);
}

static void test_this_and_future(void) {
  const char *ics =
      "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:r\r\nSUMMARY:Old\r\n"
      "DTSTART:20250303T080000Z\r\nDTEND:20250303T090000Z\r\nRRULE:FREQ=DAILY;"
      "COUNT=5\r\n"
      "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:r\r\nSUMMARY:New\r\n"
      "RECURRENCE-ID;RANGE=THISANDFUTURE:20250305T080000Z\r\n"
      "DTSTART:20250305T100000Z\r\nDTEND:20250305T103000Z\r\nEND:VEVENT\r\n"
      "END:VCALENDAR\r\n";
  struct got g;
  CHECK_INT(expand(ics, utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), &g, NULL,
                   0, false),
            0);
  CHECK_INT(g.n, 5);
  CHECK_STR(g.o[1].summary, "Old");
  CHECK_INT(g.o[2].start, utc(2025, 3, 5, 10, 0));
  CHECK_INT(g.o[3].start, utc(2025, 3, 6, 10, 0));
  CHECK_INT(g.o[3].end, utc(2025, 3, 6, 10, 30));
  CHECK_STR(g.o[4].summary, "New");
}

static void test_all_day_and_fields(void) {
  struct got g;
  CHECK_INT(
      expand(
          one_event("SUMMARY:Vacances\\, été\r\nDTSTART;VALUE=DATE:20250329\r\n"
                    "DTEND;VALUE=DATE:20250331\r\nCATEGORIES:Congés,École\r\n"
                    "CATEGORIES:Perso\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n"),
          utc(2025, 1, 1, 0, 0), utc(2026, 1, 1, 0, 0), &g, NULL, 0, false),
      0);
  CHECK_INT(g.n, 1);
  CHECK(g.o[0].all_day);
  CHECK_INT(g.o[0].start_date, 20250329);
  CHECK_INT(g.o[0].end_date, 20250331);
  /* Local midnights in the configured zone, across the DST change. */
  CHECK_INT(g.o[0].start, utc(2025, 3, 28, 23, 0));
  CHECK_INT(g.o[0].end, utc(2025, 3, 30, 22, 0));
  CHECK_STR(g.o[0].summary, "Vacances, été");
  CHECK_STR(g.o[0].categories, "Congés,École,Perso");
  CHECK_STR(g.o[0].busystatus, "OOF");
  CHECK_STR(g.o[0].location, "(null)");
}

static void test_dst_beyond_2037(void) {
  /* The TZif footer's rule gives DST after 2037 too. */
  struct got g;
  CHECK_INT(expand(one_event("DTSTART;TZID=Europe/Paris:20400702T090000\r\n"
                             "DURATION:PT1H\r\n"),
                   utc(2040, 1, 1, 0, 0), utc(2041, 1, 1, 0, 0), &g, NULL, 0,
                   false),
            0);
  CHECK_INT(g.n, 1);
  CHECK_INT(g.o[0].start, utc(2040, 7, 2, 7, 0));
}

static void test_errors(void) {
  struct got g;
  char err[300];
  CHECK_INT(expand("", 0, 1, &g, err, sizeof err, false), PB_EPARSE);
  CHECK(strstr(err, "empty") != NULL);
  CHECK_INT(expand("<html>hello</html>\n", 0, 1, &g, err, sizeof err, false),
            PB_EPARSE);
  CHECK(strstr(err, "not an iCalendar stream") != NULL);
  CHECK_INT(
      expand("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20250101T000000Z\r\n",
             0, utc(2030, 1, 1, 0, 0), &g, err, sizeof err, false),
      PB_EPARSE);
  CHECK(strstr(err, "ends inside VEVENT begun on line 2") != NULL);
  CHECK_INT(g.n, 0); /* nothing is handed out from a refused input */
  /* An END that names nothing open closes the innermost component. */
  CHECK_INT(expand("BEGIN:VCALENDAR\r\nEND:VEVENT\r\n", 0, 1, &g, err,
                   sizeof err, false),
            0);
  CHECK(strstr(g.last_warning, "taken as END:VCALENDAR") != NULL);
  CHECK_INT(expand("END:VCALENDAR\r\n", 0, 1, &g, err, sizeof err, false),
            PB_EPARSE);
  /* Bad events are skipped with a warning; the rest is read. */
  CHECK_INT(expand(one_event("DTSTART:20250101T250000Z\r\n"), 0,
                   utc(2030, 1, 1, 0, 0), &g, err, sizeof err, false),
            0);
  CHECK_INT(g.n, 0);
  CHECK_INT(g.warnings, 1);
  CHECK(strstr(g.last_warning, "DTSTART") != NULL);
  CHECK_INT(
      expand(one_event(
                 "DTSTART:20250101T080000Z\r\nRRULE:FREQ=DAILY;BYHOUR=99\r\n"),
             0, utc(2030, 1, 1, 0, 0), &g, err, sizeof err, false),
      0);
  CHECK_INT(g.n, 0);
  CHECK(strstr(g.last_warning, "BYHOUR") != NULL);
}

static void test_bounds(void) {
  struct got g;
  char err[300];
  /* An endless daily rule: only the window, and max_occurrences holds. */
  /* one_event's buffer is reused below: this calendar is kept in a copy. */
  char *daily = strdup(one_event("DTSTART:20000101T080000Z\r\nDURATION:PT1H\r\n"
                                 "RRULE:FREQ=DAILY\r\n"));
  CHECK_INT(expand(daily, utc(2025, 1, 1, 0, 0), utc(2025, 2, 1, 0, 0), &g, err,
                   sizeof err, false),
            0);
  CHECK_INT(g.n, 31);
  struct cal_options o = {.tz = paris,
                          .from = utc(2025, 1, 1, 0, 0),
                          .to = utc(2026, 1, 1, 0, 0),
                          .max_occurrences = 100};
  memset(&g, 0, sizeof g);
  CHECK_INT(cal_expand(daily, strlen(daily), &o, collect, &g, err, sizeof err),
            PB_ETOOBIG);
  CHECK(strstr(err, "more than 100 occurrences") != NULL);
  /* An event whose instances alone pass the bound is refused before they
   * are all gathered (memory stays bounded). */
  const char *hourly =
      one_event("DTSTART:20000101T080000Z\r\nRRULE:FREQ=HOURLY\r\n");
  o.max_occurrences = 10;
  memset(&g, 0, sizeof g);
  CHECK_INT(
      cal_expand(hourly, strlen(hourly), &o, collect, &g, err, sizeof err),
      PB_ETOOBIG);
  CHECK(strstr(err, "alone would pass it") != NULL);
  CHECK_INT(g.n, 0);
  /* The callback's non-zero answer stops the reading and is returned. */
  memset(&g, 0, sizeof g);
  g.stop_after = 3;
  o.max_occurrences = 0;
  CHECK_INT(cal_expand(daily, strlen(daily), &o, collect, &g, err, sizeof err),
            42);
  CHECK_INT(g.n, 3);
  free(daily);
  /* A rule that never matches costs bounded work. */
  CHECK_INT(expand(one_event("DTSTART:20000101T000000Z\r\n"
                             "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n"),
                   utc(1970, 1, 1, 0, 0), utc(9000, 1, 1, 0, 0), &g, err,
                   sizeof err, false),
            0);
  CHECK_INT(g.n, 1); /* DTSTART itself */
  CHECK(g.warnings <= 1);
}

static void test_warnings_capped(void) {
  char *buf = malloc(200000);
  size_t n = (size_t)snprintf(buf, 200000, "BEGIN:VCALENDAR\r\n");
  for (int i = 0; i < 500; i++)
    n += (size_t)snprintf(buf + n, 200000 - n,
                          "BEGIN:VEVENT\r\nUID:%d\r\nEND:VEVENT\r\n", i);
  n += (size_t)snprintf(buf + n, 200000 - n, "END:VCALENDAR\r\n");
  struct got g;
  CHECK_INT(expand(buf, 0, 1, &g, NULL, 0, false), 0);
  CHECK_INT(g.warnings, CAL_WARNINGS_MAX + 1);
  CHECK(strstr(g.last_warning, "400 more warnings") != NULL);
  free(buf);
}

/* Whether a reading depends on the zone given (floating times, all-day
 * days, unknown TZIDs): an extension in another zone then needs its own
 * reading; TZID, UTC and X-WR-TIMEZONE times do not. */
static bool reads_in_zone(const char *ics, const struct pb_tz *tz,
                          int64_t *first) {
  struct got g;
  memset(&g, 0, sizeof g);
  bool uses = false;
  struct cal_options o = {.tz = tz,
                          .from = utc(2026, 3, 1, 0, 0),
                          .to = utc(2026, 5, 1, 0, 0),
                          .warn = on_warning,
                          .warn_ud = &g,
                          .uses_tz = &uses};
  char err[300];
  CHECK_INT(cal_expand(ics, strlen(ics), &o, collect, &g, err, sizeof err), 0);
  if (first)
    *first = g.n ? g.o[0].start : -1;
  return uses;
}

static void test_reading_depends_on_zone(void) {
  struct pb_tz *ny;
  CHECK_INT(pb_tz_load("America/New_York", &ny), 0);
  int64_t at;
  /* a floating 09:00 is 09:00 on the wall clock of the zone given */
  const char *floating =
      one_event("DTSTART:20260330T090000\r\nDURATION:PT1H\r\n");
  CHECK(reads_in_zone(floating, paris, &at));
  CHECK_INT(at, utc(2026, 3, 30, 7, 0));
  CHECK(reads_in_zone(floating, ny, &at));
  CHECK_INT(at, utc(2026, 3, 30, 13, 0));
  /* an all-day event is that day in the zone given */
  CHECK(reads_in_zone(one_event("DTSTART;VALUE=DATE:20260331\r\n"), ny, &at));
  CHECK_INT(at, utc(2026, 3, 31, 4, 0));
  /* an unknown TZID is read as floating */
  CHECK(reads_in_zone(
      one_event("DTSTART;TZID=Nowhere/Atlantis:20260330T090000\r\n"
                "DURATION:PT1H\r\n"),
      ny, NULL));
  /* zoned and UTC times are the same instants in any zone */
  CHECK(!reads_in_zone(
      one_event("DTSTART;TZID=Europe/Paris:20260330T090000\r\n"
                "DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"),
      ny, &at));
  CHECK_INT(at, utc(2026, 3, 30, 7, 0));
  CHECK(!reads_in_zone(one_event("DTSTART:20260330T070000Z\r\n"
                                 "DTEND:20260330T080000Z\r\n"),
                       ny, NULL));
  /* floating times follow X-WR-TIMEZONE when the calendar names one */
  CHECK(!reads_in_zone("BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Paris\r\n"
                       "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260330T090000\r\n"
                       "DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                       ny, &at));
  CHECK_INT(at, utc(2026, 3, 30, 7, 0));
  pb_tz_free(ny);
}

int main(void) {
  if (pb_tz_load("Europe/Paris", &paris)) {
    fprintf(stderr, "no Europe/Paris zone\n");
    return 1;
  }
  RUN(test_lines);
  RUN(test_values);
  RUN(test_rfc_examples);
  RUN(test_rule_errors);
  RUN(test_rule_bounds);
  RUN(test_rrule_parts_from_dtstart);
  RUN(test_rrule_large_interval);
  RUN(test_setpos_period_cap);
  RUN(test_windows_zones);
  RUN(test_vtimezone);
  RUN(test_moved_instance_once);
  RUN(test_cancelled_and_free);
  RUN(test_this_and_future);
  RUN(test_all_day_and_fields);
  RUN(test_dst_beyond_2037);
  RUN(test_errors);
  RUN(test_bounds);
  RUN(test_warnings_capped);
  RUN(test_reading_depends_on_zone);
  pb_tz_free(paris);
  return CHECK_DONE();
}
