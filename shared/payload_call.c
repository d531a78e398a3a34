/* Encoders and decoders of the call payloads (docs/topics.md): an
 * extension's call state, a site's calls in progress, a finished call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/json.h"
#include "pb/payload_call.h"

static const char *const STATE_NAMES[] = {"idle", "ringing", "dialing",
                                          "talking", "hold"};
static const char *const DIRECTION_NAMES[] = {NULL, "inbound", "outbound",
                                              "internal"};
static const char *const MEMBER_NAMES[] = {"extension", "inbound", "outbound"};
static const char *const STATUS_NAMES[] = {"answered", "no_answer", "busy",
                                           "failed", "voicemail"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int lookup_name(const char *const *names, size_t n, const char *text) {
  for (size_t i = 0; i < n; i++)
    if (names[i] && text && strcmp(names[i], text) == 0)
      return (int)i;
  return -1;
}

const char *pb_call_state_name(enum pb_call_state s) {
  return (size_t)s < COUNT(STATE_NAMES) ? STATE_NAMES[s] : "idle";
}

int pb_call_state_parse(const char *text, enum pb_call_state *out) {
  int i = lookup_name(STATE_NAMES, COUNT(STATE_NAMES), text);
  if (i < 0)
    return PB_EINVAL;
  *out = (enum pb_call_state)i;
  return 0;
}

const char *pb_call_direction_name(enum pb_call_direction d) {
  return (size_t)d < COUNT(DIRECTION_NAMES) ? DIRECTION_NAMES[d] : NULL;
}

int pb_call_direction_parse(const char *text, enum pb_call_direction *out) {
  int i = lookup_name(DIRECTION_NAMES, COUNT(DIRECTION_NAMES), text);
  if (i < 0)
    return PB_EINVAL;
  *out = (enum pb_call_direction)i;
  return 0;
}

const char *pb_member_kind_name(enum pb_member_kind k) {
  return (size_t)k < COUNT(MEMBER_NAMES) ? MEMBER_NAMES[k] : "extension";
}

const char *pb_cdr_status_name(enum pb_cdr_status s) {
  return (size_t)s < COUNT(STATUS_NAMES) ? STATUS_NAMES[s] : "failed";
}

int pb_cdr_status_parse(const char *text, enum pb_cdr_status *out) {
  int i = lookup_name(STATUS_NAMES, COUNT(STATUS_NAMES), text);
  if (i < 0)
    return PB_EINVAL;
  *out = (enum pb_cdr_status)i;
  return 0;
}

/* "" is written as null */
static void set_str_or_null(json_t *j, const char *key, const char *v) {
  json_object_set_new(j, key, v && *v ? json_string(v) : json_null());
}

/* A string field copied into dst (size dstlen): absent or null gives "" when
 * not required; too long or not a string is refused, naming the field. */
static int get_copy(const json_t *j, const char *key, bool required, char *dst,
                    size_t dstlen, char *err, size_t errlen) {
  const char *s;
  int rc = pb_json_get_str(j, key, required, &s, err, errlen);
  dst[0] = '\0';
  if (rc == PB_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  if (!pb_strlcpy(dst, s, dstlen)) {
    dst[0] = '\0';
    snprintf(err, errlen, "field '%s' is longer than %zu bytes", key,
             dstlen - 1);
    return PB_EINVAL;
  }
  return 0;
}

/* An enumerated string field, by its table of names. */
static int get_enum(const json_t *j, const char *key, bool required,
                    const char *const *names, size_t n, int *out, char *err,
                    size_t errlen) {
  const char *s;
  int rc = pb_json_get_str(j, key, required, &s, err, errlen);
  if (rc)
    return rc;
  int i = lookup_name(names, n, s);
  if (i < 0) {
    char valid[160] = "";
    size_t used = 0;
    for (size_t k = 0; k < n; k++)
      if (names[k])
        used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s",
                                 used ? ", " : "", names[k]);
    snprintf(err, errlen, "field '%s': unknown value '%.64s' (valid: %s)", key,
             s, valid);
    return PB_EINVAL;
  }
  *out = i;
  return 0;
}

static int get_count(const json_t *j, const char *key, int64_t *out, char *err,
                     size_t errlen) {
  int rc = pb_json_get_int(j, key, true, out, err, errlen);
  if (rc)
    return rc;
  if (*out < 0) {
    snprintf(err, errlen, "field '%s' must not be negative", key);
    return PB_EINVAL;
  }
  return 0;
}

/* ---- R/ext/<site>/<ext>/call ---- */

json_t *pb_call_state_to_json(const struct pb_call_state_msg *c,
                              const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "state", json_string(pb_call_state_name(c->state)));
  pb_json_set_time_tz(j, "since", c->since, tz);
  set_str_or_null(j, "call_id", c->call_id);
  set_str_or_null(j, "direction", pb_call_direction_name(c->direction));
  set_str_or_null(j, "peer", c->peer);
  set_str_or_null(j, "trunk", c->trunk);
  json_t *reg = json_array();
  for (unsigned i = 0; i < 5; i++)
    if (c->registered & (1u << i))
      json_array_append_new(reg, json_string(pb_device_names[i]));
  json_object_set_new(j, "registered", reg);
  pb_json_set_time_tz(j, "updated_at", c->updated_at, tz);
  return j;
}

static int get_devices(const json_t *j, const char *key, unsigned *out,
                       char *err, size_t errlen) {
  const json_t *list = json_object_get(j, key);
  size_t i;
  const json_t *v;
  *out = 0;
  if (!list || json_is_null(list))
    return 0;
  if (!json_is_array(list)) {
    snprintf(err, errlen, "field '%s' must be an array of device kinds", key);
    return PB_EINVAL;
  }
  json_array_foreach(list, i, v) {
    int k = lookup_name(pb_device_names, 5, json_string_value(v));
    if (k < 0) {
      snprintf(err, errlen, "field '%s': unknown device kind", key);
      return PB_EINVAL;
    }
    *out |= 1u << k;
  }
  return 0;
}

int pb_call_state_from_json(const json_t *j, struct pb_call_state_msg *out,
                            char *err, size_t errlen) {
  int rc, st, dir = PB_DIR_NONE;
  memset(out, 0, sizeof *out);
  if (!json_is_object(j)) {
    snprintf(err, errlen, "a call state must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = get_enum(j, "state", true, STATE_NAMES, COUNT(STATE_NAMES), &st,
                     err, errlen)) ||
      (rc = pb_json_get_time(j, "since", false, &out->since, err, errlen)) ||
      (rc = get_copy(j, "call_id", false, out->call_id, sizeof out->call_id,
                     err, errlen)) ||
      (rc = get_copy(j, "peer", false, out->peer, sizeof out->peer, err,
                     errlen)) ||
      (rc = get_copy(j, "trunk", false, out->trunk, sizeof out->trunk, err,
                     errlen)) ||
      (rc = get_devices(j, "registered", &out->registered, err, errlen)) ||
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err,
                             errlen)))
    return rc;
  rc = get_enum(j, "direction", false, DIRECTION_NAMES, COUNT(DIRECTION_NAMES),
                &dir, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  out->state = (enum pb_call_state)st;
  out->direction = (enum pb_call_direction)dir;
  if (out->state != PB_CALL_IDLE && !out->call_id[0]) {
    snprintf(err, errlen,
             "field 'call_id' is required unless the state is idle");
    return PB_EINVAL;
  }
  return 0;
}

/* ---- R/site/<site>/calls ---- */

json_t *pb_call_to_json(const struct pb_call *c, const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "call_id", json_string(c->call_id));
  json_object_set_new(j, "state", json_string(pb_call_state_name(c->state)));
  set_str_or_null(j, "direction", pb_call_direction_name(c->direction));
  set_str_or_null(j, "from", c->from);
  set_str_or_null(j, "to", c->to);
  set_str_or_null(j, "trunk", c->trunk);
  pb_json_set_time_tz(j, "started", c->started, tz);
  pb_json_set_time_tz(j, "answered", c->answered, tz);
  json_t *members = json_array();
  for (size_t i = 0; i < c->n_members; i++) {
    const struct pb_call_member *m = &c->members[i];
    json_array_append_new(members,
                          json_pack("{s:s,s:s,s:s}", "number", m->number,
                                    "kind", pb_member_kind_name(m->kind),
                                    "state", pb_call_state_name(m->state)));
  }
  json_object_set_new(j, "members", members);
  return j;
}

int pb_call_from_json(const json_t *j, struct pb_call *out, char *err,
                      size_t errlen) {
  int rc, st, dir = PB_DIR_NONE;
  memset(out, 0, sizeof *out);
  if (!json_is_object(j)) {
    snprintf(err, errlen, "a call must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = get_copy(j, "call_id", true, out->call_id, sizeof out->call_id, err,
                     errlen)) ||
      (rc = get_enum(j, "state", true, STATE_NAMES, COUNT(STATE_NAMES), &st,
                     err, errlen)) ||
      (rc = get_copy(j, "from", false, out->from, sizeof out->from, err,
                     errlen)) ||
      (rc = get_copy(j, "to", false, out->to, sizeof out->to, err, errlen)) ||
      (rc = get_copy(j, "trunk", false, out->trunk, sizeof out->trunk, err,
                     errlen)) ||
      (rc =
           pb_json_get_time(j, "started", false, &out->started, err, errlen)) ||
      (rc =
           pb_json_get_time(j, "answered", false, &out->answered, err, errlen)))
    return rc;
  rc = get_enum(j, "direction", false, DIRECTION_NAMES, COUNT(DIRECTION_NAMES),
                &dir, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  out->state = (enum pb_call_state)st;
  out->direction = (enum pb_call_direction)dir;
  if (out->state == PB_CALL_IDLE || out->state == PB_CALL_DIALING) {
    snprintf(err, errlen, "field 'state': a call is ringing, talking or hold");
    return PB_EINVAL;
  }
  const json_t *members = json_object_get(j, "members");
  if (!json_is_array(members)) {
    snprintf(err, errlen, "field 'members' must be an array");
    return PB_EINVAL;
  }
  if (json_array_size(members) > PB_CALL_MEMBERS_MAX) {
    snprintf(err, errlen, "field 'members': more than %d members",
             PB_CALL_MEMBERS_MAX);
    return PB_ETOOBIG;
  }
  size_t i;
  const json_t *m;
  json_array_foreach(members, i, m) {
    struct pb_call_member *o = &out->members[i];
    int kind, mst;
    if ((rc = get_copy(m, "number", true, o->number, sizeof o->number, err,
                       errlen)) ||
        (rc = get_enum(m, "kind", true, MEMBER_NAMES, COUNT(MEMBER_NAMES),
                       &kind, err, errlen)) ||
        (rc = get_enum(m, "state", true, STATE_NAMES, COUNT(STATE_NAMES), &mst,
                       err, errlen)))
      return rc;
    o->kind = (enum pb_member_kind)kind;
    o->state = (enum pb_call_state)mst;
    out->n_members = i + 1;
  }
  return 0;
}

json_t *pb_site_calls_to_json(const struct pb_site_calls *s,
                              const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(s->site));
  pb_json_set_time_tz(j, "updated_at", s->updated_at, tz);
  json_t *list = json_array();
  for (size_t i = 0; i < s->count && i < PB_SITE_CALLS_MAX; i++)
    json_array_append_new(list, pb_call_to_json(&s->calls[i], tz));
  json_object_set_new(j, "calls", list);
  return j;
}

int pb_site_calls_from_json(const json_t *j, struct pb_site_calls *out,
                            char *err, size_t errlen) {
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = get_copy(j, "site", true, out->site, sizeof out->site, err,
                     errlen)) ||
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err,
                             errlen)))
    return rc;
  const json_t *list = json_object_get(j, "calls");
  if (!json_is_array(list)) {
    snprintf(err, errlen, "field 'calls' must be an array");
    return PB_EINVAL;
  }
  size_t n = json_array_size(list);
  if (n > PB_SITE_CALLS_MAX) {
    snprintf(err, errlen, "field 'calls': more than %d calls",
             PB_SITE_CALLS_MAX);
    return PB_ETOOBIG;
  }
  out->calls = n ? calloc(n, sizeof *out->calls) : NULL;
  if (n && !out->calls)
    return PB_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char e2[200];
    rc = pb_call_from_json(json_array_get(list, i), &out->calls[i], e2,
                           sizeof e2);
    if (rc) {
      snprintf(err, errlen, "calls[%zu]: %s", i, e2);
      pb_site_calls_cleanup(out);
      return rc;
    }
    out->count = i + 1;
  }
  return 0;
}

void pb_site_calls_cleanup(struct pb_site_calls *s) {
  free(s->calls);
  s->calls = NULL;
  s->count = 0;
}

/* ---- a finished call ---- */

json_t *pb_cdr_to_json(const struct pb_cdr *c, const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(c->site));
  json_object_set_new(j, "call_id", json_string(c->call_id));
  pb_json_set_time_tz(j, "start", c->start, tz);
  pb_json_set_time_tz(j, "answer", c->answer, tz);
  pb_json_set_time_tz(j, "end", c->end, tz);
  json_object_set_new(j, "from", json_string(c->from));
  json_object_set_new(j, "to", json_string(c->to));
  set_str_or_null(j, "direction", pb_call_direction_name(c->direction));
  json_object_set_new(j, "status", json_string(pb_cdr_status_name(c->status)));
  json_object_set_new(j, "talk_seconds", json_integer(c->talk_seconds));
  json_object_set_new(j, "ring_seconds", json_integer(c->ring_seconds));
  set_str_or_null(j, "trunk", c->trunk);
  set_str_or_null(j, "recording", c->recording);
  set_str_or_null(j, "extension", c->extension);
  return j;
}

int pb_cdr_from_json(const json_t *j, struct pb_cdr *out, char *err,
                     size_t errlen) {
  int rc, dir, st;
  memset(out, 0, sizeof *out);
  if (!json_is_object(j)) {
    snprintf(err, errlen, "a call record must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = get_copy(j, "site", true, out->site, sizeof out->site, err,
                     errlen)) ||
      (rc = get_copy(j, "call_id", true, out->call_id, sizeof out->call_id, err,
                     errlen)) ||
      (rc = pb_json_get_time(j, "start", true, &out->start, err, errlen)) ||
      (rc = pb_json_get_time(j, "answer", false, &out->answer, err, errlen)) ||
      (rc = pb_json_get_time(j, "end", true, &out->end, err, errlen)) ||
      (rc = get_copy(j, "from", true, out->from, sizeof out->from, err,
                     errlen)) ||
      (rc = get_copy(j, "to", true, out->to, sizeof out->to, err, errlen)) ||
      (rc = get_enum(j, "direction", true, DIRECTION_NAMES,
                     COUNT(DIRECTION_NAMES), &dir, err, errlen)) ||
      (rc = get_enum(j, "status", true, STATUS_NAMES, COUNT(STATUS_NAMES), &st,
                     err, errlen)) ||
      (rc = get_count(j, "talk_seconds", &out->talk_seconds, err, errlen)) ||
      (rc = get_count(j, "ring_seconds", &out->ring_seconds, err, errlen)) ||
      (rc = get_copy(j, "trunk", false, out->trunk, sizeof out->trunk, err,
                     errlen)) ||
      (rc = get_copy(j, "recording", false, out->recording,
                     sizeof out->recording, err, errlen)) ||
      (rc = get_copy(j, "extension", false, out->extension,
                     sizeof out->extension, err, errlen)))
    return rc;
  out->direction = (enum pb_call_direction)dir;
  out->status = (enum pb_cdr_status)st;
  if (!pb_topic_id_valid(out->site)) {
    snprintf(err, errlen, "field 'site' must be 1-64 of [A-Za-z0-9_-]");
    return PB_EINVAL;
  }
  if (out->end < out->start) {
    snprintf(err, errlen, "field 'end' is before 'start'");
    return PB_EINVAL;
  }
  if (out->answer >= 0 &&
      (out->answer < out->start || out->answer > out->end)) {
    snprintf(err, errlen, "field 'answer' is outside start..end");
    return PB_EINVAL;
  }
  return 0;
}

bool pb_phone_number_clean(const char *in, char *out, size_t outlen) {
  size_t n = 0;
  if (!in || outlen < 2)
    return false;
  for (const char *p = in; *p; p++) {
    char ch = *p;
    if (ch == ' ' || ch == '.' || ch == '-' || ch == '(' || ch == ')')
      continue;
    bool ok = (ch >= '0' && ch <= '9') || ch == '*' || ch == '#' ||
              (ch == '+' && n == 0);
    if (!ok || n + 1 >= outlen)
      return false;
    out[n++] = ch;
  }
  out[n] = '\0';
  size_t digits = n && out[0] == '+' ? n - 1 : n;
  return digits >= 1 && digits <= 32;
}
