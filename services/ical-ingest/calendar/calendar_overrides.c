/* Replacements (RFC 5545 §3.8.4.4 RECURRENCE-ID, §3.8.7.4 SEQUENCE): which
 * events replace which instances of which series, found by UID. Of several
 * revisions of one series the highest SEQUENCE counts; of several
 * replacements of one instance, likewise; RANGE=THISANDFUTURE ones also
 * stand for the instances after theirs. */
#include <stdlib.h>
#include <string.h>

#include "calendar_int.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/map.h"

#define UID_KEY_MAX 1024

struct cal_ov_list {
  struct cal_ov *items;
  size_t n, cap;
};

static void uid_key(const struct cal_reader *rd, const struct cal_event *ev,
                    char *buf, size_t cap) {
  cal_span_text(rd, ev->uid, buf, cap);
}

static int collect_overrides(struct cal_overrides *x) {
  struct cal_reader *rd = x->rd;
  char uid[UID_KEY_MAX];
  for (size_t i = 0; i < rd->n_events; i++) {
    const struct cal_event *ev = &rd->events[i];
    if (!(ev->flags & CAL_EV_RECURID))
      continue;
    uid_key(rd, ev, uid, sizeof uid);
    struct cal_ov_list *l = pb_map_get(x->by_uid, uid);
    if (!l) {
      if (!(l = calloc(1, sizeof *l)) || pb_map_put(x->by_uid, uid, l)) {
        free(l);
        return PB_ENOMEM;
      }
    }
    int rc = pb_array_grow(&l->items, &l->cap, l->n + 1, sizeof *l->items,
                           CAL_ITEMS_MAX);
    if (rc)
      return rc;
    l->items[l->n++] = (struct cal_ov){
        .ev = (uint32_t)i,
        .raw = ev->recurid.day * CAL_DAY + ev->recurid.sec,
        .tag = (uint32_t)ev->recurid.kind << 16 | ev->recurid.tzid};
  }
  return 0;
}

/* The key of a replacement in its master's terms: a UTC instant for a
 * timed master (a date names that day's instance), a local day for an
 * all-day one. */
static int64_t override_key(struct cal_overrides *x,
                            const struct cal_event *master,
                            const struct cal_frame *mf,
                            const struct cal_event *ov) {
  const struct cal_time *r = &ov->recurid;
  if (mf->is_date)
    return r->kind == CAL_T_UTC ? cal_day_of(x->rd, master, mf, r, NULL)
                                : r->day;
  if (r->kind == CAL_T_DATE)
    return cal_zone_to_utc(mf->zone, r->day, mf->s0);
  return cal_utc_of(x->rd, master, mf, r);
}

static int cmp_ov(const void *a, const void *b) {
  const struct cal_ov *p = a, *q = b;
  if (p->key != q->key)
    return p->key < q->key ? -1 : 1;
  return p->ev < q->ev ? -1 : p->ev > q->ev;
}

/* Sorts one master's replacements by key; of several for one instance the
 * highest SEQUENCE wins, then the last one written. */
int cal_overrides_prepare(struct cal_overrides *x,
                          const struct cal_event *master,
                          const struct cal_frame *mf) {
  struct cal_reader *rd = x->rd;
  char uid[UID_KEY_MAX];
  x->n_sorted = 0;
  if (!pb_map_count(x->by_uid))
    return 0;
  uid_key(rd, master, uid, sizeof uid);
  const struct cal_ov_list *l = pb_map_get(x->by_uid, uid);
  if (!l)
    return 0;
  int rc = pb_array_grow(&x->sorted, &x->cap_sorted, l->n, sizeof *x->sorted,
                         CAL_ITEMS_MAX);
  if (rc)
    return rc;
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++) {
    const struct cal_event *o = &rd->events[l->items[i].ev];
    if (o->flags & CAL_EV_LOST)
      continue; /* its winner names the same instance */
    x->sorted[n] = l->items[i];
    x->sorted[n].key = override_key(x, master, mf, o);
    x->sorted[n++].lost = false;
  }
  x->n_sorted = n;
  if (n)
    qsort(x->sorted, n, sizeof *x->sorted, cmp_ov);
  for (size_t i = 1; i < n; i++) {
    struct cal_ov *a = &x->sorted[i - 1], *b = &x->sorted[i];
    if (a->key != b->key)
      continue;
    if (rd->events[a->ev].sequence > rd->events[b->ev].sequence) {
      struct cal_ov t = *a; /* keep the winner last */
      *a = *b;
      *b = t;
    }
    a->lost = true;
    rd->events[a->ev].flags |= CAL_EV_LOST;
  }
  return 0;
}

/* The replacement of the instance with `key`, exact or by a
 * THISANDFUTURE range before it. */
const struct cal_ov *cal_overrides_find(const struct cal_overrides *x,
                                        int64_t key, bool *exact) {
  size_t lo = 0, hi = x->n_sorted;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (x->sorted[mid].key <= key)
      lo = mid + 1;
    else
      hi = mid;
  }
  *exact = false;
  for (size_t i = lo; i-- > 0;) {
    const struct cal_ov *o = &x->sorted[i];
    if (o->lost)
      continue;
    if (o->key == key) {
      *exact = true;
      return o;
    }
    if (x->rd->events[o->ev].flags & CAL_EV_RANGE_FUTURE)
      return o;
  }
  return NULL;
}

static int cmp_raw(const void *a, const void *b) {
  const struct cal_ov *p = a, *q = b;
  if (p->raw != q->raw)
    return p->raw < q->raw ? -1 : 1;
  if (p->tag != q->tag)
    return p->tag < q->tag ? -1 : 1;
  return p->ev < q->ev ? -1 : p->ev > q->ev;
}

/* Of several replacements written for the same RECURRENCE-ID, the highest
 * SEQUENCE wins, then the last one written (RFC 5546 §2.1.5's rule for
 * updates); the others are marked lost. */
static void settle_duplicates(struct cal_overrides *x) {
  size_t pos = 0;
  const char *key;
  struct cal_ov_list *l;
  struct cal_event *events = x->rd->events;
  while ((l = pb_map_next(x->by_uid, &pos, &key))) {
    qsort(l->items, l->n, sizeof *l->items, cmp_raw);
    size_t best = 0;
    for (size_t i = 1; i <= l->n; i++) {
      if (i < l->n && l->items[i].raw == l->items[best].raw &&
          l->items[i].tag == l->items[best].tag) {
        if (events[l->items[i].ev].sequence >=
            events[l->items[best].ev].sequence) {
          events[l->items[best].ev].flags |= CAL_EV_LOST;
          best = i;
        } else {
          events[l->items[i].ev].flags |= CAL_EV_LOST;
        }
        continue;
      }
      best = i;
    }
  }
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

struct mkey {
  uint64_t hash; /* of the UID: 64 bits make a collision negligible */
  int64_t start; /* DTSTART as written */
  uint32_t tag;
  uint32_t ev;
};

static int cmp_mkey(const void *a, const void *b) {
  const struct mkey *p = a, *q = b;
  if (p->hash != q->hash)
    return p->hash < q->hash ? -1 : 1;
  if (p->start != q->start)
    return p->start < q->start ? -1 : 1;
  if (p->tag != q->tag)
    return p->tag < q->tag ? -1 : 1;
  return p->ev < q->ev ? -1 : p->ev > q->ev;
}

/* A series written several times under one UID (an export that keeps old
 * revisions): the highest SEQUENCE is the series (RFC 5545 §3.8.7.4), and
 * of equal ones the last copy with the same DTSTART. Versions with other
 * starts at the same SEQUENCE are kept: some producers give every event
 * the same UID, and dropping them would lose real slots. */
static int settle_masters(struct cal_overrides *x) {
  struct cal_reader *rd = x->rd;
  struct mkey *keys = malloc((rd->n_events ? rd->n_events : 1) * sizeof *keys);
  if (!keys)
    return PB_ENOMEM;
  size_t n = 0;
  char uid[UID_KEY_MAX];
  for (size_t i = 0; i < rd->n_events; i++) {
    const struct cal_event *ev = &rd->events[i];
    if ((ev->flags & CAL_EV_RECURID) || !ev->uid.len)
      continue;
    uid_key(rd, ev, uid, sizeof uid);
    keys[n++] = (struct mkey){
        .hash = fnv1a(uid),
        .start = ev->dtstart.day * CAL_DAY + ev->dtstart.sec,
        .tag = (uint32_t)ev->dtstart.kind << 16 | ev->dtstart.tzid,
        .ev = (uint32_t)i};
  }
  if (n)
    qsort(keys, n, sizeof *keys, cmp_mkey);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    int32_t top = rd->events[keys[i].ev].sequence;
    while (j < n && keys[j].hash == keys[i].hash) {
      if (rd->events[keys[j].ev].sequence > top)
        top = rd->events[keys[j].ev].sequence;
      j++;
    }
    for (size_t k = i; k < j; k++) {
      struct cal_event *ev = &rd->events[keys[k].ev];
      bool copy = k + 1 < j && keys[k + 1].start == keys[k].start &&
                  keys[k + 1].tag == keys[k].tag &&
                  rd->events[keys[k + 1].ev].sequence == top;
      if (ev->sequence < top || (copy && ev->sequence == top))
        ev->flags |= CAL_EV_LOST;
    }
    i = j;
  }
  free(keys);
  return 0;
}

int cal_overrides_init(struct cal_reader *rd, struct cal_overrides *x) {
  memset(x, 0, sizeof *x);
  x->rd = rd;
  if (!(x->by_uid = pb_map_new()))
    return PB_ENOMEM;
  int rc = collect_overrides(x);
  if (rc)
    return rc;
  settle_duplicates(x);
  return settle_masters(x);
}

void cal_overrides_cleanup(struct cal_overrides *x) {
  if (x->by_uid) {
    size_t pos = 0;
    const char *key;
    struct cal_ov_list *l;
    while ((l = pb_map_next(x->by_uid, &pos, &key))) {
      free(l->items);
      free(l);
    }
    pb_map_free(x->by_uid);
  }
  free(x->sorted);
  memset(x, 0, sizeof *x);
}
