/* Retry-After (RFC 9110 §10.2.3): how long a calendar server that answered
 * 429 or 503 asks us to wait, as delay-seconds or as an HTTP-date in any of
 * the three forms a recipient must accept (§5.6.7: IMF-fixdate, the
 * obsolete RFC 850 form and asctime's). */
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "pb/error.h"
#include "pb/tz.h"

static void skip_spaces(const char **p) {
  while (**p == ' ' || **p == '\t')
    (*p)++;
}

/* `min`..`max` digits. */
static bool number(const char **p, int min, int max, int *out) {
  int n = 0, v = 0;
  while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') {
    v = v * 10 + ((*p)[n] - '0');
    n++;
  }
  if (n < min)
    return false;
  *p += n;
  *out = v;
  return true;
}

static bool month(const char **p, int *out) {
  static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  for (int i = 0; i < 12; i++) {
    if (strncasecmp(*p, names + 3 * i, 3) == 0) {
      *p += 3;
      *out = i + 1;
      return true;
    }
  }
  return false;
}

static bool expect(const char **p, char c) {
  if (**p != c)
    return false;
  (*p)++;
  return true;
}

/* "HH:MM:SS" */
static bool clock_time(const char **p, int *h, int *m, int *s) {
  return number(p, 2, 2, h) && expect(p, ':') && number(p, 2, 2, m) &&
         expect(p, ':') && number(p, 2, 2, s) && *h < 24 && *m < 60 && *s < 61;
}

static bool gmt(const char **p) {
  skip_spaces(p);
  if (strncmp(*p, "GMT", 3) != 0)
    return false;
  *p += 3;
  return true;
}

static int http_date(const char *text, int64_t now, int64_t *out) {
  const char *p = text;
  int y, mo, d, h, mi, s;
  while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
    p++; /* the day name, not checked */
  if (*p == ',') {
    p++;
    skip_spaces(&p);
    if (!number(&p, 2, 2, &d))
      return PB_EPARSE;
    if (*p == '-') { /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
      p++;
      if (!month(&p, &mo) || !expect(&p, '-') || !number(&p, 2, 2, &y))
        return PB_EPARSE;
      /* §5.6.7: a two-digit year more than 50 years ahead is in the past
       * century. */
      int civil_year, m0, d0;
      pb_civil_from_days(now / 86400, &civil_year, &m0, &d0);
      y += civil_year / 100 * 100;
      if (y > civil_year + 50)
        y -= 100;
    } else { /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
      skip_spaces(&p);
      if (!month(&p, &mo))
        return PB_EPARSE;
      skip_spaces(&p);
      if (!number(&p, 4, 4, &y))
        return PB_EPARSE;
    }
    skip_spaces(&p);
    if (!clock_time(&p, &h, &mi, &s) || !gmt(&p))
      return PB_EPARSE;
  } else { /* asctime: "Sun Nov  6 08:49:37 1994" */
    skip_spaces(&p);
    if (!month(&p, &mo))
      return PB_EPARSE;
    skip_spaces(&p);
    if (!number(&p, 1, 2, &d))
      return PB_EPARSE;
    skip_spaces(&p);
    if (!clock_time(&p, &h, &mi, &s))
      return PB_EPARSE;
    skip_spaces(&p);
    if (!number(&p, 4, 4, &y))
      return PB_EPARSE;
  }
  skip_spaces(&p);
  if (*p || d < 1 || d > 31)
    return PB_EPARSE;
  *out = pb_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  return 0;
}

int ingest_retry_after(const char *value, int64_t now, int64_t max_wait,
                       int64_t *at) {
  if (!value)
    return PB_EPARSE;
  const char *p = value;
  skip_spaces(&p);
  int64_t when;
  if (*p >= '0' && *p <= '9') {
    int64_t secs = 0;
    for (; *p >= '0' && *p <= '9'; p++)
      if (secs <= max_wait) /* further digits only make it longer */
        secs = secs * 10 + (*p - '0');
    skip_spaces(&p);
    if (*p)
      return PB_EPARSE;
    when = now + (secs < max_wait ? secs : max_wait);
  } else if (http_date(p, now, &when)) {
    return PB_EPARSE;
  }
  /* A date in the past asks for no wait; one too far is capped. */
  *at = when < now ? now : when > now + max_wait ? now + max_wait : when;
  return 0;
}
