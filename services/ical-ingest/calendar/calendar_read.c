/* Reading an iCalendar stream (RFC 5545 §3.4-§3.6) one content line at a
 * time, without building a component tree: each VEVENT becomes a compact
 * record of its timing and of where its texts lie in the input, and only
 * what the schedule needs is kept (no ATTENDEE, no VALARM, no DESCRIPTION
 * copied). The records are then expanded over the window
 * (calendar_expand.c). This file holds cal_expand, the reader's entry. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar_int.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/tz.h"

enum kind { K_VCALENDAR, K_VEVENT, K_VTIMEZONE, K_OTHER };

struct frame {
  enum kind kind;
  int line;
  uint32_t off; /* of the BEGIN line */
  char name[32];
};

struct parse {
  struct cal_reader *rd;
  struct frame stack[CAL_DEPTH_MAX];
  int depth;
  struct cal_event ev;
  char why[200]; /* why the current event cannot be read */
  int why_line;
  char tzid[256]; /* of the current VTIMEZONE */
};

static const char *const event_props[] = {
    "DTSTART",       "DTEND",  "DURATION", "RRULE",    "RDATE", "EXDATE",
    "RECURRENCE-ID", "STATUS", "TRANSP",   "SEQUENCE", NULL};

void cal_warn(struct cal_reader *rd, int line, const char *fmt, ...) {
  rd->warnings++;
  if (!rd->opts->warn || rd->warnings > CAL_WARNINGS_MAX)
    return;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  rd->opts->warn(line, msg, rd->opts->warn_ud);
}

static enum kind top(const struct parse *ps) {
  return ps->depth ? ps->stack[ps->depth - 1].kind : K_OTHER;
}

/* Only the values the reader acts on are unfolded and looked at. */
static bool want(const char *name, size_t len, void *ud) {
  const struct parse *ps = ud;
  if (cal_name_is(name, len, "BEGIN") || cal_name_is(name, len, "END"))
    return true;
  switch (top(ps)) {
  case K_VEVENT:
    for (int i = 0; event_props[i]; i++)
      if (cal_name_is(name, len, event_props[i]))
        return true;
    return false;
  case K_VCALENDAR:
    return cal_name_is(name, len, "X-WR-TIMEZONE");
  case K_VTIMEZONE:
    return cal_name_is(name, len, "TZID");
  default:
    return false;
  }
}

static size_t copy_value(const struct cal_line *l, char *buf, size_t cap) {
  size_t n = l->value_len < cap - 1 ? l->value_len : cap - 1;
  memcpy(buf, l->value, n);
  buf[n] = '\0';
  /* Blanks around a TZID or a status word carry no meaning. */
  while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    buf[--n] = '\0';
  return n;
}

static void bad(struct parse *ps, const struct cal_line *l, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));
static void bad(struct parse *ps, const struct cal_line *l, const char *fmt,
                ...) {
  if (ps->why[0])
    return; /* the first reason is the one told */
  ps->why_line = l->line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->why, sizeof ps->why, fmt, ap);
  va_end(ap);
}

/* A DATE or DATE-TIME property, with its VALUE and TZID parameters. */
static int time_value(struct parse *ps, const struct cal_line *l, const char *s,
                      size_t len, struct cal_value *out, bool period_ok) {
  char vt[16] = "", tz[256];
  cal_param(l->params, l->params_len, "VALUE", vt, sizeof vt);
  bool date_only = strcasecmp(vt, "DATE") == 0;
  int rc = cal_parse_value(s, len, date_only,
                           period_ok || strcasecmp(vt, "PERIOD") == 0, out);
  if (rc)
    return rc;
  /* RFC 5545 §3.2.19: TZID applies to local DATE-TIMEs only. */
  if (cal_param(l->params, l->params_len, "TZID", tz, sizeof tz) && tz[0]) {
    uint16_t idx;
    if (cal_zones_intern(ps->rd->zones, tz, &idx) == 0) {
      if (out->t.kind == CAL_T_FLOAT) {
        out->t.kind = CAL_T_ZONED;
        out->t.tzid = idx;
      }
      if (out->period == 1 && out->end.kind == CAL_T_FLOAT) {
        out->end.kind = CAL_T_ZONED;
        out->end.tzid = idx;
      }
    }
  }
  return 0;
}

static int push(void **arr, size_t *n, size_t *cap, size_t size,
                const void *item) {
  int rc = pb_array_grow(arr, cap, *n + 1, size, CAL_ITEMS_MAX);
  if (rc)
    return rc;
  memcpy((char *)*arr + *n * size, item, size);
  (*n)++;
  return 0;
}

/* RDATE and EXDATE: comma-separated lists; a bad value is left out. */
static int date_list(struct parse *ps, const struct cal_line *l, bool rdate) {
  struct cal_reader *rd = ps->rd;
  const char *p = l->value, *end = l->value + l->value_len;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    struct cal_value v;
    if (stop > p) {
      if (time_value(ps, l, p, (size_t)(stop - p), &v, rdate)) {
        cal_warn(rd, l->line, "%s value '%.*s' is not a %s: left out",
                 rdate ? "RDATE" : "EXDATE",
                 (int)(stop - p > 40 ? 40 : stop - p), p,
                 rdate ? "date, date-time or period" : "date or date-time");
      } else {
        int rc = rdate ? push((void **)&rd->rdates, &rd->n_rdates,
                              &rd->cap_rdates, sizeof v, &v)
                       : push((void **)&rd->exdates, &rd->n_exdates,
                              &rd->cap_exdates, sizeof v, &v);
        if (rc)
          return rc;
        if (rdate)
          ps->ev.rdate_count++;
        else
          ps->ev.exdate_count++;
      }
    }
    p = stop + 1;
  }
  return 0;
}

static void text_span(struct cal_span *dst, const struct cal_line *l) {
  if (dst->len == 0)
    *dst = l->raw; /* a repeated property: the first one counts */
}

static int event_property(struct parse *ps, const struct cal_line *l) {
  struct cal_event *ev = &ps->ev;
  const char *n = l->name;
  size_t nl = l->name_len;
  if (cal_name_is(n, nl, "UID"))
    text_span(&ev->uid, l);
  else if (cal_name_is(n, nl, "SUMMARY"))
    text_span(&ev->summary, l);
  else if (cal_name_is(n, nl, "LOCATION"))
    text_span(&ev->location, l);
  else if (cal_name_is(n, nl, "DESCRIPTION"))
    text_span(&ev->description, l);
  else if (cal_name_is(n, nl, "X-MICROSOFT-CDO-BUSYSTATUS"))
    text_span(&ev->busystatus, l);
  else if (cal_name_is(n, nl, "CATEGORIES")) {
    if (ev->cat_count < 32) {
      ev->cat_count++;
      return push((void **)&ps->rd->cats, &ps->rd->n_cats, &ps->rd->cap_cats,
                  sizeof l->raw, &l->raw);
    }
  }
  if (!want(n, nl, ps))
    return 0;
  if (!l->value) {
    if (l->too_long)
      bad(ps, l, "%.*s is longer than %zu bytes", (int)nl, n, CAL_LINE_MAX);
    else
      bad(ps, l, "%.*s has no ':' before its value", (int)nl, n);
    return 0;
  }
  struct cal_value v;
  if (cal_name_is(n, nl, "DTSTART") || cal_name_is(n, nl, "DTEND") ||
      cal_name_is(n, nl, "RECURRENCE-ID")) {
    int rc = time_value(ps, l, l->value, l->value_len, &v, false);
    if (rc) {
      bad(ps, l, "%.*s '%.*s' is not a valid DATE or DATE-TIME", (int)nl, n,
          (int)(l->value_len > 40 ? 40 : l->value_len), l->value);
      return 0;
    }
    if (cal_name_is(n, nl, "DTSTART")) {
      ev->dtstart = v.t;
      ev->flags |= CAL_EV_DTSTART;
    } else if (cal_name_is(n, nl, "DTEND")) {
      ev->dtend = v.t;
      ev->flags |= CAL_EV_DTEND;
    } else {
      char range[32] = "";
      ev->recurid = v.t;
      ev->flags |= CAL_EV_RECURID;
      if (cal_param(l->params, l->params_len, "RANGE", range, sizeof range) &&
          strcasecmp(range, "THISANDFUTURE") == 0)
        ev->flags |= CAL_EV_RANGE_FUTURE;
    }
  } else if (cal_name_is(n, nl, "DURATION")) {
    if (cal_parse_duration(l->value, l->value_len, &ev->duration)) {
      bad(ps, l, "DURATION '%.*s' is not a valid duration",
          (int)(l->value_len > 40 ? 40 : l->value_len), l->value);
      return 0;
    }
    ev->flags |= CAL_EV_DURATION;
  } else if (cal_name_is(n, nl, "RRULE")) {
    if (l->value_len == 0)
      return 0; /* "RRULE:" (calendarlabs.com) says nothing: no recurrence */
    ev->rrule_count++;
    return push((void **)&ps->rd->rrules, &ps->rd->n_rrules,
                &ps->rd->cap_rrules, sizeof l->raw, &l->raw);
  } else if (cal_name_is(n, nl, "RDATE") || cal_name_is(n, nl, "EXDATE")) {
    return date_list(ps, l, cal_name_is(n, nl, "RDATE"));
  } else if (cal_name_is(n, nl, "STATUS")) {
    char s[32];
    copy_value(l, s, sizeof s);
    if (strcasecmp(s, "CANCELLED") == 0)
      ev->flags |= CAL_EV_CANCELLED;
  } else if (cal_name_is(n, nl, "TRANSP")) {
    char s[32];
    copy_value(l, s, sizeof s);
    if (strcasecmp(s, "TRANSPARENT") == 0)
      ev->flags |= CAL_EV_TRANSPARENT;
  } else if (cal_name_is(n, nl, "SEQUENCE")) {
    char s[16], *e;
    copy_value(l, s, sizeof s);
    long q = strtol(s, &e, 10);
    if (e != s && *e == '\0' && q >= 0 && q <= INT32_MAX)
      ev->sequence = (int32_t)q;
  }
  return 0;
}

static void begin_event(struct parse *ps, int line) {
  struct cal_reader *rd = ps->rd;
  memset(&ps->ev, 0, sizeof ps->ev);
  ps->ev.line = line;
  ps->ev.cat_first = (uint32_t)rd->n_cats;
  ps->ev.rrule_first = (uint32_t)rd->n_rrules;
  ps->ev.rdate_first = (uint32_t)rd->n_rdates;
  ps->ev.exdate_first = (uint32_t)rd->n_exdates;
  ps->why[0] = '\0';
}

static int end_event(struct parse *ps) {
  struct cal_reader *rd = ps->rd;
  struct cal_event *ev = &ps->ev;
  if (!ps->why[0] && !(ev->flags & CAL_EV_DTSTART)) {
    snprintf(ps->why, sizeof ps->why, "it has no DTSTART");
    ps->why_line = ev->line;
  }
  if (ps->why[0]) {
    cal_warn(rd, ps->why_line, "the event of line %d is skipped: %s", ev->line,
             ps->why);
    /* Give back what it had added to the shared lists. */
    rd->n_cats = ev->cat_first;
    rd->n_rrules = ev->rrule_first;
    rd->n_rdates = ev->rdate_first;
    rd->n_exdates = ev->exdate_first;
    return 0;
  }
  return push((void **)&rd->events, &rd->n_events, &rd->cap_events, sizeof *ev,
              ev);
}

static enum kind kind_of(const char *name) {
  if (strcasecmp(name, "VCALENDAR") == 0)
    return K_VCALENDAR;
  if (strcasecmp(name, "VEVENT") == 0)
    return K_VEVENT;
  if (strcasecmp(name, "VTIMEZONE") == 0)
    return K_VTIMEZONE;
  return K_OTHER;
}

static int fail(struct cal_reader *rd, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct cal_reader *rd, int rc, const char *fmt, ...) {
  if (rd->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->err, rd->errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static int begin(struct parse *ps, const struct cal_line *l) {
  char name[32];
  copy_value(l, name, sizeof name);
  enum kind k = kind_of(name);
  enum kind parent = top(ps);
  if (ps->depth == 0 && k != K_VCALENDAR)
    return fail(ps->rd, PB_EPARSE, "line %d: BEGIN:%s outside of a VCALENDAR",
                l->line, name);
  if (ps->depth == CAL_DEPTH_MAX)
    return fail(ps->rd, PB_EPARSE,
                "line %d: components nested more than %d deep", l->line,
                CAL_DEPTH_MAX);
  /* Only the calendar's own events and zones count; a VEVENT inside
   * something else (or a calendar inside a calendar) is skipped. */
  if ((k == K_VEVENT || k == K_VTIMEZONE) && parent != K_VCALENDAR)
    k = K_OTHER;
  if (k == K_VCALENDAR && ps->depth > 0)
    k = K_OTHER;
  struct frame *f = &ps->stack[ps->depth++];
  f->kind = k;
  f->line = l->line;
  f->off = l->raw.off;
  memcpy(f->name, name, sizeof f->name);
  if (k == K_VEVENT)
    begin_event(ps, l->line);
  if (k == K_VTIMEZONE)
    ps->tzid[0] = '\0';
  return 0;
}

static int close_frame(struct parse *ps, struct frame *f,
                       const struct cal_line *l);

static int end(struct parse *ps, const struct cal_line *l) {
  char name[32];
  copy_value(l, name, sizeof name);
  if (ps->depth == 0)
    return fail(ps->rd, PB_EPARSE, "line %d: END:%s without a BEGIN", l->line,
                name);
  struct frame *f = &ps->stack[ps->depth - 1];
  if (strcasecmp(f->name, name) != 0) {
    /* An END naming an enclosing component closes what is still open
     * inside it; an END naming nothing open ("END:VTOOD") is a typo for
     * the innermost one. Either way the reading goes on. */
    int k = ps->depth - 1;
    while (k >= 0 && strcasecmp(ps->stack[k].name, name) != 0)
      k--;
    if (k < 0) {
      cal_warn(ps->rd, l->line,
               "END:%s does not close BEGIN:%s of line %d: "
               "taken as END:%s",
               name, f->name, f->line, f->name);
    } else {
      cal_warn(ps->rd, l->line,
               "END:%s also closes BEGIN:%s of line %d, which "
               "was never ended",
               name, f->name, f->line);
      while (ps->depth - 1 > k) {
        int rc = close_frame(ps, &ps->stack[ps->depth - 1], l);
        if (rc)
          return rc;
      }
      f = &ps->stack[ps->depth - 1];
    }
  }
  return close_frame(ps, f, l);
}

static int close_frame(struct parse *ps, struct frame *f,
                       const struct cal_line *l) {
  ps->depth--;
  if (f->kind == K_VEVENT)
    return end_event(ps);
  if (f->kind == K_VTIMEZONE && ps->tzid[0]) {
    struct cal_span block = {f->off, l->raw.off + l->raw.len - f->off};
    if (cal_zones_add_vtimezone(ps->rd->zones, ps->tzid, block))
      cal_warn(ps->rd, f->line, "VTIMEZONE '%s' left out: too many time zones",
               ps->tzid);
  }
  return 0;
}

static int read_all(struct cal_reader *rd) {
  struct parse ps = {.rd = rd};
  struct cal_lines lr;
  struct cal_line l;
  int rc = 0;
  bool any = false;
  cal_lines_init(&lr, rd->buf, rd->len);
  while (rc == 0 && cal_lines_next(&lr, want, &ps, &l) == 1) {
    if (!any) {
      any = true;
      if (!l.value || !cal_name_is(l.name, l.name_len, "BEGIN") ||
          l.value_len < 9 || strncasecmp(l.value, "VCALENDAR", 9) != 0) {
        char start[48];
        size_t n = 0;
        for (size_t k = l.raw.off; k < rd->len && n < 40 && rd->buf[k] != '\n';
             k++) {
          unsigned char c = (unsigned char)rd->buf[k];
          start[n++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
        }
        start[n] = '\0';
        rc = fail(rd, PB_EPARSE,
                  "not an iCalendar stream: line %d is \"%s\", "
                  "not BEGIN:VCALENDAR",
                  l.line, start);
        break;
      }
    }
    if (l.malformed ||
        (l.too_long && (cal_name_is(l.name, l.name_len, "BEGIN") ||
                        cal_name_is(l.name, l.name_len, "END")))) {
      /* A stray line (a badly folded DESCRIPTION, say) costs only itself. */
      if (ps.depth)
        cal_warn(rd, l.line, "not a content line (NAME:VALUE): ignored");
      continue;
    }
    if (cal_name_is(l.name, l.name_len, "BEGIN")) {
      rc = begin(&ps, &l);
    } else if (cal_name_is(l.name, l.name_len, "END")) {
      rc = end(&ps, &l);
    } else if (ps.depth == 0) {
      cal_warn(rd, l.line, "%.*s outside of a VCALENDAR: ignored",
               (int)(l.name_len > 40 ? 40 : l.name_len), l.name);
    } else if (top(&ps) == K_VEVENT) {
      rc = event_property(&ps, &l);
    } else if (top(&ps) == K_VTIMEZONE && l.value) {
      if (cal_name_is(l.name, l.name_len, "TZID"))
        copy_value(&l, ps.tzid, sizeof ps.tzid);
    } else if (top(&ps) == K_VCALENDAR && l.value &&
               cal_name_is(l.name, l.name_len, "X-WR-TIMEZONE")) {
      char zone[256];
      copy_value(&l, zone, sizeof zone);
      if (zone[0] && cal_zones_set_calendar_zone(rd->zones, zone))
        cal_warn(rd, l.line,
                 "X-WR-TIMEZONE '%s' is not a known time zone: "
                 "floating times use %s",
                 zone, "the configured zone");
    }
  }
  cal_lines_cleanup(&lr);
  if (rc)
    return rc == PB_ENOMEM ? fail(rd, rc, "out of memory") : rc;
  if (!any)
    return fail(rd, PB_EPARSE, "the calendar is empty (no BEGIN:VCALENDAR)");
  if (ps.depth)
    return fail(rd, PB_EPARSE,
                "the input ends inside %s begun on line %d "
                "(a truncated download?)",
                ps.stack[ps.depth - 1].name, ps.stack[ps.depth - 1].line);
  return 0;
}

/* Walks a logical line's raw bytes, skipping folds, to its value (after the
 * first ':' outside quotes), copied or TEXT-unescaped into out. */
static size_t span_walk(const char *p, size_t n, bool unescape, char *out,
                        size_t cap) {
  size_t o = 0, i = 0;
  bool in_value = false, quoted = false, escaped = false;
  if (cap == 0)
    return 0;
  while (i < n && o + 1 < cap) {
    char c = p[i++];
    if (c == '\r' || c == '\n') {
      /* A fold: the line break and the blank after it vanish. */
      if (c == '\r' && i < n && p[i] == '\n')
        i++;
      if (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
      continue;
    }
    if (!in_value) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ':' && !quoted)
        in_value = true;
      continue;
    }
    if (unescape && escaped) {
      escaped = false;
      if (c == 'n' || c == 'N')
        c = '\n';
      else if (c != '\\' && c != ';' && c != ',')
        out[o++] = '\\'; /* not an escape: keep it as written */
      if (o + 1 >= cap)
        break;
    } else if (unescape && c == '\\') {
      escaped = true;
      continue;
    }
    out[o++] = c;
  }
  if (i < n && o > 0) {
    /* Cut: never end on half a UTF-8 character. */
    o = cal_utf8_whole(out, o);
  }
  out[o] = '\0';
  return o;
}

size_t cal_span_text(const struct cal_reader *rd, struct cal_span raw,
                     char *out, size_t cap) {
  if (!raw.len) {
    if (cap)
      out[0] = '\0';
    return 0;
  }
  return span_walk(rd->buf + raw.off, raw.len, true, out, cap);
}

size_t cal_span_value(const struct cal_reader *rd, struct cal_span raw,
                      char *out, size_t cap) {
  return span_walk(rd->buf + raw.off, raw.len, false, out, cap);
}

static void reader_cleanup(struct cal_reader *rd) {
  cal_zones_free(rd->zones);
  free(rd->events);
  free(rd->cats);
  free(rd->rrules);
  free(rd->rdates);
  free(rd->exdates);
}

int cal_expand(const char *buf, size_t len, const struct cal_options *opts,
               cal_occurrence_cb *cb, void *ud, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if ((!buf && len) || !opts || !cb || opts->to < opts->from) {
    if (err && errlen)
      snprintf(err, errlen, "invalid arguments");
    return PB_EINVAL;
  }
  /* Years 1 to 9999 hold every date iCalendar can write; clamping the
   * window there keeps all the arithmetic far from overflow. */
  const int64_t lo = -62135596800, hi = 253402300800;
  struct cal_options o = *opts;
  o.from = o.from < lo ? lo : o.from > hi ? hi : o.from;
  o.to = o.to < lo ? lo : o.to > hi ? hi : o.to;
  opts = &o;
  struct cal_reader rd;
  memset(&rd, 0, sizeof rd);
  rd.buf = buf ? buf : "";
  rd.len = len;
  rd.opts = opts;
  rd.err = err;
  rd.errlen = err ? errlen : 0;
  rd.max_occurrences = opts->max_occurrences ? opts->max_occurrences
                                             : CAL_DEFAULT_MAX_OCCURRENCES;
  if (len > CAL_INPUT_MAX)
    return fail(&rd, PB_ETOOBIG, "the calendar is larger than %zu bytes",
                CAL_INPUT_MAX);
  int y, m, d;
  pb_civil_from_days(o.to / CAL_DAY, &y, &m, &d);
  int rc = cal_zones_new(opts->tz, y < 2100 ? 2100 : y, &rd.zones);
  if (rc)
    return fail(&rd, rc, "out of memory");
  rc = read_all(&rd);
  if (rc == 0)
    rc = cal_expand_all(&rd, cb, ud);
  if (opts->uses_tz)
    *opts->uses_tz = cal_zones_days_reads(rd.zones) > 0;
  if (rd.warnings > CAL_WARNINGS_MAX && opts->warn) {
    char msg[120];
    snprintf(msg, sizeof msg, "%zu more warnings not shown",
             rd.warnings - CAL_WARNINGS_MAX);
    opts->warn(0, msg, opts->warn_ud);
  }
  reader_cleanup(&rd);
  return rc;
}
