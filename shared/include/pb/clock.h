/* The one entry point for "now" (curl's CURL_TIME pattern). Every piece of
 * calendar and timer logic reads the wall clock here, so tests can freeze it,
 * step it, or shift it by an offset shared by several processes. */
#ifndef PB_CLOCK_H
#define PB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Wall-clock time in milliseconds / seconds since the Unix epoch. */
int64_t pb_clock_now_ms(void);
int64_t pb_clock_now(void);
/* Monotonic milliseconds, for measuring durations (never faked). */
int64_t pb_clock_mono_ms(void);

/* Freeze the clock at `unix_ms` (unit tests); pb_clock_advance moves it. */
void pb_clock_set_fixed(int64_t unix_ms);
void pb_clock_advance(int64_t ms);
/* Let the clock run at real speed, `offset_ms` ahead of the system clock
 * (integration tests: processes given the same CLOCK_OFFSET_MS agree). */
void pb_clock_set_offset(int64_t offset_ms);
/* Back to the real clock. */
void pb_clock_use_real(void);

/* RFC 3339 parsing: "2026-03-29T08:00:00+02:00", "...Z", fractional seconds
 * ignored. Returns 0 or PB_EPARSE. */
int pb_time_parse_rfc3339(const char *s, int64_t *unix_s);
/* RFC 3339 with the given UTC offset in seconds ("Z" for 0). buf >= 32. */
int pb_time_format_rfc3339(int64_t unix_s, int offset_s, char *buf, size_t len);

#endif
