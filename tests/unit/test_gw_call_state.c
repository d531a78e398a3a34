/* The call state (services/yeastar-gateway/call_state.c), pure: PBX events
 * 30007, 30008, 30011 and the CDR (30012) in, each extension's call state
 * and the site's calls out. Every transition of the vendor's member
 * statuses (ALERT, RING, EARLYMEDIA, ANSWERED, ANSWER, HOLD, BYE), events
 * out of order (ANSWER before RING, the CDR before BYE, a late RING after
 * ANSWER), copies (the webhook relay after the feed), unknown extensions,
 * malformed events, and the ways a call ends: BYE, the CDR, 30008 Idle and
 * the stale limit. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gateway.h"
#include "pb/json.h"
#include "pb/log.h"

#define T0 1763885000000LL /* ms */

static bool known(void *ud, const char *number, unsigned *online) {
  (void)ud;
  *online = strcmp(number, "2000") == 0 ? 1u : 0u; /* sip_phone */
  return strcmp(number, "2000") == 0 || strcmp(number, "2001") == 0 ||
         strcmp(number, "2002") == 0;
}

/* Where the next events come from: feed connection 1 unless a test says
 * otherwise (GW_SOURCE_RELAY: the webhook relay). */
static unsigned source = 1;

/* Applies one event given as the PBX's JSON; returns the core's result. */
static int ev(struct gw_callstate *c, int64_t at, const char *json, char *err) {
  char perr[256];
  json_t *j = pb_json_parse(json, strlen(json), perr, sizeof perr);
  struct pb_pbx_event e = {0};
  if (!j || pb_pbx_event_from_json(j, &e, perr, sizeof perr)) {
    fprintf(stderr, "test event does not parse: %s\n", perr);
    json_decref(j);
    return -100;
  }
  err[0] = 0;
  int rc = gw_callstate_event(c, &e, source, at, err, 256);
  pb_pbx_event_cleanup(&e);
  json_decref(j);
  return rc;
}

/* 30011 with members "kind:number:STATUS", ... */
static int call(struct gw_callstate *c, int64_t at, const char *id,
                const char *m1, const char *m2) {
  char json[1024], members[800] = "", err[256];
  const char *ms[] = {m1, m2};
  for (int i = 0; i < 2; i++) {
    if (!ms[i])
      continue;
    char kind[16], num[32], st[16];
    if (sscanf(ms[i], "%15[^:]:%31[^:]:%15s", kind, num, st) != 3)
      return -100;
    char one[300];
    if (strcmp(kind, "extension") == 0)
      snprintf(one, sizeof one,
               "{\"extension\":{\"number\":\"%s\",\"channel_id\":\"c%d\","
               "\"member_status\":\"%s\"}}",
               num, i, st);
    else if (strcmp(kind, "inbound") == 0)
      snprintf(one, sizeof one,
               "{\"inbound\":{\"from\":\"%s\",\"to\":\"5500\",\"trunk_name\":"
               "\"SIP-Orange\",\"channel_id\":\"c%d\",\"member_status\":"
               "\"%s\"}}",
               num, i, st);
    else
      snprintf(one, sizeof one,
               "{\"outbound\":{\"from\":\"2000\",\"to\":\"%s\",\"trunk_name\":"
               "\"SIP-Out\",\"channel_id\":\"c%d\",\"member_status\":\"%s\"}}",
               num, i, st);
    size_t used = strlen(members);
    snprintf(members + used, sizeof members - used, "%s%s", used ? "," : "",
             one);
  }
  /* msg as the JSON-encoded string the PBX sends */
  char inner[1000];
  snprintf(inner, sizeof inner, "{\"call_id\":\"%s\",\"members\":[%s]}", id,
           members);
  json_t *env = json_pack("{s:i,s:s,s:s}", "type", 30011, "sn", "3631A2124XXX",
                          "msg", inner);
  char *text = pb_json_dump(env);
  snprintf(json, sizeof json, "%s", text);
  free(text);
  json_decref(env);
  return ev(c, at, json, err);
}

static enum pb_call_state state_of(struct gw_callstate *c, const char *ext) {
  struct pb_call_state_msg m;
  return gw_callstate_ext(c, ext, &m) ? m.state : (enum pb_call_state) - 1;
}

static void drain(struct gw_callstate *c) {
  char n[PB_NUMBER_MAX];
  struct pb_call_state_msg m;
  while (gw_callstate_next_changed(c, n, sizeof n, &m))
    ;
  gw_callstate_take_site_changed(c);
}

static size_t changed(struct gw_callstate *c) {
  char n[PB_NUMBER_MAX];
  struct pb_call_state_msg m;
  size_t k = 0;
  while (gw_callstate_next_changed(c, n, sizeof n, &m))
    k++;
  return k;
}

static struct gw_callstate *fresh(void) {
  struct gw_callstate *c = gw_callstate_new(known, NULL);
  CHECK(c != NULL);
  return c;
}

static void inbound_ring_answer_hold_bye(void) {
  struct gw_callstate *c = fresh();
  CHECK_INT(
      call(c, T0, "1.1", "inbound:+33123456789:ALERT", "extension:2000:RING"),
      0);
  struct pb_call_state_msg m;
  CHECK(gw_callstate_ext(c, "2000", &m));
  CHECK_INT(m.state, PB_CALL_RINGING);
  CHECK_STR(m.call_id, "1.1");
  CHECK_INT(m.direction, PB_DIR_INBOUND);
  CHECK_STR(m.peer, "+33123456789");
  CHECK_STR(m.trunk, "SIP-Orange");
  CHECK_INT(m.since, T0 / 1000);
  CHECK_INT(m.registered, 1); /* from the directory */
  CHECK(gw_callstate_take_site_changed(c));
  struct pb_site_calls sc;
  CHECK_INT(gw_callstate_site(c, "main", T0, &sc), 0);
  CHECK_INT(sc.count, 1);
  CHECK_INT(sc.calls[0].state, PB_CALL_RINGING);
  CHECK_STR(sc.calls[0].from, "+33123456789");
  CHECK_STR(sc.calls[0].to, "2000");
  CHECK_INT(sc.calls[0].answered, -1);
  CHECK_INT(sc.calls[0].n_members, 2);
  pb_site_calls_cleanup(&sc);
  drain(c);

  CHECK_INT(call(c, T0 + 5000, "1.1", "inbound:+33123456789:ANSWERED",
                 "extension:2000:ANSWER"),
            0);
  CHECK(gw_callstate_ext(c, "2000", &m));
  CHECK_INT(m.state, PB_CALL_TALKING);
  CHECK_INT(m.since, (T0 + 5000) / 1000);
  CHECK_INT(gw_callstate_site(c, "main", T0, &sc), 0);
  CHECK_INT(sc.calls[0].state, PB_CALL_TALKING);
  CHECK_INT(sc.calls[0].answered, (T0 + 5000) / 1000);
  CHECK_INT(sc.calls[0].started, T0 / 1000);
  pb_site_calls_cleanup(&sc);

  CHECK_INT(call(c, T0 + 9000, "1.1", "extension:2000:HOLD", NULL), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_HOLD);
  CHECK_INT(gw_callstate_site(c, "main", T0, &sc), 0);
  CHECK_INT(sc.calls[0].state, PB_CALL_HOLD);
  pb_site_calls_cleanup(&sc);
  CHECK_INT(call(c, T0 + 19000, "1.1", "extension:2000:ANSWER", NULL), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);

  drain(c);
  CHECK_INT(call(c, T0 + 60000, "1.1", "inbound:+33123456789:BYE",
                 "extension:2000:BYE"),
            0);
  CHECK(gw_callstate_ext(c, "2000", &m));
  CHECK_INT(m.state, PB_CALL_IDLE);
  CHECK_STR(m.call_id, "");
  CHECK_INT(m.direction, PB_DIR_NONE);
  CHECK_INT(changed(c), 1);
  CHECK_INT(gw_callstate_count(c), 0);
  CHECK(gw_callstate_take_site_changed(c));
  CHECK_INT(gw_callstate_site(c, "main", T0, &sc), 0);
  CHECK_INT(sc.count, 0);
  pb_site_calls_cleanup(&sc);
  /* one side's BYE is enough to end a two-party call */
  CHECK_INT(
      call(c, T0 + 70000, "1.2", "extension:2000:ALERT", "extension:2001:RING"),
      0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_DIALING);
  CHECK_INT(state_of(c, "2001"), PB_CALL_RINGING);
  CHECK_INT(call(c, T0 + 72000, "1.2", "extension:2000:BYE", NULL), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_IDLE);
  CHECK_INT(state_of(c, "2001"), PB_CALL_IDLE);
  CHECK_INT(gw_callstate_count(c), 0);
  gw_callstate_free(c);
}

static void outbound_and_internal(void) {
  struct gw_callstate *c = fresh();
  CHECK_INT(call(c, T0, "2.1", "extension:2000:ALERT",
                 "outbound:0612345678:EARLYMEDIA"),
            0);
  struct pb_call_state_msg m;
  CHECK(gw_callstate_ext(c, "2000", &m));
  CHECK_INT(m.state, PB_CALL_DIALING);
  CHECK_INT(m.direction, PB_DIR_OUTBOUND);
  CHECK_STR(m.peer, "0612345678");
  CHECK_STR(m.trunk, "SIP-Out");
  struct pb_site_calls sc;
  CHECK_INT(gw_callstate_site(c, "main", T0, &sc), 0);
  CHECK_STR(sc.calls[0].from, "2000");
  CHECK_STR(sc.calls[0].to, "0612345678");
  CHECK_INT(sc.calls[0].members[1].kind, PB_MEMBER_OUTBOUND);
  CHECK_INT(sc.calls[0].members[1].state, PB_CALL_RINGING);
  pb_site_calls_cleanup(&sc);
  CHECK_INT(call(c, T0 + 3000, "2.1", "extension:2000:ANSWERED",
                 "outbound:0612345678:ANSWER"),
            0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);

  /* internal: 2001 calls 2002; both are extensions of the site */
  CHECK_INT(
      call(c, T0 + 4000, "2.2", "extension:2001:ALERT", "extension:2002:RING"),
      0);
  CHECK(gw_callstate_ext(c, "2002", &m));
  CHECK_INT(m.direction, PB_DIR_INTERNAL);
  CHECK_STR(m.peer, "2001");
  CHECK_STR(m.trunk, "");
  CHECK_INT(call(c, T0 + 6000, "2.2", "extension:2001:ANSWERED",
                 "extension:2002:ANSWER"),
            0);
  CHECK_INT(gw_callstate_site(c, "main", T0, &sc), 0);
  CHECK_INT(sc.count, 2);
  CHECK_STR(sc.calls[1].call_id, "2.2"); /* the oldest first */
  CHECK_STR(sc.calls[1].from, "2001");
  CHECK_STR(sc.calls[1].to, "2002");
  CHECK_INT(sc.calls[1].direction, PB_DIR_INTERNAL);
  pb_site_calls_cleanup(&sc);
  gw_callstate_free(c);
}

static void out_of_order_and_copies(void) {
  struct gw_callstate *c = fresh();
  /* ANSWER before RING: talking at once; the late RING changes nothing */
  CHECK_INT(
      call(c, T0, "3.1", "inbound:+33111:ANSWERED", "extension:2000:ANSWER"),
      0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  drain(c);
  CHECK_INT(
      call(c, T0 + 100, "3.1", "inbound:+33111:ALERT", "extension:2000:RING"),
      GW_CALLSTATE_DUPLICATE);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  CHECK_INT(changed(c), 0);
  CHECK(!gw_callstate_take_site_changed(c));
  /* the same event twice (feed and webhook relay): once */
  CHECK_INT(call(c, T0 + 2000, "3.1", "extension:2000:HOLD", NULL), 0);
  CHECK_INT(changed(c), 1);
  source = GW_SOURCE_RELAY;
  CHECK_INT(call(c, T0 + 2050, "3.1", "extension:2000:HOLD", NULL),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(changed(c), 0);
  /* the relay's late copy of the earlier ANSWER does not take it off
   * hold... */
  CHECK_INT(call(c, T0 + 2100, "3.1", "extension:2000:ANSWER", NULL),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(state_of(c, "2000"), PB_CALL_HOLD);
  /* ...the unhold the relay brings (its second ANSWER) does */
  CHECK_INT(call(c, T0 + 7000, "3.1", "extension:2000:ANSWER", NULL), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  /* and the feed's own unhold, late, changes nothing more */
  source = 1;
  CHECK_INT(call(c, T0 + 7100, "3.1", "extension:2000:ANSWER", NULL),
            GW_CALLSTATE_DUPLICATE);
  /* from one source, events are in order: a quick hold and unhold count */
  source = 1;
  CHECK_INT(call(c, T0 + 9000, "3.1", "extension:2000:HOLD", NULL), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_HOLD);
  CHECK_INT(call(c, T0 + 9100, "3.1", "extension:2000:ANSWER", NULL), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  /* the relay's copies of both, late: nothing moves */
  source = GW_SOURCE_RELAY;
  CHECK_INT(call(c, T0 + 9200, "3.1", "extension:2000:HOLD", NULL),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(call(c, T0 + 9300, "3.1", "extension:2000:ANSWER", NULL),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  /* another connection of the feed (after a token change) is another
   * source too */
  source = 2;
  CHECK_INT(call(c, T0 + 9400, "3.1", "extension:2000:HOLD", NULL),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  source = 1;
  /* the CDR before BYE ends the call; the late BYE and RING change nothing
   * and the CDR comes once */
  CHECK(gw_callstate_cdr(c, "3.1", T0 + 30000));
  CHECK_INT(state_of(c, "2000"), PB_CALL_IDLE);
  CHECK_INT(gw_callstate_count(c), 0);
  drain(c);
  CHECK(!gw_callstate_cdr(c, "3.1", T0 + 30100));
  CHECK_INT(
      call(c, T0 + 30200, "3.1", "inbound:+33111:BYE", "extension:2000:BYE"),
      GW_CALLSTATE_DUPLICATE);
  CHECK_INT(
      call(c, T0 + 30300, "3.1", "inbound:+33111:ALERT", "extension:2000:RING"),
      GW_CALLSTATE_DUPLICATE);
  CHECK_INT(state_of(c, "2000"), PB_CALL_IDLE);
  CHECK_INT(changed(c), 0);
  /* a CDR for a call never seen is published once too */
  CHECK(gw_callstate_cdr(c, "3.9", T0));
  CHECK(!gw_callstate_cdr(c, "3.9", T0));
  /* BYE then a CDR: the CDR still comes (once) */
  CHECK_INT(
      call(c, T0 + 40000, "3.2", "extension:2000:ALERT", "extension:2001:RING"),
      0);
  CHECK_INT(
      call(c, T0 + 41000, "3.2", "extension:2000:BYE", "extension:2001:BYE"),
      0);
  CHECK(gw_callstate_cdr(c, "3.2", T0 + 41100));
  CHECK(!gw_callstate_cdr(c, "3.2", T0 + 41200));
  gw_callstate_free(c);
}

static void two_calls_on_one_phone(void) {
  struct gw_callstate *c = fresh();
  CHECK_INT(
      call(c, T0, "4.1", "inbound:+331:ANSWERED", "extension:2000:ANSWER"), 0);
  /* call waiting: a second call rings while talking: still talking */
  CHECK_INT(
      call(c, T0 + 1000, "4.2", "inbound:+332:ALERT", "extension:2000:RING"),
      0);
  struct pb_call_state_msg m;
  CHECK(gw_callstate_ext(c, "2000", &m));
  CHECK_INT(m.state, PB_CALL_TALKING);
  CHECK_STR(m.call_id, "4.1");
  /* the first ends: the second shows */
  CHECK_INT(call(c, T0 + 2000, "4.1", "inbound:+331:BYE", NULL), 0);
  CHECK(gw_callstate_ext(c, "2000", &m));
  CHECK_INT(m.state, PB_CALL_RINGING);
  CHECK_STR(m.call_id, "4.2");
  CHECK_STR(m.peer, "+332");
  gw_callstate_free(c);
}

static void registration_and_ext_status(void) {
  struct gw_callstate *c = fresh();
  char err[256];
  CHECK_INT(ev(c, T0,
               "{\"type\":30007,\"sn\":\"x\",\"msg\":\"{\\\"extension\\\":"
               "\\\"2001\\\",\\\"kind\\\":\\\"Mobile\\\",\\\"status\\\":"
               "\\\"Registered\\\",\\\"registered_ip\\\":\\\"1.2.3.4\\\"}\"}",
               err),
            0);
  struct pb_call_state_msg m;
  CHECK(gw_callstate_ext(c, "2001", &m));
  CHECK_INT(m.registered, 1u << 2); /* linkus_mobile */
  CHECK_INT(m.state, PB_CALL_IDLE);
  CHECK_INT(changed(c), 1);
  /* the same again: nothing new */
  CHECK_INT(ev(c, T0,
               "{\"type\":30007,\"msg\":{\"extension\":\"2001\",\"kind\":"
               "\"Mobile\",\"status\":\"Registered\"}}",
               err),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(ev(c, T0,
               "{\"type\":30007,\"msg\":{\"extension\":\"2001\",\"kind\":"
               "\"Mobile\",\"status\":\"Unregistered\"}}",
               err),
            0);
  CHECK(gw_callstate_ext(c, "2001", &m));
  CHECK_INT(m.registered, 0);
  CHECK_INT(changed(c), 1);
  /* the directory read shows the devices too (a PBX without 30007) */
  CHECK(gw_callstate_registered(c, "2001", 1u | 4u, T0 + 1000));
  CHECK(gw_callstate_ext(c, "2001", &m));
  CHECK_INT(m.registered, 1u | 4u);
  CHECK_INT(changed(c), 1);
  CHECK(!gw_callstate_registered(c, "2001", 1u | 4u, T0 + 2000));
  CHECK_INT(changed(c), 0);
  CHECK(!gw_callstate_registered(c, "2099", 1u, T0 + 2000));
  CHECK_INT(gw_callstate_registered(c, "2001", 0, T0 + 3000), 1);
  CHECK_INT(changed(c), 1);
  /* 30008 alone: Ringing, Busy, then Idle */
  CHECK_INT(ev(c, T0,
               "{\"type\":30008,\"msg\":{\"extension\":\"2002\",\"status\":"
               "\"Ringing\"}}",
               err),
            0);
  CHECK_INT(state_of(c, "2002"), PB_CALL_RINGING);
  CHECK_INT(ev(c, T0,
               "{\"type\":30008,\"msg\":{\"extension\":\"2002\",\"status\":"
               "\"Busy\"}}",
               err),
            0);
  CHECK_INT(state_of(c, "2002"), PB_CALL_TALKING);
  CHECK_INT(ev(c, T0,
               "{\"type\":30008,\"msg\":{\"extension\":\"2002\",\"status\":"
               "\"Idle\"}}",
               err),
            0);
  CHECK_INT(state_of(c, "2002"), PB_CALL_IDLE);
  /* a 30008 Busy during a call is over with the call's BYE */
  CHECK_INT(call(c, T0, "5.0", "extension:2002:ALERT", "extension:2001:RING"),
            0);
  CHECK_INT(ev(c, T0,
               "{\"type\":30008,\"msg\":{\"extension\":\"2002\",\"status\":"
               "\"Busy\"}}",
               err),
            0);
  CHECK_INT(call(c, T0 + 1, "5.0", "extension:2002:BYE", "extension:2001:BYE"),
            0);
  CHECK_INT(state_of(c, "2002"), PB_CALL_IDLE);
  /* 30008 Idle ends the calls the phone was in (a lost BYE) */
  CHECK_INT(
      call(c, T0, "5.1", "inbound:+331:ANSWERED", "extension:2000:ANSWER"), 0);
  CHECK_INT(ev(c, T0 + 1000,
               "{\"type\":30008,\"msg\":{\"extension\":\"2000\",\"status\":"
               "\"Idle\"}}",
               err),
            0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_IDLE);
  CHECK_INT(gw_callstate_count(c), 0);
  gw_callstate_free(c);
}

static void unknown_and_malformed(void) {
  struct gw_callstate *c = fresh();
  char err[256];
  /* an extension not in the directory */
  CHECK_INT(ev(c, T0,
               "{\"type\":30008,\"msg\":{\"extension\":\"9999\",\"status\":"
               "\"Ringing\"}}",
               err),
            PB_ENOTFOUND);
  CHECK(strstr(err, "9999") != NULL);
  /* in a call: the call is listed, no extension state is made for it */
  CHECK_INT(call(c, T0, "6.1", "inbound:+331:ALERT", "extension:9999:RING"), 0);
  struct pb_call_state_msg m;
  CHECK(!gw_callstate_ext(c, "9999", &m));
  CHECK_INT(gw_callstate_count(c), 1);
  const struct {
    const char *json, *needle;
  } bad[] = {
      {"{\"type\":30011,\"msg\":{\"members\":[]}}", "call_id"},
      {"{\"type\":30011,\"msg\":{\"call_id\":\"x\"}}", "members"},
      {"{\"type\":30011,\"msg\":{\"call_id\":\"x\",\"members\":[{}]}}",
       "members[0]"},
      {"{\"type\":30011,\"msg\":{\"call_id\":\"x\",\"members\":[{"
       "\"extension\":{\"number\":\"2000\",\"member_status\":\"DANCING\"}}]}}",
       "DANCING"},
      {"{\"type\":30011,\"msg\":{\"call_id\":\"x\",\"members\":[{"
       "\"extension\":{\"member_status\":\"RING\"}}]}}",
       "number"},
      {"{\"type\":30011,\"msg\":{\"call_id\":\"\",\"members\":[{"
       "\"extension\":{\"number\":\"2000\",\"member_status\":\"RING\"}}]}}",
       "call_id"},
      {"{\"type\":30007,\"msg\":{\"extension\":\"2000\",\"kind\":\"Fax\","
       "\"status\":\"Registered\"}}",
       "kind"},
      {"{\"type\":30007,\"msg\":{\"extension\":\"2000\",\"kind\":\"Sip\","
       "\"status\":\"Maybe\"}}",
       "status"},
      {"{\"type\":30008,\"msg\":{\"extension\":\"2000\",\"status\":"
       "\"Sleeping\"}}",
       "Sleeping"},
      {"{\"type\":30008,\"msg\":{\"status\":\"Idle\"}}", "extension"},
      {"{\"type\":30012,\"msg\":{}}", "not a call event"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = ev(c, T0, bad[i].json, err);
    CHECK(rc < 0);
    if (!strstr(err, bad[i].needle))
      fprintf(stderr, "case %zu: '%s' does not name '%s'\n", i, err,
              bad[i].needle);
    CHECK(strstr(err, bad[i].needle) != NULL);
  }
  CHECK_INT(gw_callstate_count(c), 1); /* nothing changed by them */
  gw_callstate_free(c);
}

static void stale_end(void) {
  struct gw_callstate *c = fresh();
  int64_t stale = 14400LL * 1000;
  CHECK_INT(gw_callstate_next_expiry(c, stale), -1);
  CHECK_INT(
      call(c, T0, "7.1", "inbound:+331:ANSWERED", "extension:2000:ANSWER"), 0);
  char err[256];
  CHECK_INT(ev(c, T0 + 1000,
               "{\"type\":30008,\"msg\":{\"extension\":\"2001\",\"status\":"
               "\"Busy\"}}",
               err),
            0);
  CHECK_INT(gw_callstate_next_expiry(c, stale), T0 + stale);
  CHECK_INT(gw_callstate_expire(c, T0 + stale - 1, stale), 0);
  CHECK_INT(state_of(c, "2000"), PB_CALL_TALKING);
  drain(c);
  CHECK_INT(gw_callstate_expire(c, T0 + stale, stale), 1);
  CHECK_INT(state_of(c, "2000"), PB_CALL_IDLE);
  CHECK_INT(state_of(c, "2001"), PB_CALL_TALKING);
  CHECK_INT(gw_callstate_next_expiry(c, stale), T0 + 1000 + stale);
  CHECK_INT(gw_callstate_expire(c, T0 + 1000 + stale, stale), 1);
  CHECK_INT(state_of(c, "2001"), PB_CALL_IDLE);
  CHECK_INT(changed(c), 2);
  CHECK_INT(gw_callstate_next_expiry(c, stale), -1);
  /* the ended call does not come back */
  CHECK_INT(call(c, T0 + stale + 5, "7.1", "extension:2000:HOLD", NULL),
            GW_CALLSTATE_DUPLICATE);
  CHECK_INT(state_of(c, "2000"), PB_CALL_IDLE);
  gw_callstate_free(c);
}

/* The feed's URL (pbx_feed.c): the site's Open API URL, ws for http and
 * wss for https, the token as given; a token the PBX never makes is not
 * sent; nothing is cut short. */
static void feed_url(void) {
  char url[256];
  CHECK_INT(gw_feed_url("http://127.0.0.1:8088/openapi/v1.0/", "Abc123", url,
                        sizeof url),
            0);
  CHECK_STR(url,
            "ws://127.0.0.1:8088/openapi/v1.0/subscribe?access_token=Abc123");
  CHECK_INT(gw_feed_url("https://pbx.example.org/proxy/openapi/v1.0", "t", url,
                        sizeof url),
            0);
  CHECK_STR(
      url, "wss://pbx.example.org/proxy/openapi/v1.0/subscribe?access_token=t");
  CHECK_INT(
      gw_feed_url("https://pbx.example.org/openapi/v1.0/", "", url, sizeof url),
      0);
  CHECK_STR(url, "wss://pbx.example.org/openapi/v1.0/subscribe");
  CHECK_INT(gw_feed_url("ftp://pbx/openapi/v1.0/", "t", url, sizeof url),
            PB_EINVAL);
  CHECK_INT(gw_feed_url("http://pbx/openapi/v1.0/", "a&b=c", url, sizeof url),
            PB_EINVAL);
  CHECK_INT(gw_feed_url("http://pbx/openapi/v1.0/", "t", url, 20), PB_ETOOBIG);
  CHECK_STR(url, "");
}

int main(void) {
  pb_log_init("test_gw_call_state", PB_LOG_ERROR);
  RUN(inbound_ring_answer_hold_bye);
  RUN(outbound_and_internal);
  RUN(out_of_order_and_copies);
  RUN(two_calls_on_one_phone);
  RUN(registration_and_ext_status);
  RUN(unknown_and_malformed);
  RUN(stale_end);
  RUN(feed_url);
  return CHECK_DONE();
}
