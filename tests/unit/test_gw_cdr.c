/* yeastar-gateway's CDR normaliser (services/yeastar-gateway/pbx_cdr.c):
 * a cdr/search record and a 30012 New CDR message give the same contract
 * record; the PBX's time formats; what is refused and why. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "gateway.h"
#include "pb/json.h"
#include "pb/tz.h"

static json_t *parse(const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  CHECK(j != NULL);
  return j;
}

static int read_cdr(const char *text, struct pb_cdr *out, char *err,
                    size_t errlen) {
  json_t *j = parse(text);
  int rc = gw_cdr_read("main", j, GW_DATE_MDY, NULL, out, err, errlen);
  json_decref(j);
  return rc;
}

/* 2026-11-23 08:00:00 UTC */
#define T0 1795420800

static void test_search_record(void) {
  struct pb_cdr c;
  char err[200] = "";
  int rc = read_cdr(
      "{\"id\":7,\"uid\":\"1795420800.12\",\"time\":\"11/23/2026 "
      "08:00:00\",\"timestamp\":1795420800,\"call_from\":\"+33123456789\","
      "\"call_to\":\"Alice Martin<2000>\",\"duration\":100,\"ring_duration\":5,"
      "\"talk_duration\":95,\"disposition\":\"ANSWERED\",\"call_type\":"
      "\"Inbound\",\"src_trunk\":\"SIP-Orange\",\"dst_trunk\":\"\","
      "\"recording\":\"20261123080000-1795420800.12-33123456789-2000-Inbound."
      "wav\",\"did_number\":\"\",\"dod_number\":\"\",\"src_addr\":\"\"}",
      &c, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK_STR(err, "");
  CHECK_STR(c.site, "main");
  CHECK_STR(c.call_id, "1795420800.12");
  CHECK_INT(c.start, T0);
  CHECK_INT(c.answer, T0 + 5);
  CHECK_INT(c.end, T0 + 100);
  CHECK_STR(c.from, "+33123456789");
  CHECK_STR(c.to, "2000"); /* the name is dropped */
  CHECK_INT(c.direction, PB_DIR_INBOUND);
  CHECK_INT(c.status, PB_CDR_ANSWERED);
  CHECK_INT(c.talk_seconds, 95);
  CHECK_INT(c.ring_seconds, 5);
  CHECK_STR(c.trunk, "SIP-Orange");
  CHECK_STR(c.recording,
            "20261123080000-1795420800.12-33123456789-2000-Inbound.wav");
  CHECK_STR(c.extension, "2000");
  /* What it becomes on the bus decodes as the contract's record. */
  json_t *j = pb_cdr_to_json(&c, NULL);
  struct pb_cdr back;
  CHECK_INT(pb_cdr_from_json(j, &back, err, sizeof err), 0);
  CHECK_STR(back.call_id, c.call_id);
  CHECK_INT(back.answer, c.answer);
  json_decref(j);
}

/* Event 30012: other names, the time only in the display format, no ring
 * duration, the type in lower case, durations as digit strings. */
static void test_new_cdr_event(void) {
  struct pb_cdr c;
  char err[200] = "";
  int rc = read_cdr(
      "{\"call_id\":\"1795420800.12\",\"time_start\":\"2026/11/23 "
      "08:00:00\",\"call_from\":\"2000\",\"call_to\":\"0123456789\","
      "\"call_duration\":\"40\",\"talk_duration\":\"30\",\"src_trunk_name\":"
      "\"\",\"dst_trunk_name\":\"SIP-Orange\",\"status\":\"ANSWERD\",\"type\":"
      "\"outbound\",\"recording\":\"\",\"did_number\":\"\","
      "\"agent_ring_time\":0}",
      &c, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK_INT(c.start, T0);
  CHECK_INT(c.ring_seconds, 10);
  CHECK_INT(c.answer, T0 + 10);
  CHECK_INT(c.end, T0 + 40);
  CHECK_INT(c.direction, PB_DIR_OUTBOUND);
  CHECK_INT(c.status, PB_CDR_ANSWERED); /* the guide's spelling */
  CHECK_STR(c.trunk, "SIP-Orange");
  CHECK_STR(c.recording, "");
  CHECK_STR(c.extension, "2000"); /* the caller of an outbound call */
}

static void test_not_answered(void) {
  static const struct {
    const char *pbx;
    enum pb_cdr_status status;
  } cases[] = {{"NO ANSWER", PB_CDR_NO_ANSWER},
               {"BUSY", PB_CDR_BUSY},
               {"FAILED", PB_CDR_FAILED},
               {"VOICEMAIL", PB_CDR_VOICEMAIL},
               {"no answer", PB_CDR_NO_ANSWER}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[512], err[200] = "";
    struct pb_cdr c;
    snprintf(text, sizeof text,
             "{\"uid\":\"1.%zu\",\"timestamp\":%d,\"call_from\":\"2001\","
             "\"call_to\":\"2002\",\"duration\":20,\"ring_duration\":20,"
             "\"talk_duration\":0,\"disposition\":\"%s\",\"call_type\":"
             "\"Internal\"}",
             i, T0, cases[i].pbx);
    CHECK_INT(read_cdr(text, &c, err, sizeof err), 0);
    CHECK_INT(c.status, cases[i].status);
    CHECK_INT(c.answer, -1);
    CHECK_INT(c.direction, PB_DIR_INTERNAL);
    CHECK_STR(c.extension, "2001");
    CHECK_INT(c.talk_seconds, 0);
  }
}

static void check_refused(const char *text, const char *words) {
  struct pb_cdr c;
  char err[200] = "";
  CHECK_INT(read_cdr(text, &c, err, sizeof err), PB_EINVAL);
  if (!strstr(err, words)) {
    CHECK(!"the reason names the problem");
    fprintf(stderr, "  error was: %s (expected '%s')\n", err, words);
  }
}

static void test_refused(void) {
  check_refused("[]", "JSON object");
  check_refused("{\"timestamp\":1795420800}", "call id");
  check_refused("{\"uid\":\"a b\",\"timestamp\":1795420800}", "space");
  check_refused("{\"uid\":\"1.1\",\"call_from\":\"2000\",\"call_to\":\"2001\","
                "\"duration\":5,\"disposition\":\"BUSY\",\"call_type\":"
                "\"Internal\"}",
                "'time' is missing");
  check_refused("{\"uid\":\"1.1\",\"time\":\"yesterday\"}", "date format");
  check_refused("{\"uid\":\"1.1\",\"time\":\"02/30/2026 10:00:00\"}",
                "date format");
  check_refused("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                "\"2000\",\"call_to\":\"\",\"duration\":5}",
                "callee");
  check_refused("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                "\"2000\",\"call_to\":\"2001\",\"duration\":-5}",
                "duration");
  check_refused("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                "\"2000\",\"call_to\":\"2001\",\"duration\":5,"
                "\"talk_duration\":9}",
                "exceeds");
  check_refused("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                "\"2000\",\"call_to\":\"2001\",\"duration\":5,"
                "\"disposition\":\"TRANSFERRED\",\"call_type\":\"Internal\"}",
                "unknown status 'TRANSFERRED'");
  check_refused("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                "\"2000\",\"call_to\":\"2001\",\"duration\":5,"
                "\"disposition\":\"BUSY\",\"call_type\":\"Callback\"}",
                "unknown call type 'Callback'");
  check_refused("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                "\"2000\",\"call_to\":\"2001\",\"duration\":5,"
                "\"disposition\":3,\"call_type\":\"Internal\"}",
                "unknown status");
}

/* A recording name that is not a plain file name is left out, the call
 * kept. */
static void test_recording_names(void) {
  struct pb_cdr c;
  char err[200];
  CHECK_INT(read_cdr("{\"uid\":\"1.1\",\"timestamp\":1795420800,\"call_from\":"
                     "\"2000\",\"call_to\":\"2001\",\"duration\":5,"
                     "\"talk_duration\":3,\"disposition\":\"ANSWERED\","
                     "\"call_type\":\"Internal\",\"recording\":\"../../etc/"
                     "passwd\"}",
                     &c, err, sizeof err),
            0);
  CHECK_STR(c.recording, "");
  CHECK(gw_recording_name_valid("20220412173331-1649756009.12-2002-2005-"
                                "Internal.wav"));
  CHECK(!gw_recording_name_valid(""));
  CHECK(!gw_recording_name_valid(".hidden.wav"));
  CHECK(!gw_recording_name_valid("a/b.wav"));
  CHECK(!gw_recording_name_valid("a\\b.wav"));
  CHECK(!gw_recording_name_valid("a\nb.wav"));
}

static void test_time_formats(void) {
  int64_t t = 0;
  CHECK_INT(gw_pbx_time_parse("1795420800", GW_DATE_MDY, NULL, &t), 0);
  CHECK_INT(t, T0);
  CHECK_INT(gw_pbx_time_parse("11/23/2026 08:00:00", GW_DATE_MDY, NULL, &t), 0);
  CHECK_INT(t, T0);
  CHECK_INT(gw_pbx_time_parse("23/11/2026 08:00:00", GW_DATE_DMY, NULL, &t), 0);
  CHECK_INT(t, T0);
  CHECK_INT(gw_pbx_time_parse("2026-11-23 08:00:00", GW_DATE_DMY, NULL, &t), 0);
  CHECK_INT(t, T0);
  CHECK_INT(gw_pbx_time_parse("2026/11/23 08:00", GW_DATE_MDY, NULL, &t), 0);
  CHECK_INT(t, T0);
  /* 12-hour display: 12 AM is midnight, 12 PM noon. */
  CHECK_INT(gw_pbx_time_parse("11/23/2026 08:00:00 AM", GW_DATE_MDY, NULL, &t),
            0);
  CHECK_INT(t, T0);
  CHECK_INT(gw_pbx_time_parse("11/23/2026 12:00:00 AM", GW_DATE_MDY, NULL, &t),
            0);
  CHECK_INT(t, T0 - 8 * 3600);
  CHECK_INT(gw_pbx_time_parse("11/23/2026 12:30:00 PM", GW_DATE_MDY, NULL, &t),
            0);
  CHECK_INT(t, T0 + 4 * 3600 + 1800);
  /* The zone the PBX shows its times in. */
  struct pb_tz *paris = NULL;
  CHECK_INT(pb_tz_load("Europe/Paris", &paris), 0);
  CHECK_INT(gw_pbx_time_parse("11/23/2026 09:00:00", GW_DATE_MDY, paris, &t),
            0);
  CHECK_INT(t, T0);
  pb_tz_free(paris);
  /* Refused: 23 is no month, 13 PM, trailing text, an impossible date. */
  const char *bad[] = {"23/11/2026 08:00:00",
                       "11/23/2026 13:00:00 PM",
                       "11/23/2026 08:00:00 Z",
                       "2026-02-29 10:00:00",
                       "11/23/2026",
                       "",
                       "11.23.2026 08:00:00",
                       "1234567890123"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_INT(gw_pbx_time_parse(bad[i], GW_DATE_MDY, NULL, &t), PB_EINVAL);
}

/* gw_cdr_from_pbx reads display times in PBX_TIMEZONE, else TIMEZONE. */
static void test_pbx_zone(void) {
  struct pb_tz *paris = NULL, *utc = NULL;
  CHECK_INT(pb_tz_load("Europe/Paris", &paris), 0);
  CHECK_INT(pb_tz_load("UTC", &utc), 0);
  struct gw gw = {.tz = paris};
  json_t *j = parse("{\"call_id\":\"1.1\",\"time_start\":\"11/23/2026 "
                    "08:00:00\",\"call_from\":\"2000\",\"call_to\":\"2001\","
                    "\"call_duration\":5,\"talk_duration\":0,\"status\":"
                    "\"BUSY\",\"type\":\"internal\"}");
  struct pb_cdr c;
  char err[200];
  CHECK_INT(gw_cdr_from_pbx(&gw, "main", j, &c, err, sizeof err), 0);
  CHECK_INT(c.start, T0 - 3600); /* 08:00 in Paris */
  gw.pbx_tz = utc;
  CHECK_INT(gw_cdr_from_pbx(&gw, "main", j, &c, err, sizeof err), 0);
  CHECK_INT(c.start, T0);
  gw.date_order = GW_DATE_DMY; /* 11/23: no 23rd month */
  CHECK_INT(gw_cdr_from_pbx(&gw, "main", j, &c, err, sizeof err), PB_EINVAL);
  json_decref(j);
  pb_tz_free(paris);
  pb_tz_free(utc);
}

int main(void) {
  RUN(test_search_record);
  RUN(test_new_cdr_event);
  RUN(test_not_answered);
  RUN(test_refused);
  RUN(test_recording_names);
  RUN(test_time_formats);
  RUN(test_pbx_zone);
  return CHECK_DONE();
}
