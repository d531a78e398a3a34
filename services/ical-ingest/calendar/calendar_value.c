/* iCalendar value types (RFC 5545 §3.3): DATE (§3.3.4), DATE-TIME (§3.3.5)
 * in its three forms (floating, UTC with 'Z', local with a TZID that the
 * caller attaches), DURATION (§3.3.6), PERIOD (§3.3.9) and TEXT escaping
 * (§3.3.11). Strict on form, because a guessed date is a wrong slot. */
#include <string.h>

#include "calendar_int.h"
#include "pb/error.h"
#include "pb/tz.h"

static bool digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

static int days_in_month(int y, int m) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Producers sometimes leave blanks around a value; they carry no meaning. */
static void trim(const char **s, size_t *len) {
  while (*len && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*len)--;
  }
  while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
    (*len)--;
}

int cal_parse_time(const char *s, size_t len, bool date_only,
                   struct cal_time *out) {
  int y, mo, d, h = 0, mi = 0, se = 0;
  trim(&s, &len);
  memset(out, 0, sizeof *out);
  if (len < 8 || !digits(s, 4, &y) || !digits(s + 4, 2, &mo) ||
      !digits(s + 6, 2, &d))
    return PB_EPARSE;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return PB_ERANGE;
  out->day = pb_days_from_civil(y, mo, d);
  if (len == 8) {
    out->kind = CAL_T_DATE;
    return 0;
  }
  if (date_only)
    return PB_EPARSE;
  if ((len != 15 && len != 16) || (s[8] != 'T' && s[8] != 't') ||
      !digits(s + 9, 2, &h) || !digits(s + 11, 2, &mi) ||
      !digits(s + 13, 2, &se))
    return PB_EPARSE;
  if (len == 16 && s[15] != 'Z' && s[15] != 'z')
    return PB_EPARSE;
  if (h > 23 || mi > 59 || se > 60)
    return PB_ERANGE;
  if (se == 60)
    se = 59; /* a leap second (§3.3.12) is the last second of its minute */
  out->sec = h * 3600 + mi * 60 + se;
  out->kind = len == 16 ? CAL_T_UTC : CAL_T_FLOAT;
  return 0;
}

int cal_parse_duration(const char *s, size_t len, struct cal_dur *out) {
  /* Each number is capped so that no sum can overflow. */
  const int64_t cap = 100000000;
  int sign = 1;
  size_t i = 0;
  bool in_time = false, any = false;
  trim(&s, &len);
  memset(out, 0, sizeof *out);
  if (i < len && (s[i] == '+' || s[i] == '-'))
    sign = s[i++] == '-' ? -1 : 1;
  if (i >= len || (s[i] != 'P' && s[i] != 'p'))
    return PB_EPARSE;
  i++;
  while (i < len) {
    if (s[i] == 'T' || s[i] == 't') {
      if (in_time)
        return PB_EPARSE;
      in_time = true;
      i++;
      continue;
    }
    int64_t n = 0;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      n = n * 10 + (s[i] - '0');
      if (n > cap)
        return PB_ERANGE;
      i++;
    }
    if (i == start || i == len)
      return PB_EPARSE;
    char u = s[i++];
    if (u >= 'a' && u <= 'z')
      u = (char)(u - 'a' + 'A');
    if (!in_time && u == 'W')
      out->days += 7 * n;
    else if (!in_time && u == 'D')
      out->days += n;
    else if (in_time && u == 'H')
      out->secs += 3600 * n;
    else if (in_time && u == 'M')
      out->secs += 60 * n;
    else if (in_time && u == 'S')
      out->secs += n;
    else
      return PB_EPARSE;
    any = true;
  }
  if (!any)
    return PB_EPARSE;
  out->days *= sign;
  out->secs *= sign;
  return 0;
}

int cal_parse_value(const char *s, size_t len, bool date_only, bool period_ok,
                    struct cal_value *out) {
  memset(out, 0, sizeof *out);
  const char *slash = memchr(s, '/', len);
  if (!slash)
    return cal_parse_time(s, len, date_only, &out->t);
  if (!period_ok)
    return PB_EPARSE;
  size_t first = (size_t)(slash - s);
  int rc = cal_parse_time(s, first, false, &out->t);
  if (rc)
    return rc;
  const char *rest = slash + 1;
  size_t rlen = len - first - 1;
  if (rlen &&
      (rest[0] == 'P' || rest[0] == '+' || rest[0] == '-' || rest[0] == 'p')) {
    rc = cal_parse_duration(rest, rlen, &out->dur);
    out->period = 2;
  } else {
    rc = cal_parse_time(rest, rlen, false, &out->end);
    out->period = 1;
  }
  return rc;
}

size_t cal_text_unescape(const char *s, size_t len, char *out, size_t cap) {
  size_t n = 0;
  if (cap == 0)
    return 0;
  for (size_t i = 0; i < len && n + 1 < cap; i++) {
    char c = s[i];
    if (c == '\\' && i + 1 < len) {
      char e = s[i + 1];
      if (e == 'n' || e == 'N') {
        c = '\n';
        i++;
      } else if (e == '\\' || e == ';' || e == ',') {
        c = e;
        i++;
      }
    }
    out[n++] = c;
  }
  /* Never end on half a UTF-8 character. */
  if (n + 1 >= cap) {
    n = cal_utf8_whole(out, n);
  }
  out[n] = '\0';
  return n;
}

size_t cal_utf8_whole(const char *s, size_t n) {
  size_t k = n;
  while (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0x80)
    k--;
  if (k > 0 && ((unsigned char)s[k - 1] & 0xC0) == 0xC0) {
    unsigned char lead = (unsigned char)s[k - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (n - (k - 1) < need)
      return k - 1;
  }
  return n;
}

int64_t cal_time_cmp(const struct cal_time *a, const struct cal_time *b) {
  if (a->day != b->day)
    return a->day < b->day ? -1 : 1;
  return a->sec - b->sec;
}
