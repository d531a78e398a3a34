/* MQTT topic helpers: pattern matching and the id rule of BRIEF §3
 * (topic segments made of [A-Za-z0-9_-]). */
#include <string.h>

#include "pb/bus.h"
#include "pb/error.h"

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
