/* web-api's password policy (services/web-api/password_policy.c): length,
 * the user name, the common-password list; the test harness's own admin
 * password must pass. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "pb/error.h"
#include "web.h"

static const char *why(const char *user, const char *pw) {
  static char buf[256];
  buf[0] = '\0';
  return web_password_policy(user, pw, buf, sizeof buf) ? buf : NULL;
}

static void refused(const char *user, const char *pw, const char *rule) {
  const char *w = why(user, pw);
  CHECK(w != NULL);
  if (w && !strstr(w, rule))
    fprintf(stderr, "'%s' for '%s': '%s', expected '%s'\n", pw, user, w, rule);
  CHECK(w && strstr(w, rule));
}

static void length(void) {
  refused("alice", "", "at least 8 characters");
  refused("alice", "x7#Kq2!", "at least 8 characters");
  CHECK(why("alice", "x7#Kq2!m") == NULL);
  /* Characters, not bytes: six accented letters are six. */
  refused("alice", "\xc3\xa9\xc3\xa9\xc3\xa8\xc3\xa8\xc3\xa0\xc3\xa0",
          "at least 8 characters");
  char big[300];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[0] = 'b';
  refused("alice", big, "at most 256 bytes");
  refused("alice", "zzzzzzzzzzzz", "one character repeated");
}

static void user_name(void) {
  refused("reception", "reception", "the user name");
  refused("reception", "Reception", "the user name");
  refused("reception", "RECEPTION-1", "built on the user name");
  refused("reception", "reception-pw-1", "built on the user name");
  refused("alice", "alice2024alice!", "built on the user name");
  refused("alice", "alicepassword", "around a common password");
  /* Enough left once the user name is taken out. */
  CHECK(why("admin", "admin-password-for-tests") == NULL);
  CHECK(why("alice", "alice-loves-blue-ducks") == NULL);
}

static void common(void) {
  refused("alice", "password", "most common passwords");
  refused("alice", "PASSWORD", "most common passwords");
  refused("alice", "12345678", "most common passwords");
  refused("alice", "qwertyuiop", "most common passwords");
  refused("alice", "azertyuiop", "most common passwords");
  refused("alice", "Password2024!", "most common passwords");
  refused("alice", "iloveyou", "most common passwords");
  refused("alice", "motdepasse", "most common passwords");
  refused("alice", "changeme!!", "most common passwords");
  CHECK(why("alice", "correct horse battery staple") == NULL);
  CHECK(why("alice", "new-pw-1234") == NULL);
  CHECK(why(NULL, "front-desk-pw-1") == NULL);
  /* The rule's code. */
  char buf[64];
  CHECK_INT(web_password_policy("alice", "password", buf, sizeof buf),
            PB_EINVAL);
  CHECK_INT(web_password_policy("alice", "tr0ub4dor&3x", buf, sizeof buf), 0);
}

int main(void) {
  RUN(length);
  RUN(user_name);
  RUN(common);
  return CHECK_DONE();
}
