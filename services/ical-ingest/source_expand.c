/* From a source to slots: a calendar (downloaded or uploaded) is read with
 * cal_expand over the horizon and each occurrence mapped to a status by the
 * source's rules (mapping.h); hand-typed slots are taken as they are. The
 * result is kept per source and rebuilt when the horizon moves, so a feed
 * that answers 304 still moves forward with the days. A calendar with
 * floating times or all-day events (RFC 5545 §3.3.5: the attendee's local
 * time) is also read in the zone of each extension it feeds that has a zone
 * of its own (ext_zones.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "ingest.h"
#include "mapping.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/tz.h"

#define ZONED_MAX 16 /* other zones kept per source; more: read each time */

struct map_ctx {
  const struct ingest_rules *rules;
  const char *source;
  int priority;
  struct slot_vec *out;
  struct cal_read_stats stats;
  int rc;
};

/* The reader tells about events it skipped or read leniently: counted,
 * the first kept for the source's status. */
static void on_warning(int line, const char *msg, void *ud) {
  struct map_ctx *x = ud;
  if (x->stats.warnings++ == 0)
    snprintf(x->stats.first_warning, sizeof x->stats.first_warning,
             "line %d: %s", line, msg ? msg : "");
}

static int on_occurrence(const struct cal_occurrence *o, void *ud) {
  struct map_ctx *x = ud;
  bool ignore = false;
  enum pb_presence p = ingest_map_status(x->rules, &o->ev, &ignore);
  if (ignore) {
    x->stats.ignored++;
    return 0;
  }
  if (o->end <= o->start)
    return 0; /* an instant holds no time: no slot */
  struct pb_slot s;
  memset(&s, 0, sizeof s);
  s.start = o->start;
  s.end = o->end;
  s.status = p;
  s.priority = x->priority;
  pb_strlcpy(s.source, x->source, sizeof s.source);
  char when[24], uid[PB_TEXT_MAX + 32];
  if (o->all_day) {
    snprintf(when, sizeof when, "%08d", o->start_date);
  } else {
    int64_t days = o->start / 86400, secs = o->start % 86400;
    if (secs < 0) {
      days--;
      secs += 86400;
    }
    int y, m, d;
    pb_civil_from_days(days, &y, &m, &d);
    snprintf(when, sizeof when, "%04d%02d%02dT%02d%02d%02dZ", y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
  }
  /* The UID names the event, the start names the occurrence in it. */
  snprintf(uid, sizeof uid, "%.200s/%s", o->ev.uid ? o->ev.uid : "", when);
  ingest_copy_text(s.uid, sizeof s.uid, uid);
  ingest_copy_text(s.summary, sizeof s.summary, o->ev.summary);
  x->rc = slot_vec_push(x->out, &s);
  return x->rc;
}

/* What a server sends instead of a calendar (a login page, an error
 * message) is named rather than parsed. */
static int looks_like_icalendar(const char *buf, size_t len, char *err,
                                size_t errlen) {
  size_t i = 0;
  if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
    i = 3;
  while (i < len &&
         (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
    i++;
  if (len - i >= 15 && strncasecmp(buf + i, "BEGIN:VCALENDAR", 15) == 0) {
    /* A calendar cut short (a server that stopped half-way) would read as
     * one with fewer events: it must end with END:VCALENDAR. */
    size_t end = len;
    while (end > i && (buf[end - 1] == '\r' || buf[end - 1] == '\n' ||
                       buf[end - 1] == ' ' || buf[end - 1] == '\t' ||
                       buf[end - 1] == '\0'))
      end--;
    if (end - i >= 13 && strncasecmp(buf + end - 13, "END:VCALENDAR", 13) == 0)
      return 0;
    snprintf(err, errlen,
             "the calendar is truncated: it does not end with "
             "END:VCALENDAR (%zu bytes)",
             len);
    return PB_EPARSE;
  }
  if (i == len) {
    snprintf(err, errlen,
             "the calendar is empty (%zu bytes, no BEGIN:VCALENDAR)", len);
    return PB_EPARSE;
  }
  /* Never quoted: a downloaded answer may be an internal page. */
  snprintf(err, errlen,
           "this is not an iCalendar file: it does not start with "
           "BEGIN:VCALENDAR (%zu bytes)",
           len);
  return PB_EPARSE;
}

int ingest_calendar_slots(const struct ingest *in, const char *source_id,
                          int priority, const struct ingest_rules *rules,
                          const char *buf, size_t len, const struct pb_tz *tz,
                          int64_t from, int64_t to, struct slot_vec *out,
                          struct cal_read_stats *stats, char *err,
                          size_t errlen) {
  int rc = looks_like_icalendar(buf, len, err, errlen);
  if (rc)
    return rc;
  struct map_ctx x = {
      .rules = rules, .source = source_id, .priority = priority, .out = out};
  struct cal_options opts = {.tz = tz ? tz : in->tz,
                             .from = from,
                             .to = to,
                             .warn = on_warning,
                             .warn_ud = &x,
                             .uses_tz = &x.stats.local_zone};
  char why[400] = "";
  rc = cal_expand(buf, len, &opts, on_occurrence, &x, why, sizeof why);
  if (x.rc == PB_ETOOBIG) {
    snprintf(err, errlen,
             "the calendar has more than %zu occurrences within "
             "the horizon",
             out->count);
    return PB_ETOOBIG;
  }
  if (rc || x.rc) {
    snprintf(err, errlen, "the calendar could not be read: %s",
             why[0] ? why : pb_strerror(rc ? rc : x.rc));
    return rc ? rc : x.rc;
  }
  ingest_slots_normalise(out);
  if (stats)
    *stats = x.stats;
  return 0;
}

bool ingest_slots_equal(const struct slot_vec *a, const struct slot_vec *b) {
  if (a->count != b->count)
    return false;
  for (size_t i = 0; i < a->count; i++) {
    const struct pb_slot *x = &a->items[i], *y = &b->items[i];
    if (x->start != y->start || x->end != y->end || x->status != y->status ||
        x->priority != y->priority || strcmp(x->source, y->source) ||
        strcmp(x->uid, y->uid) || strcmp(x->summary, y->summary))
      return false;
  }
  return true;
}

void ingest_source_take_slots(struct source *s, struct slot_vec *v,
                              int64_t from, int64_t to) {
  slot_vec_cleanup(&s->slots);
  s->slots = *v;
  memset(v, 0, sizeof *v);
  s->win_from = from;
  s->win_to = to;
  s->expanded = true;
  s->revision++; /* the slots in other zones are to be read again */
}

void ingest_source_zoned_cleanup(struct source *s) {
  for (size_t i = 0; i < s->nzoned; i++)
    slot_vec_cleanup(&s->zoned[i].slots);
  free(s->zoned);
  s->zoned = NULL;
  s->nzoned = 0;
}

/* The other zones the source's extensions are in (at most `max`). */
static size_t target_zones(const struct ingest *in, const struct source *s,
                           const struct pb_tz **zones, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < s->def.nexts && n < max; i++) {
    const struct pb_tz *tz =
        ingest_zones_get(in->zones, s->def.site, s->def.exts[i]);
    bool seen = !tz || tz == in->tz;
    for (size_t k = 0; k < n && !seen; k++)
      seen = zones[k] == tz;
    if (!seen)
      zones[n++] = tz;
  }
  return n;
}

/* The slots the source has ready for zone `tz`, NULL when none are. */
static const struct slot_vec *zoned_ready(const struct source *s,
                                          const struct pb_tz *tz) {
  for (size_t i = 0; i < s->nzoned; i++)
    if (s->zoned[i].tz == tz && s->zoned[i].revision == s->revision)
      return &s->zoned[i].slots;
  return NULL;
}

/* A calendar read over a window: in TIMEZONE, and in each other zone of
 * the source's extensions when its slots depend on the zone. */
struct reading {
  struct slot_vec v;
  struct cal_read_stats stats;
  struct zone_slots *zoned;
  size_t nzoned;
};

static void reading_cleanup(struct reading *r) {
  slot_vec_cleanup(&r->v);
  for (size_t i = 0; i < r->nzoned; i++)
    slot_vec_cleanup(&r->zoned[i].slots);
  free(r->zoned);
  memset(r, 0, sizeof *r);
}

static int read_calendar(const struct ingest *in, const struct source *s,
                         const char *buf, size_t len, int64_t from, int64_t to,
                         struct reading *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  int rc =
      ingest_calendar_slots(in, s->def.id, s->def.priority, s->rules, buf, len,
                            in->tz, from, to, &r->v, &r->stats, err, errlen);
  const struct pb_tz *zones[ZONED_MAX];
  size_t n = rc == 0 && r->stats.local_zone
                 ? target_zones(in, s, zones, ZONED_MAX)
                 : 0;
  if (n && !(r->zoned = calloc(n, sizeof *r->zoned)))
    rc = PB_ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++, r->nzoned++) {
    r->zoned[i].tz = zones[i];
    rc = ingest_calendar_slots(in, s->def.id, s->def.priority, s->rules, buf,
                               len, zones[i], from, to, &r->zoned[i].slots,
                               NULL, err, errlen);
  }
  if (rc)
    reading_cleanup(r);
  return rc;
}

/* Takes a reading as the source's slots; true when the slots of any of
 * its extensions differ from what they were. */
static bool take_reading(struct source *s, struct reading *r, int64_t from,
                         int64_t to) {
  bool changed = !ingest_slots_equal(&s->slots, &r->v);
  if (r->stats.local_zone) {
    /* Extensions in another zone had the TIMEZONE slots, or their own. */
    for (size_t i = 0; i < r->nzoned && !changed; i++) {
      const struct slot_vec *was =
          s->stats.local_zone ? zoned_ready(s, r->zoned[i].tz) : &s->slots;
      changed = !was || !ingest_slots_equal(was, &r->zoned[i].slots);
    }
  } else if (s->stats.local_zone) {
    /* They had their own, and have the TIMEZONE ones now. */
    for (size_t i = 0; i < s->nzoned && !changed; i++)
      changed = s->zoned[i].revision == s->revision &&
                !ingest_slots_equal(&s->zoned[i].slots, &r->v);
  }
  s->stats = r->stats;
  ingest_source_take_slots(s, &r->v, from, to);
  ingest_source_zoned_cleanup(s);
  s->zoned = r->zoned;
  s->nzoned = r->nzoned;
  for (size_t i = 0; i < s->nzoned; i++)
    s->zoned[i].revision = s->revision;
  r->zoned = NULL;
  r->nzoned = 0;
  return changed;
}

int ingest_source_expand(struct ingest *in, struct source *s, bool force,
                         bool *changed) {
  int64_t from, to;
  ingest_horizon(in, pb_clock_now(), &from, &to);
  if (changed)
    *changed = false;
  if (s->def.kind != SOURCE_URL && s->def.kind != SOURCE_ICS)
    return 0;
  if (!force && s->expanded && s->win_from == from && s->win_to == to)
    return 0;
  struct reading r = {0};
  int rc = 0;
  if (s->has_body) {
    struct source_body b;
    char err[512];
    rc = ingest_store_load_body(in->store, s->def.id, &b);
    if (rc == 0) {
      rc = read_calendar(in, s, b.data, b.len, from, to, &r, err, sizeof err);
      ingest_body_cleanup(&b);
    } else {
      snprintf(err, sizeof err, "the stored calendar cannot be read (%s)",
               pb_strerror(rc));
    }
    if (rc) {
      /* The slots of the previous window stay: better than none. */
      pb_error("source %s: %s", s->def.id, err);
      reading_cleanup(&r);
      return rc;
    }
  }
  bool differ = take_reading(s, &r, from, to);
  if (changed)
    *changed = differ;
  reading_cleanup(&r);
  return 0;
}

/* The source's slots for an extension in zone `tz`: read again in that
 * zone when they depend on it (and kept), else the TIMEZONE ones. */
static const struct slot_vec *slots_in_zone(struct ingest *in, struct source *s,
                                            const struct pb_tz *tz) {
  if (!tz || tz == in->tz || !s->stats.local_zone || !s->has_body)
    return &s->slots;
  const struct slot_vec *ready = zoned_ready(s, tz);
  if (ready)
    return ready;
  struct zone_slots *z = NULL;
  for (size_t i = 0; i < s->nzoned && !z; i++)
    if (s->zoned[i].tz == tz || s->zoned[i].revision != s->revision)
      z = &s->zoned[i]; /* its own, or one out of date */
  if (!z && s->nzoned < ZONED_MAX) {
    struct zone_slots *more =
        realloc(s->zoned, (s->nzoned + 1) * sizeof *s->zoned);
    if (more) {
      s->zoned = more;
      z = &s->zoned[s->nzoned++];
      memset(z, 0, sizeof *z);
    }
  }
  if (!z)
    z = &s->zoned[0];
  struct source_body b;
  struct slot_vec v = {0};
  char err[512];
  int rc = ingest_store_load_body(in->store, s->def.id, &b);
  if (rc == 0) {
    rc = ingest_calendar_slots(in, s->def.id, s->def.priority, s->rules, b.data,
                               b.len, tz, s->win_from, s->win_to, &v, NULL, err,
                               sizeof err);
    ingest_body_cleanup(&b);
  } else {
    snprintf(err, sizeof err, "the stored calendar cannot be read (%s)",
             pb_strerror(rc));
  }
  if (rc) {
    pb_error("source %s: in %s: %s (its slots in TIMEZONE are used)", s->def.id,
             pb_tz_name(tz), err);
    slot_vec_cleanup(&v);
    return &s->slots;
  }
  slot_vec_cleanup(&z->slots);
  z->slots = v;
  z->tz = tz;
  z->revision = s->revision;
  return &z->slots;
}

int ingest_source_append(struct ingest *in, struct source *s,
                         const struct pb_tz *tz, int64_t from, int64_t to,
                         struct slot_vec *out) {
  const struct pb_slot *items;
  size_t n;
  if (s->def.kind == SOURCE_MANUAL) {
    items = s->def.manual;
    n = s->def.nmanual;
  } else if (s->def.kind == SOURCE_URL || s->def.kind == SOURCE_ICS) {
    ingest_source_expand(in, s, false, NULL);
    const struct slot_vec *v = slots_in_zone(in, s, tz);
    items = v->items;
    n = v->count;
  } else {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (items[i].end <= from || items[i].start >= to)
      continue;
    int rc = slot_vec_push(out, &items[i]);
    if (rc)
      return rc;
  }
  return 0;
}

int ingest_source_accept(struct ingest *in, struct source *s, const char *buf,
                         size_t len, const char *etag,
                         const char *last_modified, bool *changed, char *err,
                         size_t errlen) {
  int64_t from, to;
  ingest_horizon(in, pb_clock_now(), &from, &to);
  *changed = false;
  struct source_body b = {.data = buf, .len = len};
  pb_sha256_hex(buf, len, b.sha256, sizeof b.sha256);
  pb_strlcpy(b.etag, etag ? etag : "", sizeof b.etag);
  pb_strlcpy(b.last_modified, last_modified ? last_modified : "",
             sizeof b.last_modified);
  if (s->has_body && strcmp(b.sha256, s->sha256) == 0) {
    /* The same bytes again (a server without ETag): only the validators
     * and the horizon may have moved. */
    if ((strcmp(b.etag, s->etag) ||
         strcmp(b.last_modified, s->last_modified)) &&
        ingest_store_save_body(in->store, s->def.id, &b) == 0) {
      pb_strlcpy(s->etag, b.etag, sizeof s->etag);
      pb_strlcpy(s->last_modified, b.last_modified, sizeof s->last_modified);
    }
    int rc = ingest_source_expand(in, s, false, changed);
    if (rc == 0 && *changed)
      ingest_publish_source(in, &s->def);
    return 0;
  }
  struct reading r;
  int rc = read_calendar(in, s, buf, len, from, to, &r, err, errlen);
  if (rc)
    return rc;
  if ((rc = ingest_store_save_body(in->store, s->def.id, &b))) {
    snprintf(err, errlen, "the calendar could not be stored (database error)");
    reading_cleanup(&r);
    return rc;
  }
  if (r.stats.warnings)
    pb_warn("source %s: %zu events skipped or read leniently; the first: %s",
            s->def.id, r.stats.warnings, r.stats.first_warning);
  s->has_body = true;
  s->body_len = len;
  pb_strlcpy(s->sha256, b.sha256, sizeof s->sha256);
  pb_strlcpy(s->etag, b.etag, sizeof s->etag);
  pb_strlcpy(s->last_modified, b.last_modified, sizeof s->last_modified);
  *changed = take_reading(s, &r, from, to);
  reading_cleanup(&r);
  if (*changed)
    ingest_publish_source(in, &s->def);
  return 0;
}
