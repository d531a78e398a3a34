/* web-api's connection limits (services/web-api/conn_limits.c): at most
 * WEB_MAX_ANONYMOUS_PER_ADDRESS connections without credentials per client
 * address (trusted proxies exempt), at most WEB_MAX_ANONYMOUS_CONNECTIONS
 * in all, where a newcomer takes the place of a connection still sending,
 * from the address holding the most; one being answered is never closed,
 * and credentials take a connection out of the count (docs/api.md
 * "Limits"). Deadlines need the monotonic clock and are left to
 * integration.86. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "pb/config.h"
#include "pb/loop.h"
#include "test_web_fake.h"

static struct web w;
static struct pb_config *cfg;

static const struct sockaddr *addr(const char *ip) {
  static struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
  if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
    in->sin_family = AF_INET;
  else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
    in6->sin6_family = AF_INET6;
  return (const struct sockaddr *)(const void *)&ss;
}

/* A connection from `ip` as the server reports it: accepted, then opened
 * (NULL when refused). The descriptor is not a socket: a cut does nothing
 * to it. */
static struct web_sock *connect_from(const char *ip) {
  if (!web_limits_accept(&w, addr(ip)))
    return NULL;
  struct web_sock *s = web_limits_opened(&w, -1, addr(ip));
  CHECK(s != NULL);
  return s;
}

static void setup(void) {
  char err[256];
  cfg = pb_config_new();
  CHECK(cfg != NULL);
  CHECK_INT(
      pb_config_set(cfg, "WEB_MAX_ANONYMOUS_CONNECTIONS", "8", err, sizeof err),
      0);
  CHECK_INT(
      pb_config_set(cfg, "WEB_MAX_ANONYMOUS_PER_ADDRESS", "3", err, sizeof err),
      0);
  CHECK_INT(
      pb_config_set(cfg, "WEB_TRUSTED_PROXIES", "10.0.0.5", err, sizeof err),
      0);
  w.cfg = cfg;
  CHECK_INT(pb_loop_new(&w.loop), 0);
  CHECK_INT(web_proxies_init(&w), 0);
  CHECK_INT(web_limits_init(&w, 100), 0);
}

static void per_address(void) {
  struct web_sock *a[4];
  for (int i = 0; i < 3; i++)
    CHECK((a[i] = connect_from("192.0.2.1")) != NULL);
  uint64_t refused = w.metrics.conns_refused;
  CHECK(connect_from("192.0.2.1") == NULL);
  CHECK_INT(w.metrics.conns_refused, refused + 1);
  /* IPv6: the /64 is one address. */
  struct web_sock *v6[3];
  CHECK((v6[0] = connect_from("2001:db8:1:2::1")) != NULL);
  CHECK((v6[1] = connect_from("2001:db8:1:2::2")) != NULL);
  CHECK((v6[2] = connect_from("2001:db8:1:2:ffff::3")) != NULL);
  CHECK(connect_from("2001:db8:1:2::4") == NULL);
  /* Other addresses are not concerned. */
  CHECK((a[3] = connect_from("192.0.2.2")) != NULL);
  /* Credentials take a connection out of the count. */
  web_limits_head_in(&w, a[0], true);
  struct web_sock *again = connect_from("192.0.2.1");
  CHECK(again != NULL);
  CHECK(connect_from("192.0.2.1") == NULL);
  /* So does its end. */
  web_limits_closed(&w, a[1]);
  struct web_sock *third = connect_from("192.0.2.1");
  CHECK(third != NULL);
  web_limits_closed(&w, a[0]);
  web_limits_closed(&w, a[2]);
  web_limits_closed(&w, a[3]);
  web_limits_closed(&w, again);
  web_limits_closed(&w, third);
  for (int i = 0; i < 3; i++)
    web_limits_closed(&w, v6[i]);
}

static void anonymous_share(void) {
  /* A trusted proxy may hold more than the per-address share... */
  struct web_sock *p[5], *b[3];
  for (int i = 0; i < 5; i++)
    CHECK((p[i] = connect_from("10.0.0.5")) != NULL);
  for (int i = 0; i < 3; i++)
    CHECK((b[i] = connect_from("198.51.100.1")) != NULL);
  /* ...but the anonymous share is full (8): a newcomer evicts one still
   * sending, from the address holding the most (the proxy's). */
  uint64_t evicted = w.metrics.conns_evicted;
  uint64_t refused = w.metrics.conns_refused;
  struct web_sock *c = connect_from("203.0.113.1");
  CHECK(c != NULL);
  CHECK_INT(w.metrics.conns_evicted, evicted + 1);
  CHECK_INT(w.metrics.conns_refused, refused);
  CHECK_INT(fake_kicks, 0); /* evicted at accept: the server is running */
  /* While nobody is sending any more, nobody is evicted: refused. */
  for (int i = 0; i < 5; i++)
    web_limits_busy(&w, p[i]);
  for (int i = 0; i < 3; i++)
    web_limits_busy(&w, b[i]);
  web_limits_busy(&w, c);
  CHECK(connect_from("203.0.113.2") == NULL);
  CHECK_INT(w.metrics.conns_refused, refused + 1);
  CHECK_INT(w.metrics.conns_evicted, evicted + 1);
  /* A request ended: its connection waits for the next head again and
   * may be evicted. */
  web_limits_idle(&w, b[0]);
  struct web_sock *d = connect_from("203.0.113.2");
  CHECK(d != NULL);
  CHECK_INT(w.metrics.conns_evicted, evicted + 2);
  /* The server closes them all (the evicted ones too). */
  for (int i = 0; i < 5; i++)
    web_limits_closed(&w, p[i]);
  for (int i = 0; i < 3; i++)
    web_limits_closed(&w, b[i]);
  web_limits_closed(&w, c);
  web_limits_closed(&w, d);
}

int main(void) {
  setup();
  RUN(per_address);
  RUN(anonymous_share);
  web_limits_cleanup(&w);
  web_proxies_cleanup(&w);
  pb_loop_free(w.loop);
  pb_config_free(cfg);
  return CHECK_DONE();
}
