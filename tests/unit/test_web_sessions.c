/* web-api's sessions and API tokens (services/web-api/auth.c) against a
 * real web-api.db and a frozen clock: who a cookie or a bearer token is,
 * sessions ending at their expiry (and leaving the database), tokens that
 * expire or never do, revocation when a password changes or a user goes,
 * and sessions ended by another process (web-api --reset-admin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/map.h"
#include "pb/secretbox.h"
#include "pb/store.h"
#include "test_web_fake.h"

#define T0 1700000000000LL /* ms */

static struct web w;
static struct pb_config *cfg;
static char dir[] = "/tmp/pb-test-web-sessions-XXXXXX";

static void setup(void) {
  char err[256];
  CHECK(mkdtemp(dir) != NULL);
  cfg = pb_config_new();
  CHECK(cfg != NULL);
  CHECK_INT(pb_config_set(cfg, "DATA_DIR", dir, err, sizeof err), 0);
  CHECK_INT(pb_config_set(cfg, "WEB_SESSION_HOURS", "2", err, sizeof err), 0);
  CHECK_INT(pb_config_set(cfg, "WEB_ADMIN_PASSWORD", "a-long-test-Passw0rd",
                          err, sizeof err),
            0);
  w.cfg = cfg;
  CHECK_INT(web_store_open(cfg, &w.store), 0);
  CHECK_INT(web_auth_init(&w), 0);
  /* bob, a read-only user (the hash is never checked here). */
  CHECK_INT(web_user_store_hash(&w, "bob", "$argon2id$not-checked",
                                WEB_ROLE_READONLY, true),
            0);
}

static void who(const char *authz, const char *cookie, struct web_auth *a) {
  web_auth_identify(&w, authz, cookie, a);
}

static int64_t rows(const char *sql) {
  struct pb_stmt *st = pb_store_stmt(w.store, sql);
  int64_t n = -1;
  if (st && pb_stmt_step(st) == PB_STMT_ROW)
    n = pb_stmt_int(st, 0);
  web_stmt_finish(st);
  return n;
}

static void session_identifies(void) {
  pb_clock_set_fixed(T0);
  char cookie[64], csrf[64], hash[65];
  int64_t expires = 0;
  CHECK_INT(web_session_create(&w, "admin", WEB_ROLE_ADMIN, cookie,
                               sizeof cookie, csrf, sizeof csrf, &expires),
            0);
  CHECK_INT(expires, T0 / 1000 + 2 * 3600);
  CHECK(strcmp(cookie, csrf) != 0);
  struct web_auth a;
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_ADMIN);
  CHECK_STR(a.user, "admin");
  CHECK(a.by_cookie);
  CHECK_STR(a.csrf, csrf);
  /* Only the SHA-256 of the cookie is kept. */
  pb_sha256_hex(cookie, strlen(cookie), hash, sizeof hash);
  CHECK_STR(a.session_hash, hash);
  CHECK(pb_map_get(w.auth->sessions, cookie) == NULL);
  CHECK(pb_map_get(w.auth->sessions, hash) != NULL);

  /* Unknown, empty or missing cookies are nobody. */
  who(NULL, "not-a-session", &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  CHECK_STR(a.user, "");
  who(NULL, "", &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  who(NULL, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  /* An Authorization header decides alone: a wrong one is not rescued by
   * a valid cookie. */
  who("Basic YWRtaW46eA==", cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  CHECK(!a.by_cookie);
  web_session_delete(&w, hash);
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
}

static void session_expires(void) {
  pb_clock_set_fixed(T0);
  char cookie[64], csrf[64];
  int64_t expires;
  CHECK_INT(web_session_create(&w, "bob", WEB_ROLE_READONLY, cookie,
                               sizeof cookie, csrf, sizeof csrf, &expires),
            0);
  int64_t before = rows("SELECT COUNT(*) FROM sessions");
  struct web_auth a;
  /* Valid to its last second... */
  pb_clock_set_fixed((expires - 1) * 1000);
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_READONLY);
  CHECK_STR(a.user, "bob");
  /* ...and over at its expiry: forgotten in memory and in the database. */
  pb_clock_set_fixed(expires * 1000);
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  CHECK_STR(a.user, "");
  CHECK_INT(rows("SELECT COUNT(*) FROM sessions"), before - 1);
  /* Going back in time does not bring it back. */
  pb_clock_set_fixed(T0);
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
}

static void token_expiry(void) {
  pb_clock_set_fixed(T0);
  char tok[80], never[80], bearer[100];
  int64_t id, id2;
  CHECK_INT(web_token_create(&w, "script", "admin", WEB_ROLE_READONLY,
                             T0 / 1000 + 100, tok, sizeof tok, &id),
            0);
  CHECK(strncmp(tok, "pbt_", 4) == 0);
  CHECK_INT(web_token_create(&w, "forever", "admin", WEB_ROLE_ADMIN, 0, never,
                             sizeof never, &id2),
            0);
  CHECK(id2 != id);
  struct web_auth a;
  snprintf(bearer, sizeof bearer, "Bearer %s", tok);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_READONLY); /* the token's role, not admin's */
  CHECK_STR(a.user, "admin");
  CHECK(!a.by_cookie);
  /* The scheme is case-insensitive, spaces before the token are skipped. */
  snprintf(bearer, sizeof bearer, "bearer    %s", tok);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_READONLY);
  /* The use is recorded. */
  CHECK_INT(rows("SELECT last_used_at FROM tokens WHERE name = 'script'"),
            T0 / 1000);
  /* A token expires at its instant; one without expiry never. */
  pb_clock_set_fixed(T0 + 99 * 1000);
  snprintf(bearer, sizeof bearer, "Bearer %s", tok);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_READONLY);
  pb_clock_set_fixed(T0 + 100 * 1000);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  /* An expired token stays listed (refused) until removed. */
  CHECK_INT(rows("SELECT COUNT(*) FROM tokens WHERE name = 'script'"), 1);
  pb_clock_set_fixed(T0 + 3650LL * 86400 * 1000);
  snprintf(bearer, sizeof bearer, "Bearer %s", never);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_ADMIN);
  /* Removal: only by its owner (or an admin, owner NULL). */
  CHECK_INT(web_token_delete(&w, id2, "bob"), PB_ENOTFOUND);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_ADMIN);
  CHECK_INT(web_token_delete(&w, id2, "admin"), 0);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  CHECK_INT(web_token_delete(&w, id, NULL), 0);
  CHECK_INT(web_token_delete(&w, id, NULL), PB_ENOTFOUND);
}

static void revocation(void) {
  pb_clock_set_fixed(T0);
  char keep[64], other[64], admins[64], csrf[64], tok[80], bearer[100];
  char keep_hash[65];
  int64_t expires, id;
  CHECK_INT(web_session_create(&w, "bob", WEB_ROLE_READONLY, keep, sizeof keep,
                               csrf, sizeof csrf, &expires),
            0);
  CHECK_INT(web_session_create(&w, "bob", WEB_ROLE_READONLY, other,
                               sizeof other, csrf, sizeof csrf, &expires),
            0);
  CHECK_INT(web_session_create(&w, "admin", WEB_ROLE_ADMIN, admins,
                               sizeof admins, csrf, sizeof csrf, &expires),
            0);
  CHECK_INT(web_token_create(&w, "bob's", "bob", WEB_ROLE_READONLY, 0, tok,
                             sizeof tok, &id),
            0);
  snprintf(bearer, sizeof bearer, "Bearer %s", tok);
  pb_sha256_hex(keep, strlen(keep), keep_hash, sizeof keep_hash);
  struct web_auth a;

  /* bob changes his own password: his other sessions end, the one he used
   * stays, and so do his tokens. */
  CHECK_INT(web_auth_revoke_user(&w, "bob", keep_hash, false), 0);
  who(NULL, keep, &a);
  CHECK_INT(a.role, WEB_ROLE_READONLY);
  who(NULL, other, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_READONLY);
  CHECK_INT(rows("SELECT COUNT(*) FROM sessions WHERE user = 'bob'"), 1);

  /* An admin resets bob's password (or removes him): everything of bob's
   * ends, nobody else's. */
  CHECK_INT(web_auth_revoke_user(&w, "bob", NULL, true), 1);
  who(NULL, keep, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  who(bearer, NULL, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
  CHECK_INT(rows("SELECT COUNT(*) FROM sessions WHERE user = 'bob'"), 0);
  CHECK_INT(rows("SELECT COUNT(*) FROM tokens WHERE user = 'bob'"), 0);
  who(NULL, admins, &a);
  CHECK_INT(a.role, WEB_ROLE_ADMIN);
}

/* web-api --reset-admin in another process: the running web-api reads the
 * sessions again when the database changed under it. */
static void another_process(void) {
  pb_clock_set_fixed(T0);
  char cookie[64], csrf[64];
  int64_t expires;
  CHECK_INT(web_session_create(&w, "admin", WEB_ROLE_ADMIN, cookie,
                               sizeof cookie, csrf, sizeof csrf, &expires),
            0);
  struct web_auth a;
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_ADMIN);
  struct pb_store *other = NULL;
  CHECK_INT(web_store_open(cfg, &other), 0);
  struct pb_stmt *st =
      pb_store_stmt(other, "DELETE FROM sessions WHERE user = 'admin'");
  CHECK(st && pb_stmt_run(st) == 0);
  pb_store_close(other);
  who(NULL, cookie, &a);
  CHECK_INT(a.role, WEB_ROLE_NONE);
}

static void cleanup(void) {
  web_auth_cleanup(&w);
  pb_store_close(w.store);
  pb_config_free(cfg);
  char path[256];
  static const char *const files[] = {"web-api.db", "web-api.db-wal",
                                      "web-api.db-shm"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(void) {
  pb_clock_set_fixed(T0);
  setup();
  RUN(session_identifies);
  RUN(session_expires);
  RUN(token_expiry);
  RUN(revocation);
  RUN(another_process);
  cleanup();
  return CHECK_DONE();
}
