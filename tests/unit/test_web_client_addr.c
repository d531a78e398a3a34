/* web-api's client address (services/web-api/client_addr.c): the peer, or
 * the right-most X-Forwarded-For entry that is not a trusted proxy when the
 * peer is one of WEB_TRUSTED_PROXIES; IPv4-mapped peers are IPv4; limits
 * count an IPv6 client by its /64. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "pb/config.h"
#include "web.h"

static struct web w;
static struct pb_config *cfg;

static void setup(void) {
  char err[256];
  cfg = pb_config_new();
  CHECK(cfg != NULL);
  CHECK_INT(pb_config_set(cfg, "WEB_TRUSTED_PROXIES",
                          " 10.0.0.5, 192.168.1.0/24 ,2001:db8:ffff::/48", err,
                          sizeof err),
            0);
  w.cfg = cfg;
  CHECK_INT(web_proxies_init(&w), 0);
}

/* The client as text for a peer `ip` and an X-Forwarded-For `xff`. */
static const char *client(const char *ip, const char *xff) {
  static char text[64];
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
  if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
    in->sin_family = AF_INET;
  else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
    in6->sin6_family = AF_INET6;
  struct web_addr a;
  web_client_address(&w, (const struct sockaddr *)(const void *)&ss, xff, &a);
  web_addr_text(&a, text, sizeof text);
  return text;
}

static void any(void) {
  CHECK(web_proxies_any(&w));
  struct pb_config *none = pb_config_new();
  struct web other = {.cfg = none};
  CHECK(none != NULL);
  CHECK_INT(web_proxies_init(&other), 0);
  CHECK(!web_proxies_any(&other));
  web_proxies_cleanup(&other);
  CHECK(!web_proxies_any(&other));
  pb_config_free(none);
}

static void peers(void) {
  CHECK_STR(client("198.51.100.7", NULL), "198.51.100.7");
  CHECK_STR(client("2001:db8:1::9", NULL), "2001:db8:1::9");
  /* A dual-stack socket's IPv4 client is IPv4. */
  CHECK_STR(client("::ffff:198.51.100.7", NULL), "198.51.100.7");
  /* No peer at all. */
  struct web_addr a;
  web_client_address(&w, NULL, "203.0.113.1", &a);
  CHECK_INT(a.family, 0);
  char text[64];
  web_addr_text(&a, text, sizeof text);
  CHECK_STR(text, "unknown");
}

static void forwarded(void) {
  /* Anybody may write X-Forwarded-For: only a trusted proxy is believed. */
  CHECK_STR(client("198.51.100.7", "203.0.113.1"), "198.51.100.7");
  CHECK_STR(client("10.0.0.6", "203.0.113.1"), "10.0.0.6");
  CHECK_STR(client("10.0.0.5", "203.0.113.1"), "203.0.113.1");
  CHECK_STR(client("192.168.1.77", "203.0.113.1"), "203.0.113.1");
  CHECK_STR(client("::ffff:10.0.0.5", "203.0.113.1"), "203.0.113.1");
  CHECK_STR(client("2001:db8:ffff:1::1", "2001:db8:2::2"), "2001:db8:2::2");
  /* The right-most entry that is not a proxy: what the client wrote on the
   * left proves nothing. */
  CHECK_STR(client("10.0.0.5", "1.1.1.1, 203.0.113.9"), "203.0.113.9");
  CHECK_STR(client("10.0.0.5", "1.1.1.1, 203.0.113.9 ,192.168.1.3"),
            "203.0.113.9");
  /* Garbage, a port, "unknown" or only proxies: the peer. */
  CHECK_STR(client("10.0.0.5", "203.0.113.9:443"), "10.0.0.5");
  CHECK_STR(client("10.0.0.5", "unknown"), "10.0.0.5");
  CHECK_STR(client("10.0.0.5", "203.0.113.9, nonsense"), "10.0.0.5");
  CHECK_STR(client("10.0.0.5", "192.168.1.2, 10.0.0.5"), "10.0.0.5");
  CHECK_STR(client("10.0.0.5", ""), "10.0.0.5");
  CHECK_STR(client("10.0.0.5", NULL), "10.0.0.5");
}

static void keys(void) {
  char key[80];
  web_addr_key_text("2001:db8:1:2:3:4:5:6", key, sizeof key);
  CHECK_STR(key, "2001:db8:1:2::/64");
  web_addr_key_text("2001:db8:1:2::99", key, sizeof key);
  CHECK_STR(key, "2001:db8:1:2::/64");
  web_addr_key_text("192.0.2.1", key, sizeof key);
  CHECK_STR(key, "192.0.2.1");
  web_addr_key_text("::ffff:192.0.2.1", key, sizeof key);
  CHECK_STR(key, "192.0.2.1");
  web_addr_key_text("not an address", key, sizeof key);
  CHECK_STR(key, "not an address");
}

static void config_check(void) {
  char err[256];
  struct pb_config *c = pb_config_new();
  CHECK(c != NULL);
  CHECK_INT(
      pb_config_set(c, "WEB_TRUSTED_PROXIES", "10.0.0.0/33", err, sizeof err),
      0);
  CHECK_INT(web_proxies_check(c, err, sizeof err), PB_ECONFIG);
  CHECK(strstr(err, "'10.0.0.0/33'") != NULL);
  CHECK_INT(
      pb_config_set(c, "WEB_TRUSTED_PROXIES", "proxy.example", err, sizeof err),
      0);
  CHECK_INT(web_proxies_check(c, err, sizeof err), PB_ECONFIG);
  CHECK_INT(pb_config_set(c, "WEB_TRUSTED_PROXIES", "fd00::/8,127.0.0.1", err,
                          sizeof err),
            0);
  CHECK_INT(web_proxies_check(c, err, sizeof err), 0);
  pb_config_free(c);
}

int main(void) {
  setup();
  RUN(any);
  RUN(peers);
  RUN(forwarded);
  RUN(keys);
  RUN(config_check);
  web_proxies_cleanup(&w);
  pb_config_free(cfg);
  return CHECK_DONE();
}
