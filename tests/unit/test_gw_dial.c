/* yeastar-gateway's call requests against a fake PBX
 * (services/yeastar-gateway/pbx_dial.c and pbx_cdr.c): call/dial refused
 * for an unknown extension or a number that is not one, placed once with
 * the call id answered, never repeated or placed late when the PBX does
 * not answer; cdr/search one PBX page, records it cannot read skipped and
 * counted, a PBX error named. */
#include "test_gw_reply.h"

static const char *const numbers[] = {"2000", "2001"};
static const char *const status[] = {"available", "available"};

static struct gw_site *ready(struct env *v) {
  env_new_kept(v);
  return site_ready(v, "main", numbers, status, 2);
}

static void done(struct env *v) {
  gw_sites_stop(&v->gw);
  gw_calls_stop(&v->gw);
  env_free(v);
  replies_reset();
}

static void test_dial(void) {
  struct env v;
  ready(&v);
  struct pb_bus_reply *r = new_reply();
  run_request(gw_dial, &v,
              "{\"site\":\"main\",\"ext\":\"2000\",\"number\":\"+33 1 "
              "23-45.67(89)\",\"by\":\"alice\"}",
              r);
  struct fake_req *q = fake_next("call/dial");
  CHECK(q != NULL);
  CHECK_INT(kept(r)->answers, 0); /* until the PBX answers */
  if (q) {
    CHECK_STR(q->method, "POST");
    CHECK_STR(q->token, "tok-1");
    json_t *body = json_loads(q->body, 0, NULL);
    CHECK_STR(pb_json_str(body, "caller"), "2000");
    CHECK_STR(pb_json_str(body, "callee"), "+33123456789");
    json_decref(body);
    fake_answer(q, 200,
                "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"call_id\":"
                "\"1795000000.7\"}");
  }
  json_t *data = check_ok(r);
  CHECK_STR(pb_json_str(data, "site"), "main");
  CHECK_STR(pb_json_str(data, "ext"), "2000");
  CHECK_STR(pb_json_str(data, "number"), "+33123456789");
  CHECK_STR(pb_json_str(data, "call_id"), "1795000000.7");
  /* The site may be left out when the gateway serves one; no call id in
   * the answer is a null one. */
  r = new_reply();
  run_request(gw_dial, &v, "{\"ext\":\"2001\",\"number\":\"*97\"}", r);
  fake_answer_ok(fake_next("call/dial"));
  data = check_ok(r);
  CHECK(json_is_null(json_object_get(data, "call_id")));
  done(&v);
}

static void test_dial_refused(void) {
  struct env v;
  ready(&v);
  size_t mark = fake_nreqs;
  static const struct {
    const char *req, *error;
  } cases[] = {
      {"{\"site\":\"main\",\"ext\":\"2099\",\"number\":\"0123\"}",
       "unknown extension 2099 on site main"},
      {"{\"site\":\"main\",\"ext\":\"../x\",\"number\":\"0123\"}",
       "unknown extension ../x on site main"},
      {"{\"site\":\"main\",\"ext\":\"2000\",\"number\":\"abc\"}",
       "'abc' is not a phone number"},
      {"{\"site\":\"main\",\"ext\":\"2000\",\"number\":\"\"}",
       "'' is not a phone number"},
      {"{\"site\":\"main\",\"ext\":\"2000\",\"number\":\"12+3\"}",
       "'12+3' is not a phone number"},
      {"{\"site\":\"main\",\"ext\":\"2000\",\"number\":"
       "\"123456789012345678901234567890123\"}",
       "is not a phone number"},
      {"{\"site\":\"other\",\"ext\":\"2000\",\"number\":\"0123\"}",
       "no site 'other'"},
      {"{\"site\":7,\"ext\":\"2000\",\"number\":\"0123\"}",
       "field 'site' must be a string"},
      {"{\"site\":\"main\",\"number\":\"0123\"}", "field 'ext'"},
      {"{\"site\":\"main\",\"ext\":\"2000\",\"number\":123}", "field 'number'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct pb_bus_reply *r = new_reply();
    run_request(gw_dial, &v, cases[i].req, r);
    check_error(r, cases[i].error);
  }
  CHECK_INT(fake_sent(mark, "call/dial"), 0); /* the PBX never asked */
  /* The PBX refuses: its errcode is named. */
  struct pb_bus_reply *r = new_reply();
  run_request(gw_dial, &v, "{\"ext\":\"2000\",\"number\":\"0123\"}", r);
  fake_answer_errcode(fake_next("call/dial"), 40002);
  check_error(r, "errcode 40002");
  done(&v);
}

/* Before the directory is read, nobody may dial (the extension cannot be
 * checked). */
static void test_dial_before_directory(void) {
  struct env v;
  env_new_kept(&v);
  site_start(&v, "main");
  struct pb_bus_reply *r = new_reply();
  run_request(gw_dial, &v, "{\"ext\":\"2000\",\"number\":\"0123\"}", r);
  check_error(r, "not read yet");
  done(&v);
}

/* A dial the PBX did not answer is not sent again (it may have rung); one
 * that waited for a PBX that did not answer is dropped, not placed late. */
static void test_dial_no_answer(void) {
  struct env v;
  ready(&v);
  struct pb_bus_reply *first = new_reply();
  run_request(gw_dial, &v, "{\"ext\":\"2000\",\"number\":\"0123\"}", first);
  fake_fail(fake_next("call/dial"), PB_HTTP_FAIL_TIMEOUT);
  CHECK_INT(kept(first)->answers, 0);
  struct pb_bus_reply *second = new_reply();
  run_request(gw_dial, &v, "{\"ext\":\"2001\",\"number\":\"0456\"}", second);
  size_t mark = fake_nreqs;
  /* 20 s of a PBX that does not answer its probes. */
  for (int i = 0; i < 20; i++) {
    advance_ms(&v, 1000);
    struct fake_req *p;
    while ((p = fake_next("extension/list")))
      fake_fail(p, PB_HTTP_FAIL_CONNECT);
  }
  CHECK_INT(fake_sent(mark, "call/dial"), 0);
  /* It answers again. */
  struct fake_req *p = NULL;
  for (int i = 0; i < 10 && !(p = fake_next("extension/list")); i++)
    advance_ms(&v, 1000);
  CHECK(p != NULL);
  if (p)
    fake_answer_list(p, numbers, status, 2);
  CHECK_INT(fake_sent(mark, "call/dial"), 0);
  check_error(first, "may or may not have been placed");
  check_error(second, "the call was not placed");
  done(&v);
}

/* ---- cdr/search ---- */

static const char *record(char *buf, size_t len, const char *uid,
                          const char *disposition) {
  snprintf(buf, len,
           "{\"id\":1,\"uid\":\"%s\",\"time\":\"11/23/2026 08:00:00\","
           "\"timestamp\":1795420800,\"call_from\":\"2000\",\"call_to\":"
           "\"0123456789\",\"duration\":60,\"ring_duration\":10,"
           "\"talk_duration\":50,\"disposition\":\"%s\",\"call_type\":"
           "\"Outbound\",\"src_trunk\":\"\",\"dst_trunk\":\"SIP-1\","
           "\"recording\":\"\"}",
           uid, disposition);
  return buf;
}

static void test_search(void) {
  struct env v;
  ready(&v);
  struct pb_bus_reply *r = new_reply();
  run_request(gw_cdr_search, &v,
              "{\"site\":\"main\",\"start\":\"2026-11-23T09:00:00+01:00\","
              "\"end\":\"2026-11-23T10:00:00+01:00\",\"page\":2,"
              "\"page_size\":3}",
              r);
  struct fake_req *q = fake_next("cdr/search");
  CHECK(q != NULL);
  if (q) {
    CHECK_STR(q->query,
              "page=2&page_size=3&start_time=1795420800&end_time=1795424400");
    char a[600], b[600], c[600], body[2048];
    snprintf(body, sizeof body,
             "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"total_number\":6,"
             "\"data\":[%s,%s,%s]}",
             record(a, sizeof a, "1.4", "ANSWERED"),
             record(b, sizeof b, "1.5", "TRANSFERRED"),
             record(c, sizeof c, "1.6", "BUSY"));
    fake_answer(q, 200, body);
  }
  json_t *data = check_ok(r);
  CHECK_INT(json_integer_value(json_object_get(data, "total")), 6);
  CHECK_INT(json_integer_value(json_object_get(data, "page")), 2);
  CHECK_INT(json_integer_value(json_object_get(data, "page_size")), 3);
  CHECK_INT(json_integer_value(json_object_get(data, "skipped")), 1);
  json_t *cdrs = json_object_get(data, "cdrs");
  CHECK_INT(json_array_size(cdrs), 2);
  struct pb_cdr cdr;
  char err[200];
  CHECK_INT(pb_cdr_from_json(json_array_get(cdrs, 1), &cdr, err, sizeof err),
            0);
  CHECK_STR(cdr.call_id, "1.6");
  CHECK_INT(cdr.status, PB_CDR_BUSY);
  CHECK_INT(cdr.direction, PB_DIR_OUTBOUND);
  CHECK_STR(cdr.trunk, "SIP-1");
  CHECK_STR(cdr.extension, "2000");
  /* Defaults: page 1 of 500, no times. */
  r = new_reply();
  run_request(gw_cdr_search, &v, "{}", r);
  q = fake_next("cdr/search");
  if (q) {
    CHECK_STR(q->query, "page=1&page_size=500");
    fake_answer(q, 200,
                "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"total_number\":0,"
                "\"data\":[]}");
  }
  data = check_ok(r);
  CHECK_INT(json_array_size(json_object_get(data, "cdrs")), 0);
  done(&v);
}

static void test_search_refused(void) {
  struct env v;
  ready(&v);
  size_t mark = fake_nreqs;
  static const struct {
    const char *req, *error;
  } cases[] = {
      {"{\"page_size\":0}", "'page_size' must be 1 to 1000"},
      {"{\"page_size\":1001}", "'page_size' must be 1 to 1000"},
      {"{\"page\":0}", "'page' must be"},
      {"{\"page\":\"2\"}", "field 'page'"},
      {"{\"start\":\"yesterday\"}", "RFC 3339"},
      {"{\"start\":\"2026-11-23T10:00:00Z\",\"end\":\"2026-11-23T09:00:00Z\"}",
       "'end' is before 'start'"},
      {"{\"site\":\"nowhere\"}", "no site 'nowhere'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct pb_bus_reply *r = new_reply();
    run_request(gw_cdr_search, &v, cases[i].req, r);
    check_error(r, cases[i].error);
  }
  CHECK_INT(fake_sent(mark, "cdr/search"), 0);
  /* A PBX error: named with its errcode, nothing half-answered. */
  struct pb_bus_reply *r = new_reply();
  run_request(gw_cdr_search, &v, "{}", r);
  fake_answer(fake_next("cdr/search"), 200,
              "{\"errcode\":40002,\"errmsg\":\"PARAMETER ERROR\","
              "\"invalid_param_list\":[{\"field\":\"start_time\"}]}");
  check_error(r, "errcode 40002");
  CHECK(kept(r)->data == NULL);
  done(&v);
}

/* A page whose data is not an array, or whose records are all unreadable:
 * an answer, every record counted. */
static void test_search_odd_pages(void) {
  struct env v;
  ready(&v);
  struct pb_bus_reply *r = new_reply();
  run_request(gw_cdr_search, &v, "{}", r);
  fake_answer(fake_next("cdr/search"), 200,
              "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"total_number\":2,"
              "\"data\":[17,{\"uid\":\"x\"}]}");
  json_t *data = check_ok(r);
  CHECK_INT(json_integer_value(json_object_get(data, "skipped")), 2);
  CHECK_INT(json_array_size(json_object_get(data, "cdrs")), 0);
  r = new_reply();
  run_request(gw_cdr_search, &v, "{}", r);
  fake_answer(fake_next("cdr/search"), 200,
              "{\"errcode\":0,\"errmsg\":\"SUCCESS\",\"data\":\"none\"}");
  data = check_ok(r);
  CHECK_INT(json_integer_value(json_object_get(data, "total")), 0);
  done(&v);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(test_dial);
  RUN(test_dial_refused);
  RUN(test_dial_before_directory);
  RUN(test_dial_no_answer);
  RUN(test_search);
  RUN(test_search_refused);
  RUN(test_search_odd_pages);
  return CHECK_DONE();
}
