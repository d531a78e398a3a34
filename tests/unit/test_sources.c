/* Unit tests of source definitions (services/ical-ingest/source_spec.c,
 * source_url.c): what an add or update request may hold, the reason given
 * for each refusal, URL secrets masked and collected, updates laid over the
 * stored definition, the stored form read back; which permanent redirects
 * may become a source's URL (read against the stored one, default ports
 * alike); Retry-After values (retry_after.c); the
 * extensions' time zones from their settings (ext_zones.c) and in the
 * store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ingest.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/secretbox.h"
#include "pb/store.h"
#include "pb/tz.h"

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
  /* read by pb_url: a port must be a number, an empty one is none */
  url_refused("https://host:abc/cal.ics", "port must be a number 1-65535");
  url_refused("https://host:/cal.ics", "port must be a number 1-65535");
  url_refused("webcal:///cal.ics", "has no host name");
}

static void test_url_parts(void) {
  /* a user name alone; a port kept; a query without a path */
  struct source_url u;
  char err[256];
  CHECK_INT(ingest_url_parse("webcals://carol@[::1]:8443?cal=team-week", &u,
                             err, sizeof err),
            0);
  CHECK_STR(u.full, "https://[::1]:8443?cal=team-week");
  CHECK_STR(u.shown, "https://[::1]:8443?cal=***");
  CHECK_STR(u.username, "carol");
  CHECK(u.password == NULL);
  ingest_url_cleanup(&u);
  /* the password runs to the last '@' of the authority, ':' and all */
  CHECK_INT(ingest_url_parse("http://dave:p%40ss:w@cal.example.org/", &u, err,
                             sizeof err),
            0);
  CHECK_STR(u.full, "http://cal.example.org/");
  CHECK_STR(u.username, "dave");
  CHECK_STR(u.password, "p%40ss:w");
  ingest_url_cleanup(&u);
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

static void zone_seen(const char *site, const char *ext, const char *zone,
                      void *ud) {
  char *text = ud;
  size_t n = strlen(text);
  snprintf(text + n, 256 - n, "%s/%s=%s;", site, ext, zone);
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
                           .http_status = 500,
                           .not_before = 4000};
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
  CHECK_INT(l.fetch[0].not_before, 4000);
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

/* ---- permanent redirects (ingest_url_moved) ---- */

static void moved_refused(const char *from, const char *to, bool credentials,
                          const char *want) {
  struct source_url u, out;
  char err[256], why[200] = "";
  CHECK_INT(ingest_url_parse(from, &u, err, sizeof err), 0);
  CHECK_INT(ingest_url_moved(&u, to, credentials, &out, why, sizeof why),
            PB_EINVAL);
  if (!strstr(why, want))
    fprintf(stderr, "moved %s -> %s: '%s', wanted '%s'\n", from, to, why, want);
  CHECK(strstr(why, want) != NULL);
  CHECK(out.full == NULL);
  ingest_url_cleanup(&u);
}

static void test_permanent_redirects(void) {
  struct source_url u, out;
  char err[256], why[200] = "";
  CHECK_INT(ingest_url_parse("https://old.example.org/feed/?u=TOKEN1234", &u,
                             err, sizeof err),
            0);
  /* another host, no credentials: taken, its token masked like any URL's */
  CHECK_INT(ingest_url_moved(&u, "https://new.example.org/cal/?u=NEWTOKEN99",
                             false, &out, why, sizeof why),
            0);
  CHECK_STR(out.full, "https://new.example.org/cal/?u=NEWTOKEN99");
  CHECK_STR(out.shown, "https://new.example.org/cal/?u=***");
  CHECK_INT(out.nsecrets, 1);
  ingest_url_cleanup(&out);
  /* with credentials: the same origin only (host case aside) */
  CHECK_INT(ingest_url_moved(&u, "https://OLD.example.org/v2/feed/?u=TOKEN1234",
                             true, &out, why, sizeof why),
            0);
  ingest_url_cleanup(&out);
  /* the scheme's own port, written or not, is the same origin (RFC 6454
   * §4; browsers and libcurl treat it so) */
  CHECK_INT(ingest_url_moved(&u, "https://old.example.org:443/v2/feed/", true,
                             &out, why, sizeof why),
            0);
  CHECK_STR(out.full, "https://old.example.org:443/v2/feed/");
  ingest_url_cleanup(&out);
  /* a relative Location is read against the stored URL (RFC 3986 §5.2) */
  CHECK_INT(
      ingest_url_moved(&u, "../v3/?u=TOKEN5678", true, &out, why, sizeof why),
      0);
  CHECK_STR(out.full, "https://old.example.org/v3/?u=TOKEN5678");
  CHECK_STR(out.shown, "https://old.example.org/***/?u=***");
  ingest_url_cleanup(&out);
  ingest_url_cleanup(&u);
  CHECK_INT(ingest_url_parse("https://old.example.org:443/feed/", &u, err,
                             sizeof err),
            0);
  CHECK_INT(ingest_url_moved(&u, "https://old.example.org/v2/", true, &out, why,
                             sizeof why),
            0);
  ingest_url_cleanup(&out);
  ingest_url_cleanup(&u);
  moved_refused("https://old.example.org/feed/",
                "https://old.example.org/feed/#top", false, "the same URL");
  moved_refused("http://old.example.org/feed/", "http://old.example.org:443/",
                true, "on another host");
  moved_refused("https://old.example.org/feed/",
                "https://new.example.org/feed/", true, "on another host");
  moved_refused("https://old.example.org/feed/",
                "https://old.example.org:8443/feed/", true, "on another host");
  moved_refused("http://old.example.org/feed/", "https://old.example.org/feed/",
                true, "on another host");
  moved_refused("https://old.example.org/feed/", "http://old.example.org/feed/",
                false, "plain http");
  moved_refused("https://old.example.org/feed/", "ftp://old.example.org/feed/",
                false, "not http or https");
  moved_refused("https://old.example.org/feed/",
                "https://bob:pw@new.example.org/feed/", false,
                "user name or password");
  moved_refused("https://old.example.org/feed/",
                "https://old.example.org/feed/", false, "the same URL");
  moved_refused("https://old.example.org/feed/", "https://new.example.org/a b",
                false, "the new URL is refused: the URL contains a space");
}

/* ---- Retry-After (RFC 9110 §10.2.3, §5.6.7) ---- */

static void test_retry_after(void) {
  /* Monday 30 March 2026, 05:00:00 UTC */
  const int64_t now = pb_days_from_civil(2026, 3, 30) * 86400 + 5 * 3600;
  const int64_t day = 86400;
  int64_t at = -1;
  CHECK_INT(ingest_retry_after("120", now, day, &at), 0);
  CHECK_INT(at, now + 120);
  CHECK_INT(ingest_retry_after(" 0 ", now, day, &at), 0);
  CHECK_INT(at, now);
  /* capped, however many digits */
  CHECK_INT(ingest_retry_after("172800", now, day, &at), 0);
  CHECK_INT(at, now + day);
  CHECK_INT(ingest_retry_after("99999999999999999999999999", now, day, &at), 0);
  CHECK_INT(at, now + day);
  /* the three HTTP-date forms, all meaning 07:30:15 UTC that day */
  const int64_t want = now + 2 * 3600 + 30 * 60 + 15;
  CHECK_INT(ingest_retry_after("Mon, 30 Mar 2026 07:30:15 GMT", now, day, &at),
            0);
  CHECK_INT(at, want);
  CHECK_INT(ingest_retry_after("Monday, 30-Mar-26 07:30:15 GMT", now, day, &at),
            0);
  CHECK_INT(at, want);
  CHECK_INT(ingest_retry_after("Mon Mar 30 07:30:15 2026", now, day, &at), 0);
  CHECK_INT(at, want);
  CHECK_INT(ingest_retry_after("Mon Mar  2 07:30:15 2026", now, 40 * day, &at),
            0);
  CHECK_INT(at, now); /* in the past: no wait */
  /* a date past the cap, a date in the past */
  CHECK_INT(ingest_retry_after("Fri, 03 Apr 2026 07:30:15 GMT", now, day, &at),
            0);
  CHECK_INT(at, now + day);
  CHECK_INT(ingest_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, day, &at),
            0);
  CHECK_INT(at, now);
  /* neither form */
  const char *bad[] = {"",
                       "soon",
                       "-5",
                       "12s",
                       "1.5",
                       "Mon, 30 Mar 2026 07:30:15 CET",
                       "Mon, 30 Foo 2026 07:30:15 GMT",
                       "Mon, 30 Mar 2026 25:30:15 GMT",
                       "Mon, 30 Mar 2026 07:30 GMT",
                       NULL};
  for (size_t i = 0; bad[i]; i++)
    CHECK_INT(ingest_retry_after(bad[i], now, day, &at), PB_EPARSE);
  CHECK_INT(ingest_retry_after(NULL, now, day, &at), PB_EPARSE);
}

/* ---- extensions' time zones (ext_zones.c) ---- */

static void test_extension_zones(void) {
  struct pb_tz *paris;
  CHECK_INT(pb_tz_load("Europe/Paris", &paris), 0);
  struct ingest_zones *z = NULL;
  CHECK_INT(ingest_zones_new(paris, &z), 0);
  bool changed = true;
  /* without settings: TIMEZONE */
  CHECK(ingest_zones_get(z, "main", "2000") == paris);
  CHECK_INT(ingest_zones_set(z, "main", "2000", "America/New_York", &changed),
            0);
  CHECK(changed);
  const struct pb_tz *ny = ingest_zones_get(z, "main", "2000");
  CHECK_STR(pb_tz_name(ny), "America/New_York");
  CHECK(ingest_zones_get(z, "main", "2001") == paris);
  CHECK(ingest_zones_get(z, "other", "2000") == paris);
  /* the same zone again: no change, the same loaded zone shared */
  CHECK_INT(ingest_zones_set(z, "main", "2000", "America/New_York", &changed),
            0);
  CHECK(!changed);
  CHECK_INT(ingest_zones_set(z, "main", "2001", "America/New_York", &changed),
            0);
  CHECK(changed && ingest_zones_get(z, "main", "2001") == ny);
  /* naming TIMEZONE itself is no change for an extension that had none */
  CHECK_INT(ingest_zones_set(z, "main", "2002", "Europe/Paris", &changed), 0);
  CHECK(!changed && ingest_zones_get(z, "main", "2002") == paris);
  /* an unknown zone changes nothing */
  CHECK_INT(ingest_zones_set(z, "main", "2000", "Mars/Olympus", &changed),
            PB_ENOTFOUND);
  CHECK(ingest_zones_get(z, "main", "2000") == ny);
  /* null: back to TIMEZONE */
  CHECK_INT(ingest_zones_set(z, "main", "2000", NULL, &changed), 0);
  CHECK(changed && ingest_zones_get(z, "main", "2000") == paris);
  CHECK_INT(ingest_zones_set(z, "main", "2001", "", &changed), 0);
  CHECK(changed && ingest_zones_get(z, "main", "2001") == paris);
  ingest_zones_free(z);
  ingest_zones_free(NULL);

  /* the settings payload as the scheduler publishes it (docs/topics.md) */
  char name[64], err[200];
  const char *ny_settings =
      "{\"planning\":\"on\",\"default_status\":\"off_work\",\"timezone\":"
      "\"America/New_York\",\"effective\":{\"default_status\":\"off_work\","
      "\"timezone\":\"America/New_York\"}}";
  CHECK_INT(ingest_settings_zone(ny_settings, strlen(ny_settings), name,
                                 sizeof name, err, sizeof err),
            0);
  CHECK_STR(name, "America/New_York");
  const char *defaults =
      "{\"planning\":\"off\",\"default_status\":null,\"timezone\":null,"
      "\"effective\":{\"default_status\":\"available\",\"timezone\":"
      "\"Europe/Paris\"}}";
  CHECK_INT(ingest_settings_zone(defaults, strlen(defaults), name, sizeof name,
                                 err, sizeof err),
            0);
  CHECK_STR(name, ""); /* its own is none: TIMEZONE, not the effective one */
  CHECK_INT(ingest_settings_zone("", 0, name, sizeof name, err, sizeof err), 0);
  CHECK_STR(name, "");
  CHECK_INT(ingest_settings_zone("{\"planning\":\"on\"}", 17, name, sizeof name,
                                 err, sizeof err),
            0);
  CHECK_STR(name, "");
  CHECK_INT(ingest_settings_zone("on", 2, name, sizeof name, err, sizeof err),
            PB_EPARSE);
  CHECK_INT(ingest_settings_zone("[1]", 3, name, sizeof name, err, sizeof err),
            PB_EPARSE);
  CHECK_INT(ingest_settings_zone("{\"timezone\":5}", 14, name, sizeof name, err,
                                 sizeof err),
            PB_EPARSE);
  CHECK(strstr(err, "'timezone'") != NULL);
  pb_tz_free(paris);
}

static void test_store_zones_and_known_extensions(void) {
  char dir[] = "/tmp/pb-zones-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  struct pb_store *st = NULL;
  CHECK_INT(ingest_store_open(dir, &st), 0);
  CHECK(!ingest_store_extension_known(st, "main", "2000"));
  CHECK_INT(ingest_store_mark_published(st, "main", "2000", true), 0);
  CHECK(ingest_store_extension_known(st, "main", "2000"));
  CHECK(!ingest_store_extension_known(st, "other", "2000"));
  struct weekly_plan plan = {0};
  struct weekly_slot w = {.ext = "2001",
                          .wday = 1,
                          .start_min = 480,
                          .end_min = 600,
                          .status = PB_PRESENCE_AWAY,
                          .line = 2};
  CHECK_INT(ingest_plan_add(&plan, &w), 0);
  CHECK_INT(ingest_store_save_weekly(st, "weekly", "main", 0, &plan), 0);
  CHECK(ingest_store_extension_known(st, "main", "2001"));
  ingest_plan_cleanup(&plan);
  CHECK_INT(ingest_store_save_zone(st, "main", "2000", "America/New_York"), 0);
  CHECK_INT(ingest_store_save_zone(st, "main", "2001", "Asia/Tokyo"), 0);
  CHECK_INT(ingest_store_save_zone(st, "main", "2001", "Asia/Kolkata"), 0);
  CHECK_INT(ingest_store_save_zone(st, "main", "2002", "Asia/Tokyo"), 0);
  CHECK_INT(ingest_store_save_zone(st, "main", "2002", NULL), 0);
  pb_store_close(st);
  /* read back after a reopen */
  CHECK_INT(ingest_store_open(dir, &st), 0);
  char seen[256] = "";
  CHECK_INT(ingest_store_each_zone(st, zone_seen, seen), 0);
  CHECK_STR(seen, "main/2000=America/New_York;main/2001=Asia/Kolkata;");
  pb_store_close(st);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_INT(system(cmd), 0);
}

int main(void) {
  RUN(test_url_masking);
  RUN(test_url_refusals);
  RUN(test_url_parts);
  RUN(test_add_url_source);
  RUN(test_manual_and_uploads);
  RUN(test_refusals_name_the_field);
  RUN(test_copy_text);
  RUN(test_store_round_trip_with_sealed_secrets);
  RUN(test_permanent_redirects);
  RUN(test_retry_after);
  RUN(test_extension_zones);
  RUN(test_store_zones_and_known_extensions);
  return CHECK_DONE();
}
