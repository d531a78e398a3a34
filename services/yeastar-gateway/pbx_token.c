/* The Open API token of a site. A P-Series application may hold at most 8
 * valid tokens, so the gateway logs in once, keeps the pair sealed in its
 * database across restarts, refreshes the access token five minutes before
 * it expires, and logs in again only when the refresh is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/secretbox.h"

#define REFRESH_MARGIN_S 300
#define RETRY_S 30

static void login(struct gw_site *s);
static void refresh(struct gw_site *s);

static void on_token_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct gw_site *s = ud;
  if (s->token_state == TOKEN_REQUESTING)
    return;
  int64_t now = pb_clock_now();
  if (s->refresh_token[0] && s->refresh_expires > now + 60)
    refresh(s);
  else
    login(s);
}

static void arm_refresh(struct gw_site *s) {
  if (!s->token_timer)
    s->token_timer = pb_timer_new(s->gw->loop, on_token_timer, s);
  int64_t at = s->access_expires - REFRESH_MARGIN_S;
  int64_t now = pb_clock_now();
  if (at < now + 5)
    at = now + 5;
  pb_timer_arm(s->token_timer, at * 1000);
}

static void retry_later(struct gw_site *s) {
  if (!s->token_timer)
    s->token_timer = pb_timer_new(s->gw->loop, on_token_timer, s);
  pb_timer_arm_in(s->token_timer, RETRY_S * 1000);
}

/* Reads a get_token/refresh_token answer into the site. */
static int take_pair(struct gw_site *s, const json_t *resp) {
  const char *at = pb_json_str(resp, "access_token");
  const char *rt = pb_json_str(resp, "refresh_token");
  json_int_t ate = json_integer_value(json_object_get(resp, "access_token_expire_time"));
  json_int_t rte = json_integer_value(json_object_get(resp, "refresh_token_expire_time"));
  if (!at || !*at || strlen(at) >= sizeof s->access_token || ate <= 0)
    return PB_EPBX;
  int64_t now = pb_clock_now();
  pb_strlcpy(s->access_token, at, sizeof s->access_token);
  pb_log_add_secret(s->access_token);
  if (rt && *rt && strlen(rt) < sizeof s->refresh_token) {
    pb_strlcpy(s->refresh_token, rt, sizeof s->refresh_token);
    pb_log_add_secret(s->refresh_token);
    s->refresh_expires = now + (rte > 0 ? rte : ate);
  }
  s->access_expires = now + ate;
  s->token_state = TOKEN_VALID;
  s->last_error[0] = '\0';
  gw_store_save_token(s);
  arm_refresh(s);
  return 0;
}

static void token_failed(struct gw_site *s, int err, const char *msg) {
  s->token_state = TOKEN_NONE;
  pb_strlcpy(s->last_error, msg ? msg : pb_strerror(err), sizeof s->last_error);
  pb_error("site %s: cannot get a PBX token: %s", s->name, s->last_error);
  json_t *ev = json_pack("{s:s,s:s}", "site", s->name, "error", s->last_error);
  pb_bus_event(s->gw->bus, "pbx_error", ev);
  gw_pbx_release_waiting(s, err, s->last_error);
  retry_later(s);
}

static void on_login(struct gw_site *s, int err, const char *errmsg, json_t *resp,
                     void *ud) {
  (void)ud;
  if (!err && take_pair(s, resp) == 0) {
    s->logins++;
    pb_info("site %s: logged in to the PBX (token valid %llds)", s->name,
            (long long)(s->access_expires - pb_clock_now()));
    gw_pbx_release_waiting(s, 0, NULL);
    return;
  }
  if (err == PB_EPBX && json_integer_value(json_object_get(resp, "errcode")) == -1)
    token_failed(s, PB_EAUTH, "the PBX refused the client id or secret "
                 "(check YEASTAR_CLIENT_ID and YEASTAR_CLIENT_SECRET)");
  else
    token_failed(s, err ? err : PB_EPBX, errmsg ? errmsg : "malformed get_token answer");
}

static void login(struct gw_site *s) {
  s->token_state = TOKEN_REQUESTING;
  json_t *body = json_pack("{s:s,s:s}", "username", s->client_id, "password",
                           s->secret ? s->secret : "");
  if (gw_pbx_call_raw(s, "get_token", body, on_login, NULL))
    token_failed(s, PB_EHTTP, "get_token could not be sent");
}

static void on_refresh(struct gw_site *s, int err, const char *errmsg,
                       json_t *resp, void *ud) {
  (void)ud;
  if (!err && take_pair(s, resp) == 0) {
    s->refreshes++;
    pb_info("site %s: PBX token refreshed", s->name);
    gw_pbx_release_waiting(s, 0, NULL);
    return;
  }
  if (err == PB_EHTTP) {
    /* The PBX did not answer: the refresh token may still be good. */
    token_failed(s, err, errmsg);
    return;
  }
  pb_warn("site %s: token refresh refused (%s): logging in again", s->name,
          errmsg ? errmsg : "malformed answer");
  s->refresh_token[0] = '\0';
  login(s);
}

static void refresh(struct gw_site *s) {
  s->token_state = TOKEN_REQUESTING;
  json_t *body = json_pack("{s:s}", "refresh_token", s->refresh_token);
  if (gw_pbx_call_raw(s, "refresh_token", body, on_refresh, NULL))
    token_failed(s, PB_EHTTP, "refresh_token could not be sent");
}

void gw_token_ensure(struct gw_site *s) {
  if (s->token_state != TOKEN_NONE)
    return;
  if (s->token_timer && pb_timer_armed(s->token_timer) &&
      pb_timer_when(s->token_timer) > pb_clock_now_ms() && s->last_error[0])
    return; /* a failed login waits for its retry: no hammering */
  int64_t now = pb_clock_now();
  if (s->access_token[0] && s->access_expires > now + 60) {
    s->token_state = TOKEN_VALID;
    arm_refresh(s);
    gw_pbx_release_waiting(s, 0, NULL);
  } else if (s->refresh_token[0] && s->refresh_expires > now + 60) {
    refresh(s);
  } else {
    login(s);
  }
}

void gw_token_expired(struct gw_site *s) {
  if (s->token_state == TOKEN_REQUESTING)
    return;
  s->access_token[0] = '\0';
  s->access_expires = 0;
  s->token_state = TOKEN_NONE;
}

void gw_token_load(struct gw_site *s) {
  char *at = NULL, *rt = NULL;
  if (gw_store_load_token(s, &at, &rt) == 0) {
    char *plain = NULL;
    if (at && pb_secretbox_unseal(s->gw->box, at, &plain) == 0) {
      pb_strlcpy(s->access_token, plain, sizeof s->access_token);
      pb_log_add_secret(plain);
      pb_secret_free(plain);
    }
    plain = NULL;
    if (rt && pb_secretbox_unseal(s->gw->box, rt, &plain) == 0) {
      pb_strlcpy(s->refresh_token, plain, sizeof s->refresh_token);
      pb_log_add_secret(plain);
      pb_secret_free(plain);
    }
    if (s->access_token[0])
      pb_info("site %s: reusing the stored PBX token", s->name);
  }
  free(at);
  free(rt);
}
