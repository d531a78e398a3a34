/* The decision rules (docs/scheduling.md), as pure functions of the inputs
 * and an instant:
 *   1. an active override wins;
 *   2. planning off: nothing is imposed (cause planning_off);
 *   3. the slot in force: on overlap the higher source priority, then the
 *      later start, then the shorter slot;
 *   4. the extension's default status. */
#include <stdlib.h>
#include <string.h>

#include "sched.h"

static bool override_active(const struct pb_override *o, int64_t t) {
  return o && (o->until < 0 || t < o->until);
}

/* Is slot b better than slot a by the overlap rule? */
static bool better(const struct pb_slot *a, const struct pb_slot *b) {
  if (b->priority != a->priority)
    return b->priority > a->priority;
  if (b->start != a->start)
    return b->start > a->start;
  return (b->end - b->start) < (a->end - a->start);
}

long sched_slot_at(const struct pb_slot *slots, size_t n, int64_t t) {
  long best = -1;
  for (size_t i = 0; i < n && slots[i].start <= t; i++) {
    if (t < slots[i].end && (best < 0 || better(&slots[best], &slots[i])))
      best = (long)i;
  }
  return best;
}

/* Status, cause and slot at t (no `since`, no `next_change`). */
static void decide_at(const struct sched_inputs *in, int64_t t,
                      struct pb_desired *d) {
  memset(d, 0, sizeof *d);
  d->next_at = -1;
  d->next_status = PB_PRESENCE_NONE;
  if (override_active(in->override, t)) {
    d->status = in->override->status;
    d->cause = PB_CAUSE_OVERRIDE;
    d->has_override = true;
    d->override = *in->override;
    return;
  }
  if (in->planning_off) {
    d->status = PB_PRESENCE_NONE;
    d->cause = PB_CAUSE_PLANNING_OFF;
    return;
  }
  long i = sched_slot_at(in->slots, in->nslots, t);
  if (i >= 0) {
    d->status = in->slots[i].status;
    d->cause = PB_CAUSE_SCHEDULE;
    d->has_slot = true;
    d->slot = in->slots[i];
    return;
  }
  d->status = in->default_status;
  d->cause = PB_CAUSE_DEFAULT;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

void sched_decide(const struct sched_inputs *in, int64_t now,
                  struct pb_desired *out, int64_t *next_boundary) {
  decide_at(in, now, out);
  /* Every instant after now where an input changes, in order. */
  size_t cap = 2 * in->nslots + 1, n = 0;
  int64_t *b = malloc(cap * sizeof *b);
  if (!b) {
    *next_boundary = now + 60; /* try again soon rather than never */
    return;
  }
  if (in->override && in->override->until > now)
    b[n++] = in->override->until;
  for (size_t i = 0; i < in->nslots; i++) {
    if (in->slots[i].start > now)
      b[n++] = in->slots[i].start;
    if (in->slots[i].end > now)
      b[n++] = in->slots[i].end;
  }
  qsort(b, n, sizeof *b, cmp_i64);
  *next_boundary = n ? b[0] : -1;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && b[i] == b[i - 1])
      continue;
    struct pb_desired later;
    decide_at(in, b[i], &later);
    if (later.status != out->status) {
      out->next_at = b[i];
      out->next_status = later.status;
      break;
    }
  }
  free(b);
}

int64_t sched_last_boundary(const struct sched_inputs *in, int64_t now) {
  int64_t last = -1;
  if (in->override) {
    if (in->override->set_at <= now && in->override->set_at > last)
      last = in->override->set_at;
    if (in->override->until >= 0 && in->override->until <= now &&
        in->override->until > last)
      last = in->override->until;
  }
  for (size_t i = 0; i < in->nslots && in->slots[i].start <= now; i++) {
    if (in->slots[i].start > last)
      last = in->slots[i].start;
    if (in->slots[i].end <= now && in->slots[i].end > last)
      last = in->slots[i].end;
  }
  return last;
}
