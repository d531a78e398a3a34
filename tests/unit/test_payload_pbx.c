/* The PBX-side payloads of shared/payload_pbx.c that yeastar-gateway
 * writes or reads (docs/topics.md): the state's drift, the site status, the
 * relayed PBX event envelope, and the streamed directory (which must be the
 * very text the JSON tree would give). */
#include <stdlib.h>

#include "check.h"
#include "pb/payload.h"

static json_t *parse(const char *text) {
  char err[200];
  json_t *j = pb_json_parse(text, strlen(text), err, sizeof err);
  if (!j)
    fprintf(stderr, "%s\n", err);
  return j;
}

static void state_drift(void) {
  struct pb_ext_state in = {.status = PB_PRESENCE_AWAY,
                            .in_sync = false,
                            .updated_at = 1774850400,
                            .pbx_id = 3,
                            .drift_since = 1774850400,
                            .drift_until = 1774857600};
  struct pb_ext_state out;
  char err[200];
  json_t *j = pb_ext_state_to_json(&in, NULL);
  CHECK_INT(pb_ext_state_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.drift_since, in.drift_since);
  CHECK_INT(out.drift_until, in.drift_until);
  json_decref(j);
  in.drift_until = -1; /* until the desired status changes */
  j = pb_ext_state_to_json(&in, NULL);
  CHECK(json_is_null(json_object_get(json_object_get(j, "drift"), "until")));
  CHECK_INT(pb_ext_state_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.drift_until, -1);
  json_decref(j);
  in.drift_since = 0;
  j = pb_ext_state_to_json(&in, NULL);
  CHECK(json_is_null(json_object_get(j, "drift")));
  CHECK_INT(pb_ext_state_from_json(j, &out, err, sizeof err), 0);
  CHECK_INT(out.drift_since, 0);
  json_decref(j);
  j = parse("{\"in_sync\":true,\"drift\":5}");
  CHECK(pb_ext_state_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "'drift'") != NULL);
  json_decref(j);
}

static void site_status(void) {
  struct pb_site_status in = {.since = 1774850400,
                              .token_valid = true,
                              .token_expires = 1774852200,
                              .extensions = 120,
                              .pending = 3,
                              .drifting = 1,
                              .updated_at = 1774850460};
  pb_strlcpy(in.site, "main", sizeof in.site);
  pb_strlcpy(in.state, "unreachable", sizeof in.state);
  pb_strlcpy(in.error, "extension/list: no answer in time", sizeof in.error);
  pb_strlcpy(in.url, "https://pbx.example.org:8088", sizeof in.url);
  struct pb_site_status out;
  char err[200];
  json_t *j = pb_site_status_to_json(&in, NULL);
  CHECK_INT(pb_site_status_from_json(j, &out, err, sizeof err), 0);
  CHECK_STR(out.state, "unreachable");
  CHECK_STR(out.error, in.error);
  CHECK_INT(out.token_expires, in.token_expires);
  CHECK_INT(out.pending, 3);
  json_decref(j);
  j = parse("{\"site\":\"main\",\"state\":\"sleeping\"}");
  CHECK(pb_site_status_from_json(j, &out, err, sizeof err) != 0);
  CHECK(strstr(err, "unknown state 'sleeping'") != NULL);
  json_decref(j);
}

static void pbx_event(void) {
  struct pb_pbx_event ev;
  char err[200], ext[PB_ID_MAX];
  enum pb_presence p;
  json_t *j = parse("{\"type\":30009,\"sn\":\"3631A\",\"msg\":"
                    "\"{\\\"extension\\\":\\\"2005\\\",\\\"status\\\":"
                    "\\\"business_trip\\\"}\"}");
  CHECK_INT(pb_pbx_event_from_json(j, &ev, err, sizeof err), 0);
  CHECK_INT(ev.type, 30009);
  CHECK_STR(ev.sn, "3631A");
  CHECK_INT(pb_pbx_event_presence(&ev, ext, sizeof ext, &p, err, sizeof err),
            0);
  CHECK_STR(ext, "2005");
  CHECK_INT(p, PB_PRESENCE_BUSINESS_TRIP);
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
  /* msg as an object, an alias as status */
  j = parse(
      "{\"type\":30009,\"msg\":{\"extension\":\"2001\",\"status\":\"dnd\"}}");
  CHECK_INT(pb_pbx_event_from_json(j, &ev, err, sizeof err), 0);
  CHECK_INT(pb_pbx_event_presence(&ev, ext, sizeof ext, &p, err, sizeof err),
            0);
  CHECK_INT(p, PB_PRESENCE_DO_NOT_DISTURB);
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
  static const struct {
    const char *text, *reason;
  } bad[] = {
      {"[1]", "JSON object"},
      {"{\"msg\":{}}", "'type'"},
      {"{\"type\":30009}", "'msg'"},
      {"{\"type\":30009,\"msg\":\"[1]\"}", "'msg'"},
      {"{\"type\":30009,\"msg\":\"{oops\"}", "'msg'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    j = parse(bad[i].text);
    CHECK(pb_pbx_event_from_json(j, &ev, err, sizeof err) != 0);
    CHECK(strstr(err, bad[i].reason) != NULL);
    pb_pbx_event_cleanup(&ev);
    json_decref(j);
  }
  j = parse(
      "{\"type\":30009,\"msg\":{\"extension\":\"2001\",\"status\":\"nap\"}}");
  CHECK_INT(pb_pbx_event_from_json(j, &ev, err, sizeof err), 0);
  CHECK(pb_pbx_event_presence(&ev, ext, sizeof ext, &p, err, sizeof err) != 0);
  CHECK(strstr(err, "unknown status 'nap'") != NULL);
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
  j = parse(
      "{\"type\":30008,\"msg\":{\"extension\":\"2001\",\"status\":\"Idle\"}}");
  CHECK_INT(pb_pbx_event_from_json(j, &ev, err, sizeof err), 0);
  CHECK(pb_pbx_event_presence(&ev, ext, sizeof ext, &p, err, sizeof err) != 0);
  pb_pbx_event_cleanup(&ev);
  json_decref(j);
}

struct entries {
  const struct pb_dir_entry *v;
  size_t n, i;
};

static bool next_entry(void *ud, struct pb_dir_entry *out) {
  struct entries *e = ud;
  if (e->i >= e->n)
    return false;
  *out = e->v[e->i++];
  return true;
}

static void directory_stream(void) {
  struct pb_dir_entry v[3] = {{"2000", 1, "Alice Martin"},
                              {"2001", 2, "Zoë \"Z\" Ngô"},
                              {"2002", 3, ""}};
  struct pb_directory d = {
      .site = "main", .updated_at = 1774850400, .count = 3, .entries = v};
  json_t *tree = pb_directory_to_json(&d, NULL);
  char *want = pb_json_dump(tree);
  struct entries it = {v, 3, 0};
  size_t len = 0;
  char *got =
      pb_directory_dump_stream("main", 1774850400, NULL, next_entry, &it, &len);
  CHECK_STR(got, want);
  CHECK_INT(len, strlen(want));
  free(got);
  struct entries none = {v, 0, 0};
  got = pb_directory_dump_stream("main", 1774850400, NULL, next_entry, &none,
                                 &len);
  CHECK(strstr(got, "\"extensions\":[]}") != NULL);
  struct pb_directory back;
  char err[200];
  json_t *j = parse(got);
  CHECK_INT(pb_directory_from_json(j, &back, err, sizeof err), 0);
  CHECK_INT(back.count, 0);
  pb_directory_cleanup(&back);
  json_decref(j);
  free(got);
  free(want);
  json_decref(tree);
}

int main(void) {
  RUN(state_drift);
  RUN(site_status);
  RUN(pbx_event);
  RUN(directory_stream);
  return CHECK_DONE();
}
