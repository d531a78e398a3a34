/* MQTT topic helpers: the topic names of the bus contract (pb/topics.h,
 * docs/topics.md), pattern matching and the id rule of docs/topics.md (topic
 * segments made of [A-Za-z0-9_-]). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/error.h"
#include "pb/topics.h"

/* The one place a topic is formatted: "" rather than a shortened topic. */
__attribute__((format(printf, 3, 4))) static int
topic_printf(char *buf, size_t len, const char *fmt, ...) {
  if (!buf || len == 0)
    return PB_ETOOBIG;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= len) {
    buf[0] = '\0';
    return PB_ETOOBIG;
  }
  return 0;
}

int pb_topic_ext(char *buf, size_t len, const char *site, const char *ext,
                 const char *leaf) {
  return topic_printf(buf, len, "ext/%s/%s/%s", site, ext, leaf);
}

int pb_topic_site(char *buf, size_t len, const char *site, const char *leaf) {
  return topic_printf(buf, len, "site/%s/%s", site, leaf);
}

int pb_topic_svc(char *buf, size_t len, const char *service, const char *leaf) {
  return topic_printf(buf, len, "svc/%s/%s", service, leaf);
}

int pb_topic_request(char *buf, size_t len, const char *service,
                     const char *action) {
  return topic_printf(buf, len, "svc/%s/request/%s", service, action);
}

int pb_topic_response(char *buf, size_t len, const char *service,
                      const char *action) {
  return topic_printf(buf, len, "svc/%s/response/%s", service, action);
}

int pb_topic_event(char *buf, size_t len, const char *kind) {
  return topic_printf(buf, len, "events/%s", kind);
}

int pb_topic_source_status(char *buf, size_t len, const char *service,
                           const char *id) {
  return topic_printf(buf, len, "svc/%s/source/%s/status", service, id);
}

int pb_topic_full(char *buf, size_t len, const char *root, const char *rel) {
  return topic_printf(buf, len, "%s/%s", root, rel);
}

int pb_topic_ha_config(char *buf, size_t len, const char *prefix,
                       const char *object_id) {
  return topic_printf(buf, len, "%s/device/%s/config", prefix, object_id);
}

int pb_topic_ha_status(char *buf, size_t len, const char *prefix) {
  return topic_printf(buf, len, "%s/status", prefix);
}

bool pb_topic_matches(const char *pattern, const char *topic) {
  while (*pattern) {
    if (pattern[0] == '#')
      return true;
    if (pattern[0] == '+') {
      while (*topic && *topic != '/')
        topic++;
      pattern++;
    } else {
      while (*pattern && *pattern != '/') {
        if (*pattern != *topic)
          return false;
        pattern++;
        topic++;
      }
      if (*topic && *topic != '/')
        return false;
    }
    if (*pattern == '/') {
      if (*topic != '/') {
        /* "a/#" also matches "a" */
        return pattern[1] == '#' && pattern[2] == '\0' && *topic == '\0';
      }
      pattern++;
      topic++;
    } else if (*topic) {
      return false;
    }
  }
  return *topic == '\0';
}

int pb_topic_split(const char *topic, char *buf, size_t buflen,
                   const char **segs, int max) {
  size_t n = strlen(topic);
  if (n >= buflen)
    return PB_ETOOBIG;
  memcpy(buf, topic, n + 1);
  int count = 0;
  char *p = buf;
  while (count < max) {
    segs[count++] = p;
    char *slash = strchr(p, '/');
    if (!slash)
      return count;
    *slash = '\0';
    p = slash + 1;
  }
  return PB_ETOOBIG;
}

bool pb_topic_id_valid(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  }
  return true;
}

bool pb_topic_service(const char *topic, char *out, size_t len) {
  char buf[256];
  const char *seg[4];
  if (pb_topic_split(topic, buf, sizeof buf, seg, 4) != 3 ||
      strcmp(seg[0], "svc") || !pb_topic_id_valid(seg[1]) ||
      strlen(seg[1]) >= len)
    return false;
  memcpy(out, seg[1], strlen(seg[1]) + 1);
  return true;
}
