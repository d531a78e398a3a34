/* The call payloads of shared/payload_call.c (docs/topics.md): an
 * extension's call state, a site's calls, a finished call's record, and the
 * phone numbers click-to-call accepts. Each is written and read back, and
 * what the contract refuses is refused with the field named. */
#include <stdlib.h>

#include "check.h"
#include "pb/payload_call.h"

#define COPY(dst, src) CHECK(pb_strlcpy(dst, src, sizeof dst))

static json_t *parse(const char *text) {
  char err[200];
  json_t *j = pb_json_parse(text, strlen(text), err, sizeof err);
  if (!j)
    fprintf(stderr, "%s\n", err);
  return j;
}

/* Decodes `text` as a CDR and expects a refusal naming `needle`. */
static void cdr_refused(const char *text, const char *needle) {
  struct pb_cdr c;
  char err[200] = "";
  json_t *j = parse(text);
  CHECK(j != NULL);
  CHECK(pb_cdr_from_json(j, &c, err, sizeof err) != 0);
  if (!strstr(err, needle))
    fprintf(stderr, "error '%s' lacks '%s'\n", err, needle);
  CHECK(strstr(err, needle) != NULL);
  json_decref(j);
}

static void call_state_round_trip(void) {
  struct pb_call_state_msg in = {.state = PB_CALL_TALKING,
                                 .since = 1774850400,
                                 .direction = PB_DIR_INBOUND,
                                 .registered = 1u | 4u,
                                 .updated_at = 1774850405};
  COPY(in.call_id, "1774850400.12");
  COPY(in.peer, "+33123456789");
  struct pb_call_state_msg out;
  char err[200];
  json_t *j = pb_call_state_to_json(&in, NULL);
  CHECK_STR(pb_json_str(j, "state"), "talking");
  CHECK_STR(pb_json_str(j, "direction"), "inbound");
  CHECK(json_is_null(json_object_get(j, "trunk")));
  CHECK_INT(json_array_size(json_object_get(j, "registered")), 2);
  CHECK_INT(pb_call_state_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.state, PB_CALL_TALKING);
  CHECK_INT(out.since, in.since);
  CHECK_STR(out.call_id, in.call_id);
  CHECK_STR(out.peer, in.peer);
  CHECK_INT(out.registered, in.registered);
  CHECK_INT(out.direction, PB_DIR_INBOUND);
  json_decref(j);

  /* idle: no call, nulls everywhere */
  struct pb_call_state_msg idle = {
      .state = PB_CALL_IDLE, .since = -1, .updated_at = -1};
  j = pb_call_state_to_json(&idle, NULL);
  CHECK(json_is_null(json_object_get(j, "call_id")));
  CHECK(json_is_null(json_object_get(j, "direction")));
  CHECK(json_is_null(json_object_get(j, "since")));
  CHECK_INT(pb_call_state_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.state, PB_CALL_IDLE);
  CHECK_STR(out.call_id, "");
  json_decref(j);

  /* a call state other than idle needs its call */
  j = parse("{\"state\":\"ringing\",\"call_id\":null}");
  CHECK(pb_call_state_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "call_id") != NULL);
  json_decref(j);
  j = parse("{\"state\":\"on_the_phone\"}");
  CHECK(pb_call_state_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "'state'") != NULL && strstr(err, "talking") != NULL);
  json_decref(j);
  j = parse("{\"state\":\"idle\",\"registered\":[\"desk_lamp\"]}");
  CHECK(pb_call_state_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "registered") != NULL);
  json_decref(j);
}

static void site_calls_round_trip(void) {
  struct pb_call call = {.state = PB_CALL_TALKING,
                         .direction = PB_DIR_INBOUND,
                         .started = 1774850400,
                         .answered = 1774850405,
                         .n_members = 2};
  COPY(call.call_id, "1774850400.12");
  COPY(call.from, "+33123456789");
  COPY(call.to, "2000");
  COPY(call.members[0].number, "2000");
  call.members[0].kind = PB_MEMBER_EXTENSION;
  call.members[0].state = PB_CALL_TALKING;
  COPY(call.members[1].number, "+33123456789");
  call.members[1].kind = PB_MEMBER_INBOUND;
  call.members[1].state = PB_CALL_TALKING;
  struct pb_site_calls in = {
      .updated_at = 1774850405, .count = 1, .calls = &call};
  COPY(in.site, "main");
  struct pb_site_calls out;
  char err[200];
  json_t *j = pb_site_calls_to_json(&in, NULL);
  CHECK_INT(pb_site_calls_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.count, 1);
  CHECK_STR(out.calls[0].call_id, call.call_id);
  CHECK_INT(out.calls[0].answered, call.answered);
  CHECK_INT(out.calls[0].n_members, 2);
  CHECK_INT(out.calls[0].members[1].kind, PB_MEMBER_INBOUND);
  CHECK_STR(out.calls[0].members[1].number, "+33123456789");
  pb_site_calls_cleanup(&out);
  json_decref(j);

  /* a call is ringing, talking or hold; members are checked one by one */
  j = parse("{\"site\":\"main\",\"calls\":[{\"call_id\":\"1\",\"state\":"
            "\"idle\",\"members\":[]}]}");
  CHECK(pb_site_calls_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "calls[0]") != NULL);
  json_decref(j);
  j = parse("{\"site\":\"main\",\"calls\":[{\"call_id\":\"1\",\"state\":"
            "\"ringing\",\"members\":[{\"number\":\"2000\",\"kind\":\"fax\","
            "\"state\":\"ringing\"}]}]}");
  CHECK(pb_site_calls_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "'kind'") != NULL);
  json_decref(j);
  j = parse("{\"site\":\"main\"}");
  CHECK(pb_site_calls_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "calls") != NULL);
  json_decref(j);
}

static void cdr_round_trip(void) {
  struct pb_cdr in = {.start = 1774850400,
                      .answer = 1774850405,
                      .end = 1774850500,
                      .direction = PB_DIR_INBOUND,
                      .status = PB_CDR_ANSWERED,
                      .talk_seconds = 95,
                      .ring_seconds = 5};
  COPY(in.site, "main");
  COPY(in.call_id, "1774850400.12");
  COPY(in.from, "+33123456789");
  COPY(in.to, "2000");
  COPY(in.extension, "2000");
  COPY(in.recording, "20260330080000-2000-33123456789.wav");
  struct pb_cdr out;
  char err[200];
  json_t *j = pb_cdr_to_json(&in, NULL);
  CHECK(json_is_null(json_object_get(j, "trunk")));
  CHECK_STR(pb_json_str(j, "status"), "answered");
  /* an R/events/cdr event carries kind, at and service too: still a CDR */
  json_object_set_new(j, "kind", json_string("cdr"));
  json_object_set_new(j, "at", json_string("2026-03-30T06:01:41Z"));
  CHECK_INT(pb_cdr_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.start, in.start);
  CHECK_INT(out.answer, in.answer);
  CHECK_INT(out.end, in.end);
  CHECK_INT(out.talk_seconds, 95);
  CHECK_INT(out.status, PB_CDR_ANSWERED);
  CHECK_STR(out.recording, in.recording);
  CHECK_STR(out.extension, "2000");
  CHECK_STR(out.trunk, "");
  json_decref(j);

  in.answer = -1;
  in.status = PB_CDR_NO_ANSWER;
  j = pb_cdr_to_json(&in, NULL);
  CHECK(json_is_null(json_object_get(j, "answer")));
  CHECK_STR(pb_json_str(j, "status"), "no_answer");
  CHECK_INT(pb_cdr_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.answer, -1);
  json_decref(j);

  const char *ok = "\"site\":\"main\",\"call_id\":\"1\",\"start\":"
                   "\"2026-03-30T08:00:00+02:00\",\"from\":\"2000\",\"to\":"
                   "\"2001\",\"direction\":\"internal\",\"talk_seconds\":0,"
                   "\"ring_seconds\":3";
  char text[512];
  snprintf(text, sizeof text, "{%s,\"end\":\"2026-03-30T08:00:03+02:00\"}", ok);
  cdr_refused(text, "'status' is required");
  snprintf(text, sizeof text,
           "{%s,\"end\":\"2026-03-30T08:00:03+02:00\",\"status\":\"lost\"}",
           ok);
  cdr_refused(text, "unknown value 'lost'");
  snprintf(text, sizeof text,
           "{%s,\"end\":\"2026-03-30T07:59:00+02:00\",\"status\":\"busy\"}",
           ok);
  cdr_refused(text, "'end' is before 'start'");
  cdr_refused("{\"site\":\"main\",\"call_id\":\"1\",\"start\":\"2026-03-30T08:"
              "00:00Z\",\"end\":\"2026-03-30T08:00:00Z\",\"from\":\"1\",\"to\":"
              "\"2\",\"direction\":\"internal\",\"status\":\"busy\","
              "\"talk_seconds\":-4,\"ring_seconds\":0}",
              "'talk_seconds' must not be negative");
  cdr_refused("{\"site\":\"a/b\",\"call_id\":\"1\",\"start\":\"2026-03-30T08:"
              "00:00Z\",\"end\":\"2026-03-30T08:00:00Z\",\"from\":\"1\",\"to\":"
              "\"2\",\"direction\":\"internal\",\"status\":\"busy\","
              "\"talk_seconds\":0,\"ring_seconds\":0}",
              "'site'");
  cdr_refused("[]", "JSON object");
}

static void phone_numbers(void) {
  char out[40];
  CHECK(pb_phone_number_clean("+33 1 23-45.67(89)", out, sizeof out));
  CHECK_STR(out, "+33123456789");
  CHECK(pb_phone_number_clean("*97", out, sizeof out));
  CHECK(pb_phone_number_clean("2000", out, sizeof out));
  CHECK(!pb_phone_number_clean("abc", out, sizeof out));
  CHECK(!pb_phone_number_clean("", out, sizeof out));
  CHECK(!pb_phone_number_clean("+", out, sizeof out));
  CHECK(!pb_phone_number_clean("12+34", out, sizeof out));
  CHECK(!pb_phone_number_clean("123456789012345678901234567890123", out,
                               sizeof out));
  CHECK(!pb_phone_number_clean("2000;x=1", out, sizeof out));
}

int main(void) {
  call_state_round_trip();
  site_calls_round_trip();
  cdr_round_trip();
  phone_numbers();
  return CHECK_DONE();
}
