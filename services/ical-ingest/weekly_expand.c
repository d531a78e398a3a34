/* From a weekly template to concrete instants: each slot is placed on every
 * matching local day of the horizon in the planning's time zone, so "08:00"
 * stays 08:00 on the wall clock across DST changes (RFC 5545 §3.3.5 rules
 * for local times that do not exist or exist twice, via pb_tz). */
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/tz.h"

#define MAX_SLOTS_PER_EXT 100000

int slot_vec_push(struct slot_vec *v, const struct pb_slot *s) {
  int rc = pb_array_grow(&v->items, &v->cap, v->count + 1, sizeof *v->items,
                         MAX_SLOTS_PER_EXT);
  if (rc)
    return rc;
  v->items[v->count++] = *s;
  return 0;
}

void slot_vec_cleanup(struct slot_vec *v) {
  free(v->items);
  memset(v, 0, sizeof *v);
}

static int64_t local_instant(const struct pb_tz *tz, int64_t days,
                             int minutes) {
  int y, m, d;
  pb_civil_from_days(days + minutes / 1440, &y, &m, &d);
  struct pb_civil c = {.year = y,
                       .month = m,
                       .day = d,
                       .hour = (minutes % 1440) / 60,
                       .minute = minutes % 60};
  return pb_tz_local_to_utc(tz, &c);
}

int ingest_expand_weekly(const struct weekly_slot *slots, size_t n,
                         const char *ext, const struct pb_tz *tz, int64_t from,
                         int64_t to, const char *source, int priority,
                         struct slot_vec *out) {
  struct pb_civil c;
  pb_tz_utc_to_local(tz, from, &c);
  /* One day of margin on each side covers offsets of up to +-14 h. */
  int64_t first = pb_days_from_civil(c.year, c.month, c.day) - 1;
  pb_tz_utc_to_local(tz, to, &c);
  int64_t last = pb_days_from_civil(c.year, c.month, c.day) + 1;
  for (int64_t day = first; day <= last; day++) {
    int wday = pb_weekday_from_days(day);
    for (size_t i = 0; i < n; i++) {
      const struct weekly_slot *w = &slots[i];
      if (w->wday != wday || strcmp(w->ext, ext) != 0)
        continue;
      struct pb_slot s = {.status = w->status, .priority = priority};
      s.start = local_instant(tz, day, w->start_min);
      s.end = local_instant(tz, day, w->end_min);
      /* A slot inside a spring-forward gap has no duration: drop it. */
      if (s.end <= s.start || s.end <= from || s.start >= to)
        continue;
      pb_strlcpy(s.source, source, sizeof s.source);
      int len = snprintf(s.uid, sizeof s.uid, "%s:%s:%d:%lld", source, ext,
                         w->line, (long long)day);
      (void)len;
      int rc = slot_vec_push(out, &s);
      if (rc)
        return rc;
    }
  }
  return 0;
}

static int cmp_slot(const void *a, const void *b) {
  const struct pb_slot *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  if (x->status != y->status)
    return x->status < y->status ? -1 : 1;
  return y->priority - x->priority;
}

void ingest_slots_normalise(struct slot_vec *v) {
  if (v->count < 2)
    return;
  qsort(v->items, v->count, sizeof *v->items, cmp_slot);
  size_t w = 0;
  for (size_t i = 0; i < v->count; i++) {
    if (w > 0 && v->items[w - 1].start == v->items[i].start &&
        v->items[w - 1].end == v->items[i].end &&
        v->items[w - 1].status == v->items[i].status)
      continue; /* the same occurrence from two sources counts once */
    v->items[w++] = v->items[i];
  }
  v->count = w;
}
