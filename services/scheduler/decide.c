/* The decision rules (docs/scheduling.md), as pure functions of the inputs
 * and an instant:
 *   1. an active override wins;
 *   2. planning off: nothing is imposed (cause planning_off);
 *   3. the slot in force: on overlap the higher source priority, then the
 *      later start, then the shorter slot;
 *   4. the extension's default status (its own, else DEFAULT_STATUS). */
#include <stdlib.h>
#include <string.h>

#include "sched.h"

static bool override_active(const struct pb_override *o, int64_t t) {
  return o && (o->until < 0 || t < o->until);
}

/* Is slot b better than slot a by the overlap rule? */
static bool better(const struct sched_slot *a, const struct sched_slot *b) {
  if (b->priority != a->priority)
    return b->priority > a->priority;
  if (b->start != a->start)
    return b->start > a->start;
  return (b->end - b->start) < (a->end - a->start);
}

long sched_slot_at(const struct sched_plan *plan, int64_t t) {
  long best = -1;
  if (!plan)
    return -1;
  /* Sorted by start: the slots that started after t cannot be in force. */
  for (size_t i = 0; i < plan->count && plan->slots[i].start <= t; i++) {
    if (t < plan->slots[i].end &&
        (best < 0 || better(&plan->slots[best], &plan->slots[i])))
      best = (long)i;
  }
  return best;
}

/* Status and cause at t; with `full`, the slot or override behind it too. */
static void decide_at(const struct sched_inputs *in, int64_t t, bool full,
                      struct pb_desired *d) {
  d->status = PB_PRESENCE_NONE;
  d->has_slot = d->has_override = false;
  if (override_active(in->override, t)) {
    d->status = in->override->status;
    d->cause = PB_CAUSE_OVERRIDE;
    d->has_override = true;
    if (full)
      d->override = *in->override;
    return;
  }
  if (in->planning_off) {
    d->cause = PB_CAUSE_PLANNING_OFF;
    return;
  }
  long i = sched_slot_at(in->plan, t);
  if (i >= 0) {
    d->status = (enum pb_presence)in->plan->slots[i].status;
    d->cause = PB_CAUSE_SCHEDULE;
    d->has_slot = true;
    if (full)
      sched_plan_slot(in->plan, (size_t)i, &d->slot);
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
  memset(out, 0, sizeof *out);
  out->next_at = -1;
  out->next_status = PB_PRESENCE_NONE;
  decide_at(in, now, true, out);
  /* Every instant after now where an input changes, in order. An
   * extension has a few dozen slots over the horizon, so this stays cheap
   * and never depends on how many other extensions there are. */
  size_t nslots = in->plan ? in->plan->count : 0;
  int64_t small[130];
  size_t cap = 2 * nslots + 1, n = 0;
  int64_t *b =
      cap <= sizeof small / sizeof small[0] ? small : malloc(cap * sizeof *b);
  if (!b) {
    *next_boundary = now + 60; /* try again soon rather than never */
    return;
  }
  if (in->override && in->override->until > now)
    b[n++] = in->override->until;
  for (size_t i = 0; i < nslots; i++) {
    if (in->plan->slots[i].start > now)
      b[n++] = in->plan->slots[i].start;
    if (in->plan->slots[i].end > now)
      b[n++] = in->plan->slots[i].end;
  }
  if (n > 1)
    qsort(b, n, sizeof *b, cmp_i64);
  *next_boundary = n ? b[0] : -1;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && b[i] == b[i - 1])
      continue;
    struct pb_desired later;
    decide_at(in, b[i], false, &later);
    if (later.status != out->status) {
      out->next_at = b[i];
      out->next_status = later.status;
      break;
    }
  }
  if (b != small)
    free(b);
  /* The end of the known schedule is a boundary too (the horizon refresh):
   * past it nothing is known, and a schedule that was not renewed by then
   * is reported. */
  if (in->plan && in->plan->horizon_end > now &&
      (*next_boundary < 0 || in->plan->horizon_end < *next_boundary))
    *next_boundary = in->plan->horizon_end;
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
  size_t n = in->plan ? in->plan->count : 0;
  for (size_t i = 0; i < n && in->plan->slots[i].start <= now; i++) {
    const struct sched_slot *s = &in->plan->slots[i];
    if (s->start > last)
      last = s->start;
    if (s->end <= now && s->end > last)
      last = s->end;
  }
  return last;
}
