/* JSON helpers over jansson (pb/json.h). */
#include "pb/json.h"

#include <stdio.h>
#include <stdlib.h>

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

int pb_json_set_time(json_t *obj, const char *key, int64_t unix_s, int offset_s) {
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
