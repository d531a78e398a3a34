/* The running scheduler (sched_state.c, sched_override.c, sched_settings.c,
 * sched_store.c) against a frozen clock, the real loop and timers and a real
 * SQLite database, with a fake bus: boundaries fire at their second, `since`
 * follows docs/scheduling.md, overrides expire exactly and after a restart,
 * clock jumps and DST re-arm, settings are checked whole and persisted. */
#include <stdio.h>

#include "test_sched_fake.h"

struct env {
  struct pb_loop *loop;
  struct pb_tz *tz;
  struct sched s;
  char dir[64];
};

static void start(struct env *v) {
  CHECK_INT(pb_loop_new(&v->loop), 0);
  CHECK_INT(pb_tz_load("Europe/Paris", &v->tz), 0);
  CHECK_INT(sched_init(&v->s, v->loop, v->tz, PB_PRESENCE_AVAILABLE, &fake_io),
            0);
  CHECK_INT(sched_store_open(v->dir, &v->s.store), 0);
  CHECK_INT(sched_store_load(&v->s), 0);
}

static void stop(struct env *v) {
  struct pb_store *store = v->s.store;
  sched_cleanup(&v->s);
  pb_store_close(store);
  pb_tz_free(v->tz);
  pb_loop_free(v->loop);
}

static void fresh(struct env *v) {
  memset(v, 0, sizeof *v);
  snprintf(v->dir, sizeof v->dir, "%s", fake_tmpdir());
  fake_reset();
  start(v);
}

static void finish(struct env *v) {
  stop(v);
  fake_rmdir(v->dir);
}

static void restart(struct env *v) {
  stop(v);
  start(v);
}

static const char *field(json_t *j, const char *key) {
  return json_string_value(json_object_get(j, key));
}

#define DESIRED "ext/main/2000/desired"

static void boundary_fires_at_its_second(void) {
  struct env v;
  fresh(&v);
  set_now("2026-11-23T07:59:58+01:00");
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  struct pb_slot s[] = {slot("2026-11-23T08:00:00+01:00",
                             "2026-11-23T12:00:00+01:00",
                             PB_PRESENCE_BUSINESS_TRIP, 0)};
  set_plan(e, s, 1);
  size_t m = fake_mark();
  sched_evaluate(e, false);
  json_t *d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "cause"), "default");
  CHECK_STR(field(json_object_get(d, "next_change"), "at"),
            "2026-11-23T08:00:00+01:00");
  json_decref(d);
  CHECK_INT(pb_timer_when(e->timer), at("2026-11-23T08:00:00+01:00") * 1000);
  /* One millisecond before: nothing. */
  m = fake_mark();
  pb_clock_set_fixed(at("2026-11-23T08:00:00+01:00") * 1000 - 1);
  turn(v.loop);
  CHECK_INT(fake_n(m, DESIRED), 0);
  /* At the second: the slot, dated from its start. */
  set_now("2026-11-23T08:00:00+01:00");
  turn(v.loop);
  CHECK_INT(fake_n(m, DESIRED), 1);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "status"), "business_trip");
  CHECK_STR(field(d, "since"), "2026-11-23T08:00:00+01:00");
  CHECK_STR(field(json_object_get(d, "next_change"), "status"), "available");
  json_decref(d);
  CHECK_INT(pb_timer_when(e->timer), at("2026-11-23T12:00:00+01:00") * 1000);
  /* Evaluating again changes nothing and publishes nothing. */
  m = fake_mark();
  sched_evaluate(e, false);
  CHECK_INT(fake_n(m, DESIRED), 0);
  finish(&v);
}

static void since_follows_the_rules(void) {
  struct env v;
  fresh(&v);
  set_now("2026-11-23T08:30:00+01:00");
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  struct pb_slot s[] = {slot("2026-11-23T08:00:00+01:00",
                             "2026-11-23T10:00:00+01:00", PB_PRESENCE_AWAY, 0),
                        slot("2026-11-23T10:00:00+01:00",
                             "2026-11-23T11:00:00+01:00", PB_PRESENCE_AWAY, 0)};
  set_plan(e, s, 2);
  size_t m = fake_mark();
  /* First decision inside a slot: dated from the slot's start. */
  sched_evaluate(e, false);
  json_t *d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "since"), "2026-11-23T08:00:00+01:00");
  json_decref(d);
  /* An override set at 08:40 dates from 08:40; cleared at 08:50, the slot
   * is back from 08:50. */
  set_now("2026-11-23T08:40:00+01:00");
  struct pb_override o = {
      .status = PB_PRESENCE_LUNCH, .until = -1, .set_at = pb_clock_now()};
  CHECK_INT(sched_override_set(e, &o), 0);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "cause"), "override");
  CHECK_STR(field(d, "since"), "2026-11-23T08:40:00+01:00");
  CHECK(json_is_null(json_object_get(d, "next_change")));
  json_decref(d);
  set_now("2026-11-23T08:50:00+01:00");
  CHECK_INT(sched_override_clear(e, "desk", "back early"), 0);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "cause"), "schedule");
  CHECK_STR(field(d, "since"), "2026-11-23T08:50:00+01:00");
  json_decref(d);
  /* The event says who cleared what and why. */
  d = fake_last(m, "events/override");
  CHECK_STR(field(d, "action"), "cleared");
  CHECK_STR(field(d, "by"), "desk");
  CHECK_STR(field(d, "reason"), "back early");
  CHECK_STR(field(json_object_get(d, "override"), "status"), "lunch");
  json_decref(d);
  CHECK_INT(sched_override_clear(e, "desk", ""), PB_ENOTFOUND);
  /* 10:00: another slot with the same status: the decision's slot changed,
   * so since restarts at the hand-over; the status stays away. */
  m = fake_mark();
  set_now("2026-11-23T10:00:00+01:00");
  turn(v.loop);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "status"), "away");
  CHECK_STR(field(d, "since"), "2026-11-23T10:00:00+01:00");
  json_decref(d);
  /* `since` survives a restart. */
  restart(&v);
  set_now("2026-11-23T10:30:00+01:00");
  m = fake_mark();
  sched_republish_all(&v.s);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "since"), "2026-11-23T10:00:00+01:00");
  json_decref(d);
  finish(&v);
}

static void override_expires_exactly_and_after_restart(void) {
  struct env v;
  fresh(&v);
  set_now("2026-11-23T09:00:00+01:00");
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  struct pb_slot s[] = {slot("2026-11-23T08:00:00+01:00",
                             "2026-11-23T12:00:00+01:00",
                             PB_PRESENCE_BUSINESS_TRIP, 0)};
  set_plan(e, s, 1);
  sched_evaluate(e, false);
  struct pb_override o = {.status = PB_PRESENCE_AWAY,
                          .set_at = pb_clock_now(),
                          .until = at("2026-11-23T09:10:00+01:00")};
  snprintf(o.reason, sizeof o.reason, "sick");
  snprintf(o.by, sizeof o.by, "reception");
  size_t m = fake_mark();
  CHECK_INT(sched_override_set(e, &o), 0);
  json_t *ev = fake_last(m, "events/override");
  CHECK_STR(field(ev, "action"), "set");
  CHECK_STR(field(ev, "by"), "reception");
  CHECK_STR(field(ev, "reason"), "sick");
  json_decref(ev);
  CHECK_INT(pb_timer_when(e->timer), at("2026-11-23T09:10:00+01:00") * 1000);
  json_t *d = fake_last(m, DESIRED);
  CHECK_STR(field(json_object_get(d, "next_change"), "at"),
            "2026-11-23T09:10:00+01:00");
  CHECK_STR(field(json_object_get(d, "next_change"), "status"),
            "business_trip");
  json_decref(d);
  /* Expiry inside the slot, at its exact second. */
  m = fake_mark();
  pb_clock_set_fixed(at("2026-11-23T09:10:00+01:00") * 1000 - 1);
  turn(v.loop);
  CHECK_INT(fake_n(m, "events/override"), 0);
  set_now("2026-11-23T09:10:00+01:00");
  turn(v.loop);
  ev = fake_last(m, "events/override");
  CHECK_STR(field(ev, "action"), "expired");
  CHECK_STR(field(ev, "status"), "away");
  json_decref(ev);
  CHECK_STR(fake_last_text(m, "ext/main/2000/override"), "");
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "status"), "business_trip");
  CHECK_STR(field(d, "since"), "2026-11-23T09:10:00+01:00");
  json_decref(d);

  /* An override whose end passes while the scheduler is down expires at
   * the next start, dated from its `until`. */
  o.set_at = pb_clock_now();
  o.until = at("2026-11-23T09:20:00+01:00");
  CHECK_INT(sched_override_set(e, &o), 0);
  stop(&v);
  set_now("2026-11-23T09:45:00+01:00");
  start(&v);
  e = sched_ext_get(&v.s, "main", "2000", false);
  CHECK(e && e->override);
  m = fake_mark();
  sched_republish_all(&v.s);
  ev = fake_last(m, "events/override");
  CHECK_STR(field(ev, "action"), "expired");
  json_decref(ev);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "cause"), "schedule");
  CHECK_STR(field(d, "since"), "2026-11-23T09:20:00+01:00");
  json_decref(d);
  CHECK(e->override == NULL);
  /* An override without end survives restarts and lasts. */
  o.until = -1;
  o.set_at = pb_clock_now();
  CHECK_INT(sched_override_set(e, &o), 0);
  restart(&v);
  set_now("2027-06-01T00:00:00+02:00");
  m = fake_mark();
  sched_republish_all(&v.s);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "cause"), "override");
  json_decref(d);
  CHECK(fake_last_text(m, "ext/main/2000/override") != NULL);
  finish(&v);
}

/* Only the extension whose boundary came is evaluated: with 2000
 * extensions, each boundary publishes one decision. */
static void boundary_cost_is_per_extension(void) {
  struct env v;
  fresh(&v);
  set_now("2026-11-23T07:00:00+01:00");
  for (int i = 0; i < 2000; i++) {
    char ext[16];
    snprintf(ext, sizeof ext, "%d", 10000 + i);
    struct sched_ext *e = sched_ext_get(&v.s, "main", ext, true);
    struct pb_slot s[] = {slot("2026-11-23T08:00:00+01:00",
                               "2026-11-23T09:00:00+01:00", PB_PRESENCE_AWAY,
                               0)};
    s[0].start += i; /* one extension per second from 08:00 */
    set_plan(e, s, 1);
    sched_evaluate(e, false);
  }
  sched_store_flush(&v.s);
  CHECK(pb_loop_timer_count(v.loop) >= 2000);
  size_t m = fake_mark();
  set_now("2026-11-23T08:00:05+01:00");
  turn(v.loop);
  size_t published = 0;
  for (size_t i = m; i < fake_count; i++)
    published += strstr(fake_msgs[i].topic, "/desired") != NULL;
  CHECK_INT(published, 6); /* 08:00:00 .. 08:00:05 */
  finish(&v);
}

static void clock_jumps_rearm(void) {
  struct env v;
  fresh(&v);
  set_now("2026-11-23T07:00:00+01:00");
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  struct pb_slot s[] = {slot("2026-11-23T08:00:00+01:00",
                             "2026-11-23T09:00:00+01:00", PB_PRESENCE_AWAY, 0)};
  set_plan(e, s, 1);
  sched_evaluate(e, false);
  /* NTP steps the clock forward into the slot, then back before it. */
  size_t m = fake_mark();
  set_now("2026-11-23T08:30:00+01:00");
  sched_clock_jumped(&v.s);
  json_t *d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "status"), "away");
  json_decref(d);
  CHECK_INT(pb_timer_when(e->timer), at("2026-11-23T09:00:00+01:00") * 1000);
  m = fake_mark();
  set_now("2026-11-23T07:30:00+01:00");
  sched_clock_jumped(&v.s);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "status"), "available");
  json_decref(d);
  CHECK_INT(pb_timer_when(e->timer), at("2026-11-23T08:00:00+01:00") * 1000);
  finish(&v);
}

/* Daily 08:00-17:00 slots over the Paris spring-forward weekend, followed
 * timer by timer: each change is published at the right instant, with the
 * offset in force then. */
static void dst_weekend_timer_by_timer(void) {
  struct env v;
  fresh(&v);
  struct pb_slot s[3];
  for (int i = 0; i < 3; i++) {
    struct pb_civil c = {.year = 2026, .month = 3, .day = 28 + i, .hour = 8};
    s[i] = slot("2026-03-28T08:00:00+01:00", "2026-03-28T17:00:00+01:00",
                PB_PRESENCE_BUSINESS_TRIP, 0);
    s[i].start = pb_tz_local_to_utc(v.tz, &c);
    c.hour = 17;
    s[i].end = pb_tz_local_to_utc(v.tz, &c);
    snprintf(s[i].uid, sizeof s[i].uid, "weekly:%d", i);
  }
  set_now("2026-03-28T18:00:00+01:00");
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  set_plan(e, s, 3);
  sched_evaluate(e, false);
  const char *expect[] = {
      "2026-03-29T08:00:00+02:00", "2026-03-29T17:00:00+02:00",
      "2026-03-30T08:00:00+02:00", "2026-03-30T17:00:00+02:00"};
  for (int k = 0; k < 4; k++) {
    CHECK(pb_timer_armed(e->timer));
    size_t m = fake_mark();
    pb_clock_set_fixed(pb_timer_when(e->timer));
    turn(v.loop);
    json_t *d = fake_last(m, DESIRED);
    CHECK_STR(field(d, "since"), expect[k]);
    json_decref(d);
  }
  CHECK(!pb_timer_armed(e->timer));
  finish(&v);
}

static void settings_checked_applied_persisted(void) {
  struct env v;
  fresh(&v);
  set_now("2026-11-23T07:00:00+01:00");
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", true);
  sched_evaluate(e, false);
  char err[256];
  struct sched_settings_change c;
  /* Refused whole, naming the problem. */
  const struct {
    const char *json, *error;
  } bad[] = {
      {"{\"default_status\":\"holiday\"}", "unknown status 'holiday'"},
      {"{\"timezone\":\"Mars/Olympus\"}", "unknown time zone 'Mars/Olympus'"},
      {"{\"timezone\":\"../../etc/passwd\"}", "unknown time zone"},
      {"{\"planning\":\"maybe\"}", "'on' or 'off'"},
      {"{\"default_status\":\"away\",\"colour\":\"red\"}",
       "unknown field 'colour'"},
      {"{}", "nothing to change"},
      {"[1]", "JSON object"},
      {"{\"default_status\":3}", "a status or null"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *j = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
    err[0] = '\0';
    CHECK(sched_settings_parse(&v.s, j, false, &c, err, sizeof err) != 0);
    if (!strstr(err, bad[i].error))
      fprintf(stderr, "settings %s: error '%s' lacks '%s'\n", bad[i].json, err,
              bad[i].error);
    CHECK(strstr(err, bad[i].error) != NULL);
    json_decref(j);
  }
  CHECK_INT(e->default_status, PB_PRESENCE_NONE);
  /* Own default status and time zone. */
  json_t *j = json_loads(
      "{\"default_status\":\"off\",\"timezone\":\"America/New_York\","
      "\"by\":\"admin\"}",
      0, NULL);
  CHECK_INT(sched_settings_parse(&v.s, j, false, &c, err, sizeof err), 0);
  json_decref(j);
  size_t m = fake_mark();
  CHECK_INT(sched_settings_apply(e, &c), 0);
  json_t *d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "status"), "off_work");
  CHECK_STR(field(d, "cause"), "default");
  /* 07:00 in Paris is 01:00 in New York: times carry that offset. */
  CHECK_STR(field(d, "since"), "2026-11-23T01:00:00-05:00");
  json_decref(d);
  json_t *st = fake_last(m, "ext/main/2000/settings");
  CHECK_STR(field(st, "default_status"), "off_work");
  CHECK_STR(field(st, "timezone"), "America/New_York");
  CHECK_STR(field(st, "planning"), "on");
  CHECK_STR(field(json_object_get(st, "effective"), "timezone"),
            "America/New_York");
  json_decref(st);
  json_t *ev = fake_last(m, "events/settings");
  CHECK_STR(field(ev, "by"), "admin");
  CHECK_INT(json_array_size(json_object_get(ev, "changed")), 2);
  json_decref(ev);
  /* Persisted. */
  restart(&v);
  e = sched_ext_get(&v.s, "main", "2000", false);
  CHECK(e != NULL);
  CHECK_INT(e->default_status, PB_PRESENCE_OFF_WORK);
  CHECK_STR(e->tz_name, "America/New_York");
  CHECK_INT(sched_default_of(e), PB_PRESENCE_OFF_WORK);
  /* Back to the service's defaults with null. */
  j = json_loads(
      "{\"default_status\":null,\"timezone\":null,\"planning\":false}", 0,
      NULL);
  CHECK_INT(sched_settings_parse(&v.s, j, false, &c, err, sizeof err), 0);
  json_decref(j);
  m = fake_mark();
  CHECK_INT(sched_settings_apply(e, &c), 0);
  d = fake_last(m, DESIRED);
  CHECK_STR(field(d, "cause"), "planning_off");
  CHECK_STR(field(d, "since"), "2026-11-23T07:00:00+01:00");
  json_decref(d);
  CHECK_STR(fake_last_text(m, "ext/main/2000/planning"), "off");
  st = fake_last(m, "ext/main/2000/settings");
  CHECK(json_is_null(json_object_get(st, "default_status")));
  CHECK_STR(field(json_object_get(st, "effective"), "default_status"),
            "available");
  CHECK_STR(field(json_object_get(st, "effective"), "timezone"),
            "Europe/Paris");
  json_decref(st);
  restart(&v);
  e = sched_ext_get(&v.s, "main", "2000", false);
  CHECK(e->planning_off);
  CHECK(e->tz_name == NULL);
  finish(&v);
}

/* A database written by the foundation (schema 1, schedules as JSON) is
 * converted, and its schedule is still known. */
static void migrates_version_1(void) {
  char dir[64];
  snprintf(dir, sizeof dir, "%s", fake_tmpdir());
  char path[128];
  snprintf(path, sizeof path, "%s/scheduler.db", dir);
  static const struct pb_migration v1[] = {
      {1,
       "CREATE TABLE extensions (site TEXT NOT NULL, ext TEXT NOT NULL,"
       " planning_on INTEGER NOT NULL DEFAULT 1, schedule TEXT, desired TEXT,"
       " PRIMARY KEY (site, ext));"
       "CREATE TABLE overrides (site TEXT NOT NULL, ext TEXT NOT NULL,"
       " status TEXT NOT NULL, until INTEGER, reason TEXT NOT NULL DEFAULT '',"
       " by_who TEXT NOT NULL DEFAULT '', set_at INTEGER NOT NULL,"
       " PRIMARY KEY (site, ext));"
       "INSERT INTO extensions(site, ext, planning_on, schedule) VALUES "
       "('main', '2000', 0, "
       "'{\"horizon\":{\"start\":\"2026-11-23T00:00:00+01:00\","
       "\"end\":\"2026-12-07T00:00:00+01:00\"},\"slots\":[{\"start\":"
       "\"2026-11-23T08:00:00+01:00\",\"end\":\"2026-11-23T12:00:00+01:00\","
       "\"status\":\"lunch\",\"priority\":2,\"source\":\"weekly\",\"uid\":\"w:"
       "1\","
       "\"summary\":\"\"}]}')"},
  };
  struct pb_store *st;
  CHECK_INT(pb_store_open(path, v1, 1, &st), 0);
  pb_store_close(st);
  struct env v;
  memset(&v, 0, sizeof v);
  snprintf(v.dir, sizeof v.dir, "%s", dir);
  start(&v);
  struct sched_ext *e = sched_ext_get(&v.s, "main", "2000", false);
  CHECK(e && e->plan && e->plan->count == 1);
  if (e && e->plan && e->plan->count == 1) {
    CHECK_INT(e->plan->slots[0].start, at("2026-11-23T08:00:00+01:00"));
    CHECK_INT(e->plan->slots[0].priority, 2);
    CHECK_INT(e->plan->horizon_end, at("2026-12-07T00:00:00+01:00"));
    CHECK_INT(e->plan->slots[0].status, PB_PRESENCE_LUNCH);
  }
  CHECK(e && e->planning_off);
  finish(&v);
}

int main(void) {
  RUN(boundary_fires_at_its_second);
  RUN(since_follows_the_rules);
  RUN(override_expires_exactly_and_after_restart);
  RUN(boundary_cost_is_per_extension);
  RUN(clock_jumps_rearm);
  RUN(dst_weekend_timer_by_timer);
  RUN(settings_checked_applied_persisted);
  RUN(migrates_version_1);
  fake_reset();
  return CHECK_DONE();
}
