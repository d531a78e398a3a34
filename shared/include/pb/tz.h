/* Time zones read from the system's TZif files (RFC 8536), with the POSIX TZ
 * footer rule for instants past the last transition. Local-to-UTC follows
 * RFC 5545 §3.3.5: a repeated local time is its first occurrence, a local
 * time in a gap uses the offset before the gap. Thread-safe once loaded. */
#ifndef PB_TZ_H
#define PB_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_tz;

/* A broken-down civil time. wday: 0 = Sunday .. 6 = Saturday. */
struct pb_civil {
  int year, month, day; /* month 1-12, day 1-31 */
  int hour, minute, second;
  int wday;
  int offset; /* seconds east of UTC (utc_to_local output) */
};

/* Load an IANA zone ("Europe/Paris", "UTC"). Names are validated: no "..",
 * no leading "/". Searches $TZDIR, then /usr/share/zoneinfo. */
int pb_tz_load(const char *name, struct pb_tz **out);
/* The system's zone: the TZ variable when set and not empty (":Europe/Paris",
 * "Europe/Paris", ":/path/to/TZif" or a POSIX rule such as "UTC0"; an
 * unusable TZ is an error, not another zone), else /etc/timezone, else the
 * /etc/localtime link or file, else UTC. */
int pb_tz_load_system(struct pb_tz **out);
void pb_tz_free(struct pb_tz *tz);
const char *pb_tz_name(const struct pb_tz *tz);
/* Write the system zone name into buf ("UTC" when unknown). */
void pb_tz_system_name(char *buf, size_t len);

/* UTC offset in seconds east of UTC in force at `utc`. */
int pb_tz_offset_at(const struct pb_tz *tz, int64_t utc);
void pb_tz_utc_to_local(const struct pb_tz *tz, int64_t utc,
                        struct pb_civil *out);
/* Fields year..second of `local` are read; wday/offset are ignored. */
int64_t pb_tz_local_to_utc(const struct pb_tz *tz,
                           const struct pb_civil *local);

/* Pure calendar arithmetic (proleptic Gregorian). */
int64_t pb_days_from_civil(int year, int month, int day);
void pb_civil_from_days(int64_t days, int *year, int *month, int *day);
int pb_weekday_from_days(int64_t days); /* 0 = Sunday */

#endif
