/* Encoders and decoders of the planning payloads of docs/topics.md:
 * schedule (ical-ingest), override and desired (scheduler). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/error.h"
#include "pb/payload.h"

#define MAX_SLOTS 100000
#define MAX_OVERRIDE_MINUTES 525600 /* one year */

bool pb_strlcpy(char *dst, const char *src, size_t size) {
  size_t n = src ? strlen(src) : 0;
  bool whole = n < size;
  if (!whole)
    n = size - 1;
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
  return whole;
}

static int get_status(const json_t *j, const char *key, bool required,
                      enum pb_presence *out, char *err, size_t errlen) {
  const char *s;
  int rc = pb_json_get_str(j, key, required, &s, err, errlen);
  if (rc == PB_ENOTFOUND) {
    *out = PB_PRESENCE_NONE;
    return 0;
  }
  if (rc)
    return rc;
  if (pb_presence_parse(s, out)) {
    snprintf(err, errlen, "field '%s': unknown status '%.64s' (valid: %s)", key,
             s, pb_presence_valid_list());
    return PB_EINVAL;
  }
  return 0;
}

static int get_text(const json_t *j, const char *key, char *dst, size_t size,
                    char *err, size_t errlen) {
  const char *s = "";
  int rc = pb_json_get_str(j, key, false, &s, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  pb_strlcpy(dst, rc ? "" : s, size);
  return 0;
}

/* ---- slot and schedule ---- */

json_t *pb_slot_to_json(const struct pb_slot *s, const struct pb_tz *tz) {
  json_t *j = json_object();
  pb_json_set_time_tz(j, "start", s->start, tz);
  pb_json_set_time_tz(j, "end", s->end, tz);
  json_object_set_new(j, "status", json_string(pb_presence_name(s->status)));
  json_object_set_new(j, "priority", json_integer(s->priority));
  json_object_set_new(j, "source", json_string(s->source));
  json_object_set_new(j, "uid", json_string(s->uid));
  json_object_set_new(j, "summary", json_string(s->summary));
  return j;
}

int pb_slot_from_json(const json_t *j, struct pb_slot *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  int64_t prio = 0;
  int rc;
  if (!json_is_object(j)) {
    snprintf(err, errlen, "a slot must be an object");
    return PB_EINVAL;
  }
  if ((rc = pb_json_get_time(j, "start", true, &out->start, err, errlen)) ||
      (rc = pb_json_get_time(j, "end", true, &out->end, err, errlen)) ||
      (rc = get_status(j, "status", true, &out->status, err, errlen)))
    return rc;
  rc = pb_json_get_int(j, "priority", false, &prio, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  if (prio < -1000000 || prio > 1000000) {
    snprintf(err, errlen, "field 'priority' is out of range");
    return PB_EINVAL;
  }
  out->priority = (int)prio;
  if ((rc = get_text(j, "source", out->source, sizeof out->source, err,
                     errlen)) ||
      (rc = get_text(j, "uid", out->uid, sizeof out->uid, err, errlen)) ||
      (rc = get_text(j, "summary", out->summary, sizeof out->summary, err,
                     errlen)))
    return rc;
  if (out->end <= out->start) {
    snprintf(err, errlen, "slot ends before it starts");
    return PB_EINVAL;
  }
  return 0;
}

json_t *pb_schedule_to_json(const struct pb_schedule *s,
                            const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(s->site));
  json_object_set_new(j, "ext", json_string(s->ext));
  pb_json_set_time_tz(j, "generated_at", s->generated_at, tz);
  json_t *h = json_object();
  pb_json_set_time_tz(h, "start", s->horizon_start, tz);
  pb_json_set_time_tz(h, "end", s->horizon_end, tz);
  json_object_set_new(j, "horizon", h);
  json_t *slots = json_array();
  for (size_t i = 0; i < s->count; i++)
    json_array_append_new(slots, pb_slot_to_json(&s->slots[i], tz));
  json_object_set_new(j, "slots", slots);
  return j;
}

static int cmp_slot(const void *a, const void *b) {
  const struct pb_slot *x = a, *y = b;
  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

int pb_schedule_from_json(const json_t *j, struct pb_schedule *out, char *err,
                          size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc;
  if (!json_is_object(j)) {
    snprintf(err, errlen, "a schedule must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = get_text(j, "site", out->site, sizeof out->site, err, errlen)) ||
      (rc = get_text(j, "ext", out->ext, sizeof out->ext, err, errlen)) ||
      (rc = pb_json_get_time(j, "generated_at", false, &out->generated_at, err,
                             errlen)))
    return rc;
  const json_t *h = json_object_get(j, "horizon");
  out->horizon_start = out->horizon_end = -1;
  if (h && ((rc = pb_json_get_time(h, "start", false, &out->horizon_start, err,
                                   errlen)) ||
            (rc = pb_json_get_time(h, "end", false, &out->horizon_end, err,
                                   errlen))))
    return rc;
  const json_t *slots = json_object_get(j, "slots");
  if (!json_is_array(slots)) {
    snprintf(err, errlen, "field 'slots' must be an array");
    return PB_EINVAL;
  }
  size_t n = json_array_size(slots);
  if (n > MAX_SLOTS) {
    snprintf(err, errlen, "too many slots (%zu, limit %d)", n, MAX_SLOTS);
    return PB_ETOOBIG;
  }
  out->slots = n ? calloc(n, sizeof *out->slots) : NULL;
  if (n && !out->slots)
    return PB_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char e[200];
    if ((rc = pb_slot_from_json(json_array_get(slots, i), &out->slots[i], e,
                                sizeof e))) {
      snprintf(err, errlen, "slot %zu: %s", i, e);
      pb_schedule_cleanup(out);
      return rc;
    }
  }
  out->count = n;
  if (n > 1)
    qsort(out->slots, n, sizeof *out->slots, cmp_slot);
  return 0;
}

void pb_schedule_cleanup(struct pb_schedule *s) {
  if (!s)
    return;
  free(s->slots);
  s->slots = NULL;
  s->count = 0;
}

/* ---- override ---- */

int pb_override_parse_set(const char *payload, size_t len, int64_t now,
                          struct pb_override *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->until = -1;
  out->set_at = now;
  size_t i = 0;
  while (i < len && (payload[i] == ' ' || payload[i] == '\t' ||
                     payload[i] == '\n' || payload[i] == '\r'))
    i++;
  if (i == len) {
    snprintf(err, errlen, "empty override: send a status (%s) or a JSON object",
             pb_presence_valid_list());
    return PB_EINVAL;
  }
  if (payload[i] != '{') {
    /* A bare word such as "away" from a desk button or mosquitto_pub. */
    char word[64];
    size_t n = len - i;
    if (n >= sizeof word || memchr(payload + i, '\0', n)) {
      snprintf(err, errlen, "override is neither a status word nor JSON");
      return PB_EINVAL;
    }
    memcpy(word, payload + i, n);
    word[n] = '\0';
    if (pb_presence_parse(word, &out->status)) {
      snprintf(err, errlen, "unknown status '%s' (valid: %s)", word,
               pb_presence_valid_list());
      return PB_EINVAL;
    }
    return 0;
  }
  json_t *j = pb_json_parse(payload, len, err, errlen);
  if (!j)
    return PB_EPARSE;
  int rc;
  int64_t minutes = -1, until = -1;
  if ((rc = get_status(j, "status", true, &out->status, err, errlen)))
    goto out;
  rc = pb_json_get_int(j, "minutes", false, &minutes, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    goto out;
  bool has_minutes = rc == 0;
  if ((rc = pb_json_get_time(j, "until", false, &until, err, errlen)))
    goto out;
  if (has_minutes && until >= 0) {
    snprintf(err, errlen, "give either 'minutes' or 'until', not both");
    rc = PB_EINVAL;
    goto out;
  }
  if (has_minutes) {
    if (minutes < 1 || minutes > MAX_OVERRIDE_MINUTES) {
      snprintf(err, errlen, "field 'minutes' must be 1..%d",
               MAX_OVERRIDE_MINUTES);
      rc = PB_EINVAL;
      goto out;
    }
    out->until = now + minutes * 60;
  } else if (until >= 0) {
    if (until <= now) {
      snprintf(err, errlen, "field 'until' is in the past");
      rc = PB_EINVAL;
      goto out;
    }
    out->until = until;
  }
  if ((rc = get_text(j, "reason", out->reason, sizeof out->reason, err,
                     errlen)) ||
      (rc = get_text(j, "by", out->by, sizeof out->by, err, errlen)))
    goto out;
  rc = 0;
out:
  json_decref(j);
  return rc;
}

json_t *pb_override_to_json(const struct pb_override *o,
                            const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "status", json_string(pb_presence_name(o->status)));
  pb_json_set_time_tz(j, "until", o->until, tz);
  json_object_set_new(j, "reason", json_string(o->reason));
  json_object_set_new(j, "by", json_string(o->by));
  pb_json_set_time_tz(j, "set_at", o->set_at, tz);
  return j;
}

int pb_override_from_json(const json_t *j, struct pb_override *out, char *err,
                          size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc;
  if (!json_is_object(j)) {
    snprintf(err, errlen, "an override must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = get_status(j, "status", true, &out->status, err, errlen)) ||
      (rc = pb_json_get_time(j, "until", false, &out->until, err, errlen)) ||
      (rc = pb_json_get_time(j, "set_at", false, &out->set_at, err, errlen)) ||
      (rc = get_text(j, "reason", out->reason, sizeof out->reason, err,
                     errlen)) ||
      (rc = get_text(j, "by", out->by, sizeof out->by, err, errlen)))
    return rc;
  return 0;
}

/* ---- desired ---- */

static const char *const cause_names[] = {"override", "schedule", "default",
                                          "planning_off"};

const char *pb_cause_name(enum pb_cause c) {
  return (c >= 0 && c <= PB_CAUSE_PLANNING_OFF) ? cause_names[c] : "unknown";
}

int pb_cause_parse(const char *text, enum pb_cause *out) {
  for (int i = 0; i <= PB_CAUSE_PLANNING_OFF; i++) {
    if (text && strcmp(text, cause_names[i]) == 0) {
      *out = (enum pb_cause)i;
      return 0;
    }
  }
  return PB_EINVAL;
}

json_t *pb_desired_to_json(const struct pb_desired *d, const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "status",
                      d->status == PB_PRESENCE_NONE
                          ? json_null()
                          : json_string(pb_presence_name(d->status)));
  json_object_set_new(j, "cause", json_string(pb_cause_name(d->cause)));
  pb_json_set_time_tz(j, "since", d->since, tz);
  if (d->next_at >= 0) {
    json_t *n = json_object();
    pb_json_set_time_tz(n, "at", d->next_at, tz);
    json_object_set_new(n, "status",
                        d->next_status == PB_PRESENCE_NONE
                            ? json_null()
                            : json_string(pb_presence_name(d->next_status)));
    json_object_set_new(j, "next_change", n);
  } else {
    json_object_set_new(j, "next_change", json_null());
  }
  json_object_set_new(
      j, "slot", d->has_slot ? pb_slot_to_json(&d->slot, tz) : json_null());
  json_object_set_new(j, "override",
                      d->has_override ? pb_override_to_json(&d->override, tz)
                                      : json_null());
  return j;
}

int pb_desired_from_json(const json_t *j, struct pb_desired *out, char *err,
                         size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc;
  const char *cause;
  if (!json_is_object(j)) {
    snprintf(err, errlen, "desired must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = get_status(j, "status", false, &out->status, err, errlen)) ||
      (rc = pb_json_get_str(j, "cause", true, &cause, err, errlen)))
    return rc;
  if (pb_cause_parse(cause, &out->cause)) {
    snprintf(err, errlen, "field 'cause': unknown cause '%.32s'", cause);
    return PB_EINVAL;
  }
  if (out->status == PB_PRESENCE_NONE && out->cause != PB_CAUSE_PLANNING_OFF) {
    snprintf(err, errlen, "field 'status' is required");
    return PB_EINVAL;
  }
  if ((rc = pb_json_get_time(j, "since", false, &out->since, err, errlen)))
    return rc;
  out->next_at = -1;
  out->next_status = PB_PRESENCE_NONE;
  const json_t *n = json_object_get(j, "next_change");
  if (json_is_object(n) &&
      ((rc = pb_json_get_time(n, "at", true, &out->next_at, err, errlen)) ||
       (rc = get_status(n, "status", false, &out->next_status, err, errlen))))
    return rc;
  const json_t *slot = json_object_get(j, "slot");
  if (json_is_object(slot)) {
    if ((rc = pb_slot_from_json(slot, &out->slot, err, errlen)))
      return rc;
    out->has_slot = true;
  }
  const json_t *ov = json_object_get(j, "override");
  if (json_is_object(ov)) {
    if ((rc = pb_override_from_json(ov, &out->override, err, errlen)))
      return rc;
    out->has_override = true;
  }
  return 0;
}
