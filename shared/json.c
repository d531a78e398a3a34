/* JSON helpers over jansson (pb/json.h). */
#include "pb/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/error.h"
#include "pb/tz.h"

json_t *pb_json_parse(const char *buf, size_t len, char *err, size_t errlen) {
  json_error_t je;
  json_t *j = json_loadb(buf ? buf : "", buf ? len : 0,
                         JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
  if (!j && err)
    snprintf(err, errlen, "invalid JSON at line %d column %d: %s", je.line,
             je.column, je.text);
  return j;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left) {
  if (p[0] < 0x80)
    return 1;
  size_t n;
  unsigned min;
  unsigned cp;
  if ((p[0] & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = p[0] & 0x1Fu;
  } else if ((p[0] & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = p[0] & 0x0Fu;
  } else if ((p[0] & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = p[0] & 0x07u;
  } else {
    return 0;
  }
  if (left < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool pb_utf8_valid(const char *buf, size_t len) {
  const unsigned char *p = (const unsigned char *)buf;
  size_t i = 0;
  while (i < len) {
    size_t n = utf8_seq(p + i, len - i);
    if (!n)
      return false;
    i += n;
  }
  return true;
}

json_t *pb_json_text(const char *buf, size_t len) {
  const unsigned char *p = (const unsigned char *)buf;
  char *out = malloc(len * 3 + 1);
  if (!out)
    return json_string("");
  size_t i = 0, o = 0;
  while (i < len) {
    size_t n = utf8_seq(p + i, len - i);
    if (n && p[i] != 0) {
      memcpy(out + o, p + i, n);
      o += n;
      i += n;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  json_t *j = json_stringn(out, o);
  free(out);
  return j ? j : json_string("");
}

char *pb_json_dump(const json_t *j) {
  return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

static int lookup(const json_t *obj, const char *key, bool required,
                  const json_t **out, char *err, size_t errlen) {
  const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  if (!v || json_is_null(v)) {
    if (required) {
      if (err)
        snprintf(err, errlen, "field '%s' is required", key);
      return PB_EINVAL;
    }
    return PB_ENOTFOUND;
  }
  *out = v;
  return 0;
}

int pb_json_get_str(const json_t *obj, const char *key, bool required,
                    const char **out, char *err, size_t errlen) {
  const json_t *v;
  int rc = lookup(obj, key, required, &v, err, errlen);
  if (rc)
    return rc;
  if (!json_is_string(v)) {
    if (err)
      snprintf(err, errlen, "field '%s' must be a string", key);
    return PB_EINVAL;
  }
  *out = json_string_value(v);
  return 0;
}

int pb_json_get_int(const json_t *obj, const char *key, bool required,
                    int64_t *out, char *err, size_t errlen) {
  const json_t *v;
  int rc = lookup(obj, key, required, &v, err, errlen);
  if (rc)
    return rc;
  if (!json_is_integer(v)) {
    if (err)
      snprintf(err, errlen, "field '%s' must be an integer", key);
    return PB_EINVAL;
  }
  *out = (int64_t)json_integer_value(v);
  return 0;
}

int pb_json_get_bool(const json_t *obj, const char *key, bool required,
                     bool *out, char *err, size_t errlen) {
  const json_t *v;
  int rc = lookup(obj, key, required, &v, err, errlen);
  if (rc)
    return rc;
  if (!json_is_boolean(v)) {
    if (err)
      snprintf(err, errlen, "field '%s' must be true or false", key);
    return PB_EINVAL;
  }
  *out = json_is_true(v);
  return 0;
}

const char *pb_json_str(const json_t *obj, const char *key) {
  const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

int pb_json_set_time(json_t *obj, const char *key, int64_t unix_s,
                     int offset_s) {
  if (unix_s < 0)
    return json_object_set_new(obj, key, json_null()) ? PB_ENOMEM : 0;
  char buf[40];
  pb_time_format_rfc3339(unix_s, offset_s, buf, sizeof buf);
  return json_object_set_new(obj, key, json_string(buf)) ? PB_ENOMEM : 0;
}

int pb_json_set_time_tz(json_t *obj, const char *key, int64_t unix_s,
                        const struct pb_tz *tz) {
  return pb_json_set_time(obj, key, unix_s,
                          tz && unix_s >= 0 ? pb_tz_offset_at(tz, unix_s) : 0);
}

int pb_json_get_time(const json_t *obj, const char *key, bool required,
                     int64_t *out, char *err, size_t errlen) {
  const char *s;
  int rc = pb_json_get_str(obj, key, required, &s, err, errlen);
  if (rc == PB_ENOTFOUND) {
    *out = -1;
    return 0;
  }
  if (rc)
    return rc;
  if (pb_time_parse_rfc3339(s, out) != 0) {
    if (err)
      snprintf(err, errlen,
               "field '%s' must be an RFC 3339 time like "
               "2026-03-30T08:00:00+02:00",
               key);
    return PB_EINVAL;
  }
  return 0;
}
