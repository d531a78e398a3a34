/* Address kinds for outgoing connections (pb/netaddr.h): RFC 1918 and
 * RFC 6598 private ranges, RFC 3927 / RFC 4291 link-local, RFC 4193 unique
 * local, and the metadata endpoints of AWS, GCP, Azure (169.254.169.254),
 * AWS over IPv6 (fd00:ec2::254) and Alibaba Cloud (100.100.100.200). */
#include "pb/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pb/error.h"

static enum pb_addr_kind classify4(uint32_t a) {
  if (a == 0xA9FEA9FEu ||
      a == 0x646464C8u) /* 169.254.169.254, 100.100.100.200 */
    return PB_ADDR_KIND_METADATA;
  if ((a & 0xFFFF0000u) == 0xA9FE0000u) /* 169.254/16 */
    return PB_ADDR_KIND_LINK_LOCAL;
  if ((a & 0xFF000000u) == 0x0A000000u || /* 10/8 */
      (a & 0xFFF00000u) == 0xAC100000u || /* 172.16/12 */
      (a & 0xFFFF0000u) == 0xC0A80000u || /* 192.168/16 */
      (a & 0xFF000000u) == 0x7F000000u || /* 127/8 */
      (a & 0xFF000000u) == 0x00000000u || /* 0/8: "this host" */
      (a & 0xFFC00000u) == 0x64400000u)   /* 100.64/10: carrier-grade NAT */
    return PB_ADDR_KIND_PRIVATE;
  return PB_ADDR_KIND_PUBLIC;
}

static enum pb_addr_kind classify6(const unsigned char *b) {
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char aws[16] = {
      0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  static const unsigned char zero[15] = {0};
  if (memcmp(b, mapped, sizeof mapped) == 0)
    return classify4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                     (uint32_t)b[14] << 8 | b[15]);
  if (memcmp(b, aws, sizeof aws) == 0)
    return PB_ADDR_KIND_METADATA;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
    return PB_ADDR_KIND_LINK_LOCAL;
  if ((b[0] & 0xfe) == 0xfc ||                   /* fc00::/7 */
      (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || /* fec0::/10, deprecated */
      (memcmp(b, zero, sizeof zero) == 0 && b[15] <= 1)) /* ::, ::1 */
    return PB_ADDR_KIND_PRIVATE;
  return PB_ADDR_KIND_PUBLIC;
}

enum pb_addr_kind pb_addr_classify(const struct sockaddr *sa, size_t len) {
  if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return classify4(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 =
        (const struct sockaddr_in6 *)(const void *)sa;
    return classify6(in6->sin6_addr.s6_addr);
  }
  return PB_ADDR_KIND_PUBLIC;
}

int pb_addr_check(const struct sockaddr *sa, size_t len,
                  enum pb_addr_policy policy, char *why, size_t whylen) {
  enum pb_addr_kind kind = pb_addr_classify(sa, len);
  bool refused =
      policy == PB_ADDR_PUBLIC ? kind != PB_ADDR_KIND_PUBLIC
      : policy == PB_ADDR_NOT_LINK_LOCAL
          ? kind == PB_ADDR_KIND_LINK_LOCAL || kind == PB_ADDR_KIND_METADATA
          : false;
  if (!refused)
    return 0;
  char text[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET,
              &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
              sizeof text);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6,
              &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text,
              sizeof text);
  static const char *const names[] = {"public", "private or loopback",
                                      "link-local", "cloud metadata"};
  snprintf(why, whylen, "%s is a %s address", text, names[kind]);
  return PB_EINVAL;
}
