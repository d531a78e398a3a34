/* pb_http_retry_after (RFC 9110 §10.2.3, §5.6.7): delay-seconds, the three
 * HTTP-date forms, and what is neither. */
#include <stdint.h>

#include "check.h"
#include "pb/http.h"
#include "pb/tz.h"

/* Monday 30 March 2026, 05:00:00 UTC */
static int64_t now(void) {
  return pb_days_from_civil(2026, 3, 30) * 86400 + 5 * 3600;
}

static void delay_seconds(void) {
  int64_t s = -1;
  CHECK_INT(pb_http_retry_after("120", now(), &s), 0);
  CHECK_INT(s, 120);
  CHECK_INT(pb_http_retry_after(" \t0 ", now(), &s), 0);
  CHECK_INT(s, 0);
  CHECK_INT(pb_http_retry_after("99999999999999999999999999", now(), &s), 0);
  CHECK(s == INT64_MAX); /* saturates, never wraps */
}

static void the_three_date_forms(void) {
  const int64_t want = 2 * 3600 + 30 * 60 + 15; /* 07:30:15 UTC that day */
  const char *forms[] = {
      "Mon, 30 Mar 2026 07:30:15 GMT", "Monday, 30-Mar-26 07:30:15 GMT",
      "Mon Mar 30 07:30:15 2026", "  Mon, 30 Mar 2026 07:30:15 GMT  ", NULL};
  for (size_t i = 0; forms[i]; i++) {
    int64_t s = -1;
    CHECK_INT(pb_http_retry_after(forms[i], now(), &s), 0);
    CHECK_INT(s, want);
  }
  int64_t s = -1;
  CHECK_INT(pb_http_retry_after("Mon Mar  2 07:30:15 2026", now(), &s), 0);
  CHECK_INT(s, 0); /* in the past: no wait */
  CHECK_INT(pb_http_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now(), &s), 0);
  CHECK_INT(s, 0);
  CHECK_INT(pb_http_retry_after("Fri, 03 Apr 2026 07:30:15 GMT", now(), &s), 0);
  CHECK_INT(s, 4 * 86400 + want);
}

/* §5.6.7: a two-digit year more than 50 years ahead is the past century's. */
static void rfc850_century(void) {
  int64_t s = -1;
  CHECK_INT(pb_http_retry_after("Sunday, 30-Mar-75 07:30:15 GMT", now(), &s),
            0);
  CHECK(s > 48LL * 365 * 86400); /* 2075, not 1975 */
  CHECK_INT(pb_http_retry_after("Sunday, 30-Mar-77 07:30:15 GMT", now(), &s),
            0);
  CHECK_INT(s, 0); /* 1977 */
}

static void neither_form(void) {
  const char *bad[] = {"",
                       "soon",
                       "-5",
                       "12s",
                       "1.5",
                       "+5",
                       "Mon, 30 Mar 2026 07:30:15 CET",
                       "Mon, 30 Foo 2026 07:30:15 GMT",
                       "Mon, 30 Mar 2026 25:30:15 GMT",
                       "Mon, 30 Mar 2026 07:30 GMT",
                       "Mon, 30 Mar 2026 07:30:15 GMT x",
                       "Mon, 3 Mar 2026 07:30:15 GMT",
                       "Mon, 30 Mar 26 07:30:15 GMT",
                       "Mon Mar 30 07:30:15 26",
                       "2026-03-30T07:30:15Z",
                       NULL};
  for (size_t i = 0; bad[i]; i++) {
    int64_t s = 77;
    CHECK_INT(pb_http_retry_after(bad[i], now(), &s), PB_EPARSE);
    CHECK_INT(s, 77); /* untouched */
  }
  int64_t s;
  CHECK_INT(pb_http_retry_after(NULL, now(), &s), PB_EPARSE);
}

int main(void) {
  RUN(delay_seconds);
  RUN(the_three_date_forms);
  RUN(rfc850_century);
  RUN(neither_form);
  return CHECK_DONE();
}
