/* Address kinds for outgoing requests: each range's edges, IPv4-mapped
 * IPv6, the metadata endpoints, and what each policy refuses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "pb/error.h"
#include "pb/netaddr.h"

static enum pb_addr_kind kind(const char *text) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    return pb_addr_classify((struct sockaddr *)&ss, sizeof *in);
  }
  CHECK(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
  in6->sin6_family = AF_INET6;
  return pb_addr_classify((struct sockaddr *)&ss, sizeof *in6);
}

static void kinds(void) {
  static const struct {
    const char *addr;
    enum pb_addr_kind kind;
  } cases[] = {
      {"8.8.8.8", PB_ADDR_KIND_PUBLIC},
      {"93.184.216.34", PB_ADDR_KIND_PUBLIC},
      {"169.254.169.254", PB_ADDR_KIND_METADATA},
      {"100.100.100.200", PB_ADDR_KIND_METADATA},
      {"169.254.0.1", PB_ADDR_KIND_LINK_LOCAL},
      {"169.254.255.255", PB_ADDR_KIND_LINK_LOCAL},
      {"169.253.255.255", PB_ADDR_KIND_PUBLIC},
      {"10.0.0.1", PB_ADDR_KIND_PRIVATE},
      {"11.0.0.1", PB_ADDR_KIND_PUBLIC},
      {"172.16.0.1", PB_ADDR_KIND_PRIVATE},
      {"172.31.255.255", PB_ADDR_KIND_PRIVATE},
      {"172.32.0.1", PB_ADDR_KIND_PUBLIC},
      {"192.168.1.10", PB_ADDR_KIND_PRIVATE},
      {"192.169.0.1", PB_ADDR_KIND_PUBLIC},
      {"127.0.0.1", PB_ADDR_KIND_PRIVATE},
      {"127.255.0.9", PB_ADDR_KIND_PRIVATE},
      {"0.0.0.0", PB_ADDR_KIND_PRIVATE},
      {"100.64.0.1", PB_ADDR_KIND_PRIVATE},
      {"100.127.255.255", PB_ADDR_KIND_PRIVATE},
      {"100.128.0.1", PB_ADDR_KIND_PUBLIC},
      {"::1", PB_ADDR_KIND_PRIVATE},
      {"::", PB_ADDR_KIND_PRIVATE},
      {"fc00::1", PB_ADDR_KIND_PRIVATE},
      {"fdff::1", PB_ADDR_KIND_PRIVATE},
      {"fe80::1", PB_ADDR_KIND_LINK_LOCAL},
      {"febf::1", PB_ADDR_KIND_LINK_LOCAL},
      {"fd00:ec2::254", PB_ADDR_KIND_METADATA},
      {"::ffff:127.0.0.1", PB_ADDR_KIND_PRIVATE},
      {"::ffff:169.254.169.254", PB_ADDR_KIND_METADATA},
      {"::ffff:8.8.8.8", PB_ADDR_KIND_PUBLIC},
      {"2001:4860:4860::8888", PB_ADDR_KIND_PUBLIC},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    enum pb_addr_kind k = kind(cases[i].addr);
    if (k != cases[i].kind)
      fprintf(stderr, "%s: kind %d, expected %d\n", cases[i].addr, (int)k,
              (int)cases[i].kind);
    CHECK_INT(k, cases[i].kind);
  }
}

static int check(const char *addr, enum pb_addr_policy policy, char *why,
                 size_t len) {
  struct sockaddr_in in = {.sin_family = AF_INET};
  CHECK(inet_pton(AF_INET, addr, &in.sin_addr) == 1);
  return pb_addr_check((struct sockaddr *)&in, sizeof in, policy, why, len);
}

static void policies(void) {
  char why[120];
  CHECK_INT(check("127.0.0.1", PB_ADDR_ANY, why, sizeof why), 0);
  CHECK_INT(check("127.0.0.1", PB_ADDR_NOT_LINK_LOCAL, why, sizeof why), 0);
  CHECK_INT(check("127.0.0.1", PB_ADDR_PUBLIC, why, sizeof why), PB_EINVAL);
  CHECK_STR(why, "127.0.0.1 is a private or loopback address");
  CHECK_INT(check("169.254.169.254", PB_ADDR_NOT_LINK_LOCAL, why, sizeof why),
            PB_EINVAL);
  CHECK_STR(why, "169.254.169.254 is a cloud metadata address");
  CHECK_INT(check("169.254.1.1", PB_ADDR_NOT_LINK_LOCAL, why, sizeof why),
            PB_EINVAL);
  CHECK_STR(why, "169.254.1.1 is a link-local address");
  CHECK_INT(check("8.8.8.8", PB_ADDR_PUBLIC, why, sizeof why), 0);
}

int main(void) {
  RUN(kinds);
  RUN(policies);
  return CHECK_DONE();
}
