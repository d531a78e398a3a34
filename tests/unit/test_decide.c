/* The scheduler's decision rules (docs/scheduling.md), one by one, at chosen
 * instants. */
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
  struct pb_slot s = {.start = at(start), .end = at(end), .status = st,
                      .priority = prio};
  return s;
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
  struct sched_inputs in = {.slots = s, .nslots = 3,
                            .default_status = PB_PRESENCE_AVAILABLE};
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
  /* The end instant belongs to the next state (half-open slots). */
  sched_decide(&in, at("2026-03-30T17:00:00+02:00"), &d, &next);
  CHECK_INT(d.cause, PB_CAUSE_DEFAULT);
}

static void overlaps_priority_then_later_then_shorter(void) {
  struct pb_slot s[] = {
      slot("2026-03-30T08:00:00Z", "2026-03-30T12:00:00Z", PB_PRESENCE_AWAY, 1),
      slot("2026-03-30T09:00:00Z", "2026-03-30T10:00:00Z", PB_PRESENCE_LUNCH, 0),
      slot("2026-03-30T09:30:00Z", "2026-03-30T11:00:00Z", PB_PRESENCE_OFF_WORK, 1),
      slot("2026-03-30T09:30:00Z", "2026-03-30T10:30:00Z",
           PB_PRESENCE_DO_NOT_DISTURB, 1),
  };
  struct sched_inputs in = {.slots = s, .nslots = 4,
                            .default_status = PB_PRESENCE_AVAILABLE};
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
  CHECK_INT(sched_slot_at(s, 4, at("2026-03-30T12:00:00Z")), -1);
}

static void override_wins_then_expires_inside_slot(void) {
  struct pb_slot s[] = {slot("2026-03-30T08:00:00Z", "2026-03-30T12:00:00Z",
                             PB_PRESENCE_BUSINESS_TRIP, 0)};
  struct pb_override o = {.status = PB_PRESENCE_AWAY,
                          .until = at("2026-03-30T10:00:00Z"),
                          .set_at = at("2026-03-30T09:00:00Z")};
  struct sched_inputs in = {.slots = s, .nslots = 1, .override = &o,
                            .default_status = PB_PRESENCE_AVAILABLE};
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
}

static void planning_off_imposes_nothing_but_overrides(void) {
  struct pb_slot s[] = {slot("2026-03-30T08:00:00Z", "2026-03-30T12:00:00Z",
                             PB_PRESENCE_BUSINESS_TRIP, 0)};
  struct sched_inputs in = {.slots = s, .nslots = 1, .planning_off = true,
                            .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, at("2026-03-30T09:00:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_NONE);
  CHECK_INT(d.cause, PB_CAUSE_PLANNING_OFF);
  struct pb_override o = {.status = PB_PRESENCE_LUNCH, .until = -1};
  in.override = &o;
  sched_decide(&in, at("2026-03-30T09:00:00Z"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_LUNCH);
}

/* Daily 08:00-17:00 local slots built over the DST weeks: the decision at
 * 08:00 local is right on both sides of each change, in Paris and New York;
 * a slot crossing midnight holds until its end. */
static void dst_days(void) {
  const char *zones[] = {"Europe/Paris", "America/New_York"};
  const int days[][3] = {{2026, 3, 29}, {2026, 10, 25}, {2026, 3, 8}, {2026, 11, 1}};
  for (int z = 0; z < 2; z++) {
    struct pb_tz *tz;
    CHECK_INT(pb_tz_load(zones[z], &tz), 0);
    for (int k = z * 2; k < z * 2 + 2; k++) {
      struct pb_slot s[3];
      for (int i = -1; i <= 1; i++) {
        struct pb_civil c = {.year = days[k][0], .month = days[k][1],
                             .day = days[k][2] + i, .hour = 8};
        s[i + 1].start = pb_tz_local_to_utc(tz, &c);
        c.hour = 17;
        s[i + 1].end = pb_tz_local_to_utc(tz, &c);
        s[i + 1].status = PB_PRESENCE_BUSINESS_TRIP;
        s[i + 1].priority = 0;
      }
      struct sched_inputs in = {.slots = s, .nslots = 3,
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
      }
    }
    pb_tz_free(tz);
  }
  struct pb_slot night[] = {slot("2026-03-28T22:00:00+01:00",
                                 "2026-03-29T06:00:00+02:00", PB_PRESENCE_OFF_WORK, 0)};
  struct sched_inputs in = {.slots = night, .nslots = 1,
                            .default_status = PB_PRESENCE_AVAILABLE};
  struct pb_desired d;
  int64_t next;
  sched_decide(&in, at("2026-03-29T00:30:00+01:00"), &d, &next);
  CHECK_INT(d.status, PB_PRESENCE_OFF_WORK);
  CHECK_INT(next, at("2026-03-29T06:00:00+02:00"));
  CHECK_INT(night[0].end - night[0].start, 7 * 3600); /* one hour lost */
}

int main(void) {
  RUN(default_when_nothing);
  RUN(slot_in_force_and_next_change);
  RUN(overlaps_priority_then_later_then_shorter);
  RUN(override_wins_then_expires_inside_slot);
  RUN(planning_off_imposes_nothing_but_overrides);
  RUN(dst_days);
  return CHECK_DONE();
}
