/* The Open API token of a site (P-Series "Get/Refresh/Revoke Access Token").
 * An application may hold at most 8 valid tokens, so the gateway logs in
 * once, keeps the pair sealed in its database across restarts, refreshes the
 * access token before it expires (5 min ahead, or at 80 % of a short
 * lifetime), and logs in again only when the refresh is refused. It never
 * holds more than PBX_MAX_TOKENS that may be live: a login whose answer was
 * lost may still have created a token, so it is counted (in a ledger kept
 * in the database) until that token would have expired. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/http.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/secretbox.h"

#define REFRESH_MARGIN_S 300
#define DEFAULT_LIFETIME_S 1800
#define RETRY_S 30
#define LIMIT_RETRY_S 300
#define AUTH_RETRY_FIRST_S 60
#define AUTH_RETRY_MAX_S 1800

static void login(struct gw_site *s);
static void refresh(struct gw_site *s);

static int64_t lifetime(const struct gw_site *s) {
  return s->access_lifetime > 0 ? s->access_lifetime : DEFAULT_LIFETIME_S;
}

static bool access_valid(const struct gw_site *s, int64_t now) {
  return s->access_token[0] && s->access_expires > now + 1;
}

int gw_token_live(struct gw_site *s) {
  int64_t now = pb_clock_now(), earliest;
  int n = gw_store_ledger_live(s, now, &earliest);
  return (n > 0 ? n : 0) + (access_valid(s, now) ? 1 : 0);
}

static void on_token_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct gw_site *s = ud;
  s->token_wait = false;
  if (s->token_busy)
    return;
  if (s->token_state == TOKEN_VALID) {
    /* The planned refresh, ahead of expiry. */
    if (s->refresh_token[0] && s->refresh_expires > pb_clock_now() + 1)
      refresh(s);
    else
      login(s);
    return;
  }
  gw_token_ensure(s);
  gw_pbx_pump(s);
}

static void arm_in(struct gw_site *s, int64_t seconds) {
  if (!s->token_timer)
    s->token_timer = pb_timer_new(s->gw->loop, on_token_timer, s);
  pb_timer_arm_in(s->token_timer, seconds * 1000);
}

static void arm_refresh(struct gw_site *s) {
  int64_t margin = lifetime(s) / 5;
  if (margin > REFRESH_MARGIN_S)
    margin = REFRESH_MARGIN_S;
  int64_t in = s->access_expires - margin - pb_clock_now();
  arm_in(s, in > 1 ? in : 1);
}

/* A token given up: out of the log's list of secrets, and wiped. */
static void forget_secret(char *text, size_t size) {
  pb_log_remove_secret(text);
  sodium_memzero(text, size);
}

static bool token_state_name(const char *state) {
  return !strcmp(state, "auth_failed") || !strcmp(state, "token_limit") ||
         !strcmp(state, "error");
}

/* Reads a get_token/refresh_token answer into the site. */
static int take_pair(struct gw_site *s, const json_t *resp) {
  const char *at = pb_json_str(resp, "access_token");
  const char *rt = pb_json_str(resp, "refresh_token");
  json_int_t ate =
      json_integer_value(json_object_get(resp, "access_token_expire_time"));
  json_int_t rte =
      json_integer_value(json_object_get(resp, "refresh_token_expire_time"));
  if (!at || !*at || strlen(at) >= sizeof s->access_token || ate <= 0)
    return PB_EPBX;
  int64_t now = pb_clock_now();
  forget_secret(s->access_token, sizeof s->access_token);
  pb_strlcpy(s->access_token, at, sizeof s->access_token);
  pb_log_add_secret(s->access_token);
  if (rt && *rt && strlen(rt) < sizeof s->refresh_token) {
    forget_secret(s->refresh_token, sizeof s->refresh_token);
    pb_strlcpy(s->refresh_token, rt, sizeof s->refresh_token);
    pb_log_add_secret(s->refresh_token);
    s->refresh_expires = now + (rte > 0 ? rte : ate);
  }
  s->access_lifetime = ate;
  s->access_expires = now + ate;
  s->token_state = TOKEN_VALID;
  s->token_failures = 0;
  if (gw_store_save_token(s))
    gw_store_warn(s->name, "the token pair");
  arm_refresh(s);
  if (token_state_name(s->state))
    gw_site_set_state(s, "ok", "");
  return 0;
}

/* While a login or refresh is out, requests go on with the current token
 * if it is still valid. */
static void start_busy(struct gw_site *s) {
  s->token_busy = true;
  s->token_state =
      access_valid(s, pb_clock_now()) ? TOKEN_VALID : TOKEN_REQUESTING;
}

/* No new token for now; retry_s > 0: try again then (no hammering). */
static void token_failed(struct gw_site *s, const char *state, const char *msg,
                         int64_t retry_s) {
  s->token_busy = false;
  s->token_state = access_valid(s, pb_clock_now()) ? TOKEN_VALID : TOKEN_NONE;
  if (state)
    gw_site_set_state(s, state, msg);
  if (retry_s > 0) {
    s->token_wait = true;
    arm_in(s, retry_s);
  }
}

/* A token answer that never arrived may still have created a token. */
static void count_lost_answer(struct gw_site *s, const char *what) {
  if (!s->last_reached_api)
    return;
  int64_t until = pb_clock_now() + lifetime(s);
  if (gw_store_ledger_add(s, until))
    gw_store_warn(s->name, "a token that may be live");
  pb_warn("site %s: the %s answer was lost: a token it may have created is "
          "counted as live for %llds",
          s->name, what, (long long)lifetime(s));
}

static void on_login(struct gw_site *s, int err, const char *errmsg,
                     json_t *resp, void *ud) {
  (void)ud;
  int64_t code = 0;
  const char *pbxmsg = "";
  char msg[400];
  s->token_busy = false;
  if (err == PB_ESTATE) {
    token_failed(s, NULL, NULL, 0);
    return;
  }
  if (!err && take_pair(s, resp) == 0) {
    s->logins++;
    pb_info("site %s: logged in to the PBX (token valid %llds, %d may be live)",
            s->name, (long long)(s->access_expires - pb_clock_now()),
            gw_token_live(s));
    gw_pbx_pump(s);
    return;
  }
  bool envelope = resp && gw_envelope(resp, &code, &pbxmsg);
  if (err == PB_EPBX && envelope && code == -1) {
    int64_t wait = AUTH_RETRY_FIRST_S;
    for (int i = 0; i < s->token_failures && wait < AUTH_RETRY_MAX_S; i++)
      wait *= 2;
    if (wait > AUTH_RETRY_MAX_S)
      wait = AUTH_RETRY_MAX_S;
    s->token_failures++;
    snprintf(msg, sizeof msg,
             "the PBX refused the client id or secret (get_token: errcode -1 "
             "%s); next try in %llds",
             pbxmsg, (long long)wait);
    token_failed(s, "auth_failed", msg, wait);
  } else if (err == PB_EPBX && envelope && code == GW_ERRCODE_TOKEN_LIMIT) {
    snprintf(msg, sizeof msg,
             "the PBX holds too many tokens for this API application (errcode "
             "10005): another program may use the same client id; next try "
             "in %ds",
             LIMIT_RETRY_S);
    token_failed(s, "token_limit", msg, LIMIT_RETRY_S);
  } else if (err == PB_EHTTP || (envelope && code == GW_ERRCODE_IP_FORBIDDEN)) {
    /* The site is down (or forbidden): the queue's probe tells when to try
     * again. An HTTP error status (the site still answers) waits RETRY_S. */
    if (err == PB_EHTTP)
      count_lost_answer(s, "get_token");
    if (s->down || err != PB_EHTTP) {
      token_failed(s, NULL, NULL, 0);
    } else {
      snprintf(msg, sizeof msg, "%s; next login in %ds", errmsg, RETRY_S);
      token_failed(s, "error", msg, RETRY_S);
    }
  } else {
    snprintf(msg, sizeof msg, "get_token failed: %s",
             errmsg ? errmsg : "malformed answer");
    token_failed(s, "error", msg, RETRY_S);
  }
}

static void login(struct gw_site *s) {
  int64_t now = pb_clock_now(), earliest = 0;
  int unknown = gw_store_ledger_live(s, now, &earliest);
  int live = (unknown > 0 ? unknown : 0) + (access_valid(s, now) ? 1 : 0);
  if (live >= s->gw->max_tokens) {
    if (access_valid(s, now) && (earliest == 0 || s->access_expires < earliest))
      earliest = s->access_expires;
    int64_t wait = earliest > now ? earliest - now + 1 : RETRY_S;
    char msg[300];
    snprintf(msg, sizeof msg,
             "%d tokens of this gateway may still be live on the PBX "
             "(PBX_MAX_TOKENS=%d): no new login for %llds",
             live, s->gw->max_tokens, (long long)wait);
    token_failed(s, "token_limit", msg, wait);
    return;
  }
  start_busy(s);
  json_t *body = json_pack("{s:s,s:s}", "username", s->set.client_id,
                           "password", s->set.secret ? s->set.secret : "");
  struct gw_request r = {.method = "POST",
                         .endpoint = "get_token",
                         .body = body,
                         .cb = on_login,
                         .no_token = true,
                         .urgent = true};
  if (gw_pbx_submit(s, &r))
    token_failed(s, "error", "get_token could not be queued", RETRY_S);
}

static void on_refresh(struct gw_site *s, int err, const char *errmsg,
                       json_t *resp, void *ud) {
  (void)ud;
  int64_t code = 0;
  const char *pbxmsg = "";
  s->token_busy = false;
  if (err == PB_ESTATE) {
    token_failed(s, NULL, NULL, 0);
    return;
  }
  if (!err && take_pair(s, resp) == 0) {
    s->refreshes++;
    pb_info("site %s: PBX token refreshed (valid %llds)", s->name,
            (long long)(s->access_expires - pb_clock_now()));
    gw_pbx_pump(s);
    return;
  }
  bool envelope = resp && gw_envelope(resp, &code, &pbxmsg);
  if (err == PB_EHTTP || (envelope && code == GW_ERRCODE_IP_FORBIDDEN)) {
    /* The old pair may still be good; the queue's probe waits for the PBX
     * (an HTTP error status: try again in RETRY_S). */
    if (err == PB_EHTTP)
      count_lost_answer(s, "refresh_token");
    token_failed(s, NULL, NULL, s->down || err != PB_EHTTP ? 0 : RETRY_S);
    return;
  }
  if (envelope && code == GW_ERRCODE_TOKEN_LIMIT) {
    token_failed(s, "token_limit",
                 "refresh_token: errcode 10005 (too many tokens)",
                 LIMIT_RETRY_S);
    return;
  }
  pb_warn("site %s: token refresh refused (%s): logging in again", s->name,
          errmsg ? errmsg : "malformed answer");
  /* An access token given up while still valid counts until it expires. */
  int64_t now = pb_clock_now();
  if (access_valid(s, now) && gw_store_ledger_add(s, s->access_expires))
    gw_store_warn(s->name, "a token that may be live");
  forget_secret(s->access_token, sizeof s->access_token);
  forget_secret(s->refresh_token, sizeof s->refresh_token);
  s->access_expires = s->refresh_expires = 0;
  if (gw_store_save_token(s))
    gw_store_warn(s->name, "the token pair");
  login(s);
}

static void refresh(struct gw_site *s) {
  start_busy(s);
  json_t *body = json_pack("{s:s}", "refresh_token", s->refresh_token);
  struct gw_request r = {.method = "POST",
                         .endpoint = "refresh_token",
                         .body = body,
                         .cb = on_refresh,
                         .no_token = true,
                         .urgent = true};
  if (gw_pbx_submit(s, &r))
    token_failed(s, "error", "refresh_token could not be queued", RETRY_S);
}

void gw_token_ensure(struct gw_site *s) {
  if (s->token_state != TOKEN_NONE || s->token_busy || s->token_wait ||
      s->removed)
    return;
  int64_t now = pb_clock_now();
  if (access_valid(s, now)) {
    s->token_state = TOKEN_VALID;
    arm_refresh(s);
    gw_pbx_pump(s);
  } else if (s->refresh_token[0] && s->refresh_expires > now + 1) {
    refresh(s);
  } else {
    login(s);
  }
}

void gw_token_rejected(struct gw_site *s, const char *token, int64_t errcode) {
  if (!token || !*token || strcmp(token, s->access_token) != 0)
    return; /* that token was replaced already */
  pb_info("site %s: the access token is %s: %s", s->name,
          errcode == GW_ERRCODE_TOKEN_EXPIRED ? "expired" : "no longer valid",
          s->refresh_token[0] ? "refreshing it" : "logging in again");
  forget_secret(s->access_token, sizeof s->access_token);
  s->access_expires = 0;
  if (s->token_state == TOKEN_VALID)
    s->token_state = TOKEN_NONE;
  if (gw_store_save_token(s))
    gw_store_warn(s->name, "the token pair");
}

void gw_token_forget(struct gw_site *s) {
  forget_secret(s->access_token, sizeof s->access_token);
  forget_secret(s->refresh_token, sizeof s->refresh_token);
  s->access_expires = s->refresh_expires = 0;
  if (s->token_state == TOKEN_VALID)
    s->token_state = TOKEN_NONE;
  s->token_wait = false;
  s->token_failures = 0;
  pb_timer_disarm(s->token_timer);
  if (gw_store_delete_token(s))
    gw_store_warn(s->name, "the end of the token pair");
}

/* Whether the PBX accepted a del_token; else why not in `why`. */
static bool deleted_ok(const struct pb_http_response *r, char *why,
                       size_t len) {
  json_t *j = r->err ? NULL : pb_json_parse(r->body, r->len, NULL, 0);
  int64_t code = -1;
  const char *msg = r->errmsg ? r->errmsg : "no answer";
  bool ok = j && gw_envelope(j, &code, &msg) && code == 0;
  pb_strlcpy(why, msg, len); /* msg may point into j */
  json_decref(j);
  return ok;
}

static void on_deleted(const struct pb_http_response *r, void *ud) {
  struct gw_site *s = ud;
  char why[256];
  if (deleted_ok(r, why, sizeof why)) {
    pb_info("site %s: token revoked (del_token)", s->name);
    gw_token_forget(s);
  } else {
    pb_warn("site %s: del_token failed (%s): the token stays stored and is "
            "reused at the next start",
            s->name, why);
  }
  if (--s->gw->deleting == 0)
    pb_loop_stop(s->gw->loop); /* main runs the loop again only for these */
}

/* Sends del_token for the site's valid token; false when there is none or
 * it cannot be sent. */
static bool send_del_token(struct gw_site *s, pb_http_done *done) {
  if (!access_valid(s, pb_clock_now()))
    return false;
  char url[GW_URL_MAX + 256];
  struct pb_http_request req;
  return gw_http_request(s->gw, &s->set, s->base_url, "GET", "del_token", NULL,
                         s->access_token, NULL, url, sizeof url, &req) == 0 &&
         s->gw->io.http_send(s->gw->io.ud, &req, done, s) == 0;
}

void gw_token_delete(struct gw_site *s) {
  if (send_del_token(s, on_deleted))
    s->gw->deleting++;
}

/* A removed site's token is revoked so that it does not hold one of the
 * PBX's few token slots until it expires; the site is freed once the
 * answer (or the failure) is in. */
static void on_removed_deleted(const struct pb_http_response *r, void *ud) {
  struct gw_site *s = ud;
  char why[256];
  if (deleted_ok(r, why, sizeof why))
    pb_info("site %s: removed, its token revoked (del_token)", s->name);
  else
    pb_warn("site %s: removed, but del_token failed (%s): its token expires "
            "on the PBX on its own",
            s->name, why);
  s->inflight--;
  gw_site_release(s);
}

bool gw_token_revoke_removed(struct gw_site *s) {
  if (!send_del_token(s, on_removed_deleted))
    return false;
  s->inflight++; /* keeps the site until the answer */
  return true;
}

void gw_token_load(struct gw_site *s) {
  char *at = NULL, *rt = NULL;
  if (gw_store_load_token(s, &at, &rt) == 0) {
    char *plain = NULL;
    if (at && *at && pb_secretbox_unseal(s->gw->box, at, &plain) == 0) {
      pb_strlcpy(s->access_token, plain, sizeof s->access_token);
      pb_log_add_secret(plain);
      pb_secret_free(plain);
    }
    plain = NULL;
    if (rt && *rt && pb_secretbox_unseal(s->gw->box, rt, &plain) == 0) {
      pb_strlcpy(s->refresh_token, plain, sizeof s->refresh_token);
      pb_log_add_secret(plain);
      pb_secret_free(plain);
    }
    if (access_valid(s, pb_clock_now()))
      pb_info("site %s: reusing the stored PBX token (valid %llds)", s->name,
              (long long)(s->access_expires - pb_clock_now()));
  }
  free(at);
  free(rt);
}
