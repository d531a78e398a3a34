/* Unit tests for pb/tz.h: known transitions, RFC 5545 gap/overlap rules,
 * footer rules (far future, hand-made slim files), and agreement with
 * glibc's localtime_r (used here only, as an independent reference). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pb/error.h"
#include "pb/tz.h"

static int64_t utc_of(int y, int mo, int d, int h, int mi, int s) {
  return pb_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static int64_t l2u(const struct pb_tz *tz, int y, int mo, int d, int h,
                   int mi) {
  struct pb_civil c = {
      .year = y, .month = mo, .day = d, .hour = h, .minute = mi};
  return pb_tz_local_to_utc(tz, &c);
}

static struct pb_tz *load(const char *name) {
  struct pb_tz *tz = NULL;
  int rc = pb_tz_load(name, &tz);
  if (rc != PB_OK)
    fprintf(stderr, "pb_tz_load(%s) = %d\n", name, rc);
  return tz;
}

static void test_calendar(void) {
  CHECK_INT(pb_days_from_civil(1970, 1, 1), 0);
  CHECK_INT(pb_days_from_civil(1969, 12, 31), -1);
  CHECK_INT(pb_days_from_civil(2000, 3, 1), 11017);
  CHECK_INT(pb_days_from_civil(2026, 3, 29), 20541);
  CHECK_INT(pb_days_from_civil(0, 3, 1), -719468);
  CHECK_INT(pb_weekday_from_days(0), 4);  /* Thursday */
  CHECK_INT(pb_weekday_from_days(-1), 3); /* Wednesday */
  CHECK_INT(pb_weekday_from_days(pb_days_from_civil(2026, 3, 29)), 0);
  CHECK_INT(pb_weekday_from_days(INT64_MIN), 3); /* 2^63 = 1 (mod 7) */
  /* Every day of about +-2700 years: round trip, consecutive, weekdays. */
  long bad = 0;
  int py, pm, pd;
  pb_civil_from_days(-1000001, &py, &pm, &pd);
  for (int64_t d = -1000000; d <= 1000000; d++) {
    int y, m, dd;
    pb_civil_from_days(d, &y, &m, &dd);
    bool next = (dd == pd + 1 && m == pm && y == py) ||
                (dd == 1 && ((m == pm + 1 && y == py) ||
                             (m == 1 && pm == 12 && y == py + 1)));
    if (pb_days_from_civil(y, m, dd) != d || !next ||
        pb_weekday_from_days(d) != (int)(((d % 7) + 11) % 7))
      bad++;
    py = y, pm = m, pd = dd;
  }
  CHECK_INT(bad, 0);
  /* The ends of the int range round-trip; beyond, the year saturates. */
  int y, m, d;
  pb_civil_from_days(pb_days_from_civil(INT_MAX, 12, 31), &y, &m, &d);
  CHECK(y == INT_MAX && m == 12 && d == 31);
  pb_civil_from_days(pb_days_from_civil(INT_MIN, 1, 1), &y, &m, &d);
  CHECK(y == INT_MIN && m == 1 && d == 1);
  pb_civil_from_days(INT64_MAX, &y, &m, &d);
  CHECK_INT(y, INT_MAX);
  pb_civil_from_days(INT64_MIN, &y, &m, &d);
  CHECK_INT(y, INT_MIN);
  /* Out-of-range months and days roll over. */
  CHECK_INT(pb_days_from_civil(2025, 13, 1), pb_days_from_civil(2026, 1, 1));
  CHECK_INT(pb_days_from_civil(2026, 0, 1), pb_days_from_civil(2025, 12, 1));
  CHECK_INT(pb_days_from_civil(2024, 2, 30), pb_days_from_civil(2024, 3, 1));
}

static void test_utc(void) {
  struct pb_tz *tz = load("UTC");
  struct pb_civil c;
  CHECK(tz != NULL);
  CHECK_STR(pb_tz_name(tz), "UTC");
  CHECK_INT(pb_tz_offset_at(tz, 0), 0);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 7, 1, 0, 0, 0)), 0);
  pb_tz_utc_to_local(tz, 0, &c);
  CHECK(c.year == 1970 && c.month == 1 && c.day == 1 && c.hour == 0 &&
        c.minute == 0 && c.second == 0 && c.wday == 4 && c.offset == 0);
  pb_tz_utc_to_local(tz, -1, &c);
  CHECK(c.year == 1969 && c.month == 12 && c.day == 31 && c.hour == 23 &&
        c.minute == 59 && c.second == 59 && c.wday == 3);
  CHECK_INT(l2u(tz, 2026, 3, 29, 2, 30), utc_of(2026, 3, 29, 2, 30, 0));
  /* Extreme instants must not overflow (UBSan watches). */
  pb_tz_utc_to_local(tz, INT64_MAX, &c);
  CHECK_INT(c.year, INT_MAX);
  pb_tz_utc_to_local(tz, INT64_MIN, &c);
  CHECK_INT(c.year, INT_MIN);
  /* A NULL zone is UTC. */
  CHECK_INT(pb_tz_offset_at(NULL, 12345), 0);
  CHECK_STR(pb_tz_name(NULL), "UTC");
  pb_tz_free(tz);
}

static void test_paris(void) {
  struct pb_tz *tz = load("Europe/Paris");
  struct pb_civil c;
  CHECK(tz != NULL);
  if (!tz)
    return;
  CHECK_STR(pb_tz_name(tz), "Europe/Paris");
  /* 2026-03-29: 02:00 CET -> 03:00 CEST, at 01:00Z. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 3, 29, 0, 59, 59)), 3600);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 3, 29, 1, 0, 0)), 7200);
  pb_tz_utc_to_local(tz, utc_of(2026, 3, 29, 1, 0, 0), &c);
  CHECK(c.year == 2026 && c.month == 3 && c.day == 29 && c.hour == 3 &&
        c.minute == 0 && c.wday == 0 && c.offset == 7200);
  CHECK_INT(l2u(tz, 2026, 3, 29, 1, 59), utc_of(2026, 3, 29, 0, 59, 0));
  CHECK_INT(l2u(tz, 2026, 3, 29, 2, 30),
            utc_of(2026, 3, 29, 1, 30, 0)); /* gap */
  CHECK_INT(l2u(tz, 2026, 3, 29, 3, 0), utc_of(2026, 3, 29, 1, 0, 0));
  /* 2026-10-25: 03:00 CEST -> 02:00 CET, at 01:00Z. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 10, 25, 0, 59, 59)), 7200);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 10, 25, 1, 0, 0)), 3600);
  CHECK_INT(l2u(tz, 2026, 10, 25, 1, 59), utc_of(2026, 10, 24, 23, 59, 0));
  CHECK_INT(l2u(tz, 2026, 10, 25, 2, 30),
            utc_of(2026, 10, 25, 0, 30, 0)); /* first */
  CHECK_INT(l2u(tz, 2026, 10, 25, 3, 0), utc_of(2026, 10, 25, 2, 0, 0));
  /* Far future: past any table, only the footer rule knows. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 7, 1, 12, 0, 0)), 7200);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 1, 15, 12, 0, 0)), 3600);
  CHECK_INT(l2u(tz, 2090, 7, 1, 12, 0), utc_of(2090, 7, 1, 10, 0, 0));
  /* 2100-03-28 is the last Sunday of March 2100. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2100, 3, 28, 0, 59, 59)), 3600);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2100, 3, 28, 1, 0, 0)), 7200);
  pb_tz_free(tz);
}

static void test_new_york(void) {
  struct pb_tz *tz = load("America/New_York");
  CHECK(tz != NULL);
  if (!tz)
    return;
  /* 2026-03-08: 02:00 EST -> 03:00 EDT, at 07:00Z. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 3, 8, 6, 59, 59)), -18000);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 3, 8, 7, 0, 0)), -14400);
  CHECK_INT(l2u(tz, 2026, 3, 8, 2, 30), utc_of(2026, 3, 8, 7, 30, 0)); /* gap */
  CHECK_INT(l2u(tz, 2007, 3, 11, 2, 30), utc_of(2007, 3, 11, 7, 30, 0));
  CHECK_INT(l2u(tz, 2026, 3, 8, 3, 0), utc_of(2026, 3, 8, 7, 0, 0));
  /* 2026-11-01: 02:00 EDT -> 01:00 EST, at 06:00Z. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 11, 1, 5, 59, 59)), -14400);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 11, 1, 6, 0, 0)), -18000);
  CHECK_INT(l2u(tz, 2026, 11, 1, 1, 30),
            utc_of(2026, 11, 1, 5, 30, 0)); /* EDT */
  CHECK_INT(l2u(tz, 2026, 11, 1, 0, 59), utc_of(2026, 11, 1, 4, 59, 0));
  CHECK_INT(l2u(tz, 2026, 11, 1, 2, 0), utc_of(2026, 11, 1, 7, 0, 0));
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 7, 1, 12, 0, 0)), -14400);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 12, 1, 12, 0, 0)), -18000);
  pb_tz_free(tz);
}

static void test_half_hours(void) {
  struct pb_tz *tz = load("Asia/Kolkata");
  CHECK(tz != NULL);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 6, 1, 0, 0, 0)), 19800);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 6, 1, 0, 0, 0)), 19800);
  CHECK_INT(l2u(tz, 2026, 6, 1, 5, 30), utc_of(2026, 6, 1, 0, 0, 0));
  pb_tz_free(tz);
  /* Lord Howe: +10:30, DST +11:00. Optional: minimal tzdata may lack it. */
  if (pb_tz_load("Australia/Lord_Howe", &tz) != PB_OK)
    return;
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 1, 15, 0, 0, 0)), 39600);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 7, 15, 0, 0, 0)), 37800);
  /* DST ends 2026-04-05 02:00 +11 = 2026-04-04 15:00Z, back to 01:30. */
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 4, 4, 14, 59, 59)), 39600);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 4, 4, 15, 0, 0)), 37800);
  CHECK_INT(l2u(tz, 2026, 4, 5, 1, 45), utc_of(2026, 4, 4, 14, 45, 0));
  /* DST starts 2026-10-04 02:00 +10:30 = 2026-10-03 15:30Z, on to 02:30. */
  CHECK_INT(l2u(tz, 2026, 10, 4, 2, 15), utc_of(2026, 10, 3, 15, 45, 0));
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2090, 1, 15, 0, 0, 0)), 39600);
  pb_tz_free(tz);
}

static void test_invalid_names(void) {
  static const char *const bad[] = {
      "../etc/passwd",           "/etc/passwd",    "",
      "Europe/../../etc/passwd", "Europe/./Paris", "Europe//Paris",
      "Europe/Paris/",           "Europe/Paris\n", "Europe/Par is"};
  struct pb_tz *tz = (struct pb_tz *)&tz; /* must be reset to NULL */
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_INT(pb_tz_load(bad[i], &tz), PB_EINVAL);
    CHECK(tz == NULL);
  }
  CHECK_INT(pb_tz_load(NULL, &tz), PB_EINVAL);
  CHECK_INT(pb_tz_load("UTC", NULL), PB_EINVAL);
  char longname[300];
  memset(longname, 'A', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  CHECK_INT(pb_tz_load(longname, &tz), PB_EINVAL);
  CHECK_INT(pb_tz_load("No/Such_Zone", &tz), PB_ENOTFOUND);
  CHECK_INT(pb_tz_load("Europe", &tz), PB_ENOTFOUND); /* a directory */
  CHECK(tz == NULL);
}

static void test_system(void) {
  struct pb_tz *tz = NULL;
  char name[128];
  unsetenv("TZ");
  CHECK_INT(pb_tz_load_system(&tz), PB_OK);
  CHECK(tz != NULL);
  pb_tz_system_name(name, sizeof name);
  CHECK_STR(name, pb_tz_name(tz));
  pb_tz_free(tz);
  pb_tz_system_name(name, 2); /* truncated, terminated */
  CHECK_INT(strlen(name), 1);
}

/* TZ names the zone when set, as for every other program; TIMEZONE (the
 * caller's choice) is only consulted before this is called. */
static void test_system_tz_env(void) {
  struct pb_tz *tz = NULL;
  char sys[128];
  unsetenv("TZ");
  pb_tz_system_name(sys, sizeof sys);
  /* Whichever of the two the system zone is not. */
  const char *zone =
      strcmp(sys, "Asia/Tokyo") ? "Asia/Tokyo" : "America/New_York";
  char colon[64];
  snprintf(colon, sizeof colon, ":%s", zone);
  const char *forms[] = {zone, colon};
  for (int i = 0; i < 2; i++) {
    setenv("TZ", forms[i], 1);
    CHECK_INT(pb_tz_load_system(&tz), PB_OK);
    CHECK_STR(pb_tz_name(tz), zone);
    pb_tz_free(tz);
    tz = NULL;
    pb_tz_system_name(sys, sizeof sys);
    CHECK_STR(sys, zone);
  }
  /* A file by path, named after its place under zoneinfo. */
  setenv("TZ", ":/usr/share/zoneinfo/Europe/Paris", 1);
  CHECK_INT(pb_tz_load_system(&tz), PB_OK);
  CHECK_STR(pb_tz_name(tz), "Europe/Paris");
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2024, 7, 1, 12, 0, 0)), 7200);
  pb_tz_free(tz);
  tz = NULL;
  /* A POSIX rule, as glibc reads it. */
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  CHECK_INT(pb_tz_load_system(&tz), PB_OK);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2024, 1, 15, 12, 0, 0)), 3600);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2024, 7, 15, 12, 0, 0)), 7200);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2024, 3, 31, 0, 59, 59)), 3600);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2024, 3, 31, 1, 0, 0)), 7200);
  pb_tz_free(tz);
  tz = NULL;
  setenv("TZ", "UTC0", 1);
  CHECK_INT(pb_tz_load_system(&tz), PB_OK);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2024, 7, 15, 12, 0, 0)), 0);
  pb_tz_free(tz);
  tz = NULL;
  /* Set but unusable is an error, not some other zone. */
  setenv("TZ", ":No/Such_Zone", 1);
  CHECK(pb_tz_load_system(&tz) != PB_OK);
  CHECK(tz == NULL);
  setenv("TZ", "../../etc/passwd", 1);
  CHECK(pb_tz_load_system(&tz) != PB_OK);
  CHECK(tz == NULL);
  /* Empty counts as unset (a blank line in an env file). */
  setenv("TZ", "", 1);
  CHECK_INT(pb_tz_load_system(&tz), PB_OK);
  pb_tz_free(tz);
  unsetenv("TZ");
}

/* Compares with glibc every `step` seconds; returns the mismatch count. Also
 * checks that local_to_utc inverts utc_to_local (or, for the second
 * occurrence of a repeated time, gives an earlier instant of the same wall
 * time). */
static long vs_glibc(const char *tzenv, const struct pb_tz *tz, int64_t from,
                     int64_t to, int64_t step) {
  long bad = 0;
  setenv("TZ", tzenv, 1);
  tzset();
  for (int64_t t = from; t < to; t += step) {
    time_t tt = (time_t)t;
    struct tm tm;
    struct pb_civil c, back;
    localtime_r(&tt, &tm);
    pb_tz_utc_to_local(tz, t, &c);
    int64_t r = pb_tz_local_to_utc(tz, &c);
    pb_tz_utc_to_local(tz, r, &back);
    if (c.offset != tm.tm_gmtoff || c.year != tm.tm_year + 1900 ||
        c.month != tm.tm_mon + 1 || c.day != tm.tm_mday ||
        c.hour != tm.tm_hour || c.minute != tm.tm_min ||
        c.second != tm.tm_sec || c.wday != tm.tm_wday ||
        (r != t && !(r < t && back.hour == c.hour && back.minute == c.minute &&
                     back.day == c.day))) {
      if (bad++ < 3)
        fprintf(stderr,
                "%s at %" PRId64 ": %d-%02d-%02d %02d:%02d %+d, "
                "glibc %02d:%02d %+ld, back %" PRId64 "\n",
                tzenv, t, c.year, c.month, c.day, c.hour, c.minute, c.offset,
                tm.tm_hour, tm.tm_min, (long)tm.tm_gmtoff, r);
    }
  }
  unsetenv("TZ");
  tzset();
  return bad;
}

static void test_vs_glibc(void) {
  static const char *const zones[] = {"Europe/Paris",     "America/New_York",
                                      "Australia/Sydney", "Australia/Lord_Howe",
                                      "Europe/Dublin",    "America/Nuuk"};
  for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
    struct pb_tz *tz = NULL;
    if (pb_tz_load(zones[i], &tz) != PB_OK) {
      CHECK(i > 2); /* the last three are optional */
      continue;
    }
    /* Hourly 2020-2030 (table), then every 15 min near 2075 (footer). */
    CHECK_INT(vs_glibc(zones[i], tz, utc_of(2020, 1, 1, 0, 0, 0),
                       utc_of(2031, 1, 1, 0, 0, 0), 3600),
              0);
    CHECK_INT(vs_glibc(zones[i], tz, utc_of(2074, 12, 1, 0, 0, 0),
                       utc_of(2076, 1, 1, 0, 0, 0), 900),
              0);
    pb_tz_free(tz);
  }
}

/* ---- Hand-made TZif files in a private $TZDIR. */

static char dir[64];

static size_t put32(unsigned char *p, int64_t v) {
  uint32_t u = (uint32_t)v;
  p[0] = (unsigned char)(u >> 24), p[1] = (unsigned char)(u >> 16);
  p[2] = (unsigned char)(u >> 8), p[3] = (unsigned char)u;
  return 4;
}

/* A TZif file: version 0 (v1 only) or '2'/'3', n transitions, types. */
static size_t tzif(unsigned char *b, char ver, size_t n, const int64_t *when,
                   const unsigned char *idx, size_t ntypes, const int32_t *offs,
                   const char *footer) {
  size_t len = 0;
  for (int pass = 0; pass < (ver ? 2 : 1); pass++) {
    memcpy(b + len, "TZif", 4);
    b[len + 4] = (unsigned char)ver;
    memset(b + len + 5, 0, 27); /* reserved, isutcnt, isstdcnt, leapcnt */
    len += 32;
    len += put32(b + len, (int64_t)n);
    len += put32(b + len, (int64_t)ntypes);
    len += put32(b + len, 4); /* charcnt */
    for (size_t i = 0; i < n; i++) {
      if (pass)
        len += put32(b + len, when[i] >> 32);
      len += put32(b + len, when[i]);
    }
    memcpy(b + len, idx, n);
    len += n;
    for (size_t i = 0; i < ntypes; i++) {
      len += put32(b + len, offs[i]);
      b[len++] = i > 0, b[len++] = 0;
    }
    memcpy(b + len, "ABC", 4);
    len += 4;
  }
  if (ver) {
    size_t fl = strlen(footer);
    b[len++] = '\n';
    memcpy(b + len, footer, fl);
    len += fl;
    b[len++] = '\n';
  }
  return len;
}

static void put_file(const char *name, const unsigned char *b, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK_INT(fwrite(b, 1, len, f), len);
    fclose(f);
  }
}

/* A zone of only a footer rule must match glibc given the same string. */
static void footer_vs_glibc(const char *rule) {
  static unsigned char b[512];
  static const unsigned char idx0[1];
  int32_t off = 0;
  struct pb_tz *tz = NULL;
  put_file("Footer", b, tzif(b, '3', 0, NULL, idx0, 1, &off, rule));
  CHECK_INT(pb_tz_load("Footer", &tz), PB_OK);
  if (!tz)
    return;
  long bad = vs_glibc(rule, tz, utc_of(2023, 12, 1, 0, 0, 0),
                      utc_of(2025, 2, 1, 0, 0, 0), 900);
  if (bad)
    fprintf(stderr, "footer \"%s\": %ld mismatches\n", rule, bad);
  CHECK_INT(bad, 0);
  pb_tz_free(tz);
}

static void test_files(void) {
  static unsigned char b[300 * 1024];
  struct pb_tz *tz = NULL;
  snprintf(dir, sizeof dir, "/tmp/pb_tz_XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  setenv("TZDIR", dir, 1);
  /* Slim file, as Debian may ship: the table ends in 2007. */
  int64_t when[] = {utc_of(1883, 11, 18, 17, 0, 0),
                    utc_of(2007, 11, 4, 6, 0, 0)};
  unsigned char idx[] = {1, 1};
  int32_t offs[] = {-17762, -18000, -14400};
  put_file("Slim", b,
           tzif(b, '2', 2, when, idx, 3, offs, "EST5EDT,M3.2.0,M11.1.0"));
  CHECK_INT(pb_tz_load("Slim", &tz), PB_OK);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(1800, 1, 1, 0, 0, 0)), -17762);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2007, 12, 1, 0, 0, 0)), -18000);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 3, 8, 7, 0, 0)), -14400);
  CHECK_INT(l2u(tz, 2026, 11, 1, 1, 30), utc_of(2026, 11, 1, 5, 30, 0));
  CHECK_INT(l2u(tz, 2100, 3, 14, 2, 30), utc_of(2100, 3, 14, 7, 30, 0));
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2100, 11, 7, 5, 59, 59)), -14400);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2100, 11, 7, 6, 0, 0)), -18000);
  pb_tz_free(tz);
  /* Version 1: 32-bit times (from 1901), no footer. */
  int64_t when32[] = {INT32_MIN, when[1]};
  put_file("V1", b, tzif(b, 0, 2, when32, idx, 3, offs, NULL));
  CHECK_INT(pb_tz_load("V1", &tz), PB_OK);
  CHECK_INT(pb_tz_offset_at(tz, INT32_MIN - 1LL), -17762);
  CHECK_INT(pb_tz_offset_at(tz, INT32_MIN), -18000);
  CHECK_INT(pb_tz_offset_at(tz, utc_of(2026, 7, 1, 0, 0, 0)), -18000);
  pb_tz_free(tz);
  /* Zero transitions, no rule: type 0 forever. */
  put_file("Fixed", b, tzif(b, '2', 0, NULL, idx, 1, offs + 2, ""));
  CHECK_INT(pb_tz_load("Fixed", &tz), PB_OK);
  CHECK_INT(pb_tz_offset_at(tz, 0), -14400);
  pb_tz_free(tz);

  static const char *const rules[] = {
      "CET-1CEST,M3.5.0,M10.5.0/3",
      "EST5EDT,M3.2.0,M11.1.0",
      "<+0330>-3:30",
      "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
      "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
      "IST-1GMT0,M10.5.0,M3.5.0/1",
      "IST-2IDT,M3.4.4/26,M10.5.0",
      "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
      "AAA3BBB,J60/2,J300/1:30:15",
      "XXX-5YYY-6:30,59,300/-1:30",
      "EST5EDT,J1/-3,J300/167",
      "EST5EDT4,M4.5.6/-167,M10.1.0/100"};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    footer_vs_glibc(rules[i]);

  /* DST all year (RFC 8536 §3.3.1 example). */
  put_file("AllDst", b,
           tzif(b, '3', 0, NULL, idx, 1, offs, "EST5EDT,0/0,J365/25"));
  CHECK_INT(pb_tz_load("AllDst", &tz), PB_OK);
  for (int y = 2024; y <= 2026; y++) {
    CHECK_INT(pb_tz_offset_at(tz, utc_of(y, 1, 1, 0, 0, 0)), -14400);
    CHECK_INT(pb_tz_offset_at(tz, utc_of(y, 1, 1, 5, 0, 0)), -14400);
    CHECK_INT(pb_tz_offset_at(tz, utc_of(y, 12, 31, 23, 0, 0)), -14400);
  }
  pb_tz_free(tz);

  /* Malformed files. */
  static const char *const bad_footers[] = {
      "EST5EDT",        "EST",
      "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0",
      "<EST5",          "EST5EDT,J0,J100",
      "EST25",          "EST5,"};
  for (size_t i = 0; i < sizeof bad_footers / sizeof bad_footers[0]; i++) {
    put_file("Bad", b, tzif(b, '2', 0, NULL, idx, 1, offs, bad_footers[i]));
    CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  }
  size_t len = tzif(b, '2', 2, when, idx, 3, offs, "EST5");
  for (size_t cut = 0; cut < len; cut += 7) { /* truncated anywhere */
    put_file("Bad", b, cut);
    CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  }
  unsigned char bad_idx[] = {1, 3};
  put_file("Bad", b, tzif(b, '2', 2, when, bad_idx, 3, offs, ""));
  CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  int64_t back[] = {when[1], when[0]};
  put_file("Bad", b, tzif(b, '2', 2, back, idx, 3, offs, ""));
  CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  int32_t huge[] = {100000};
  put_file("Bad", b, tzif(b, '2', 0, NULL, idx, 1, huge, ""));
  CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  len = tzif(b, '2', 0, NULL, idx, 1, offs, "EST5");
  put_file("Bad", b, len - 1); /* footer without its closing newline */
  CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  b[4] = '1'; /* no such version */
  put_file("Bad", b, len);
  CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  memset(b, 0, sizeof b);
  memcpy(b, "TZif2", 5);
  put_file("Bad", b, sizeof b); /* over the size cap */
  CHECK_INT(pb_tz_load("Bad", &tz), PB_EPARSE);
  CHECK(tz == NULL);
  /* A broken UTC file still gives UTC. */
  put_file("UTC", b, 10);
  CHECK_INT(pb_tz_load("UTC", &tz), PB_OK);
  CHECK_INT(pb_tz_offset_at(tz, 0), 0);
  pb_tz_free(tz);

  static const char *const names[] = {"Slim",   "V1",  "Fixed", "Footer",
                                      "AllDst", "Bad", "UTC"};
  char path[128];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
  unsetenv("TZDIR");
}

int main(void) {
  RUN(test_calendar);
  RUN(test_utc);
  RUN(test_paris);
  RUN(test_new_york);
  RUN(test_half_hours);
  RUN(test_invalid_names);
  RUN(test_system);
  RUN(test_system_tz_env);
  RUN(test_vs_glibc);
  RUN(test_files);
  return CHECK_DONE();
}
