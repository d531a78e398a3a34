/* The calendar reader's own header, shared by calendar_*.c only (the rest of
 * ical-ingest sees calendar.h). RFC 5545 is the spec throughout: content
 * lines (§3.1), value types (§3.3), recurrence (§3.3.10, §3.8.5). */
#ifndef CALENDAR_INT_H
#define CALENDAR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

#define CAL_DAY 86400
/* Offsets into the input are kept in 32 bits. */
#define CAL_INPUT_MAX ((size_t)1 << 30)
/* The cap of the reader's lists (events, RDATEs, zones...): each item takes
 * at least four bytes of input, so the input's own cap comes first. */
#define CAL_ITEMS_MAX (CAL_INPUT_MAX / 4)
/* An unfolded property that is kept (longer ones are refused by name). */
#define CAL_LINE_MAX ((size_t)1 << 20)
/* A text handed to the callback (SUMMARY, DESCRIPTION...), in bytes. */
#define CAL_TEXT_MAX 65536
#define CAL_DEPTH_MAX 16
#define CAL_DEFAULT_MAX_OCCURRENCES 1000000
/* Work allowed to one recurrence rule in one reading (days looked at plus
 * instants tried): far above any real rule, low enough to bound a hostile
 * one to a few tens of milliseconds. */
#define CAL_RULE_STEPS_MAX 4000000
#define CAL_TZID_MAX 4096
#define CAL_WARNINGS_MAX 100

/* A byte range of the input. */
struct cal_span {
  uint32_t off, len;
};

/* ---- content lines (calendar_lines.c), RFC 5545 §3.1 ---- */
struct cal_line {
  const char *name; /* not NUL-terminated */
  size_t name_len;
  const char *params; /* ";A=B;C=D" before the ':', may be empty */
  size_t params_len;
  const char *value; /* NULL when the value was not wanted or too long */
  size_t value_len;
  struct cal_span raw; /* the whole logical line, folds included */
  int line;            /* its first physical line, from 1 */
  bool malformed;      /* no ':' after a property name */
  bool too_long;       /* wanted, but longer than CAL_LINE_MAX unfolded */
};

struct cal_lines {
  const char *buf;
  size_t len, pos;
  int lineno;
  char *scratch; /* unfolded copy of a folded wanted line */
  size_t scratch_cap;
};

typedef bool cal_want_fn(const char *name, size_t len, void *ud);

void cal_lines_init(struct cal_lines *r, const char *buf, size_t len);
void cal_lines_cleanup(struct cal_lines *r);
/* Next logical line: 1, or 0 at the end of the input. `want` (NULL: all)
 * says from the name whether the value is needed; when it is not, folded
 * continuations are skipped without being copied. Blank lines are skipped. */
int cal_lines_next(struct cal_lines *r, cal_want_fn *want, void *ud,
                   struct cal_line *out);
/* Value of parameter `name` (case-insensitive), unquoted, into buf; false
 * when absent. A value longer than buf is cut. */
bool cal_param(const char *params, size_t len, const char *name, char *buf,
               size_t buflen);
bool cal_name_is(const char *name, size_t len, const char *want);

/* ---- values (calendar_value.c), RFC 5545 §3.3 ---- */
enum cal_tkind { CAL_T_DATE, CAL_T_FLOAT, CAL_T_UTC, CAL_T_ZONED };

struct cal_time {
  int64_t day;   /* days since 1970-01-01 of the written date */
  int32_t sec;   /* seconds into that day; 0 for a DATE */
  uint8_t kind;  /* enum cal_tkind */
  uint16_t tzid; /* CAL_T_ZONED: index in the reader's TZID table */
};

/* RFC 5545 §3.3.6: weeks and days are nominal (local days), the rest exact. */
struct cal_dur {
  int64_t days, secs;
};

struct cal_value {
  struct cal_time t;
  struct cal_time end; /* period == 1 */
  struct cal_dur dur;  /* period == 2 */
  uint8_t period; /* 0: a DATE or DATE-TIME, 1: start/end, 2: start/duration */
};

/* "19970714" or "19970714T133000[Z]"; a DATE when date_only is set. */
int cal_parse_time(const char *s, size_t len, bool date_only,
                   struct cal_time *out);
int cal_parse_duration(const char *s, size_t len, struct cal_dur *out);
/* One value of an RDATE/EXDATE list: DATE, DATE-TIME or PERIOD. */
int cal_parse_value(const char *s, size_t len, bool date_only, bool period_ok,
                    struct cal_value *out);
/* TEXT unescaping (§3.3.11): \\ \; \, \n \N. Returns the length written
 * (at most cap - 1, NUL-terminated). */
size_t cal_text_unescape(const char *s, size_t len, char *out, size_t cap);
/* The length of s[0..n) without a UTF-8 character cut at its end (a text
 * truncated to fit a buffer must not end on half a character). */
size_t cal_utf8_whole(const char *s, size_t n);
int64_t cal_time_cmp(const struct cal_time *a, const struct cal_time *b);

/* ---- time zones (calendar_tz.c, calendar_windows_zones.c) ---- */
struct cal_zone;
struct cal_zones;

/* `floating` is the zone of floating times and all-day days (not owned);
 * feed VTIMEZONEs are computed up to the end of `end_year`. */
int cal_zones_new(const struct pb_tz *floating, int end_year,
                  struct cal_zones **out);
void cal_zones_free(struct cal_zones *z);
/* The index of a TZID as written in the feed (interned). */
int cal_zones_intern(struct cal_zones *z, const char *tzid, uint16_t *idx);
/* The span of a VTIMEZONE block of the input, for a TZID the system does
 * not know (read by libical only when needed). */
int cal_zones_add_vtimezone(struct cal_zones *z, const char *tzid,
                            struct cal_span block);
/* X-WR-TIMEZONE: the zone of the calendar's floating times. */
int cal_zones_set_calendar_zone(struct cal_zones *z, const char *name);
/* Resolves a TZID index (IANA, then Windows name, then the feed's
 * VTIMEZONE); an unknown one falls back to the floating zone and sets
 * *unknown once, so the caller can warn. */
const struct cal_zone *cal_zones_get(struct cal_zones *z, uint16_t idx,
                                     const char *input, bool *unknown);
const char *cal_zones_tzid(const struct cal_zones *z, uint16_t idx);
const struct cal_zone *cal_zones_floating(const struct cal_zones *z);
/* The calendar zone (X-WR-TIMEZONE) when set, else NULL. */
const struct cal_zone *cal_zones_calendar(const struct cal_zones *z);
const struct cal_zone *cal_zones_utc(const struct cal_zones *z);
/* The configured zone, for all-day days. */
const struct cal_zone *cal_zones_days(const struct cal_zones *z);
/* How many conversions went through the configured zone (directly, or as
 * the floating zone): none means the reading does not depend on it. */
size_t cal_zones_days_reads(const struct cal_zones *z);

int64_t cal_zone_to_utc(const struct cal_zone *zone, int64_t day, int32_t sec);
void cal_zone_from_utc(const struct cal_zone *zone, int64_t utc, int64_t *day,
                       int32_t *sec);
/* The IANA zone of a Windows zone name (CLDR windowsZones, territory
 * "001"), or NULL. */
const char *cal_windows_zone(const char *name);
size_t cal_windows_zone_count(void);
const char *cal_windows_zone_at(size_t i, const char **iana);

/* ---- recurrence rules (calendar_libical.c parses, calendar_rrule.c runs) */
enum cal_freq {
  CAL_SECONDLY,
  CAL_MINUTELY,
  CAL_HOURLY,
  CAL_DAILY,
  CAL_WEEKLY,
  CAL_MONTHLY,
  CAL_YEARLY
};

#define CAL_NDAY_MAX 64
#define CAL_SETPOS_MAX 64
/* INTERVAL is read from the rule's text, not through libical (which keeps it
 * in a short: 90061 would become 24525); larger values are refused. */
#define CAL_INTERVAL_MAX 1000000000
/* Instants of one BYSETPOS period (a month of minutes is 44,640). */
#define CAL_SETPOS_PERIOD_MAX 100000

struct cal_rule {
  int freq, interval;
  int wkst;      /* 0 = Sunday */
  int64_t count; /* 0: no COUNT */
  bool has_until;
  struct cal_time until;       /* CAL_T_DATE, CAL_T_FLOAT or CAL_T_UTC */
  uint64_t bysecond, byminute; /* bit n for value n; 0: not given */
  uint32_t byhour;
  uint16_t bymonth; /* bits 1-12 */
  uint8_t byday;    /* BYDAY without ordinal, bit 0 = Sunday */
  int n_nday;
  struct {
    int8_t n; /* -53..53, never 0 */
    uint8_t wday;
  } nday[CAL_NDAY_MAX];
  uint32_t bymonthday, bymonthday_neg;     /* bits 1-31: n, -n */
  uint64_t byyearday[6], byyearday_neg[6]; /* bits 1-366 */
  uint64_t byweekno, byweekno_neg;         /* bits 1-53 */
  int n_setpos;
  int16_t setpos[CAL_SETPOS_MAX];
};

/* Parses an RRULE value with libical (the one place that includes it) and
 * checks every part is within RFC 5545 §3.3.10's ranges. */
int cal_rule_parse(const char *text, size_t len, struct cal_rule *out,
                   char *err, size_t errlen);

/* A feed's VTIMEZONE (calendar_vtimezone.c), its changes computed up to
 * the end of `end_year`. */
struct cal_vtz;
int cal_vtz_new(const char *text, size_t len, int end_year,
                struct cal_vtz **out, char *err, size_t errlen);
void cal_vtz_free(struct cal_vtz *z);
int64_t cal_vtz_to_utc(const struct cal_vtz *z, int64_t day, int32_t sec);
void cal_vtz_from_utc(const struct cal_vtz *z, int64_t utc, int64_t *day,
                      int32_t *sec);

/* The recurrence iterator (calendar_rrule.c). Instances come out in order,
 * as local days and seconds in the frame of DTSTART. */
struct cal_recur;
struct cal_recur_setup {
  const struct cal_rule *rule;
  int64_t day; /* DTSTART */
  int32_t sec;
  bool is_date;
  int64_t from_day; /* first local day that matters */
  int64_t stop_day; /* last local day that matters */
  bool has_until;   /* UNTIL in the local frame, inclusive */
  int64_t until_day;
  int32_t until_sec;
  int64_t count; /* COUNT (0: none); DTSTART counts first */
};
int cal_recur_new(const struct cal_recur_setup *s, struct cal_recur **out);
/* 1 and an instance, 0 at the end, PB_ETOOBIG when the rule used up its
 * work allowance (CAL_RULE_STEPS_MAX), PB_ERANGE when a BYSETPOS period holds
 * more than CAL_SETPOS_PERIOD_MAX instants; the instances handed out before
 * either stand. */
int cal_recur_next(struct cal_recur *it, int64_t *day, int32_t *sec);
void cal_recur_free(struct cal_recur *it);

/* ---- the event records (calendar_read.c) and expansion (calendar_expand.c) */
enum {
  CAL_EV_CANCELLED = 1 << 0,
  CAL_EV_TRANSPARENT = 1 << 1,
  CAL_EV_RECURID = 1 << 2,
  CAL_EV_RANGE_FUTURE = 1 << 3, /* RECURRENCE-ID;RANGE=THISANDFUTURE */
  CAL_EV_DTEND = 1 << 4,
  CAL_EV_DURATION = 1 << 5,
  CAL_EV_DTSTART = 1 << 6,
  CAL_EV_LOST = 1 << 7, /* a replacement beaten by another */
};

struct cal_event {
  int line; /* of BEGIN:VEVENT */
  uint32_t flags;
  int32_t sequence;
  struct cal_time dtstart, dtend, recurid;
  struct cal_dur duration;
  struct cal_span uid, summary, location, description, busystatus;
  uint32_t cat_first, cat_count;       /* into reader.cats */
  uint32_t rrule_first, rrule_count;   /* into reader.rrules */
  uint32_t rdate_first, rdate_count;   /* into reader.rdates */
  uint32_t exdate_first, exdate_count; /* into reader.exdates */
};

struct cal_reader {
  const char *buf;
  size_t len;
  const struct cal_options *opts;
  struct cal_zones *zones;
  struct cal_event *events;
  size_t n_events, cap_events;
  struct cal_span *cats, *rrules;
  size_t n_cats, cap_cats, n_rrules, cap_rrules;
  struct cal_value *rdates, *exdates;
  size_t n_rdates, cap_rdates, n_exdates, cap_exdates;
  size_t warnings;
  size_t emitted, max_occurrences;
  char *err;
  size_t errlen;
};

void cal_warn(struct cal_reader *rd, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of the logical line at `raw`, unfolded and unescaped as TEXT. */
size_t cal_span_text(const struct cal_reader *rd, struct cal_span raw,
                     char *out, size_t cap);
/* The raw (not unescaped) value of the logical line at `raw`. */
size_t cal_span_value(const struct cal_reader *rd, struct cal_span raw,
                      char *out, size_t cap);
/* ---- when an event's values happen (calendar_when.c) ---- */

/* The local frame of an event: its DTSTART's zone (X-WR-TIMEZONE's for a
 * recurring UTC one), or the configured zone for all-day events. */
struct cal_frame {
  const struct cal_zone *zone;
  bool is_date;
  int64_t d0; /* DTSTART in the frame */
  int32_t s0;
  int64_t start_utc;
};

/* The length of each instance: local days for all-day events; else the
 * exact DTEND - DTSTART (§3.8.5.3), or DURATION's nominal days plus its
 * exact part. Negative when DTEND comes before DTSTART. */
struct cal_length {
  int64_t days, secs;
};

/* Where an occurrence lies: UTC instants, and for all-day ones local days. */
struct cal_place {
  int64_t start, end;
  int64_t day, end_day;
};

void cal_frame_of(struct cal_reader *rd, const struct cal_event *ev,
                  struct cal_frame *f);
struct cal_length cal_length_of(struct cal_reader *rd,
                                const struct cal_event *ev,
                                const struct cal_frame *f);
/* The instance starting at local (day, sec), start_utc its instant. */
struct cal_place cal_place_at(const struct cal_frame *f,
                              const struct cal_length *len, int64_t day,
                              int32_t sec, int64_t start_utc);
/* A value of `ev` as a UTC instant, or as a local day of the frame;
 * floating values and dates are read in the frame. An unknown TZID is
 * warned about once. */
int64_t cal_utc_of(struct cal_reader *rd, const struct cal_event *ev,
                   const struct cal_frame *f, const struct cal_time *t);
int64_t cal_day_of(struct cal_reader *rd, const struct cal_event *ev,
                   const struct cal_frame *f, const struct cal_time *t,
                   int32_t *sec);

/* ---- replacements (calendar_overrides.c) ---- */

struct cal_ov {
  uint32_t ev; /* the replacing event */
  int64_t key; /* the instance it names, in its master's terms */
  int64_t raw; /* RECURRENCE-ID as written */
  uint32_t tag;
  bool lost; /* another replacement of it wins */
};

struct pb_map;
struct cal_overrides {
  struct cal_reader *rd;
  struct pb_map *by_uid; /* UID -> its replacements */
  struct cal_ov *sorted; /* one master's, by key (prepare) */
  size_t n_sorted, cap_sorted;
};

/* Finds every replacement, settles duplicates, and marks the older
 * revisions of series written several times (CAL_EV_LOST). */
int cal_overrides_init(struct cal_reader *rd, struct cal_overrides *o);
void cal_overrides_cleanup(struct cal_overrides *o);
/* Lists `master`'s replacements (o->sorted, by key in its frame). */
int cal_overrides_prepare(struct cal_overrides *o,
                          const struct cal_event *master,
                          const struct cal_frame *mf);
/* The replacement of the instance `key`: exact, or a THISANDFUTURE one
 * before it; NULL when none. */
const struct cal_ov *cal_overrides_find(const struct cal_overrides *o,
                                        int64_t key, bool *exact);

/* Phase two: every event's occurrences in the window, overrides applied. */
int cal_expand_all(struct cal_reader *rd, cal_occurrence_cb *cb, void *ud);

#endif
