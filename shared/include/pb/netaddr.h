/* Which network addresses an outgoing request may connect to: a URL given
 * over the bus (a calendar feed) must not reach the cloud's metadata
 * service, link-local hosts or, unless allowed, the private network the
 * service runs in (server-side request forgery, OWASP SSRF prevention). */
#ifndef PB_NETADDR_H
#define PB_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

enum pb_addr_policy {
  PB_ADDR_ANY = 0,        /* no check (a PBX on the local network) */
  PB_ADDR_NOT_LINK_LOCAL, /* refuses link-local and metadata addresses */
  PB_ADDR_PUBLIC,         /* refuses private and loopback ones too */
};

enum pb_addr_kind {
  PB_ADDR_KIND_PUBLIC = 0,
  PB_ADDR_KIND_PRIVATE,    /* 10/8, 172.16/12, 192.168/16, 127/8, 0/8,
                              100.64/10, ::1, ::, fc00::/7, fec0::/10 */
  PB_ADDR_KIND_LINK_LOCAL, /* 169.254/16, fe80::/10 */
  PB_ADDR_KIND_METADATA,   /* 169.254.169.254, fd00:ec2::254, 100.100.100.200 */
};

/* The kind of an IPv4 or IPv6 socket address (an IPv4-mapped IPv6 address
 * as its IPv4 one); PB_ADDR_KIND_PUBLIC for another family. */
enum pb_addr_kind pb_addr_classify(const struct sockaddr *sa, size_t len);
/* 0 when `policy` lets a connection go to `sa`; otherwise PB_EINVAL with
 * "<address> is a <kind> address" in `why`. */
int pb_addr_check(const struct sockaddr *sa, size_t len,
                  enum pb_addr_policy policy, char *why, size_t whylen);

#endif
