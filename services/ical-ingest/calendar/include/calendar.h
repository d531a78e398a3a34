/* Reading iCalendar (RFC 5545) into concrete occurrences over a window: the
 * one public header of the calendar library (services/ical-ingest/calendar),
 * the contract between the reader and the rest of ical-ingest (sources,
 * mapping rules, publishing, the --expand command line). The reader streams
 * the input one VEVENT at a time and keeps only what the schedule needs. */
#ifndef CALENDAR_H
#define CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_tz;

/* What mapping rules may read of an event; strings are lent for the
 * duration of the callback only, NULL when the property is absent. */
struct cal_event_info {
  const char *uid;
  const char *summary;
  const char *location;
  const char *description;
  const char *categories; /* all CATEGORIES values joined with ',' */
  const char *busystatus; /* X-MICROSOFT-CDO-BUSYSTATUS: FREE, TENTATIVE... */
};

struct cal_occurrence {
  int64_t start, end;       /* UTC seconds, start <= end */
  bool all_day;             /* DATE values: start/end are local midnights */
  int start_date, end_date; /* all-day only: YYYYMMDD, end exclusive */
  struct cal_event_info ev;
};

/* Return 0 to go on, non-zero to stop the reading (that value is returned). */
typedef int cal_occurrence_cb(const struct cal_occurrence *occ, void *ud);

struct cal_options {
  const struct pb_tz *tz; /* floating times and all-day days */
  int64_t from, to;       /* the window [from, to), UTC seconds */
  size_t max_occurrences; /* bound over the whole input (0: 1,000,000) */
  /* Optional: told about each event that is skipped or read leniently (a
   * bad RRULE, an unknown TZID...) with its line; the reading goes on.
   * At most 100 calls per reading, the last one counting the rest. */
  void (*warn)(int line, const char *msg, void *ud);
  void *warn_ud;
  /* Also yield cancelled and transparent events, as ordinary ones (for
   * diagnosis and comparison with other readers; the schedule skips them). */
  bool include_ignored;
  /* Optional: set to whether any value was read in `tz` (a floating time
   * without X-WR-TIMEZONE, an all-day day, an unknown TZID): the
   * occurrences then depend on `tz`, and differ from one zone to another. */
  bool *uses_tz;
};

/* Reads `len` bytes of iCalendar and calls `cb` for every occurrence that
 * overlaps the window, in no particular order, each exactly once (a
 * RECURRENCE-ID instance replaces the one it names; cancelled and
 * transparent events are skipped). Returns 0, or a PB_E* error with a
 * message naming the problem (and the line) in err. */
int cal_expand(const char *buf, size_t len, const struct cal_options *opts,
               cal_occurrence_cb *cb, void *ud, char *err, size_t errlen);

#endif
