/* JSON helpers over jansson: parsing with a message that says where the input
 * is wrong, typed field access that names the field in its error, compact
 * dumping. Services include this header rather than <jansson.h>. */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse `len` bytes; on failure returns NULL and writes
 * "invalid JSON at line L column C: reason" into err. */
json_t *pb_json_parse(const char *buf, size_t len, char *err, size_t errlen);
/* A JSON string of `len` bytes of arbitrary input, made valid UTF-8 (bad
 * bytes become U+FFFD): for echoing client input back in errors. */
json_t *pb_json_text(const char *buf, size_t len);
/* True when the bytes are valid UTF-8 (no overlongs, no surrogates). */
bool pb_utf8_valid(const char *buf, size_t len);
/* Compact, keys in insertion order; caller frees with free(). */
char *pb_json_dump(const json_t *j);

/* Typed getters: return 0, PB_ENOTFOUND when the key is absent (or null) and
 * `required` is false, else PB_EINVAL with "field 'k' must be a string" etc. */
int pb_json_get_str(const json_t *obj, const char *key, bool required,
                    const char **out, char *err, size_t errlen);
int pb_json_get_int(const json_t *obj, const char *key, bool required,
                    int64_t *out, char *err, size_t errlen);
int pb_json_get_bool(const json_t *obj, const char *key, bool required,
                     bool *out, char *err, size_t errlen);
/* Convenience: the string at key, or NULL. */
const char *pb_json_str(const json_t *obj, const char *key);

/* Adds `key` as an RFC 3339 string, or null when unix_s < 0. */
int pb_json_set_time(json_t *obj, const char *key, int64_t unix_s,
                     int offset_s);
/* Same, with the offset `tz` has at that instant (UTC when tz is NULL). */
struct pb_tz;
int pb_json_set_time_tz(json_t *obj, const char *key, int64_t unix_s,
                        const struct pb_tz *tz);
/* Reads an RFC 3339 string field; null/absent gives -1 when not required. */
int pb_json_get_time(const json_t *obj, const char *key, bool required,
                     int64_t *out, char *err, size_t errlen);

#endif
