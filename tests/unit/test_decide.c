/* The scheduler's decision rules (docs/scheduling.md), one by one, at chosen
 * instants. */
#include <stdlib.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/tz.h"
#include "sched.h"

static int64_t at(const char *rfc3339) {
  int64_t t = -1;
  pb_time_parse_rfc3339(rfc3339, &t);
  return t;
}

static struct pb_slot slot(const char *start, const char *end,
                           enum pb_presence st, int prio) {
  struct pb_slot s = {
      .start = at(start), .end = at(end), .status = st, .priority = prio};
  snprintf(s.uid, sizeof s.uid, "u:%s", start);
  return s;
}

/* The compact form the scheduler keeps (sched_plan.c); freed by the caller. */
static struct sched_plan *plan_of(struct pb_slot *slots, size_t n) {
  struct pb_schedule sc = {
      .slots = slots, .count = n, .horizon_start = -1, .horizon_end = -1};
  struct sched_plan *p = NULL;
  CHECK_INT(sched_plan_from_schedule(&sc, &p), 0);
  return p;
}

static void default_when_nothing(void) {
  struct sched_inputs in = {.default_status = PB_PRESENCE_OFF_WORK};
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, at("2026-03-30T07:00:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_OFF_WORK);
  CHECK_INT(d.cause, PB_CAUSE_DEFAULT);
  CHECK_INT(next, -1);
  CHECK_INT(d.next_at, -1);
}

static void slot_in_force_and_next_change(void) {
  struct pb_slot s[] = {
      slot("2026-03-30T08:00:00+02:00", "2026-03-30T12:00:00+02:00",
           PB_PRESENCE_BUSINESS_TRIP, 0),
      slot("2026-03-30T12:00:00+02:00", "2026-03-30T13:00:00+02:00",
           PB_PRESENCE_BUSINESS_TRIP, 0),
      slot("2026-03-30T13:00:00+02:00", "2026-03-30T17:00:00+02:00",
           PB_PRESENCE_AWAY, 0),
  };
  struct sched_plan *p = plan_of(s, 3);
  struct sched_inputs in = {.plan = p, .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  /* Before the first slot: default, next boundary 08:00. */
  sched_decide(&in, at("2026-03-30T07:59:59+02:00"), &d, &next);
  CHECK_INT(d.cause, PB_CAUSE_DEFAULT);
  CHECK_INT(next, at("2026-03-30T08:00:00+02:00"));
  CHECK_INT(d.next_status, PB_PRESENCE_BUSINESS_TRIP);
  /* At the exact second the slot starts. */
  sched_decide(&in, at("2026-03-30T08:00:00+02:00"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_BUSINESS_TRIP);
  CHECK_INT(d.cause, PB_CAUSE_SCHEDULE);
  CHECK(d.has_slot);
  CHECK_INT(next, at("2026-03-30T12:00:00+02:00"));
  /* 12:00 is a boundary but the status stays: next_change is 13:00. */
  CHECK_INT(d.next_at, at("2026-03-30T13:00:00+02:00"));
  CHECK_INT(d.next_status, PB_PRESENCE_AWAY);
  CHECK_STR(d.slot.uid, "u:2026-03-30T08:00:00+02:00");
  /* The end instant belongs to the next state (half-open slots). */
  sched_decide(&in, at("2026-03-30T17:00:00+02:00"), &d, &next);
  CHECK_INT(d.cause, PB_CAUSE_DEFAULT);
  CHECK_INT(next, -1);
  sched_plan_free(p);
}

static void overlaps_priority_then_later_then_shorter(void) {
  struct pb_slot s[] = {
      slot("2026-03-30T08:00:00Z", "2026-03-30T12:00:00Z", PB_PRESENCE_AWAY, 1),
      slot("2026-03-30T09:00:00Z", "2026-03-30T10:00:00Z", PB_PRESENCE_LUNCH,
           0),
      slot("2026-03-30T09:30:00Z", "2026-03-30T11:00:00Z", PB_PRESENCE_OFF_WORK,
           1),
      slot("2026-03-30T09:30:00Z", "2026-03-30T10:30:00Z",
           PB_PRESENCE_DO_NOT_DISTURB, 1),
  };
  struct sched_plan *p = plan_of(s, 4);
  struct sched_inputs in = {.plan = p, .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  /* 09:15: priority 1 (away) beats the later but lower lunch. */
  sched_decide(&in, at("2026-03-30T09:15:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_AWAY);
  /* 09:45: same priority, later start wins; same start: the shorter wins. */
  sched_decide(&in, at("2026-03-30T09:45:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_DO_NOT_DISTURB);
  sched_decide(&in, at("2026-03-30T10:45:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_OFF_WORK);
  sched_decide(&in, at("2026-03-30T11:30:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_AWAY);
  CHECK_INT(sched_slot_at(p, at("2026-03-30T12:00:00Z")), -1);
  sched_plan_free(p);
  /* A complete tie (same priority, start and end) keeps the first listed. */
  struct pb_slot tie[] = {
      slot("2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z", PB_PRESENCE_LUNCH,
           0),
      slot("2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z", PB_PRESENCE_AWAY, 0),
  };
  p = plan_of(tie, 2);
  in.plan = p;
  sched_decide(&in, at("2026-03-30T08:30:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_LUNCH);
  sched_plan_free(p);
}

static void override_wins_then_expires_inside_slot(void) {
  struct pb_slot s[] = {slot("2026-03-30T08:00:00Z", "2026-03-30T12:00:00Z",
                             PB_PRESENCE_BUSINESS_TRIP, 0)};
  struct pb_override o = {.status = PB_PRESENCE_AWAY,
                          .until = at("2026-03-30T10:00:00Z"),
                          .set_at = at("2026-03-30T09:00:00Z")};
  struct sched_plan *p = plan_of(s, 1);
  struct sched_inputs in = {
      .plan = p, .override = &o, .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, at("2026-03-30T09:30:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_AWAY);
  CHECK_INT(d.cause, PB_CAUSE_OVERRIDE);
  CHECK(d.has_override);
  CHECK_INT(next, at("2026-03-30T10:00:00Z"));
  CHECK_INT(d.next_status, PB_PRESENCE_BUSINESS_TRIP);
  CHECK_INT(sched_last_boundary(&in, at("2026-03-30T09:30:00Z")),
            at("2026-03-30T09:00:00Z"));
  /* At its end the slot is back. */
  sched_decide(&in, at("2026-03-30T10:00:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_BUSINESS_TRIP);
  CHECK_INT(d.cause, PB_CAUSE_SCHEDULE);
  CHECK_INT(sched_last_boundary(&in, at("2026-03-30T10:00:00Z")),
            at("2026-03-30T10:00:00Z"));
  /* An override without end lasts. */
  o.until = -1;
  sched_decide(&in, at("2027-01-01T00:00:00Z"), &d, &next);
  CHECK_INT(d.cause, PB_CAUSE_OVERRIDE);
  CHECK_INT(next, -1);
  CHECK_INT(d.next_at, -1);
  /* An override set inside the slot whose status equals the slot's: the
   * status does not change at its end, so next_change is the slot's end. */
  o.status = PB_PRESENCE_BUSINESS_TRIP;
  o.until = at("2026-03-30T10:00:00Z");
  sched_decide(&in, at("2026-03-30T09:30:00Z"), &d, &next);
  CHECK_INT(next, at("2026-03-30T10:00:00Z"));
  CHECK_INT(d.next_at, at("2026-03-30T12:00:00Z"));
  CHECK_INT(d.next_status, PB_PRESENCE_AVAILABLE);
  sched_plan_free(p);
}

static void planning_off_imposes_nothing_but_overrides(void) {
  struct pb_slot s[] = {slot("2026-03-30T08:00:00Z", "2026-03-30T12:00:00Z",
                             PB_PRESENCE_BUSINESS_TRIP, 0)};
  struct sched_plan *p = plan_of(s, 1);
  struct sched_inputs in = {
      .plan = p, .planning_off = true, .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, at("2026-03-30T09:00:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_NONE);
  CHECK_INT(d.cause, PB_CAUSE_PLANNING_OFF);
  /* Nothing planned changes what is imposed: no next change. */
  CHECK_INT(d.next_at, -1);
  struct pb_override o = {.status = PB_PRESENCE_LUNCH,
                          .until = at("2026-03-30T10:00:00Z")};
  in.override = &o;
  sched_decide(&in, at("2026-03-30T09:00:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_LUNCH);
  CHECK_INT(d.cause, PB_CAUSE_OVERRIDE);
  /* When it ends, nothing is imposed: next_change.status is null. */
  CHECK_INT(d.next_at, at("2026-03-30T10:00:00Z"));
  CHECK_INT(d.next_status, PB_PRESENCE_NONE);
  sched_plan_free(p);
}

/* Daily 08:00-17:00 local slots built over the DST weeks: the decision at
 * 08:00 local is right on both sides of each change, in Paris and New York;
 * a slot crossing midnight holds until its end. */
static void dst_days(void) {
  const char *zones[] = {"Europe/Paris", "America/New_York"};
  const int days[][3] = {
      {2026, 3, 29}, {2026, 10, 25}, {2026, 3, 8}, {2026, 11, 1}};
  for (int z = 0; z < 2; z++) {
    struct pb_tz *tz;
    CHECK_INT(pb_tz_load(zones[z], &tz), 0);
    for (int k = z * 2; k < z * 2 + 2; k++) {
      struct pb_slot s[3];
      for (int i = -1; i <= 1; i++) {
        struct pb_civil c = {.year = days[k][0],
                             .month = days[k][1],
                             .day = days[k][2] + i,
                             .hour = 8};
        s[i + 1].start = pb_tz_local_to_utc(tz, &c);
        c.hour = 17;
        s[i + 1].end = pb_tz_local_to_utc(tz, &c);
        s[i + 1].status = PB_PRESENCE_BUSINESS_TRIP;
        s[i + 1].priority = 0;
      }
      struct sched_plan *p = plan_of(s, 3);
      struct sched_inputs in = {.plan = p,
                                .default_status = PB_PRESENCE_AVAILABLE};
      for (int i = 0; i < 3; i++) {
        struct pb_desired d;
        int64_t next;
        sched_decide(&in, s[i].start - 1, &d, &next);
        CHECK_INT(d.status, PB_PRESENCE_AVAILABLE);
        CHECK_INT(next, s[i].start);
        sched_decide(&in, s[i].start, &d, &next);
        CHECK_INT(d.status, PB_PRESENCE_BUSINESS_TRIP);
        struct pb_civil local;
        pb_tz_utc_to_local(tz, s[i].start, &local);
        CHECK_INT(local.hour, 8);
        CHECK_INT(s[i].end - s[i].start, 9 * 3600);
        /* The end, at 17:00 local, hands back to the default. */
        sched_decide(&in, s[i].end, &d, &next);
        CHECK_INT(d.status, PB_PRESENCE_AVAILABLE);
      }
      sched_plan_free(p);
    }
    pb_tz_free(tz);
  }
}

/* A slot crossing midnight holds until its end, on an ordinary night and
 * across both DST nights (an hour shorter in spring, longer in autumn). */
static void slot_crossing_midnight(void) {
  const struct {
    const char *start, *end, *inside;
    int hours;
  } nights[] = {
      {"2026-03-25T22:00:00+01:00", "2026-03-26T06:00:00+01:00",
       "2026-03-26T00:00:00+01:00", 8},
      {"2026-03-28T22:00:00+01:00", "2026-03-29T06:00:00+02:00",
       "2026-03-29T03:30:00+02:00", 7},
      {"2026-10-24T22:00:00+02:00", "2026-10-25T06:00:00+01:00",
       "2026-10-25T02:30:00+01:00", 9},
      {"2026-03-07T22:00:00-05:00", "2026-03-08T06:00:00-04:00",
       "2026-03-08T03:00:00-04:00", 7},
      {"2026-10-31T22:00:00-04:00", "2026-11-01T06:00:00-05:00",
       "2026-11-01T01:30:00-05:00", 9},
  };
  for (size_t k = 0; k < sizeof nights / sizeof nights[0]; k++) {
    struct pb_slot night[] = {
        slot(nights[k].start, nights[k].end, PB_PRESENCE_OFF_WORK, 0)};
    struct sched_plan *p = plan_of(night, 1);
    struct sched_inputs in = {.plan = p,
                              .default_status = PB_PRESENCE_AVAILABLE};
    struct pb_desired d;
    int64_t next;
    sched_decide(&in, at(nights[k].inside), &d, &next);
    CHECK_INT(d.status, PB_PRESENCE_OFF_WORK);
    CHECK_INT(next, at(nights[k].end));
    CHECK_INT(d.next_at, at(nights[k].end));
    CHECK_INT(d.next_status, PB_PRESENCE_AVAILABLE);
    CHECK_INT(night[0].end - night[0].start, nights[k].hours * 3600);
    CHECK_INT(sched_last_boundary(&in, at(nights[k].inside)),
              at(nights[k].start));
    sched_decide(&in, at(nights[k].end), &d, &next);
    CHECK_INT(d.status, PB_PRESENCE_AVAILABLE);
    sched_plan_free(p);
  }
}

/* The end of the known schedule (its horizon) is a boundary: the timer is
 * armed there even with nothing planned, but next_change stays null. */
static void horizon_is_a_boundary(void) {
  struct pb_slot s[] = {slot("2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z",
                             PB_PRESENCE_AWAY, 0)};
  struct pb_schedule sc = {.slots = s,
                           .count = 1,
                           .horizon_start = at("2026-03-30T00:00:00Z"),
                           .horizon_end = at("2026-04-13T00:00:00Z")};
  struct sched_plan *p = NULL;
  CHECK_INT(sched_plan_from_schedule(&sc, &p), 0);
  struct sched_inputs in = {.plan = p, .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, at("2026-03-30T07:00:00Z"), &d, &next);
  CHECK_INT(next, at("2026-03-30T08:00:00Z"));
  sched_decide(&in, at("2026-03-30T10:00:00Z"), &d, &next);
  CHECK_INT(next, at("2026-04-13T00:00:00Z"));
  CHECK_INT(d.next_at, -1);
  sched_decide(&in, at("2026-04-13T00:00:00Z"), &d, &next);
  CHECK_INT(next, -1);
  CHECK_INT(d.cause, PB_CAUSE_DEFAULT);
  sched_plan_free(p);
}

/* The compact form gives back every field of every slot. */
static void plan_round_trip(void) {
  struct pb_slot s[] = {
      slot("2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z", PB_PRESENCE_AWAY, 3),
      slot("2026-03-30T10:00:00Z", "2026-03-30T11:00:00Z", PB_PRESENCE_LUNCH,
           -2),
  };
  snprintf(s[0].source, sizeof s[0].source, "weekly");
  snprintf(s[1].source, sizeof s[1].source, "ical");
  snprintf(s[1].summary, sizeof s[1].summary, "Cours de maths");
  struct sched_plan *p = plan_of(s, 2);
  struct pb_slot out;
  sched_plan_slot(p, 1, &out);
  CHECK_INT(out.start, s[1].start);
  CHECK_INT(out.end, s[1].end);
  CHECK_INT(out.priority, -2);
  CHECK_INT(out.status, PB_PRESENCE_LUNCH);
  CHECK_STR(out.source, "ical");
  CHECK_STR(out.summary, "Cours de maths");
  CHECK_STR(out.uid, s[1].uid);
  sched_plan_slot(p, 0, &out);
  CHECK_STR(out.source, "weekly");
  CHECK_STR(out.summary, "");
  /* The database form comes back identical; a damaged one is refused. */
  void *blob;
  size_t len;
  CHECK_INT(sched_plan_encode(p, &blob, &len), 0);
  struct sched_plan *back = NULL;
  CHECK_INT(sched_plan_decode(blob, len, &back), 0);
  CHECK(back && back->count == 2 && back->hash == p->hash);
  if (back) {
    sched_plan_slot(back, 1, &out);
    CHECK_STR(out.summary, "Cours de maths");
    CHECK_INT(out.priority, -2);
  }
  sched_plan_free(back);
  CHECK(sched_plan_decode(blob, len - 1, &back) != 0);
  ((char *)blob)[len - 1] = 'x'; /* text no longer terminated */
  CHECK(sched_plan_decode(blob, len, &back) != 0);
  ((char *)blob)[len - 1] = '\0';
  ((char *)blob)[0] = 'X';
  CHECK(sched_plan_decode(blob, len, &back) != 0);
  CHECK(back == NULL);
  free(blob);
  /* A different summary is a different plan; the same slots hash alike. */
  struct sched_plan *q = plan_of(s, 2);
  CHECK(p->hash == q->hash);
  sched_plan_free(q);
  snprintf(s[1].summary, sizeof s[1].summary, "Cours de physique");
  q = plan_of(s, 2);
  CHECK(p->hash != q->hash);
  sched_plan_free(q);
  sched_plan_free(p);
}

int main(void) {
  RUN(default_when_nothing);
  RUN(slot_in_force_and_next_change);
  RUN(overlaps_priority_then_later_then_shorter);
  RUN(override_wins_then_expires_inside_slot);
  RUN(planning_off_imposes_nothing_but_overrides);
  RUN(dst_days);
  RUN(slot_crossing_midnight);
  RUN(horizon_is_a_boundary);
  RUN(plan_round_trip);
  return CHECK_DONE();
}
