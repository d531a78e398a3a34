/* The Open API token of a site (services/yeastar-gateway/pbx_token.c)
 * against a fake PBX. P-Series rules (the vendor's developer guide,
 * "Authorization Rule", "Get Access Token"): an access token lives
 * 30 min, a refresh token 24 h, and an application may hold at most 8 valid
 * access tokens; past that, get_token fails until one expires or is
 * revoked. So the gateway logs in once, keeps the pair across restarts,
 * refreshes 5 min ahead of expiry (at 80 % of a short lifetime), retries a
 * request once on an expired token, and counts every token that may be live
 * (a login whose answer was lost, a pair given up while still valid) in a
 * ledger: at PBX_MAX_TOKENS it does not log in until the first expires. */
#include "test_gw_fake.h"

static const char *const numbers[] = {"101"};
static const char *const shown[] = {"available"};

static void login_once_then_reuse(void) {
  struct env v;
  env_new(&v, false);
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 1);
  CHECK_INT(s->logins, 1);
  CHECK_INT(s->token_state, TOKEN_VALID);
  CHECK_INT(gw_token_live(s), 1);
  /* Requests carry it in the query string. */
  gw_directory_read(s, false);
  struct fake_req *r = fake_next("extension/list");
  CHECK(r && strcmp(r->token, "tok-1") == 0);
  fake_answer_list(r, numbers, shown, 1);
  /* A restart reuses the stored pair: no login. */
  env_restart(&v);
  size_t rmark = fake_nreqs;
  s = site_start(&v, "main");
  CHECK_INT(fake_sent(rmark, "get_token"), 0);
  r = fake_next("extension/list");
  CHECK(r && strcmp(r->token, "tok-1") == 0);
  CHECK_INT(gw_token_live(s), 1);
  env_free(&v);
}

static void refresh_ahead_of_expiry(void) {
  struct env v;
  env_new(&v, false);
  fake_auto_tokens = false;
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 1);
  /* 30 min: refreshed 5 min ahead, not a second earlier. */
  advance_ms(&v, 1499 * 1000LL);
  CHECK_INT(fake_pending("refresh_token"), 0);
  advance_ms(&v, 1000);
  struct fake_req *r = fake_next("refresh_token");
  CHECK(r && r->body && strstr(r->body, "\"refresh-tok-1\""));
  CHECK_INT(fake_pending("get_token"), 0);
  /* A short lifetime (100 s): refreshed at 80 %. */
  fake_answer_token(r, "tok-2", 100);
  CHECK_INT(s->refreshes, 1);
  advance_ms(&v, 79 * 1000);
  CHECK_INT(fake_pending("refresh_token"), 0);
  advance_ms(&v, 1000);
  r = fake_next("refresh_token");
  CHECK(r && r->body && strstr(r->body, "\"refresh-tok-2\""));
  fake_answer_token(r, "tok-3", 1800);
  gw_directory_read(s, false);
  r = fake_next("extension/list");
  CHECK(r && strcmp(r->token, "tok-3") == 0);
  CHECK_INT(s->logins, 1);
  CHECK_INT(s->refreshes, 2);
  fake_auto_tokens = true;
  env_free(&v);
}

/* errcode 10004: the request goes again once, with a fresh token; a second
 * refusal is the request's failure. */
static void expired_token_retried_once(void) {
  struct env v;
  env_new(&v, false);
  fake_auto_tokens = false;
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 1);
  desire(s, "101", PB_PRESENCE_AWAY, -1, PB_PRESENCE_NONE);
  struct fake_req *r = fake_next("extension/update");
  CHECK(r && strcmp(r->token, "tok-1") == 0);
  fake_answer_errcode(r, GW_ERRCODE_TOKEN_EXPIRED);
  CHECK_INT(fake_pending("extension/update"), 0);
  fake_answer_token(fake_next("refresh_token"), "tok-2", 1800);
  r = fake_next("extension/update");
  CHECK(r && strcmp(r->token, "tok-2") == 0);
  size_t mark = fake_mark();
  fake_answer_errcode(r, GW_ERRCODE_TOKEN_EXPIRED);
  CHECK_INT(fake_n(mark, "events/apply_failed"), 1);
  CHECK_INT(gw_ext_get(s, "101")->attempts, 1);
  fake_auto_tokens = true;
  env_free(&v);
}

/* Logins whose answers were lost may each have created a token: eight of
 * them and the gateway waits until the first would have expired. */
static void lost_logins_reach_the_cap(void) {
  struct env v;
  env_new(&v, false);
  fake_auto_tokens = false;
  struct gw_site *s = site_start(&v, "main");
  int64_t first_lost = 0;
  for (int i = 0; i < 8; i++) {
    struct fake_req *r = fake_next("get_token");
    CHECK(r != NULL);
    if (!r)
      break;
    if (i == 0)
      first_lost = pb_clock_now();
    fake_fail(r, PB_HTTP_FAIL_TIMEOUT);
    CHECK_INT(gw_token_live(s), i + 1);
    CHECK(s->down);
    /* The PBX answers the next probe (without a token: errcode 10002). */
    advance_ms(&v, 6000);
    struct fake_req *probe = fake_next("extension/list");
    CHECK(probe && strcmp(probe->query, "page=1&page_size=1") == 0);
    fake_answer_errcode(probe, GW_ERRCODE_INVALID_TOKEN);
    CHECK(!s->down);
  }
  /* The ninth login is not sent: 8 may be live. */
  CHECK_INT(fake_pending("get_token"), 0);
  CHECK_STR(s->state, "token_limit");
  CHECK(strstr(s->error, "PBX_MAX_TOKENS=8") != NULL);
  /* Until the first of them expires (30 min after its login). */
  int64_t wait_ms = (first_lost + 1800 + 1) * 1000 - pb_clock_now_ms();
  advance_ms(&v, wait_ms - 1000);
  CHECK_INT(fake_pending("get_token"), 0);
  advance_ms(&v, 1000);
  CHECK_INT(gw_token_live(s), 7);
  CHECK_INT(fake_pending("get_token"), 1);
  fake_answer_token(fake_next("get_token"), "tok-9", 1800);
  CHECK_INT(s->token_state, TOKEN_VALID);
  CHECK_INT(gw_token_live(s), 8);
  fake_auto_tokens = true;
  env_free(&v);
}

/* A refused refresh gives up a token that is still valid: it counts until
 * it expires, beside the new login's. */
static void given_up_tokens_count(void) {
  struct env v;
  env_new(&v, false);
  fake_auto_tokens = false;
  struct gw_site *s = site_ready(&v, "main", numbers, shown, 1);
  advance_ms(&v, 1500 * 1000LL);
  fake_answer_errcode(fake_next("refresh_token"), GW_ERRCODE_INVALID_TOKEN);
  CHECK_INT(gw_token_live(s), 1); /* the old one, in the ledger */
  fake_answer_token(fake_next("get_token"), "tok-2", 1800);
  CHECK_INT(s->logins, 2);
  CHECK_INT(gw_token_live(s), 2);
  /* Until the old one's 30 min are over. */
  advance_ms(&v, 300 * 1000LL);
  CHECK_INT(gw_token_live(s), 1);
  fake_auto_tokens = true;
  env_free(&v);
}

/* The PBX's own count says no (errcode 10005: another program may use the
 * same client id): the site says so and tries again in 5 min. */
static void pbx_limit_waits(void) {
  struct env v;
  env_new(&v, false);
  fake_auto_tokens = false;
  struct gw_site *s = site_start(&v, "main");
  size_t mark = fake_mark();
  fake_answer_errcode(fake_next("get_token"), GW_ERRCODE_TOKEN_LIMIT);
  CHECK_STR(s->state, "token_limit");
  CHECK_INT(fake_n(mark, "events/pbx_error"), 1);
  CHECK_INT(gw_token_live(s), 0);
  advance_ms(&v, 299 * 1000LL);
  CHECK_INT(fake_pending("get_token"), 0);
  advance_ms(&v, 1000);
  fake_answer_token(fake_next("get_token"), "tok-2", 1800);
  CHECK_INT(s->token_state, TOKEN_VALID);
  /* The directory read waited for it; then the site is "ok" again. */
  fake_answer_list(fake_next("extension/list"), numbers, shown, 1);
  CHECK_STR(s->state, "ok");
  CHECK_INT(fake_n(mark, "events/pbx_recovered"), 1);
  fake_auto_tokens = true;
  env_free(&v);
}

int main(void) {
  pb_log_init("test", PB_LOG_ERROR);
  RUN(login_once_then_reuse);
  RUN(refresh_ahead_of_expiry);
  RUN(expired_token_retried_once);
  RUN(lost_logins_reach_the_cap);
  RUN(given_up_tokens_count);
  RUN(pbx_limit_waits);
  return CHECK_DONE();
}
