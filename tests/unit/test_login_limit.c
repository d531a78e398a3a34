/* web-api's failed-login limiter (services/web-api/login_limit.c): the
 * three budgets, IPv6 counted by /64, refused attempts given back, the
 * window, and a full table that refuses the unknown instead of forgetting
 * anyone (docs/api.md "Authentication", "Limits"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pb/clock.h"
#include "pb/config.h"
#include "pb/map.h"
#include "web.h"

static struct web w;
static struct web_auth_state auth;
static struct pb_config *cfg;

static void setup(void) {
  char err[256];
  cfg = pb_config_new();
  CHECK(cfg != NULL);
  CHECK_INT(pb_config_set(cfg, "WEB_LOGIN_MAX_FAILURES", "3", err, sizeof err),
            0);
  CHECK_INT(pb_config_set(cfg, "WEB_LOGIN_MAX_FAILURES_PER_ADDRESS", "10", err,
                          sizeof err),
            0);
  CHECK_INT(pb_config_set(cfg, "WEB_LOGIN_MAX_FAILURES_PER_ACCOUNT", "20", err,
                          sizeof err),
            0);
  w.cfg = cfg;
  auth.failures = pb_map_new();
  w.auth = &auth;
}

static void reset(void) {
  size_t pos = 0;
  void *v;
  while ((v = pb_map_next(auth.failures, &pos, NULL)))
    free(v);
  pb_map_free(auth.failures);
  auth.failures = pb_map_new();
  auth.failures_sweep_at = 0;
}

static void fail(const char *ip, const char *user) {
  CHECK_INT(web_login_blocked(&w, ip, user), 0);
  web_login_result(&w, ip, user, false);
}

static void budgets(void) {
  reset();
  for (int i = 0; i < 3; i++)
    fail("192.0.2.1", "bob");
  CHECK(web_login_blocked(&w, "192.0.2.1", "bob") > 0);
  CHECK(web_login_blocked(&w, "192.0.2.1", "bob") <= 900);
  CHECK_INT(web_login_blocked(&w, "192.0.2.1", "alice"), 0);
  CHECK_INT(web_login_blocked(&w, "192.0.2.2", "bob"), 0);

  /* Per address: made-up names do not get an address more guesses. */
  reset();
  char name[32];
  for (int i = 0; i < 10; i++) {
    snprintf(name, sizeof name, "made-up-%d", i);
    fail("198.51.100.7", name);
  }
  CHECK(web_login_blocked(&w, "198.51.100.7", "made-up-new") > 0);
  CHECK(web_login_blocked(&w, "198.51.100.7", "admin") > 0);
  CHECK_INT(web_login_blocked(&w, "198.51.100.8", "admin"), 0);

  /* IPv6: one /64 is one address. */
  reset();
  for (int i = 0; i < 10; i++) {
    snprintf(name, sizeof name, "u%d", i);
    fail(i % 2 ? "2001:db8:1:2::1" : "2001:db8:1:2:aaaa::7", name);
  }
  CHECK(web_login_blocked(&w, "2001:db8:1:2::99", "x") > 0);
  CHECK_INT(web_login_blocked(&w, "2001:db8:1:3::1", "x"), 0);

  /* Per account, from every address. */
  reset();
  char ip[32];
  for (int i = 0; i < 20; i++) {
    snprintf(ip, sizeof ip, "203.0.113.%d", i + 1);
    fail(ip, "carol");
  }
  CHECK(web_login_blocked(&w, "203.0.113.200", "carol") > 0);
  CHECK_INT(web_login_blocked(&w, "203.0.113.200", "dave"), 0);
}

static void success_and_refusals(void) {
  reset();
  fail("192.0.2.1", "bob");
  fail("192.0.2.1", "bob");
  /* A refused attempt (busy checker) is given back. */
  fail("192.0.2.1", "bob");
  web_login_refused(&w, "192.0.2.1", "bob");
  CHECK_INT(web_login_blocked(&w, "192.0.2.1", "bob"), 0);
  fail("192.0.2.1", "bob");
  CHECK(web_login_blocked(&w, "192.0.2.1", "bob") > 0);

  /* The right password clears its pair, and only gives the attempt back
   * to the address: 9 failures + 1 success leave the address at 9. */
  reset();
  char name[32];
  for (int i = 0; i < 9; i++) {
    snprintf(name, sizeof name, "guess-%d", i);
    fail("192.0.2.9", name);
  }
  fail("192.0.2.9", "eve");
  web_login_result(&w, "192.0.2.9", "eve", true);
  fail("192.0.2.9", "another");
  CHECK(web_login_blocked(&w, "192.0.2.9", "eve") > 0);
}

static void window(void) {
  reset();
  pb_clock_set_fixed(1700000000000);
  for (int i = 0; i < 3; i++)
    fail("192.0.2.1", "bob");
  CHECK(web_login_blocked(&w, "192.0.2.1", "bob") > 0);
  pb_clock_advance(899 * 1000);
  CHECK_INT(web_login_blocked(&w, "192.0.2.1", "bob"), 1);
  pb_clock_advance(1000);
  CHECK_INT(web_login_blocked(&w, "192.0.2.1", "bob"), 0);
}

static void full_table(void) {
  reset();
  pb_clock_set_fixed(1700000000000);
  /* One address at its limit, then the table filled by others. */
  for (int i = 0; i < 3; i++)
    fail("192.0.2.1", "admin");
  char ip[48], name[32];
  int i = 0;
  while (web_login_blocked(&w, "10.255.255.255", "nobody-yet") == 0) {
    snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255,
             i & 255);
    snprintf(name, sizeof name, "n%d", i);
    fail(ip, name);
    i++;
    CHECK(i < 100000);
    if (i >= 100000)
      return;
  }
  /* Full: nobody was forgotten, and the unknown are refused. */
  CHECK(pb_map_count(auth.failures) <= 50000);
  CHECK(web_login_blocked(&w, "192.0.2.1", "admin") > 0);
  CHECK(web_login_blocked(&w, "10.255.255.254", "fresh") > 0);
  /* Known keys still work: a name and address seen before. */
  CHECK_INT(web_login_blocked(&w, "10.0.0.1", "n1"), 0);
  /* Once the windows end, the table makes room again. */
  pb_clock_advance(901 * 1000);
  CHECK_INT(web_login_blocked(&w, "10.255.255.255", "nobody-yet"), 0);
  CHECK(pb_map_count(auth.failures) < 100);
}

int main(void) {
  setup();
  pb_clock_set_fixed(1700000000000);
  RUN(budgets);
  RUN(success_and_refusals);
  RUN(window);
  RUN(full_table);
  reset();
  pb_map_free(auth.failures);
  pb_config_free(cfg);
  return CHECK_DONE();
}
