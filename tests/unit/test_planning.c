/* Weekly planning import (CSV, JSON) and its expansion over DST days. */
#include <stdlib.h>

#include "check.h"
#include "ingest.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/tz.h"

static int64_t at(const char *rfc3339) {
  int64_t t = -1;
  pb_time_parse_rfc3339(rfc3339, &t);
  return t;
}

static void csv_good(void) {
  const char *csv = "\xEF\xBB\xBF"
                    "extension,day,start_time,end_time,status\r\n"
                    "2000,lundi,08:00,12:00,business_trip\r\n"
                    "2000,Monday,13:30,17:00\r\n"
                    "\r\n"
                    "\"2001\",mercredi,8:00,24:00,\"dnd\"\r\n";
  struct weekly_plan plan = {0};
  struct import_errors errs = {0};
  CHECK_INT(ingest_parse_csv(csv, strlen(csv), &plan, &errs), 0);
  CHECK_INT(errs.total, 0);
  CHECK_INT(plan.count, 3);
  /* sorted by extension, day, start */
  CHECK_STR(plan.slots[0].ext, "2000");
  CHECK_INT(plan.slots[0].wday, 1);
  CHECK_INT(plan.slots[0].start_min, 8 * 60);
  CHECK_INT(plan.slots[0].status, PB_PRESENCE_BUSINESS_TRIP);
  CHECK_INT(plan.slots[1].status, PB_PRESENCE_AVAILABLE); /* default */
  CHECK_INT(plan.slots[2].wday, 3);
  CHECK_INT(plan.slots[2].end_min, 1440);
  CHECK_INT(plan.slots[2].status, PB_PRESENCE_DO_NOT_DISTURB);
  CHECK_INT(plan.slots[2].line, 5);
  ingest_plan_cleanup(&plan);
}

static void csv_semicolons_and_column_order(void) {
  const char *csv = "day;extension;status;start_time;end_time\n"
                    "vendredi;3000;lunch;12:00;13:30\n";
  struct weekly_plan plan = {0};
  struct import_errors errs = {0};
  CHECK_INT(ingest_parse_csv(csv, strlen(csv), &plan, &errs), 0);
  CHECK_INT(plan.count, 1);
  CHECK_STR(plan.slots[0].ext, "3000");
  CHECK_INT(plan.slots[0].wday, 5);
  CHECK_INT(plan.slots[0].status, PB_PRESENCE_LUNCH);
  ingest_plan_cleanup(&plan);
}

static void csv_bad_rows_all_reported(void) {
  const char *csv = "extension,day,start_time,end_time,status\n"
                    "2000,lundy,08:00,12:00,available\n" /* line 2: day */
                    "2000,mardi,8h00,12:00,holiday\n"    /* 3: status */
                    "2000,mardi,25:00,12:00\n"           /* 4: time */
                    "20 00,mardi,08:00,09:00\n"          /* 5: extension */
                    "2000,jeudi,12:00,08:00\n"           /* 6: end<start */
                    "2000,vendredi,08:00\n"              /* 7: fields */
                    "2000,samedi,\"08:00,09:00\n";       /* 8: quote */
  struct weekly_plan plan = {0};
  struct import_errors errs = {0};
  CHECK_INT(ingest_parse_csv(csv, strlen(csv), &plan, &errs), PB_EPARSE);
  CHECK_INT(errs.total, 7);
  int lines[] = {2, 3, 4, 5, 6, 7, 8};
  for (size_t i = 0; i < errs.count && i < 7; i++)
    CHECK_INT(errs.items[i].line, lines[i]);
  CHECK(strstr(errs.items[0].message, "lundy") != NULL);
  CHECK(strstr(errs.items[1].message, "holiday") != NULL);
  CHECK(strstr(errs.items[1].message, "do_not_disturb") != NULL);
  ingest_plan_cleanup(&plan);
}

static void csv_bad_header_and_overlap(void) {
  struct weekly_plan plan = {0};
  struct import_errors errs = {0};
  const char *h = "ext,day,start,end\n2000,lundi,08:00,09:00\n";
  CHECK_INT(ingest_parse_csv(h, strlen(h), &plan, &errs), PB_EPARSE);
  CHECK(errs.total >= 1);
  CHECK(strstr(errs.items[0].message, "unknown column 'ext'") != NULL);
  ingest_plan_cleanup(&plan);

  memset(&errs, 0, sizeof errs);
  const char *o = "extension,day,start_time,end_time\n"
                  "2000,lundi,08:00,10:00\n2000,monday,09:00,11:00\n";
  CHECK_INT(ingest_parse_csv(o, strlen(o), &plan, &errs), PB_EPARSE);
  CHECK_INT(errs.total, 1);
  CHECK_INT(errs.items[0].line, 3);
  CHECK(strstr(errs.items[0].message, "overlaps the slot of line 2") != NULL);
  ingest_plan_cleanup(&plan);

  memset(&errs, 0, sizeof errs);
  CHECK_INT(ingest_parse_csv("", 0, &plan, &errs), PB_EPARSE);
  CHECK(strstr(errs.items[0].message, "empty") != NULL);
  ingest_plan_cleanup(&plan);

  /* A header alone would empty the planning: refused. */
  memset(&errs, 0, sizeof errs);
  const char *only = "extension,day,start_time,end_time\n";
  CHECK_INT(ingest_parse_csv(only, strlen(only), &plan, &errs), PB_EPARSE);
  CHECK(strstr(errs.items[0].message, "no slot") != NULL);
  ingest_plan_cleanup(&plan);
}

static void json_good_and_bad(void) {
  const char *good =
      "[{\"extension\":\"2000\",\"schedules\":["
      "{\"day\":\"monday\",\"start\":\"08:00\",\"end\":\"12:00\","
      "\"status\":\"available\"},"
      "{\"day\":\"mardi\",\"start\":\"08:00\",\"end\":\"09:00\"}]}]";
  struct weekly_plan plan = {0};
  struct import_errors errs = {0};
  CHECK_INT(ingest_parse_json(good, strlen(good), &plan, &errs), 0);
  CHECK_INT(plan.count, 2);
  ingest_plan_cleanup(&plan);

  const char *bad =
      "[{\"extension\":\"2000\",\"schedules\":["
      "{\"day\":\"mondey\",\"start\":\"08:00\",\"end\":\"12:00\"},"
      "{\"day\":\"monday\",\"start\":8,\"end\":\"12:00\"}]},"
      "{\"schedules\":[]}, 3]";
  memset(&errs, 0, sizeof errs);
  CHECK_INT(ingest_parse_json(bad, strlen(bad), &plan, &errs), PB_EPARSE);
  CHECK_INT(errs.total, 4);
  CHECK_STR(errs.items[0].where, "[0].schedules[0]");
  CHECK(strstr(errs.items[1].message, "'start' must be a string") != NULL);
  CHECK(strstr(errs.items[2].message, "'extension' is missing") != NULL);
  CHECK_STR(errs.items[3].where, "[2]");
  ingest_plan_cleanup(&plan);

  const char *overlap =
      "[{\"extension\":\"2000\",\"schedules\":["
      "{\"day\":\"monday\",\"start\":\"08:00\",\"end\":\"12:00\"},"
      "{\"day\":\"lundi\",\"start\":\"11:00\",\"end\":\"13:00\"}]}]";
  memset(&errs, 0, sizeof errs);
  CHECK_INT(ingest_parse_json(overlap, strlen(overlap), &plan, &errs),
            PB_EPARSE);
  CHECK_INT(errs.total, 1);
  CHECK_INT(errs.items[0].line, 0);
  CHECK_STR(errs.items[0].where, "slot 2");
  CHECK(strstr(errs.items[0].message, "overlaps slot 1") != NULL);
  ingest_plan_cleanup(&plan);

  memset(&errs, 0, sizeof errs);
  CHECK_INT(ingest_parse_json("[{", 2, &plan, &errs), PB_EPARSE);
  CHECK(strstr(errs.items[0].message, "invalid JSON at line 1") != NULL);
  ingest_plan_cleanup(&plan);
}

static void day_and_time_parsing(void) {
  int d, m;
  CHECK(ingest_parse_day("Dimanche", &d) == 0 && d == 0);
  CHECK(ingest_parse_day(" jeudi ", &d) == 0 && d == 4);
  CHECK(ingest_parse_day("7", &d) == 0 && d == 0);
  CHECK(ingest_parse_day("lun.", &d) == 0 && d == 1);
  CHECK(ingest_parse_day("funday", &d) != 0);
  CHECK(ingest_parse_hhmm("7:05", false, &m) == 0 && m == 425);
  CHECK(ingest_parse_hhmm("24:00", false, &m) != 0);
  CHECK(ingest_parse_hhmm("24:00", true, &m) == 0 && m == 1440);
  CHECK(ingest_parse_hhmm("12:60", true, &m) != 0);
  CHECK(ingest_parse_hhmm("12:5", true, &m) != 0);
}

/* A Monday 08:00-12:00 slot stays 08:00-12:00 local across both DST changes
 * of Europe/Paris in 2026 (March 29 and October 25). */
static void expand_across_dst(void) {
  struct pb_tz *tz;
  CHECK_INT(pb_tz_load("Europe/Paris", &tz), 0);
  struct weekly_slot w[] = {
      {.ext = "2000",
       .wday = 1,
       .start_min = 480,
       .end_min = 720,
       .status = PB_PRESENCE_BUSINESS_TRIP,
       .line = 2},
      {.ext = "2000",
       .wday = 0,
       .start_min = 120,
       .end_min = 180,
       .status = PB_PRESENCE_AWAY,
       .line = 3}, /* Sunday 02:00-03:00 */
  };
  struct slot_vec v = {0};
  CHECK_INT(
      ingest_expand_weekly(w, 2, "2000", tz, at("2026-03-23T00:00:00+01:00"),
                           at("2026-04-07T00:00:00+02:00"), "weekly", 5, &v),
      0);
  ingest_slots_normalise(&v);
  /* Mondays 23 Mar (CET), 30 Mar and 6 Apr (CEST); Sundays 29 Mar (the gap:
   * 02:00 does not exist, 03:00 CEST == 02:00 CET: nothing left) and 5 Apr. */
  CHECK_INT(v.count, 4);
  CHECK_INT(v.items[0].start, at("2026-03-23T07:00:00Z"));
  CHECK_INT(v.items[0].end, at("2026-03-23T11:00:00Z"));
  CHECK_INT(v.items[1].start, at("2026-03-30T06:00:00Z"));
  CHECK_INT(v.items[1].end, at("2026-03-30T10:00:00Z"));
  CHECK_INT(v.items[1].priority, 5);
  CHECK_STR(v.items[1].source, "weekly");
  CHECK_INT(v.items[2].start, at("2026-04-05T00:00:00Z"));
  CHECK_INT(v.items[3].start, at("2026-04-06T06:00:00Z"));
  slot_vec_cleanup(&v);

  CHECK_INT(
      ingest_expand_weekly(w, 1, "2000", tz, at("2026-10-19T00:00:00+02:00"),
                           at("2026-10-27T00:00:00+01:00"), "weekly", 0, &v),
      0);
  CHECK_INT(v.count, 2);
  CHECK_INT(v.items[0].start, at("2026-10-19T06:00:00Z")); /* CEST */
  CHECK_INT(v.items[1].start, at("2026-10-26T07:00:00Z")); /* CET */
  slot_vec_cleanup(&v);

  /* Another extension's slots are not expanded; duplicates count once. */
  CHECK_INT(
      ingest_expand_weekly(w, 1, "2001", tz, at("2026-10-19T00:00:00+02:00"),
                           at("2026-10-27T00:00:00+01:00"), "weekly", 0, &v),
      0);
  CHECK_INT(v.count, 0);
  ingest_expand_weekly(w, 1, "2000", tz, at("2026-10-19T00:00:00+02:00"),
                       at("2026-10-20T00:00:00+02:00"), "a", 0, &v);
  ingest_expand_weekly(w, 1, "2000", tz, at("2026-10-19T00:00:00+02:00"),
                       at("2026-10-20T00:00:00+02:00"), "b", 0, &v);
  CHECK_INT(v.count, 2);
  ingest_slots_normalise(&v);
  CHECK_INT(v.count, 1);
  slot_vec_cleanup(&v);
  pb_tz_free(tz);
}

/* An extension in New York gets its Monday 08:00 on New York's wall clock,
 * whatever TIMEZONE is: the US changes to summer time three weeks before
 * Europe (8 March 2026), and the slot follows it there. */
static void expand_in_extension_zone(void) {
  struct pb_tz *ny;
  CHECK_INT(pb_tz_load("America/New_York", &ny), 0);
  struct weekly_slot w[] = {
      {.ext = "2000",
       .wday = 1,
       .start_min = 480,
       .end_min = 720,
       .status = PB_PRESENCE_AWAY,
       .line = 2},
  };
  struct slot_vec v = {0};
  /* a horizon of Paris midnights: 2 to 16 March 2026 */
  CHECK_INT(
      ingest_expand_weekly(w, 1, "2000", ny, at("2026-03-02T00:00:00+01:00"),
                           at("2026-03-16T00:00:00+01:00"), "weekly", 0, &v),
      0);
  CHECK_INT(v.count, 2);
  CHECK_INT(v.items[0].start, at("2026-03-02T08:00:00-05:00"));
  CHECK_INT(v.items[0].end, at("2026-03-02T12:00:00-05:00"));
  CHECK_INT(v.items[1].start, at("2026-03-09T08:00:00-04:00"));
  slot_vec_cleanup(&v);
  pb_tz_free(ny);
}

int main(void) {
  RUN(csv_good);
  RUN(csv_semicolons_and_column_order);
  RUN(csv_bad_rows_all_reported);
  RUN(csv_bad_header_and_overlap);
  RUN(json_good_and_bad);
  RUN(day_and_time_parsing);
  RUN(expand_across_dst);
  RUN(expand_in_extension_zone);
  return CHECK_DONE();
}
