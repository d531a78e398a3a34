/* Who a request comes from: the peer's address, or, when the peer is one of
 * the reverse proxies named in WEB_TRUSTED_PROXIES, the address that proxy
 * put in X-Forwarded-For (the right-most entry that is not itself a trusted
 * proxy, as the de-facto standard reads it: entries on the left were written
 * by the client and prove nothing). Limits count IPv6 clients by their /64,
 * which one host usually holds whole. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pb/config.h"
#include "pb/error.h"
#include "pb/log.h"
#include "web.h"

#define MAX_PROXIES 64

struct proxy_net {
  struct web_addr net;
  unsigned prefix; /* bits */
};

struct web_proxies {
  struct proxy_net nets[MAX_PROXIES];
  size_t count;
};

int web_addr_from_sockaddr(const struct sockaddr *sa, struct web_addr *out) {
  memset(out, 0, sizeof *out);
  if (!sa)
    return PB_EINVAL;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    out->family = AF_INET;
    memcpy(out->b, &in->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 =
        (const struct sockaddr_in6 *)(const void *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      /* ::ffff:192.0.2.1 on a dual-stack socket is the IPv4 client. */
      out->family = AF_INET;
      memcpy(out->b, in6->sin6_addr.s6_addr + 12, 4);
    } else {
      out->family = AF_INET6;
      memcpy(out->b, &in6->sin6_addr, 16);
    }
    return 0;
  }
  return PB_EINVAL;
}

int web_addr_parse(const char *text, struct web_addr *out) {
  memset(out, 0, sizeof *out);
  if (!text)
    return PB_EINVAL;
  if (inet_pton(AF_INET, text, out->b) == 1) {
    out->family = AF_INET;
    return 0;
  }
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
  if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1)
    return web_addr_from_sockaddr((const struct sockaddr *)(const void *)&in6,
                                  out);
  return PB_EPARSE;
}

void web_addr_text(const struct web_addr *a, char *buf, size_t len) {
  if (!a->family || !inet_ntop(a->family, a->b, buf, (socklen_t)len))
    pb_strlcpy(buf, "unknown", len);
}

void web_addr_key(const struct web_addr *a, char *buf, size_t len) {
  if (a->family != AF_INET6) {
    web_addr_text(a, buf, len);
    return;
  }
  /* One IPv6 host gets a whole /64: counting its addresses one by one
   * would give it 2^64 budgets. */
  struct web_addr net = *a;
  memset(net.b + 8, 0, 8);
  char text[INET6_ADDRSTRLEN];
  web_addr_text(&net, text, sizeof text);
  snprintf(buf, len, "%s/64", text);
}

void web_addr_key_text(const char *ip, char *buf, size_t len) {
  struct web_addr a;
  if (web_addr_parse(ip, &a) == 0)
    web_addr_key(&a, buf, len);
  else
    pb_strlcpy(buf, ip, len);
}

static bool in_net(const struct web_addr *a, const struct proxy_net *n) {
  if (a->family != n->net.family)
    return false;
  unsigned full = n->prefix / 8, rest = n->prefix % 8;
  if (memcmp(a->b, n->net.b, full) != 0)
    return false;
  if (!rest)
    return true;
  unsigned char mask = (unsigned char)(0xffu << (8 - rest));
  return (a->b[full] & mask) == (n->net.b[full] & mask);
}

bool web_proxy_trusted(const struct web *w, const struct web_addr *a) {
  const struct web_proxies *p = w->proxies;
  for (size_t i = 0; p && i < p->count; i++)
    if (in_net(a, &p->nets[i]))
      return true;
  return false;
}

bool web_proxies_any(const struct web *w) {
  return w->proxies && w->proxies->count > 0;
}

static int parse_net(const char *text, struct proxy_net *out) {
  char host[INET6_ADDRSTRLEN + 8];
  if (!pb_strlcpy(host, text, sizeof host))
    return PB_EPARSE;
  char *slash = strchr(host, '/');
  long prefix = -1;
  if (slash) {
    *slash = '\0';
    char *end;
    prefix = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end || prefix < 0)
      return PB_EPARSE;
  }
  if (web_addr_parse(host, &out->net))
    return PB_EPARSE;
  long max = out->net.family == AF_INET ? 32 : 128;
  if (prefix > max)
    return PB_EPARSE;
  out->prefix = (unsigned)(prefix < 0 ? max : prefix);
  return 0;
}

/* WEB_TRUSTED_PROXIES into `p`; PB_ECONFIG with the reason in err. */
static int parse_list(const char *text, struct web_proxies *p, char *err,
                      size_t errlen) {
  const char *s = text ? text : "";
  while (*s) {
    size_t n = strcspn(s, ",");
    char item[80];
    size_t lead = 0;
    while (lead < n && (s[lead] == ' ' || s[lead] == '\t'))
      lead++;
    size_t len = n - lead;
    while (len && (s[lead + len - 1] == ' ' || s[lead + len - 1] == '\t'))
      len--;
    if (len) {
      if (len >= sizeof item || p->count == MAX_PROXIES) {
        snprintf(err, errlen,
                 "WEB_TRUSTED_PROXIES: '%.*s' is too long or one too many (at "
                 "most %d entries)",
                 (int)(len > 64 ? 64 : len), s + lead, MAX_PROXIES);
        return PB_ECONFIG;
      }
      memcpy(item, s + lead, len);
      item[len] = '\0';
      if (parse_net(item, &p->nets[p->count])) {
        snprintf(err, errlen,
                 "WEB_TRUSTED_PROXIES: '%s' is not an IP address or CIDR "
                 "(e.g. 10.0.0.5, 192.168.1.0/24, fd00::/8)",
                 item);
        return PB_ECONFIG;
      }
      p->count++;
    }
    s += n;
    if (*s == ',')
      s++;
  }
  return 0;
}

int web_proxies_check(const struct pb_config *cfg, char *err, size_t errlen) {
  struct web_proxies *p = calloc(1, sizeof *p);
  if (!p)
    return PB_ENOMEM;
  int rc = parse_list(pb_config_str(cfg, PB_CFG_WEB_TRUSTED_PROXIES), p, err,
                      errlen);
  free(p);
  return rc;
}

int web_proxies_init(struct web *w) {
  struct web_proxies *p = calloc(1, sizeof *p);
  if (!p)
    return PB_ENOMEM;
  w->proxies = p;
  char err[256];
  int rc = parse_list(pb_config_str(w->cfg, PB_CFG_WEB_TRUSTED_PROXIES), p, err,
                      sizeof err);
  if (rc) {
    pb_error("%s", err);
    return rc;
  }
  if (p->count)
    pb_info("X-Forwarded-For believed from %zu trusted proxy address(es) "
            "(WEB_TRUSTED_PROXIES)",
            p->count);
  return 0;
}

void web_proxies_cleanup(struct web *w) {
  free(w->proxies);
  w->proxies = NULL;
}

/* The right-most X-Forwarded-For entry that is not a trusted proxy; false
 * when the header is missing or names none (the peer is then the client). */
static bool forwarded_for(const struct web *w, const char *xff,
                          struct web_addr *out) {
  char list[512];
  if (!xff || !pb_strlcpy(list, xff, sizeof list))
    return false; /* absent, or longer than any honest chain */
  size_t end = strlen(list);
  while (end > 0) {
    size_t start = end;
    while (start > 0 && list[start - 1] != ',')
      start--;
    char *item = list + start;
    list[end] = '\0';
    while (*item == ' ' || *item == '\t')
      item++;
    size_t n = strlen(item);
    while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
      item[--n] = '\0';
    struct web_addr a;
    if (web_addr_parse(item, &a))
      return false; /* garbage (or a port, or "unknown"): keep the peer */
    if (!web_proxy_trusted(w, &a)) {
      *out = a;
      return true;
    }
    end = start ? start - 1 : 0;
  }
  return false;
}

void web_client_address(const struct web *w, const struct sockaddr *peer,
                        const char *xff, struct web_addr *out) {
  if (web_addr_from_sockaddr(peer, out))
    memset(out, 0, sizeof *out);
  if (!out->family || !web_proxy_trusted(w, out))
    return;
  struct web_addr fwd;
  if (forwarded_for(w, xff, &fwd))
    *out = fwd;
}
