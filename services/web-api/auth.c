/* Accounts, login sessions and API tokens. Passwords are Argon2id hashes
 * (libsodium, via pb/secretbox.h); session ids and API tokens are 256-bit
 * random values of which only the SHA-256 is stored, so a copy of the
 * database opens no session. Sessions and tokens are also kept in memory
 * so that checking one costs a hash lookup, not a query. The failed-login
 * limiter is login_limit.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/clock.h"
#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/secretbox.h"
#include "pb/store.h"
#include "web.h"

const char *web_role_name(enum web_role r) {
  return r == WEB_ROLE_ADMIN      ? "admin"
         : r == WEB_ROLE_READONLY ? "readonly"
                                  : "none";
}

int web_role_parse(const char *text, enum web_role *out) {
  if (text && strcmp(text, "admin") == 0)
    *out = WEB_ROLE_ADMIN;
  else if (text && strcmp(text, "readonly") == 0)
    *out = WEB_ROLE_READONLY;
  else
    return PB_EINVAL;
  return 0;
}

/* A statement left on a row keeps its read transaction open, and with it
 * an old snapshot of the database (and WAL checkpoints blocked): single-row
 * reads run to the end once their row is read. */
void web_stmt_finish(struct pb_stmt *st) {
  for (int i = 0; st && i < 1000 && pb_stmt_step(st) == PB_STMT_ROW; i++)
    ;
}

int web_user_role(struct web *w, const char *user, enum web_role *role) {
  struct pb_stmt *st =
      pb_store_stmt(w->store, "SELECT role FROM users WHERE name = ?1");
  if (!st || pb_stmt_bind_text(st, 1, user))
    return PB_EDB;
  int rc = pb_stmt_step(st);
  if (rc != PB_STMT_ROW)
    return rc < 0 ? rc : PB_ENOTFOUND;
  rc = web_role_parse(pb_stmt_text(st, 0), role);
  web_stmt_finish(st);
  return rc;
}

static void free_map(struct pb_map *m) {
  size_t pos = 0;
  void *v;
  while (m && (v = pb_map_next(m, &pos, NULL)))
    free(v);
  pb_map_free(m);
}

/* A session holds its CSRF token: wiped before its memory goes back. */
static void session_free(struct web_session *s) {
  if (!s)
    return;
  pb_secret_wipe(s, sizeof *s);
  free(s);
}

static void free_sessions(struct pb_map *m) {
  size_t pos = 0;
  struct web_session *s;
  while (m && (s = pb_map_next(m, &pos, NULL)))
    session_free(s);
  pb_map_free(m);
}

/* A write whose failure only leaves a row behind (a session that is
 * refused anyway, a stale last_used_at): said in the log. */
static void run_or_warn(struct pb_stmt *st, const char *what) {
  if (!st || pb_stmt_run(st))
    pb_warn("web-api.db: cannot %s", what);
}

/* SQLite's counter of changes committed by other connections: another
 * process (web-api --reset-admin, an operator's sqlite3) changed accounts,
 * sessions or tokens when it moves. */
static int64_t data_version(struct web *w) {
  struct pb_stmt *st = pb_store_stmt(w->store, "PRAGMA data_version");
  int64_t v = -1;
  if (st && pb_stmt_step(st) == PB_STMT_ROW) {
    v = pb_stmt_int(st, 0);
    web_stmt_finish(st);
  }
  return v;
}

static int load(struct web *w) {
  struct web_auth_state *a = w->auth;
  int64_t now = pb_clock_now();
  a->data_version = data_version(w);
  struct pb_stmt *st =
      pb_store_stmt(w->store, "DELETE FROM sessions WHERE expires_at <= ?1");
  if (!st || pb_stmt_bind_int(st, 1, now) || pb_stmt_run(st))
    return PB_EDB;
  st = pb_store_stmt(
      w->store,
      "SELECT s.hash, s.user, s.csrf, s.expires_at, u.role FROM sessions s "
      "JOIN users u ON u.name = s.user");
  int rc;
  while (st && (rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct web_session *s = calloc(1, sizeof *s);
    if (!s)
      return PB_ENOMEM;
    pb_strlcpy(s->user, pb_stmt_text(st, 1), sizeof s->user);
    pb_strlcpy(s->csrf, pb_stmt_text(st, 2), sizeof s->csrf);
    s->expires_at = pb_stmt_int(st, 3);
    web_role_parse(pb_stmt_text(st, 4), &s->role);
    if (pb_map_put(a->sessions, pb_stmt_text(st, 0), s))
      session_free(s);
  }
  st = pb_store_stmt(
      w->store,
      "SELECT t.hash, t.id, t.user, t.role, u.role, t.expires_at FROM tokens t "
      "JOIN users u ON u.name = t.user");
  while (st && (rc = pb_stmt_step(st)) == PB_STMT_ROW) {
    struct web_token *t = calloc(1, sizeof *t);
    if (!t)
      return PB_ENOMEM;
    t->id = pb_stmt_int(st, 1);
    pb_strlcpy(t->user, pb_stmt_text(st, 2), sizeof t->user);
    enum web_role own = WEB_ROLE_READONLY, user = WEB_ROLE_READONLY;
    web_role_parse(pb_stmt_text(st, 3), &own);
    web_role_parse(pb_stmt_text(st, 4), &user);
    t->role = own < user ? own : user;
    t->expires_at = pb_stmt_is_null(st, 5) ? 0 : pb_stmt_int(st, 5);
    if (pb_map_put(a->tokens, pb_stmt_text(st, 0), t))
      free(t);
  }
  return 0;
}

int web_user_set_password(struct web *w, const char *user, const char *password,
                          enum web_role role, bool create) {
  char hash[PB_PASSWORD_HASH_MAX];
  int rc = pb_password_hash(password, hash, sizeof hash);
  return rc ? rc : web_user_store_hash(w, user, hash, role, create);
}

int web_user_store_hash(struct web *w, const char *user, const char *hash,
                        enum web_role role, bool create) {
  int64_t now = pb_clock_now();
  struct pb_stmt *st = pb_store_stmt(
      w->store,
      create ? "INSERT INTO users(name, role, pwhash, created_at, updated_at) "
               "VALUES (?1, ?2, ?3, ?4, ?4)"
             : "UPDATE users SET pwhash = ?3, updated_at = ?4 WHERE name = ?1 "
               "AND ?2 IS NOT NULL");
  if (!st || pb_stmt_bind_text(st, 1, user) ||
      pb_stmt_bind_text(st, 2, web_role_name(role)) ||
      pb_stmt_bind_text(st, 3, hash) || pb_stmt_bind_int(st, 4, now))
    return PB_EDB;
  return pb_stmt_run(st);
}

/* Sessions of `user` end (all but `keep_hash`) when its password changes;
 * with `tokens_too` (the user is removed, or an admin or --reset-admin set
 * its password: whoever knew the old one may have made tokens) its API
 * tokens go as well. */
int64_t web_auth_revoke_user(struct web *w, const char *user,
                             const char *keep_hash, bool tokens_too) {
  struct web_auth_state *a = w->auth;
  int64_t tokens = 0;
  struct pb_stmt *st = pb_store_stmt(
      w->store, "DELETE FROM sessions WHERE user = ?1 AND hash <> ?2");
  if (st && !pb_stmt_bind_text(st, 1, user) &&
      !pb_stmt_bind_text(st, 2, keep_hash ? keep_hash : ""))
    run_or_warn(st, "delete the sessions of a user");
  if (tokens_too) {
    st = pb_store_stmt(w->store, "DELETE FROM tokens WHERE user = ?1");
    if (st && !pb_stmt_bind_text(st, 1, user) && !pb_stmt_run(st))
      tokens = pb_store_changes(w->store);
  }
  if (!a)
    return tokens; /* web-api --reset-admin: only the database */
  for (int round = 0; round < (tokens_too ? 2 : 1); round++) {
    struct pb_map *m = round ? a->tokens : a->sessions;
    /* Collect first: the map must not change while it is walked. */
    char(*keys)[65] = calloc(pb_map_count(m) + 1, 65);
    size_t n = 0, pos = 0;
    const char *key;
    void *v;
    while (keys && (v = pb_map_next(m, &pos, &key))) {
      const char *owner = round ? ((struct web_token *)v)->user
                                : ((struct web_session *)v)->user;
      if (strcmp(owner, user) == 0 &&
          (!keep_hash || strcmp(key, keep_hash) != 0))
        pb_strlcpy(keys[n++], key, 65);
    }
    for (size_t i = 0; i < n; i++) {
      void *gone = pb_map_remove(m, keys[i]);
      if (round)
        free(gone);
      else
        session_free(gone);
    }
    free(keys);
  }
  return tokens;
}

static int create_first_admin(struct web *w) {
  struct pb_stmt *st = pb_store_stmt(w->store, "SELECT COUNT(*) FROM users");
  if (!st || pb_stmt_step(st) != PB_STMT_ROW)
    return PB_EDB;
  int64_t users = pb_stmt_int(st, 0);
  web_stmt_finish(st);
  if (users > 0)
    return 0;
  const char *given = pb_config_str(w->cfg, PB_CFG_WEB_ADMIN_PASSWORD);
  char generated[64];
  const char *pw = given;
  if (!*given) {
    if (pb_random_token(15, generated, sizeof generated))
      return PB_ECRYPTO;
    pw = generated;
  } else {
    char why[256];
    if (web_password_policy("admin", given, why, sizeof why)) {
      pb_error("WEB_ADMIN_PASSWORD %s (docs/api.md, \"Passwords\")", why);
      return PB_ECONFIG;
    }
  }
  int rc = web_user_set_password(w, "admin", pw, WEB_ROLE_ADMIN, true);
  if (rc) {
    pb_secret_wipe(generated, sizeof generated);
    return rc;
  }
  if (*given) {
    pb_info("created the administrator account 'admin' with the password of "
            "WEB_ADMIN_PASSWORD");
  } else {
    /* Printed once, on stderr, outside the log's redaction: this is the
     * only time anybody can see it. */
    fprintf(
        stderr,
        "web-api: created the administrator account 'admin' with the generated "
        "password: %s\n"
        "web-api: it is shown only this once; change it in the dashboard, or "
        "run 'web-api --reset-admin' for a new one\n",
        generated);
    fflush(stderr);
    pb_secret_wipe(generated, sizeof generated);
  }
  return 0;
}

int web_auth_init(struct web *w) {
  struct web_auth_state *a = calloc(1, sizeof *a);
  if (!a)
    return PB_ENOMEM;
  w->auth = a;
  a->sessions = pb_map_new();
  a->tokens = pb_map_new();
  a->failures = pb_map_new();
  if (!a->sessions || !a->tokens || !a->failures)
    return PB_ENOMEM;
  int rc = create_first_admin(w);
  return rc ? rc : load(w);
}

void web_auth_cleanup(struct web *w) {
  if (!w->auth)
    return;
  free_sessions(w->auth->sessions);
  free_map(w->auth->tokens);
  free_map(w->auth->failures);
  free(w->auth);
  w->auth = NULL;
}

/* Sessions and tokens are read again from the database when another
 * process changed it, so that `web-api --reset-admin` ends the sessions of
 * the running web-api at once. */
static void reload_if_changed(struct web *w) {
  struct web_auth_state *a = w->auth;
  if (data_version(w) == a->data_version)
    return;
  struct pb_map *sessions = pb_map_new(), *tokens = pb_map_new();
  if (!sessions || !tokens) {
    pb_map_free(sessions);
    pb_map_free(tokens);
    return;
  }
  free_sessions(a->sessions);
  free_map(a->tokens);
  a->sessions = sessions;
  a->tokens = tokens;
  if (load(w))
    pb_warn("cannot read sessions and tokens again from the database");
  else
    pb_info("accounts changed by another process: sessions and tokens read "
            "again (%zu sessions, %zu tokens)",
            pb_map_count(a->sessions), pb_map_count(a->tokens));
}

void web_auth_identify(struct web *w, const char *authz, const char *cookie,
                       struct web_auth *out) {
  memset(out, 0, sizeof *out);
  reload_if_changed(w);
  struct web_auth_state *a = w->auth;
  char hash[65];
  if (authz) {
    if (strncasecmp(authz, "Bearer ", 7) != 0)
      return;
    const char *tok = authz + 7;
    while (*tok == ' ')
      tok++;
    pb_sha256_hex(tok, strlen(tok), hash, sizeof hash);
    struct web_token *t = pb_map_get(a->tokens, hash);
    int64_t now = pb_clock_now();
    if (!t || (t->expires_at && now >= t->expires_at))
      return; /* an expired token stays listed, refused, until removed */
    out->role = t->role;
    pb_strlcpy(out->user, t->user, sizeof out->user);
    /* Written at most once a minute: a script polling hard costs no I/O. */
    if (now - t->last_used_at >= 60) {
      t->last_used_at = now;
      struct pb_stmt *st = pb_store_stmt(
          w->store, "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1");
      if (st && !pb_stmt_bind_int(st, 1, t->id) &&
          !pb_stmt_bind_int(st, 2, now))
        run_or_warn(st, "record the use of an API token");
    }
    return;
  }
  if (!cookie || !*cookie)
    return;
  pb_sha256_hex(cookie, strlen(cookie), hash, sizeof hash);
  struct web_session *s = pb_map_get(a->sessions, hash);
  if (!s)
    return;
  if (s->expires_at <= pb_clock_now()) {
    session_free(pb_map_remove(a->sessions, hash));
    struct pb_stmt *st =
        pb_store_stmt(w->store, "DELETE FROM sessions WHERE hash = ?1");
    if (st && !pb_stmt_bind_text(st, 1, hash))
      run_or_warn(st, "delete an expired session");
    return;
  }
  out->role = s->role;
  out->by_cookie = true;
  pb_strlcpy(out->user, s->user, sizeof out->user);
  pb_strlcpy(out->csrf, s->csrf, sizeof out->csrf);
  pb_strlcpy(out->session_hash, hash, sizeof out->session_hash);
}

/* ---- sessions ---- */

int web_session_create(struct web *w, const char *user, enum web_role role,
                       char *cookie, size_t cookie_len, char *csrf,
                       size_t csrf_len, int64_t *expires_at) {
  char hash[65];
  if (pb_random_token(32, cookie, cookie_len) ||
      pb_random_token(32, csrf, csrf_len))
    return PB_ECRYPTO;
  pb_sha256_hex(cookie, strlen(cookie), hash, sizeof hash);
  int64_t now = pb_clock_now();
  *expires_at = now + pb_config_int(w->cfg, PB_CFG_WEB_SESSION_HOURS) * 3600;
  struct pb_stmt *st = pb_store_stmt(
      w->store,
      "INSERT INTO sessions(hash, user, csrf, created_at, expires_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!st || pb_stmt_bind_text(st, 1, hash) || pb_stmt_bind_text(st, 2, user) ||
      pb_stmt_bind_text(st, 3, csrf) || pb_stmt_bind_int(st, 4, now) ||
      pb_stmt_bind_int(st, 5, *expires_at) || pb_stmt_run(st))
    return PB_EDB;
  struct web_session *s = calloc(1, sizeof *s);
  if (!s)
    return PB_ENOMEM;
  pb_strlcpy(s->user, user, sizeof s->user);
  pb_strlcpy(s->csrf, csrf, sizeof s->csrf);
  s->role = role;
  s->expires_at = *expires_at;
  if (pb_map_put(w->auth->sessions, hash, s)) {
    session_free(s);
    return PB_ENOMEM;
  }
  return 0;
}

void web_session_delete(struct web *w, const char *hash) {
  session_free(pb_map_remove(w->auth->sessions, hash));
  struct pb_stmt *st =
      pb_store_stmt(w->store, "DELETE FROM sessions WHERE hash = ?1");
  if (st && !pb_stmt_bind_text(st, 1, hash))
    run_or_warn(st, "delete a session");
}

/* ---- API tokens ---- */

int web_token_create(struct web *w, const char *name, const char *user,
                     enum web_role role, int64_t expires_at, char *token,
                     size_t token_len, int64_t *id) {
  char rnd[64], hash[65];
  if (pb_random_token(32, rnd, sizeof rnd))
    return PB_ECRYPTO;
  /* A recognisable prefix lets secret scanners find leaked tokens. */
  snprintf(token, token_len, "pbt_%s", rnd);
  pb_sha256_hex(token, strlen(token), hash, sizeof hash);
  struct pb_stmt *st = pb_store_stmt(
      w->store,
      "INSERT INTO tokens(name, user, role, hash, created_at, expires_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st || pb_stmt_bind_text(st, 1, name) || pb_stmt_bind_text(st, 2, user) ||
      pb_stmt_bind_text(st, 3, web_role_name(role)) ||
      pb_stmt_bind_text(st, 4, hash) ||
      pb_stmt_bind_int(st, 5, pb_clock_now()) ||
      (expires_at ? pb_stmt_bind_int(st, 6, expires_at)
                  : pb_stmt_bind_null(st, 6)) ||
      pb_stmt_run(st))
    return PB_EDB;
  struct web_token *t = calloc(1, sizeof *t);
  if (!t)
    return PB_ENOMEM;
  t->id = *id = pb_store_last_id(w->store);
  t->role = role;
  t->expires_at = expires_at;
  pb_strlcpy(t->user, user, sizeof t->user);
  if (pb_map_put(w->auth->tokens, hash, t)) {
    free(t);
    return PB_ENOMEM;
  }
  return 0;
}

int web_token_delete(struct web *w, int64_t id, const char *owner) {
  struct pb_stmt *st = pb_store_stmt(
      w->store,
      "SELECT hash FROM tokens WHERE id = ?1 AND (?2 IS NULL OR user = ?2)");
  if (!st || pb_stmt_bind_int(st, 1, id) ||
      (owner ? pb_stmt_bind_text(st, 2, owner) : pb_stmt_bind_null(st, 2)))
    return PB_EDB;
  if (pb_stmt_step(st) != PB_STMT_ROW)
    return PB_ENOTFOUND;
  char hash[65];
  pb_strlcpy(hash, pb_stmt_text(st, 0), sizeof hash);
  web_stmt_finish(st);
  free(pb_map_remove(w->auth->tokens, hash));
  st = pb_store_stmt(w->store, "DELETE FROM tokens WHERE id = ?1");
  if (!st || pb_stmt_bind_int(st, 1, id))
    return PB_EDB;
  return pb_stmt_run(st);
}

/* ---- web-api --reset-admin ---- */

int web_auth_reset_cli(const struct pb_config *cfg, const char *user) {
  struct web w = {.cfg = cfg};
  if (web_store_open(cfg, &w.store))
    return 1;
  char pw[64];
  enum web_role role;
  int rc = pb_random_token(15, pw, sizeof pw);
  bool exists = web_user_role(&w, user, &role) == 0;
  if (!rc)
    rc = web_user_set_password(&w, user, pw, exists ? role : WEB_ROLE_ADMIN,
                               !exists);
  if (!rc) {
    /* Sessions and API tokens of that user end, in the running web-api
     * too: it reads them again when the database's data_version moves. */
    int64_t tokens = web_auth_revoke_user(&w, user, NULL, true);
    printf("%s account '%s': new password: %s\n",
           exists ? "reset the" : "created the", user, pw);
    if (tokens > 0)
      printf("revoked its %lld API token(s): create new ones\n",
             (long long)tokens);
  } else {
    fprintf(stderr, "web-api: cannot set the password of '%s': %s\n", user,
            pb_strerror(rc));
  }
  pb_secret_wipe(pw, sizeof pw);
  pb_store_close(w.store);
  return rc ? 1 : 0;
}
