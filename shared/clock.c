/* The fakeable clock (pb/clock.h) and RFC 3339 formatting/parsing. */
#include "pb/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pb/error.h"
#include "pb/tz.h"

enum { CLOCK_REAL, CLOCK_FIXED, CLOCK_SHIFTED };
static _Atomic int mode = CLOCK_REAL;
static _Atomic int64_t fixed_ms;
static _Atomic int64_t shift_ms;

static int64_t real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pb_clock_now_ms(void) {
  switch (atomic_load(&mode)) { /* clang refuses a switch on an _Atomic */
  case CLOCK_FIXED:
    return fixed_ms;
  case CLOCK_SHIFTED:
    return real_ms() + shift_ms;
  default:
    return real_ms();
  }
}

int64_t pb_clock_now(void) {
  int64_t ms = pb_clock_now_ms();
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int64_t pb_clock_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pb_clock_set_fixed(int64_t unix_ms) {
  fixed_ms = unix_ms;
  mode = CLOCK_FIXED;
}

void pb_clock_advance(int64_t ms) {
  if (mode == CLOCK_FIXED)
    fixed_ms += ms;
  else {
    shift_ms += ms;
    mode = CLOCK_SHIFTED;
  }
}

void pb_clock_set_offset(int64_t offset_ms) {
  shift_ms = offset_ms;
  mode = CLOCK_SHIFTED;
}

void pb_clock_use_real(void) {
  mode = CLOCK_REAL;
}

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int pb_time_parse_rfc3339(const char *s, int64_t *unix_s) {
  int y, mo, d, h, mi, sec;
  if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
      digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
      s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
      digits(s + 17, 2, &sec))
    return PB_EPARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return PB_EPARSE;
  const char *p = s + 19;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return PB_EPARSE;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  int offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
        oh > 23 || om > 59)
      return PB_EPARSE;
    offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return PB_EPARSE;
  }
  if (*p)
    return PB_EPARSE;
  int64_t days = pb_days_from_civil(y, mo, d);
  int y2, mo2, d2;
  pb_civil_from_days(days, &y2, &mo2, &d2);
  if (y2 != y || mo2 != mo || d2 != d)
    return PB_EPARSE; /* 2026-02-30 */
  *unix_s = days * 86400 + h * 3600 + mi * 60 + (sec > 59 ? 59 : sec) - offset;
  return 0;
}

int pb_time_format_rfc3339(int64_t unix_s, int offset_s, char *buf,
                           size_t len) {
  int64_t local = unix_s + offset_s;
  int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  int64_t rem = local - days * 86400;
  int y, mo, d;
  pb_civil_from_days(days, &y, &mo, &d);
  char off[8];
  if (offset_s == 0) {
    snprintf(off, sizeof off, "Z");
  } else {
    int a = offset_s < 0 ? -offset_s : offset_s;
    snprintf(off, sizeof off, "%c%02d:%02d", offset_s < 0 ? '-' : '+',
             (a / 3600) % 100, (a / 60) % 60);
  }
  int n =
      snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", y, mo, d,
               (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), off);
  return (n < 0 || (size_t)n >= len) ? PB_ETOOBIG : 0;
}
