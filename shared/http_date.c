/* Retry-After (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date in one of
 * the three forms a recipient must accept (§5.6.7: IMF-fixdate, the
 * obsolete RFC 850 form and asctime's). The shape is checked here, strictly
 * (curl_getdate also takes other zones and HH:MM); libcurl reads the date. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "pb/http.h"
#include "pb/tz.h"

/* Shapes: '*' any run of letters (the day name, not checked: curl does not
 * know every spelling), '_' optional spaces, 'L' a letter, '#' a digit, '?'
 * an optional digit; anything else is itself. */
static const char IMF[] = "*,_##_LLL_####_##:##:##_GMT_";
static const char RFC850[] = "*,_##-LLL-##_##:##:##_GMT_";
static const char ASCTIME[] = "*_LLL_#?_##:##:##_####_";

static bool letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static bool digit(char c) {
  return c >= '0' && c <= '9';
}
static bool space(char c) {
  return c == ' ' || c == '\t';
}

/* Whether `s` has the shape `pat`; *after_day: where the day name ends. */
static bool shaped(const char *s, const char *pat, const char **after_day) {
  for (; *pat; pat++) {
    switch (*pat) {
    case '*':
      while (letter(*s))
        s++;
      *after_day = s;
      break;
    case '_':
      while (space(*s))
        s++;
      break;
    case 'L':
      if (!letter(*s++))
        return false;
      break;
    case '#':
      if (!digit(*s++))
        return false;
      break;
    case '?':
      if (digit(*s))
        s++;
      break;
    default:
      if (*s++ != *pat)
        return false;
    }
  }
  return *s == '\0';
}

static int http_date(const char *text, int64_t now, int64_t *out) {
  const char *date = NULL;
  char buf[64];
  if (shaped(text, IMF, &date) || shaped(text, ASCTIME, &date)) {
    snprintf(buf, sizeof buf, "%s", date + (*date == ',')); /* no day name */
  } else if (shaped(text, RFC850, &date)) {
    /* "DD-Mon-YY ...": §5.6.7 takes a two-digit year more than 50 years
     * ahead as the past century's; libcurl would pivot at 70. */
    const char *dd = date + 1;
    while (space(*dd))
      dd++;
    int yy = (dd[7] - '0') * 10 + (dd[8] - '0');
    int year, month, day;
    pb_civil_from_days(now / 86400, &year, &month, &day);
    int y = year / 100 * 100 + yy;
    if (y > year + 50)
      y -= 100;
    snprintf(buf, sizeof buf, "%.7s%04d%s", dd, y, dd + 9);
  } else {
    return PB_EPARSE;
  }
  time_t t = curl_getdate(buf, NULL);
  if (t == -1)
    return PB_EPARSE;
  *out = (int64_t)t;
  return 0;
}

int pb_http_retry_after(const char *value, int64_t now, int64_t *seconds) {
  if (!value)
    return PB_EPARSE;
  const char *p = value;
  while (space(*p))
    p++;
  if (digit(*p)) {
    int64_t secs = 0;
    for (; digit(*p); p++)
      secs = secs > (INT64_MAX - 9) / 10 ? INT64_MAX : secs * 10 + (*p - '0');
    while (space(*p))
      p++;
    if (*p)
      return PB_EPARSE;
    *seconds = secs;
    return 0;
  }
  int64_t at;
  if (http_date(p, now, &at))
    return PB_EPARSE;
  *seconds = at > now ? at - now : 0; /* a date in the past asks for none */
  return 0;
}
