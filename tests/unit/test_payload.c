/* Bus payload codecs: override/set parsing (the MQTT command people type)
 * and encode/decode round trips. */
#include <stdlib.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/payload.h"
#include "pb/tz.h"

static const int64_t NOW = 1774850400; /* 2026-03-30T06:00:00Z */

static int set(const char *payload, struct pb_override *o, char *err) {
  return pb_override_parse_set(payload, strlen(payload), NOW, o, err, 256);
}

static void override_set_forms(void) {
  struct pb_override o;
  char err[256];
  CHECK_INT(set("away", &o, err), 0);
  CHECK_INT(o.status, PB_PRESENCE_AWAY);
  CHECK_INT(o.until, -1);
  CHECK_INT(set("  DND\n", &o, err), 0);
  CHECK_INT(o.status, PB_PRESENCE_DO_NOT_DISTURB);
  CHECK_INT(
      set("{\"status\":\"lunch_break\",\"minutes\":90,\"reason\":\"sick\","
          "\"by\":\"reception\"}",
          &o, err),
      0);
  CHECK_INT(o.status, PB_PRESENCE_LUNCH);
  CHECK_INT(o.until, NOW + 90 * 60);
  CHECK_STR(o.reason, "sick");
  CHECK_STR(o.by, "reception");
  CHECK_INT(set("{\"status\":\"away\",\"until\":\"2026-03-30T10:00:00+02:00\"}",
                &o, err),
            0);
  CHECK_INT(o.until, NOW + 2 * 3600);
}

static void override_set_refusals(void) {
  struct pb_override o;
  char err[256];
  CHECK(set("holiday", &o, err) != 0);
  CHECK(strstr(err, "unknown status 'holiday'") != NULL);
  CHECK(set("", &o, err) != 0);
  CHECK(set("{\"status\":\"away\",\"until\":\"2026-03-30T07:00:00+02:00\"}", &o,
            err) != 0);
  CHECK(strstr(err, "in the past") != NULL);
  CHECK(set("{\"status\":\"away\",\"minutes\":0}", &o, err) != 0);
  CHECK(set("{\"status\":\"away\",\"minutes\":\"10\"}", &o, err) != 0);
  CHECK(strstr(err, "'minutes' must be an integer") != NULL);
  CHECK(set("{\"status\":\"away\",\"minutes\":5,\"until\":\"2026-03-31T00:00:"
            "00Z\"}",
            &o, err) != 0);
  CHECK(strstr(err, "not both") != NULL);
  CHECK(set("{\"status\":\"away\"", &o, err) != 0);
  CHECK(strstr(err, "invalid JSON") != NULL);
  CHECK(set("{\"minutes\":5}", &o, err) != 0);
  CHECK(strstr(err, "'status' is required") != NULL);
  CHECK(set("{\"status\":\"away\",\"until\":\"tomorrow\"}", &o, err) != 0);
}

static void desired_round_trip(void) {
  struct pb_tz *tz;
  CHECK_INT(pb_tz_load("Europe/Paris", &tz), 0);
  struct pb_desired d = {.status = PB_PRESENCE_BUSINESS_TRIP,
                         .cause = PB_CAUSE_SCHEDULE,
                         .since = NOW,
                         .next_at = NOW + 3600,
                         .next_status = PB_PRESENCE_AWAY,
                         .has_slot = true};
  d.slot = (struct pb_slot){.start = NOW,
                            .end = NOW + 3600,
                            .status = PB_PRESENCE_BUSINESS_TRIP,
                            .priority = 3};
  pb_strlcpy(d.slot.source, "weekly", sizeof d.slot.source);
  json_t *j = pb_desired_to_json(&d, tz);
  CHECK_STR(json_string_value(json_object_get(j, "since")),
            "2026-03-30T08:00:00+02:00");
  struct pb_desired back;
  char err[256];
  CHECK_INT(pb_desired_from_json(j, &back, err, sizeof err), 0);
  CHECK_INT(back.status, d.status);
  CHECK_INT(back.next_at, d.next_at);
  CHECK_INT(back.slot.priority, 3);
  CHECK_STR(back.slot.source, "weekly");
  json_decref(j);
  /* planning off: status null is allowed only with that cause */
  struct pb_desired off = {.status = PB_PRESENCE_NONE,
                           .cause = PB_CAUSE_PLANNING_OFF,
                           .since = NOW,
                           .next_at = -1};
  j = pb_desired_to_json(&off, NULL);
  CHECK(json_is_null(json_object_get(j, "status")));
  CHECK_INT(pb_desired_from_json(j, &back, err, sizeof err), 0);
  json_object_set_new(j, "cause", json_string("default"));
  CHECK(pb_desired_from_json(j, &back, err, sizeof err) != 0);
  json_decref(j);
  pb_tz_free(tz);
}

static void schedule_decode_errors(void) {
  char err[256];
  struct pb_schedule s;
  json_t *j =
      json_loads("{\"slots\":[{\"start\":\"2026-03-30T08:00:00Z\","
                 "\"end\":\"2026-03-30T07:00:00Z\",\"status\":\"away\"}]}",
                 0, NULL);
  CHECK(pb_schedule_from_json(j, &s, err, sizeof err) != 0);
  CHECK(strstr(err, "slot 0: slot ends before it starts") != NULL);
  json_decref(j);
  j = json_loads("{\"slots\":{}}", 0, NULL);
  CHECK(pb_schedule_from_json(j, &s, err, sizeof err) != 0);
  json_decref(j);
}

static void rfc3339(void) {
  int64_t t;
  char buf[40];
  CHECK_INT(pb_time_parse_rfc3339("2026-03-30T08:00:00.250+02:00", &t), 0);
  CHECK_INT(t, NOW);
  CHECK(pb_time_parse_rfc3339("2026-02-30T08:00:00Z", &t) != 0);
  CHECK(pb_time_parse_rfc3339("2026-03-30 08:00", &t) != 0);
  pb_time_format_rfc3339(NOW, -5 * 3600, buf, sizeof buf);
  CHECK_STR(buf, "2026-03-30T01:00:00-05:00");
  pb_time_format_rfc3339(-1, 0, buf, sizeof buf);
  CHECK_STR(buf, "1969-12-31T23:59:59Z");
}

int main(void) {
  RUN(override_set_forms);
  RUN(override_set_refusals);
  RUN(desired_round_trip);
  RUN(schedule_decode_errors);
  RUN(rfc3339);
  return CHECK_DONE();
}
