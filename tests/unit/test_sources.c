/* Unit tests of source definitions (services/ical-ingest/source_spec.c,
 * source_url.c): what an add or update request may hold, the reason given
 * for each refusal, URL secrets masked and collected, updates laid over the
 * stored definition, the stored form read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ingest.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/secretbox.h"
#include "pb/store.h"

static const struct source_limits lim = {
    .default_site = "main", .max_bytes = 1000, .import_max = 500};

static int parse_text(const char *json, const struct source_def *base,
                      struct source_def *d, char *err, size_t errlen) {
  json_t *j = pb_json_parse(json, strlen(json), err, errlen);
  if (!j)
    return PB_EPARSE;
  err[0] = '\0';
  int rc = ingest_source_parse(j, base, &lim, d, err, errlen);
  /* content points into the request: these tests do not keep it */
  d->content = NULL;
  json_decref(j);
  return rc;
}

static void url_case(const char *url, const char *full, const char *shown) {
  struct source_url u;
  char err[256] = "";
  CHECK_INT(ingest_url_parse(url, &u, err, sizeof err), 0);
  CHECK_STR(u.full, full);
  CHECK_STR(u.shown, shown);
  ingest_url_cleanup(&u);
}

static void test_url_masking(void) {
  /* iPlanning: the query value is the token */
  url_case("https://planning.example.org/feed/ical/?u=8f3kQ2x9",
           "https://planning.example.org/feed/ical/?u=8f3kQ2x9",
           "https://planning.example.org/feed/ical/?u=***");
  /* Google: the calendar id and the private key are in the path */
  url_case("https://calendar.google.com/calendar/ical/"
           "abc%40group.calendar.google.com/"
           "private-0a1b2c3d4e5f/basic.ics",
           "https://calendar.google.com/calendar/ical/"
           "abc%40group.calendar.google.com/"
           "private-0a1b2c3d4e5f/basic.ics",
           "https://calendar.google.com/calendar/ical/***/***/basic.ics");
  /* Outlook: GUID and token in the path */
  url_case("https://outlook.office365.com/owa/calendar/0f5c0c1e3b@example.org/"
           "a9b8c7d6e5f4/calendar.ics",
           "https://outlook.office365.com/owa/calendar/0f5c0c1e3b@example.org/"
           "a9b8c7d6e5f4/calendar.ics",
           "https://outlook.office365.com/owa/calendar/***/***/calendar.ics");
  /* Nextcloud: a mixed-case token, and a bare "export" kept */
  url_case(
      "https://cloud.example.org/remote.php/dav/public-calendars/"
      "XkJwRkcMNbZxwq?export",
      "https://cloud.example.org/remote.php/dav/public-calendars/"
      "XkJwRkcMNbZxwq?export",
      "https://cloud.example.org/remote.php/dav/public-calendars/***?export");
  /* webcal:// (a subscription link) is fetched over https */
  url_case("webcal://p.example.org/cal.ics", "https://p.example.org/cal.ics",
           "https://p.example.org/cal.ics");
  url_case("WEBCALS://p.example.org/cal.ics", "https://p.example.org/cal.ics",
           "https://p.example.org/cal.ics");
  /* userinfo is taken out of the fetched URL; the fragment is never sent;
   * the scheme is lower-cased; several query values */
  struct source_url u;
  char err[256];
  CHECK_INT(ingest_url_parse(
                "HTTPS://bob:s3cret-pw@host:8443/cal.ics?a=1&token=xyzxyz#frag",
                &u, err, sizeof err),
            0);
  CHECK_STR(u.full, "https://host:8443/cal.ics?a=1&token=xyzxyz");
  CHECK_STR(u.shown, "https://host:8443/cal.ics?a=***&token=***");
  CHECK_STR(u.username, "bob");
  CHECK_STR(u.password, "s3cret-pw");
  /* the hidden parts are collected (those of 4 bytes or more) */
  bool has_token = false, has_pw = false;
  for (size_t i = 0; i < u.nsecrets; i++) {
    has_token = has_token || strcmp(u.secrets[i], "xyzxyz") == 0;
    has_pw = has_pw || strcmp(u.secrets[i], "s3cret-pw") == 0;
  }
  CHECK(has_token);
  CHECK(has_pw);
  /* and masked in any text that leaves the service */
  char msg[256];
  snprintf(msg, sizeof msg,
           "GET https://host:8443/cal.ics?a=1&token=xyzxyz "
           "failed; also token xyzxyz and s3cret-pw and extra-pass");
  ingest_redact(msg, sizeof msg, &u, "extra-pass");
  CHECK_STR(msg, "GET *** failed; also token *** and *** and ***");
  ingest_url_cleanup(&u);
  ingest_url_cleanup(NULL);
}

static void url_refused(const char *url, const char *want) {
  struct source_url u;
  char err[256] = "";
  CHECK(ingest_url_parse(url, &u, err, sizeof err) != 0);
  if (!strstr(err, want)) {
    fprintf(stderr, "  %s: got '%s', want '%s'\n", url, err, want);
    CHECK(strstr(err, want) != NULL);
  }
  CHECK(u.full == NULL);
}

static void test_url_refusals(void) {
  url_refused("", "must be 1-2048 characters");
  url_refused("ftp://host/cal.ics",
              "must start with http://, https:// or webcal://");
  url_refused("file:///etc/passwd", "must start with http://");
  url_refused("http:///cal.ics", "has no host name");
  url_refused("http://user@/cal.ics", "has no host name");
  url_refused(
      "http://host/a b.ics",
      "a space, a control character or a non-ASCII byte at position 14");
  url_refused("http://host/caf\xc3\xa9.ics", "non-ASCII");
  char longurl[2100];
  memset(longurl, 'a', sizeof longurl);
  memcpy(longurl, "http://h/", 9);
  longurl[sizeof longurl - 1] = '\0';
  url_refused(longurl, "must be 1-2048 characters");
}

static void test_add_url_source(void) {
  struct source_def d;
  char err[512];
  int rc = parse_text(
      "{\"id\":\"alice\",\"kind\":\"URL\",\"name\":\"Alice\","
      "\"url\":\"https://h/feed/"
      "?u=tok123\",\"extensions\":[\"2001\",\"2000\",\"2001\"],"
      "\"username\":\"al\",\"password\":\"pw-1234\",\"refresh_minutes\":15,"
      "\"priority\":-3,\"rules\":[{\"match\":\"summary\",\"keyword\":\"TP\","
      "\"status\":\"lunch\"}],\"default_status\":\"ignore\",\"transaction\":7}",
      NULL, &d, err, sizeof err);
  CHECK_INT(rc, 0);
  if (rc) {
    fprintf(stderr, "  %s\n", err);
    return;
  }
  CHECK_INT(d.kind, SOURCE_URL);
  CHECK_STR(d.site, "main");
  CHECK_INT(d.priority, -3);
  CHECK_INT(d.nexts, 2); /* sorted, duplicates dropped */
  CHECK_STR(d.exts[0], "2000");
  CHECK_STR(d.exts[1], "2001");
  CHECK(ingest_source_targets(&d, "main", "2001"));
  CHECK(!ingest_source_targets(&d, "other", "2001"));
  CHECK(!ingest_source_targets(&d, "main", "2002"));
  CHECK_STR(d.username, "al");
  CHECK_STR(d.password, "pw-1234");
  CHECK_INT(d.refresh_minutes, 15);
  CHECK_STR(d.default_status, "ignore");
  CHECK(d.rules != NULL);

  /* the public form hides the token and the password */
  json_t *pub = ingest_source_public(&d, NULL);
  char *text = pb_json_dump(pub);
  CHECK(strstr(text, "tok123") == NULL);
  CHECK(strstr(text, "pw-1234") == NULL);
  CHECK(strstr(text, "\"url\":\"https://h/feed/?u=***\"") != NULL);
  CHECK(strstr(text, "\"password_set\":true") != NULL);
  free(text);
  json_decref(pub);

  /* an update lays the request over the stored definition */
  struct source_def u;
  rc = parse_text("{\"id\":\"alice\",\"extension\":\"2005\",\"password\":null,"
                  "\"username\":null,\"rules\":null}",
                  &d, &u, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK_STR(u.url.full, "https://h/feed/?u=tok123");
  CHECK_STR(u.name, "Alice");
  CHECK_INT(u.nexts, 1);
  CHECK_STR(u.exts[0], "2005");
  CHECK(u.password == NULL);
  CHECK_STR(u.username, "");
  CHECK(u.rules == NULL);
  CHECK_INT(u.refresh_minutes, 15);
  CHECK_INT(u.priority, -3);
  ingest_source_cleanup(&u);
  /* the stored form (with the secrets) reads back to the same source */
  json_t *stored = ingest_source_to_request(&d);
  struct source_limits back = lim;
  back.stored = true;
  rc = ingest_source_parse(stored, NULL, &back, &u, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK_STR(u.url.full, d.url.full);
  CHECK_STR(u.password, "pw-1234");
  CHECK_STR(u.rules, d.rules);
  ingest_source_cleanup(&u);
  json_decref(stored);
  /* the kind and the id cannot change */
  CHECK(parse_text("{\"id\":\"alice\",\"kind\":\"ics\"}", &d, &u, err,
                   sizeof err) != 0);
  CHECK(strstr(err, "the kind of a source cannot change") != NULL);
  CHECK(parse_text("{\"id\":\"alice\",\"kind\":\"nope\"}", &d, &u, err,
                   sizeof err) != 0);
  ingest_source_cleanup(&d);
  ingest_source_cleanup(&d); /* twice is harmless */
}

static void test_manual_and_uploads(void) {
  struct source_def d;
  char err[512];
  int rc = parse_text(
      "{\"id\":\"desk\",\"kind\":\"manual\",\"extension\":\"2000\","
      "\"priority\":2,"
      "\"slots\":[{\"start\":\"2026-03-30T14:00:00+02:00\",\"end\":\"2026-03-"
      "30T15:00:00+02:00\","
      "\"status\":\"dnd\"},{\"start\":\"2026-03-30T08:00:00Z\",\"end\":\"2026-"
      "03-30T09:00:00Z\","
      "\"status\":\"away\",\"summary\":\"Doctor\",\"uid\":\"mine-1\"}]}",
      NULL, &d, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK_INT(d.nmanual, 2);
  /* sorted by start, each with the source, its priority and a uid */
  CHECK_INT(d.manual[0].start, 1774857600);
  CHECK_STR(d.manual[0].uid, "mine-1");
  CHECK_STR(d.manual[0].summary, "Doctor");
  CHECK_INT(d.manual[1].status, PB_PRESENCE_DO_NOT_DISTURB);
  CHECK_STR(d.manual[1].uid, "desk:1774872000");
  CHECK_STR(d.manual[1].source, "desk");
  CHECK_INT(d.manual[1].priority, 2);
  ingest_source_cleanup(&d);
  /* an uploaded calendar's content is required on add, optional on update */
  json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "id", "up", "kind", "ics",
                        "extension", "2000", "content", "BEGIN:VCALENDAR\r\n");
  CHECK_INT(ingest_source_parse(j, NULL, &lim, &d, err, sizeof err), 0);
  CHECK_INT(d.content_len, 17);
  CHECK(d.content == json_string_value(json_object_get(j, "content")));
  struct source_def u;
  json_t *upd = json_pack("{s:s,s:i}", "id", "up", "priority", 9);
  CHECK_INT(ingest_source_parse(upd, &d, &lim, &u, err, sizeof err), 0);
  CHECK(u.content == NULL);
  CHECK_INT(u.priority, 9);
  ingest_source_cleanup(&u);
  ingest_source_cleanup(&d);
  json_decref(upd);
  json_decref(j);
  /* weekly: the format is guessed when not given */
  rc = parse_text("{\"id\":\"w\",\"kind\":\"weekly\",\"content\":\" [{}]\"}",
                  NULL, &d, err, sizeof err);
  CHECK_INT(rc, 0);
  CHECK_STR(d.format, "json");
  ingest_source_cleanup(&d);
  rc = parse_text(
      "{\"id\":\"w\",\"kind\":\"weekly\",\"content\":\"extension,day\"}", NULL,
      &d, err, sizeof err);
  CHECK_STR(d.format, "csv");
  ingest_source_cleanup(&d);
}

static void refused(const char *json, const char *want) {
  struct source_def d;
  char err[512] = "";
  int rc = parse_text(json, NULL, &d, err, sizeof err);
  CHECK(rc != 0);
  if (!strstr(err, want)) {
    fprintf(stderr, "  %s\n  got  '%s'\n  want '%s'\n", json, err, want);
    CHECK(strstr(err, want) != NULL);
  }
  CHECK(d.exts == NULL && d.manual == NULL && d.url.full == NULL);
}

static void test_refusals_name_the_field(void) {
  refused("[]", "must be a JSON object");
  refused("{}", "field 'kind' is required");
  refused("{\"kind\":\"caldav\"}", "unknown kind 'caldav'");
  refused("{\"kind\":\"url\",\"url\":\"http://h/\"}",
          "field 'extension' (or 'extensions') is required");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"extensions\":[\"2\"]}",
          "not both");
  refused("{\"kind\":\"url\",\"url\":\"http://h/\",\"extensions\":[]}",
          "array of 1-1000");
  refused("{\"kind\":\"url\",\"url\":\"http://h/\",\"extensions\":[7]}",
          "extensions[0] must be a string");
  refused("{\"kind\":\"url\",\"url\":\"http://h/\",\"extension\":\"a b\"}",
          "extension 'a b' must be");
  refused("{\"kind\":\"url\",\"extension\":\"1\"}", "field 'url' is required");
  refused("{\"kind\":\"url\",\"url\":42,\"extension\":\"1\"}", "'url'");
  refused("{\"kind\":\"url\",\"url\":\"http://u:p@h/"
          "\",\"username\":\"x\",\"extension\":\"1\"}",
          "in the URL or in 'username' and 'password', not both");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"refresh_minutes\":2000}",
          "'refresh_minutes' must be 1-1440");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"rules\":{}}",
          "field 'rules': the rules must be a JSON array");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"default_status\":\"x\"}",
          "default status: unknown status 'x'");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"site\":\"a/b\"}",
          "field 'site' must be");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"priority\":\"high\"}",
          "'priority'");
  refused("{\"kind\":\"url\",\"url\":\"http://h/"
          "\",\"extension\":\"1\",\"content\":\"x\"}",
          "field 'content' does not apply to a source of kind url");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"rules\":[]}",
          "field 'rules' does not apply to a source of kind manual");
  refused("{\"kind\":\"ics\",\"extension\":\"1\"}",
          "field 'content' is required");
  refused(
      "{\"kind\":\"ics\",\"extension\":\"1\",\"content\":\"" /* 1001 bytes */
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
      "is 1001 bytes, more than the 1000 allowed (SOURCE_MAX_BYTES)");
  refused("{\"kind\":\"weekly\",\"content\":\"x\",\"format\":\"xml\"}",
          "'format' must be csv or json");
  refused("{\"kind\":\"weekly\",\"content\":\"x\",\"extension\":\"1\"}",
          "field 'extension' does not apply to a source of kind weekly");
  refused("{\"kind\":\"manual\",\"extension\":\"1\"}",
          "field 'slots' is required");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":{}}",
          "'slots' must be an array");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[1]}",
          "slots[0] must be an object");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[{\"start\":"
          "\"2026-01-01T10:00:00Z\","
          "\"end\":\"2026-01-01T09:00:00Z\",\"status\":\"away\"}]}",
          "slots[0]: 'end' must be after 'start'");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[{\"start\":"
          "\"2026-01-01T10:00:00Z\","
          "\"end\":\"2027-06-01T09:00:00Z\",\"status\":\"away\"}]}",
          "at most 366 days");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[{\"start\":"
          "\"tomorrow\","
          "\"end\":\"2027-06-01T09:00:00Z\",\"status\":\"away\"}]}",
          "slots[0]: field 'start'");
  refused("{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[{\"start\":"
          "\"2026-01-01T10:00:00Z\","
          "\"end\":\"2026-01-01T11:00:00Z\",\"status\":\"nap\"}]}",
          "slots[0]: unknown status 'nap'");
  refused(
      "{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[{\"start\":\"2026-"
      "01-01T10:00:00Z\","
      "\"end\":\"2026-01-01T11:00:00Z\",\"status\":\"away\",\"colour\":1}]}",
      "slots[0]: unknown field 'colour'");
  refused(
      "{\"kind\":\"manual\",\"extension\":\"1\",\"slots\":[],\"owner\":\"me\"}",
      "unknown field 'owner'");
}

static void test_copy_text(void) {
  char buf[16];
  ingest_copy_text(buf, sizeof buf, "caf\xc3\xa9 \xff ok");
  CHECK_STR(buf, "caf\xc3\xa9 ? ok");
  /* a character cut by the bound is dropped whole */
  ingest_copy_text(buf, 6, "abcd\xc3\xa9");
  CHECK_STR(buf, "abcd");
  /* a truncated sequence at the end of the input */
  ingest_copy_text(buf, sizeof buf, "ab\xe2\x82");
  CHECK_STR(buf, "ab??");
  char same[] = "x\xc3(y";
  ingest_copy_text(same, sizeof same, same);
  CHECK_STR(same, "x?(y");
  ingest_copy_text(buf, sizeof buf, NULL);
  CHECK_STR(buf, "");
}

/* True when `needle` occurs in the bytes of any file of `dir`. */
static bool dir_contains(const char *dir, const char *needle) {
  const char *names[] = {"ical-ingest.db", "ical-ingest.db-wal"};
  bool found = false;
  for (size_t i = 0; i < 2; i++) {
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "rb");
    if (!f)
      continue;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t k = 0; k + strlen(needle) <= n && !found; k++)
      found = memcmp(buf + k, needle, strlen(needle)) == 0;
  }
  return found;
}

struct loaded {
  struct source_def defs[4];
  struct source_fetch fetch[4];
  size_t n;
};

static void on_loaded(struct source_def *d, const struct source_fetch *f,
                      void *ud) {
  struct loaded *l = ud;
  if (l->n < 4) {
    l->defs[l->n] = *d;
    l->fetch[l->n++] = *f;
  } else {
    ingest_source_cleanup(d);
  }
}

static void test_store_round_trip_with_sealed_secrets(void) {
  char dir[] = "/tmp/pb-sources-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  struct pb_store *st = NULL;
  struct pb_secretbox *box = NULL;
  CHECK_INT(ingest_store_open(dir, &st), 0);
  CHECK_INT(pb_secretbox_open(dir, &box), 0);
  struct source_def d;
  char err[512];
  CHECK_INT(
      parse_text(
          "{\"id\":\"alice\",\"kind\":\"url\",\"name\":\"Alice\","
          "\"url\":\"https://h/feed/?u=SECRETTOKEN42\",\"extension\":\"2000\","
          "\"username\":\"al\",\"password\":\"PASSWORD-77\",\"priority\":4}",
          NULL, &d, err, sizeof err),
      0);
  const char cal[] = "BEGIN:VCALENDAR\r\nX:\0binary\r\nEND:VCALENDAR\r\n";
  struct source_body body = {.data = cal, .len = sizeof cal - 1};
  pb_strlcpy(body.sha256, "abc", sizeof body.sha256);
  pb_strlcpy(body.etag, "\"v1\"", sizeof body.etag);
  CHECK_INT(ingest_store_save_source(st, box, &d, &body), 0);
  struct source_fetch f = {.last_attempt = 100,
                           .last_success = 90,
                           .last_change = 80,
                           .failures = 2,
                           .http_status = 500};
  pb_strlcpy(f.error, "HTTP 500", sizeof f.error);
  CHECK_INT(ingest_store_save_fetch(st, "alice", &f), 0);
  /* neither the token nor the password is stored in clear */
  CHECK(!dir_contains(dir, "SECRETTOKEN42"));
  CHECK(!dir_contains(dir, "PASSWORD-77"));
  CHECK(dir_contains(dir, "Alice"));
  /* read back: the same source, its secrets unsealed, its fetch state */
  struct loaded l = {.n = 0};
  CHECK_INT(ingest_store_each_source(st, box, &lim, on_loaded, &l), 0);
  CHECK_INT(l.n, 1);
  CHECK_STR(l.defs[0].url.full, "https://h/feed/?u=SECRETTOKEN42");
  CHECK_STR(l.defs[0].password, "PASSWORD-77");
  CHECK_STR(l.defs[0].name, "Alice");
  CHECK_INT(l.defs[0].priority, 4);
  CHECK_INT(l.fetch[0].failures, 2);
  CHECK_INT(l.fetch[0].last_change, 80);
  CHECK_STR(l.fetch[0].error, "HTTP 500");
  ingest_source_cleanup(&l.defs[0]);
  /* the calendar comes back byte for byte, NULs included */
  struct source_body back;
  CHECK_INT(ingest_store_load_body(st, "alice", &back), 0);
  CHECK_INT(back.len, sizeof cal - 1);
  CHECK(memcmp(back.data, cal, sizeof cal - 1) == 0);
  CHECK_STR(back.etag, "\"v1\"");
  ingest_body_cleanup(&back);
  /* under another key the secrets cannot be read: the source is skipped */
  char other[] = "/tmp/pb-sources-key-XXXXXX";
  CHECK(mkdtemp(other) != NULL);
  struct pb_secretbox *box2 = NULL;
  CHECK_INT(pb_secretbox_open(other, &box2), 0);
  l.n = 0;
  CHECK_INT(ingest_store_each_source(st, box2, &lim, on_loaded, &l), 0);
  CHECK_INT(l.n, 0);
  pb_secretbox_free(box2);
  /* removing the source removes its calendar too */
  CHECK_INT(ingest_store_delete_source(st, "alice"), 0);
  CHECK_INT(ingest_store_load_body(st, "alice", &back), PB_ENOTFOUND);
  ingest_source_cleanup(&d);
  pb_secretbox_free(box);
  pb_store_close(st);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, other);
  CHECK_INT(system(cmd), 0);
}

int main(void) {
  RUN(test_url_masking);
  RUN(test_url_refusals);
  RUN(test_add_url_source);
  RUN(test_manual_and_uploads);
  RUN(test_refusals_name_the_field);
  RUN(test_copy_text);
  RUN(test_store_round_trip_with_sealed_secrets);
  return CHECK_DONE();
}
