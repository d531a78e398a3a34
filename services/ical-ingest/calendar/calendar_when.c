/* When an event's values happen (RFC 5545 §3.3.5, §3.8.2, §3.8.5.3): the
 * local frame of DTSTART, every other value read in it (floating ones and
 * dates included), the length of its instances, and where one lies. */
#include <string.h>

#include "calendar_int.h"

static const struct cal_zone *zone_of(struct cal_reader *rd,
                                      const struct cal_event *ev,
                                      const struct cal_time *t,
                                      const struct cal_zone *local) {
  if (t->kind == CAL_T_UTC)
    return cal_zones_utc(rd->zones);
  if (t->kind != CAL_T_ZONED)
    return local;
  bool unknown;
  const struct cal_zone *z =
      cal_zones_get(rd->zones, t->tzid, rd->buf, &unknown);
  if (unknown)
    cal_warn(rd, ev->line,
             "TZID '%s' is neither a known zone nor defined by a "
             "VTIMEZONE: its times are read as floating",
             cal_zones_tzid(rd->zones, t->tzid));
  return z;
}

/* The UTC instant of a value of `ev`; floating values and dates are read
 * in the event's own frame. */
int64_t cal_utc_of(struct cal_reader *rd, const struct cal_event *ev,
                   const struct cal_frame *f, const struct cal_time *t) {
  return cal_zone_to_utc(zone_of(rd, ev, t, f->zone), t->day,
                         t->kind == CAL_T_DATE ? 0 : t->sec);
}

/* The local day of a value in the frame: dates as written, date-times
 * through their zone. */
int64_t cal_day_of(struct cal_reader *rd, const struct cal_event *ev,
                   const struct cal_frame *f, const struct cal_time *t,
                   int32_t *sec) {
  if (t->kind == CAL_T_DATE || (t->kind == CAL_T_FLOAT && f->is_date)) {
    if (sec)
      *sec = t->kind == CAL_T_DATE ? 0 : t->sec;
    return t->day;
  }
  int64_t d;
  int32_t s;
  cal_zone_from_utc(f->zone, cal_utc_of(rd, ev, f, t), &d, &s);
  if (sec)
    *sec = s;
  return d;
}

void cal_frame_of(struct cal_reader *rd, const struct cal_event *ev,
                  struct cal_frame *f) {
  const struct cal_time *t = &ev->dtstart;
  memset(f, 0, sizeof *f);
  f->is_date = t->kind == CAL_T_DATE;
  f->d0 = t->day;
  f->s0 = t->sec;
  if (f->is_date) {
    f->zone = cal_zones_days(rd->zones);
  } else if (t->kind == CAL_T_UTC && ev->rrule_count &&
             cal_zones_calendar(rd->zones)) {
    /* Google writes recurring events in UTC and means them in its
     * X-WR-TIMEZONE: a weekly 08:00 stays 08:00 there across DST. */
    f->zone = cal_zones_calendar(rd->zones);
    cal_zone_from_utc(f->zone, t->day * CAL_DAY + t->sec, &f->d0, &f->s0);
  } else {
    f->zone = zone_of(rd, ev, t, cal_zones_floating(rd->zones));
  }
  f->start_utc = cal_zone_to_utc(f->zone, f->d0, f->s0);
}

struct cal_length cal_length_of(struct cal_reader *rd,
                                const struct cal_event *ev,
                                const struct cal_frame *f) {
  struct cal_length len = {0, 0};
  if (f->is_date) {
    if (ev->flags & CAL_EV_DTEND) {
      /* A DATE-TIME end on an all-day event (RFC 5545 wants a DATE): its
       * date as written, and the next day if it ends past midnight. */
      len.days = ev->dtend.day - f->d0 + (ev->dtend.sec > 0 ? 1 : 0);
    } else if (ev->flags & CAL_EV_DURATION) {
      len.days = ev->duration.days + ev->duration.secs / CAL_DAY;
    }
    /* §3.6.1: an all-day event without an end lasts that day. */
    if (len.days == 0)
      len.days = 1;
  } else if (ev->flags & CAL_EV_DTEND) {
    len.secs = cal_utc_of(rd, ev, f, &ev->dtend) - f->start_utc;
  } else if (ev->flags & CAL_EV_DURATION) {
    len.days = ev->duration.days;
    len.secs = ev->duration.secs;
  }
  return len;
}

struct cal_place cal_place_at(const struct cal_frame *f,
                              const struct cal_length *len, int64_t day,
                              int32_t sec, int64_t start_utc) {
  struct cal_place s;
  if (f->is_date) {
    s.day = day;
    s.end_day = day + len->days;
    if (s.end_day < s.day) {
      s.day = s.end_day;
      s.end_day = day;
    }
    s.start = cal_zone_to_utc(f->zone, s.day, 0);
    s.end = cal_zone_to_utc(f->zone, s.end_day, 0);
    return s;
  }
  s.start = start_utc;
  s.end = len->days ? cal_zone_to_utc(f->zone, day + len->days, sec) + len->secs
                    : start_utc + len->secs;
  s.day = s.end_day = 0;
  if (s.end < s.start) {
    int64_t t = s.start;
    s.start = s.end;
    s.end = t;
  }
  return s;
}
