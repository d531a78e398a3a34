/* Drift (services/yeastar-gateway/drift.c): a status changed on the PBX by
 * someone else. DRIFT_POLICY=respect keeps it until the next boundary of
 * the planning (across a restart), or until the desired status changes;
 * enforce puts the planned status back at once. Reads asked before our own
 * change landed, and PBX events just after it, are not drift
 * (docs/gateway.md, "Drift"). */
#include "test_gw_fake.h"

static const char *const numbers[] = {"101", "102"};
static const char *const shown[] = {"available", "available"};

#define DRIFT "events/drift"

static const char *field(const json_t *j, const char *key) {
  return pb_json_str(j, key);
}

static void respect_keeps_until_the_boundary(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "101");
  int64_t boundary = pb_clock_now() + 3600;
  size_t rmark = fake_nreqs, mark = fake_mark();
  desire(s, "101", PB_PRESENCE_AVAILABLE, boundary, PB_PRESENCE_AWAY);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0); /* shown already */
  /* Someone sets "do not disturb" on the phone. */
  gw_drift_observe(s, e, PB_PRESENCE_DO_NOT_DISTURB, 0, "pbx_event");
  CHECK_INT(e->drift_since, pb_clock_now());
  CHECK_INT(e->drift_until, boundary);
  CHECK_INT(fake_n(mark, DRIFT), 1);
  json_t *ev = fake_last(mark, DRIFT);
  CHECK_STR(field(ev, "action"), "kept");
  CHECK_STR(field(ev, "policy"), "respect");
  CHECK_STR(field(ev, "status"), "do_not_disturb");
  CHECK_STR(field(ev, "previous"), "available");
  CHECK_STR(field(ev, "desired"), "available");
  CHECK_STR(field(ev, "source"), "pbx_event");
  int64_t until = 0;
  CHECK(pb_time_parse_rfc3339(field(ev, "until"), &until) == 0 &&
        until == boundary);
  json_decref(ev);
  json_t *st = fake_last(mark, "ext/main/101/state");
  CHECK_STR(field(st, "status"), "do_not_disturb");
  CHECK(json_is_false(json_object_get(st, "in_sync")));
  CHECK(json_is_object(json_object_get(st, "drift")));
  json_decref(st);
  /* The same decision again (retained, a reconnect): still kept. */
  e = gw_ext_get(s, "101");
  struct pb_desired d = {.status = PB_PRESENCE_AVAILABLE,
                         .cause = PB_CAUSE_SCHEDULE,
                         .since = e->since,
                         .next_at = boundary,
                         .next_status = PB_PRESENCE_AWAY};
  gw_apply_set_desired(s, "101", &d);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  CHECK(e->drift_since > 0);
  /* A restart does not overwrite it: the PBX still shows the person's
   * choice and nothing is sent. */
  env_restart(&v);
  rmark = fake_nreqs;
  s = site_start(&v, "main");
  static const char *const dnd[] = {"do_not_disturb", "available"};
  fake_answer_list(fake_next("extension/list"), numbers, dnd, 2);
  e = gw_ext_get(s, "101");
  CHECK(e && e->drift_since > 0 && e->drift_until == boundary);
  /* The broker hands the retained desired status back: the same decision. */
  d.since = e->since;
  gw_apply_set_desired(s, "101", &d);
  CHECK(e->drift_since > 0);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  /* One second before the boundary: kept. At it: the planning's next
   * status goes out, and the drift ends. */
  mark = fake_mark();
  advance_ms(&v, (boundary - pb_clock_now()) * 1000 - 1000);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  advance_ms(&v, 1000);
  CHECK_INT(e->drift_since, 0);
  CHECK_INT(e->desired, PB_PRESENCE_AWAY);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "away");
  ev = fake_last(mark, DRIFT);
  CHECK_STR(field(ev, "action"), "ended");
  json_decref(ev);
  env_free(&v);
}

/* Without a boundary ahead, a kept change lasts until the planning or an
 * override decides something else. */
static void respect_ends_when_the_decision_changes(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "102");
  desire(s, "102", PB_PRESENCE_AVAILABLE, -1, PB_PRESENCE_NONE);
  size_t rmark = fake_nreqs, mark = fake_mark();
  gw_drift_observe(s, e, PB_PRESENCE_LUNCH, 0, "pbx_event");
  CHECK_INT(e->drift_until, -1);
  advance_ms(&v, 86400 * 1000LL);
  CHECK(e->drift_since > 0);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  desire(s, "102", PB_PRESENCE_OFF_WORK, -1, PB_PRESENCE_NONE);
  CHECK_INT(e->drift_since, 0);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "off_work");
  CHECK_INT(fake_n(mark, DRIFT), 2); /* kept, then ended */
  env_free(&v);
}

static void enforce_puts_it_back(void) {
  struct env v;
  env_new(&v, true);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "101");
  desire(s, "101", PB_PRESENCE_AVAILABLE, pb_clock_now() + 3600,
         PB_PRESENCE_AWAY);
  size_t rmark = fake_nreqs, mark = fake_mark();
  gw_drift_observe(s, e, PB_PRESENCE_DO_NOT_DISTURB, 0, "pbx_event");
  CHECK_INT(e->drift_since, 0); /* nothing kept */
  json_t *ev = fake_last(mark, DRIFT);
  CHECK_STR(field(ev, "action"), "enforced");
  CHECK_STR(field(ev, "policy"), "enforce");
  json_decref(ev);
  CHECK(e->in_outbox);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  CHECK_STR(fake_update_status(fake_next("extension/update")), "available");
  fake_answer_ok(fake_next("extension/update"));
  CHECK_INT(e->pbx_status, PB_PRESENCE_AVAILABLE);
  CHECK(!e->in_outbox);
  env_free(&v);
}

/* What the PBX said before our own change landed is not drift: a read-back
 * asked before it, an event within 2 s of it. Later, it is. */
static void stale_news_is_not_drift(void) {
  struct env v;
  env_new(&v, true);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "101");
  desire(s, "101", PB_PRESENCE_AWAY, -1, PB_PRESENCE_NONE);
  int64_t asked = pb_clock_now_ms();
  advance_ms(&v, 300);
  fake_answer_ok(fake_next("extension/update"));
  CHECK_INT(e->pbx_status, PB_PRESENCE_AWAY);
  size_t rmark = fake_nreqs, mark = fake_mark();
  gw_drift_observe(s, e, PB_PRESENCE_AVAILABLE, asked, "readback");
  advance_ms(&v, 1500);
  gw_drift_observe(s, e, PB_PRESENCE_AVAILABLE, 0, "pbx_event");
  CHECK_INT(e->pbx_status, PB_PRESENCE_AWAY);
  CHECK_INT(fake_n(mark, DRIFT), 0);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  /* A read asked after it, showing another status: enforced. */
  advance_ms(&v, 1000);
  gw_drift_observe(s, e, PB_PRESENCE_AVAILABLE, pb_clock_now_ms(), "readback");
  CHECK_INT(fake_n(mark, DRIFT), 1);
  CHECK_INT(fake_sent(rmark, "extension/update"), 1);
  env_free(&v);
}

/* Nothing imposed (planning off), or the first sight of an extension
 * since the start: the PBX's status is news, not drift. */
static void no_decision_no_drift(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 2);
  struct gw_ext *e = gw_ext_get(s, "102");
  size_t rmark = fake_nreqs, mark = fake_mark();
  gw_drift_observe(s, e, PB_PRESENCE_LUNCH, 0, "pbx_event");
  CHECK_INT(e->pbx_status, PB_PRESENCE_LUNCH);
  CHECK_INT(e->drift_since, 0);
  CHECK_INT(fake_n(mark, DRIFT), 0);
  CHECK_INT(fake_n(mark, "ext/main/102/state"), 1);
  CHECK_INT(fake_sent(rmark, "extension/update"), 0);
  env_free(&v);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(respect_keeps_until_the_boundary);
  RUN(respect_ends_when_the_decision_changes);
  RUN(enforce_puts_it_back);
  RUN(stale_news_is_not_drift);
  RUN(no_decision_no_drift);
  return CHECK_DONE();
}
