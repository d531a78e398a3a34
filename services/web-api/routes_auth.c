/* The account routes (docs/api.md "Authentication"): log in and out, the
 * current session, users (admin only) and API tokens for scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/secretbox.h"
#include "pb/store.h"
#include "web.h"

/* A token's life is at most ten years (then it is a forgotten token). */
#define TOKEN_DAYS_MAX 3650

/* The password policy (password_policy.c), answered as a 400. */
static int check_password_rules(const char *user, const char *pw,
                                struct web_response *resp) {
  char why[256];
  if (web_password_policy(user, pw, why, sizeof why)) {
    web_reply_error(resp, 400, "field 'password' %s", why);
    return -1;
  }
  return 0;
}

static void session_cookie(struct web *w, struct web_response *resp,
                           const char *value, int64_t max_age) {
  snprintf(resp->set_cookie, sizeof resp->set_cookie,
           "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
           WEB_COOKIE, value, (long long)max_age,
           pb_config_bool(w->cfg, PB_CFG_WEB_COOKIE_SECURE) ? "; Secure" : "");
}

/* The password was checked on the worker: a session, or a counted failure. */
static void login_finish(struct web_pw_job *j, struct web_response *resp) {
  struct web *w = j->w;
  enum web_role role = WEB_ROLE_NONE;
  /* The account may have gone (or changed role) during the check. */
  bool ok = j->check_ok && web_user_role(w, j->name, &role) == 0;
  if (!ok) {
    w->metrics.logins_failed++;
    pb_warn("failed login for '%.64s' from %s", j->name, j->client_ip);
    web_audit_add(w, "login_failed", "", "", j->name, "failed login",
                  json_pack("{s:s}", "client", j->client_ip));
    web_reply_error(resp, 401, "wrong user name or password");
    return;
  }
  char cookie[64], csrf[64];
  int64_t expires;
  if (web_session_create(w, j->name, role, cookie, sizeof cookie, csrf,
                         sizeof csrf, &expires)) {
    web_reply_error(resp, 503, "cannot store the session");
    return;
  }
  web_login_result(w, j->client_ip, j->name, true); /* clears the count */
  w->metrics.logins_ok++;
  session_cookie(w, resp, cookie, expires - pb_clock_now());
  pb_secret_wipe(cookie, sizeof cookie);
  web_audit_add(w, "login", "", "", j->name, "logged in",
                json_pack("{s:s}", "client", j->client_ip));
  json_t *out = json_pack("{s:s,s:s,s:s}", "user", j->name, "role",
                          web_role_name(role), "csrf_token", csrf);
  pb_json_set_time_tz(out, "expires_at", expires, w->tz);
  pb_secret_wipe(csrf, sizeof csrf);
  web_reply_json(resp, 200, out);
}

void web_post_login(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  const char *user = NULL, *pw = NULL;
  char err[256];
  if (pb_json_get_str(body, "username", true, &user, err, sizeof err) ||
      pb_json_get_str(body, "password", true, &pw, err, sizeof err)) {
    web_reply_error(resp, 400, "%s", err);
    json_decref(body);
    return;
  }
  if (!*user || strlen(user) >= PB_ID_MAX) {
    web_reply_error(resp, 400, "field 'username' must be 1 to %d characters",
                    PB_ID_MAX - 1);
    json_decref(body);
    return;
  }
  int64_t wait = web_login_blocked(w, req->client_ip, user);
  if (wait > 0) {
    w->metrics.logins_limited++;
    snprintf(resp->retry_after, sizeof resp->retry_after, "%lld",
             (long long)wait);
    web_reply_error(resp, 429,
                    "too many failed logins for '%.64s' from %s: try again "
                    "in %lld s",
                    user, req->client_ip, (long long)wait);
    json_decref(body);
    return;
  }
  struct web_pw_job *j = web_pw_job_new(w, req, login_finish, user, pw, NULL);
  if (!j) {
    web_reply_error(resp, 503, "out of memory");
    json_decref(body);
    return;
  }
  /* Counted as failed until the check says otherwise, so that attempts
   * waiting for the worker cannot get past WEB_LOGIN_MAX_FAILURES. */
  web_login_result(w, req->client_ip, user, false);
  web_pw_job_submit(j, resp);
  json_decref(body);
}

void web_post_logout(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  if (req->auth.by_cookie)
    web_session_delete(w, req->auth.session_hash);
  session_cookie(w, resp, "", 0);
  web_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void web_get_session(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  json_t *out = json_pack("{s:s,s:s,s:s}", "user", req->auth.user, "role",
                          web_role_name(req->auth.role), "via",
                          req->auth.by_cookie ? "session" : "token");
  /* Whose calls a readonly user sees and places (user_exts.c). */
  json_object_set_new(out, "extensions",
                      web_user_extensions(w, req->auth.user));
  json_object_set_new(out, "csrf_token",
                      req->auth.by_cookie ? json_string(req->auth.csrf)
                                          : json_null());
  web_reply_json(resp, 200, out);
}

void web_get_users(struct web *w, const struct web_request *req,
                   struct web_response *resp) {
  (void)req;
  json_t *arr = json_array();
  struct pb_stmt *st = pb_store_stmt(
      w->store,
      "SELECT name, role, created_at, updated_at FROM users ORDER BY name");
  while (st && pb_stmt_step(st) == PB_STMT_ROW) {
    json_t *u = json_pack("{s:s,s:s}", "name", pb_stmt_text(st, 0), "role",
                          pb_stmt_text(st, 1));
    pb_json_set_time_tz(u, "created_at", pb_stmt_int(st, 2), w->tz);
    pb_json_set_time_tz(u, "password_changed_at", pb_stmt_int(st, 3), w->tz);
    json_array_append_new(arr, u);
  }
  size_t i;
  json_t *u;
  json_array_foreach(arr, i, u) json_object_set_new(
      u, "extensions", web_user_extensions(w, pb_json_str(u, "name")));
  web_reply_json(resp, 200, json_pack("{s:o}", "users", arr));
}

/* The new account's password is hashed: store it. */
static void add_user_finish(struct web_pw_job *j, struct web_response *resp) {
  struct web *w = j->w;
  enum web_role existing;
  const char *role = web_role_name(j->role);
  if (web_user_role(w, j->name, &existing) == 0) {
    web_reply_error(resp, 409, "user '%s' already exists", j->name);
  } else if (j->hash_rc ||
             web_user_store_hash(w, j->name, j->new_hash, j->role, true)) {
    web_reply_error(resp, 503, "cannot store the user");
  } else {
    web_audit_add(w, "user", "", "", j->actor, "created a user",
                  json_pack("{s:s,s:s}", "name", j->name, "role", role));
    web_reply_json(resp, 201,
                   json_pack("{s:s,s:s}", "name", j->name, "role", role));
  }
}

void web_post_users(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  const char *name = NULL, *pw = NULL, *role_s = NULL;
  char err[256];
  enum web_role role, existing;
  if (pb_json_get_str(body, "name", true, &name, err, sizeof err) ||
      pb_json_get_str(body, "password", true, &pw, err, sizeof err) ||
      pb_json_get_str(body, "role", true, &role_s, err, sizeof err)) {
    web_reply_error(resp, 400, "%s", err);
  } else if (!pb_topic_id_valid(name)) {
    web_reply_error(resp, 400,
                    "field 'name' must be 1-64 characters of [A-Za-z0-9_-]");
  } else if (web_role_parse(role_s, &role)) {
    web_reply_error(
        resp, 400,
        "field 'role': unknown role '%.64s' (valid: admin, readonly)", role_s);
  } else if (check_password_rules(name, pw, resp) == 0) {
    struct web_pw_job *j;
    if (web_user_role(w, name, &existing) == 0) {
      web_reply_error(resp, 409, "user '%s' already exists", name);
    } else if (!(j = web_pw_job_new(w, req, add_user_finish, name, NULL, pw))) {
      web_reply_error(resp, 503, "out of memory");
    } else {
      j->role = role;
      web_pw_job_submit(j, resp);
    }
  }
  json_decref(body);
}

void web_delete_user(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  const char *name = req->segs[2];
  enum web_role role;
  if (!pb_topic_id_valid(name) || web_user_role(w, name, &role)) {
    web_reply_error(resp, 404, "unknown user '%.64s'", name);
    return;
  }
  if (strcmp(name, req->auth.user) == 0) {
    web_reply_error(resp, 409, "you cannot remove your own account");
    return;
  }
  struct pb_stmt *st =
      pb_store_stmt(w->store, "DELETE FROM users WHERE name = ?1");
  if (!st || pb_stmt_bind_text(st, 1, name) || pb_stmt_run(st)) {
    web_reply_error(resp, 503, "cannot remove the user");
    return;
  }
  web_auth_revoke_user(w, name, NULL, true);
  if (web_user_extensions_clear(w, name))
    pb_warn("the extensions of removed user '%s' stay in web-api.db", name);
  web_audit_add(w, "user", "", "", req->auth.user, "removed a user",
                json_pack("{s:s}", "name", name));
  web_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

/* The current password was checked (self-service) and the new one hashed. */
static void password_finish(struct web_pw_job *j, struct web_response *resp) {
  struct web *w = j->w;
  bool self = j->check != NULL; /* only one's own change gives the current */
  if (self && !j->check_ok) {
    web_reply_error(resp, 403, "field 'current_password' is wrong");
  } else if (j->hash_rc ||
             web_user_store_hash(w, j->name, j->new_hash, j->role, false)) {
    web_reply_error(resp, 503, "cannot store the password");
  } else {
    /* One's own change keeps the caller's session and one's tokens; an
     * admin's reset is for an account that may be in other hands: all its
     * sessions and API tokens end. */
    int64_t tokens =
        web_auth_revoke_user(w, j->name, self ? j->keep_session : NULL, !self);
    web_audit_add(w, "user", "", "", j->actor,
                  self ? "changed a password" : "reset a password",
                  json_pack("{s:s,s:I}", "name", j->name, "tokens_revoked",
                            (json_int_t)tokens));
    web_reply_json(resp, 200,
                   json_pack("{s:s,s:I}", "status", "ok", "tokens_revoked",
                             (json_int_t)tokens));
  }
}

void web_put_password(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  const char *name = req->segs[2];
  bool self = strcmp(name, req->auth.user) == 0;
  if (!self && req->auth.role < WEB_ROLE_ADMIN) {
    web_reply_error(resp, 403,
                    "only an admin may change another user's password");
    return;
  }
  enum web_role role;
  if (!pb_topic_id_valid(name) || web_user_role(w, name, &role)) {
    web_reply_error(resp, 404, "unknown user '%.64s'", name);
    return;
  }
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  const char *pw = NULL, *current = NULL;
  char err[256];
  if (pb_json_get_str(body, "password", true, &pw, err, sizeof err) ||
      (self && pb_json_get_str(body, "current_password", true, &current, err,
                               sizeof err))) {
    web_reply_error(resp, 400, "%s", err);
  } else if (check_password_rules(name, pw, resp) == 0) {
    struct web_pw_job *j = web_pw_job_new(w, req, password_finish, name,
                                          self ? current : NULL, pw);
    if (!j) {
      web_reply_error(resp, 503, "out of memory");
    } else {
      j->role = role;
      if (self)
        pb_strlcpy(j->keep_session, req->auth.session_hash,
                   sizeof j->keep_session);
      web_pw_job_submit(j, resp);
    }
  }
  json_decref(body);
}

void web_get_tokens(struct web *w, const struct web_request *req,
                    struct web_response *resp) {
  bool all = req->auth.role == WEB_ROLE_ADMIN;
  json_t *arr = json_array();
  struct pb_stmt *st = pb_store_stmt(
      w->store,
      "SELECT id, name, user, role, created_at, last_used_at, expires_at "
      "FROM tokens WHERE ?1 IS NULL OR user = ?1 ORDER BY id");
  if (st && (all ? pb_stmt_bind_null(st, 1)
                 : pb_stmt_bind_text(st, 1, req->auth.user)))
    st = NULL;
  while (st && pb_stmt_step(st) == PB_STMT_ROW) {
    json_t *t =
        json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)pb_stmt_int(st, 0),
                  "name", pb_stmt_text(st, 1), "user", pb_stmt_text(st, 2),
                  "role", pb_stmt_text(st, 3));
    pb_json_set_time_tz(t, "created_at", pb_stmt_int(st, 4), w->tz);
    pb_json_set_time_tz(t, "last_used_at",
                        pb_stmt_is_null(st, 5) ? -1 : pb_stmt_int(st, 5),
                        w->tz);
    int64_t expires = pb_stmt_is_null(st, 6) ? -1 : pb_stmt_int(st, 6);
    pb_json_set_time_tz(t, "expires_at", expires, w->tz);
    json_object_set_new(
        t, "expired", json_boolean(expires >= 0 && expires <= pb_clock_now()));
    json_array_append_new(arr, t);
  }
  web_reply_json(resp, 200, json_pack("{s:o}", "tokens", arr));
}

/* `expires_in_days` or `expires_at` of POST /api/tokens: 0 (never) or the
 * instant; -1 after answering a 400. */
static int64_t token_expiry(const json_t *body, struct web_response *resp) {
  char err[256];
  int64_t days = -1, at = -1, now = pb_clock_now();
  int rc =
      pb_json_get_int(body, "expires_in_days", false, &days, err, sizeof err);
  if (rc == PB_ENOTFOUND)
    days = -1;
  else if (rc)
    goto bad;
  else if (days < 1 || days > TOKEN_DAYS_MAX) {
    snprintf(err, sizeof err,
             "field 'expires_in_days' must be an integer from 1 to %d",
             TOKEN_DAYS_MAX);
    goto bad;
  }
  /* Absent or null: at is -1. */
  if (pb_json_get_time(body, "expires_at", false, &at, err, sizeof err))
    goto bad;
  if (at < 0) {
    /* no instant given */
  } else if (days >= 0) {
    snprintf(err, sizeof err,
             "give 'expires_in_days' or 'expires_at', not both");
    goto bad;
  } else if (at <= now || at > now + (int64_t)TOKEN_DAYS_MAX * 86400) {
    snprintf(err, sizeof err,
             "field 'expires_at' must be in the future, at most %d days from "
             "now",
             TOKEN_DAYS_MAX);
    goto bad;
  }
  return days >= 0 ? now + days * 86400 : at >= 0 ? at : 0;
bad:
  web_reply_error(resp, 400, "%s", err);
  return -1;
}

void web_post_tokens(struct web *w, const struct web_request *req,
                     struct web_response *resp) {
  json_t *body = web_body_json(req, resp);
  if (!body)
    return;
  const char *name = NULL, *role_s = NULL;
  char err[256];
  enum web_role role = req->auth.role;
  int64_t expires = 0;
  int rc = pb_json_get_str(body, "name", true, &name, err, sizeof err);
  if (!rc)
    rc = pb_json_get_str(body, "role", false, &role_s, err, sizeof err);
  if (rc && rc != PB_ENOTFOUND) {
    web_reply_error(resp, 400, "%s", err);
  } else if ((expires = token_expiry(body, resp)) < 0) {
    /* answered */
  } else if (!*name || strlen(name) > 128 ||
             !pb_utf8_valid(name, strlen(name))) {
    web_reply_error(resp, 400, "field 'name' must be 1 to 128 characters");
  } else if (role_s && web_role_parse(role_s, &role)) {
    web_reply_error(
        resp, 400,
        "field 'role': unknown role '%.64s' (valid: admin, readonly)", role_s);
  } else if (role > req->auth.role) {
    web_reply_error(resp, 403, "a %s user cannot create an %s token",
                    web_role_name(req->auth.role), web_role_name(role));
  } else {
    char token[80];
    int64_t id;
    if (web_token_create(w, name, req->auth.user, role, expires, token,
                         sizeof token, &id)) {
      web_reply_error(resp, 503, "cannot store the token");
    } else {
      json_t *data = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "name",
                               name, "role", web_role_name(role));
      pb_json_set_time_tz(data, "expires_at", expires ? expires : -1, w->tz);
      web_audit_add(w, "token", "", "", req->auth.user, "created an API token",
                    data);
      json_t *out = json_pack("{s:I,s:s,s:s,s:s,s:s}", "id", (json_int_t)id,
                              "name", name, "user", req->auth.user, "role",
                              web_role_name(role), "token", token);
      pb_json_set_time_tz(out, "expires_at", expires ? expires : -1, w->tz);
      pb_secret_wipe(token, sizeof token);
      web_reply_json(resp, 201, out);
    }
  }
  json_decref(body);
}

void web_delete_token(struct web *w, const struct web_request *req,
                      struct web_response *resp) {
  char *end;
  long long id = strtoll(req->segs[2], &end, 10);
  if (*end || id <= 0) {
    web_reply_error(resp, 400, "token id must be a positive integer");
    return;
  }
  int rc = web_token_delete(
      w, id, req->auth.role == WEB_ROLE_ADMIN ? NULL : req->auth.user);
  if (rc == PB_ENOTFOUND) {
    web_reply_error(resp, 404, "unknown token %lld", id);
  } else if (rc) {
    web_reply_error(resp, 503, "cannot remove the token");
  } else {
    web_audit_add(w, "token", "", "", req->auth.user, "removed an API token",
                  json_pack("{s:I}", "id", (json_int_t)id));
    web_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
  }
}
