/* Encoders and decoders of what the gateway publishes about the PBX
 * (docs/topics.md): an extension's state and a site's directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/buf.h"
#include "pb/error.h"
#include "pb/payload.h"

#define MAX_DIRECTORY 100000

const char *const pb_device_names[5] = {
    "sip_phone", "linkus_desktop", "linkus_mobile", "linkus_web", "fxs_phone"};

json_t *pb_ext_state_to_json(const struct pb_ext_state *s,
                             const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "status",
                      s->status == PB_PRESENCE_NONE
                          ? json_null()
                          : json_string(pb_presence_name(s->status)));
  json_object_set_new(j, "in_sync", json_boolean(s->in_sync));
  pb_json_set_time_tz(j, "updated_at", s->updated_at, tz);
  json_object_set_new(j, "name", json_string(s->name));
  json_object_set_new(j, "pbx_id", json_integer(s->pbx_id));
  json_t *online = json_array();
  for (unsigned i = 0; i < 5; i++)
    if (s->online & (1u << i))
      json_array_append_new(online, json_string(pb_device_names[i]));
  json_object_set_new(j, "online", online);
  if (s->drift_since > 0) {
    json_t *d = json_object();
    pb_json_set_time_tz(d, "since", s->drift_since, tz);
    pb_json_set_time_tz(d, "until", s->drift_until, tz);
    json_object_set_new(j, "drift", d);
  } else {
    json_object_set_new(j, "drift", json_null());
  }
  return j;
}

int pb_ext_state_from_json(const json_t *j, struct pb_ext_state *out, char *err,
                           size_t errlen) {
  memset(out, 0, sizeof *out);
  out->status = PB_PRESENCE_NONE;
  int rc;
  const char *st = NULL, *name = "";
  if (!json_is_object(j)) {
    snprintf(err, errlen, "state must be a JSON object");
    return PB_EINVAL;
  }
  rc = pb_json_get_str(j, "status", false, &st, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  if (st && pb_presence_parse(st, &out->status)) {
    snprintf(err, errlen, "field 'status': unknown status '%.64s'", st);
    return PB_EINVAL;
  }
  if ((rc = pb_json_get_bool(j, "in_sync", true, &out->in_sync, err, errlen)) ||
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err,
                             errlen)))
    return rc;
  rc = pb_json_get_str(j, "name", false, &name, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  pb_strlcpy(out->name, rc ? "" : name, sizeof out->name);
  rc = pb_json_get_int(j, "pbx_id", false, &out->pbx_id, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  const json_t *online = json_object_get(j, "online");
  if (online && !json_is_array(online)) {
    snprintf(err, errlen, "field 'online' must be an array of device kinds");
    return PB_EINVAL;
  }
  size_t i;
  const json_t *v;
  json_array_foreach(online, i, v) {
    for (unsigned k = 0; k < 5; k++)
      if (json_is_string(v) &&
          strcmp(json_string_value(v), pb_device_names[k]) == 0)
        out->online |= 1u << k;
  }
  const json_t *drift = json_object_get(j, "drift");
  if (drift && !json_is_null(drift)) {
    char e2[200];
    if (!json_is_object(drift) ||
        pb_json_get_time(drift, "since", true, &out->drift_since, e2,
                         sizeof e2) ||
        pb_json_get_time(drift, "until", false, &out->drift_until, e2,
                         sizeof e2)) {
      snprintf(err, errlen, "field 'drift' must be null or {since, until}");
      return PB_EINVAL;
    }
  }
  return 0;
}

json_t *pb_directory_to_json(const struct pb_directory *d,
                             const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(d->site));
  pb_json_set_time_tz(j, "updated_at", d->updated_at, tz);
  json_t *list = json_array();
  for (size_t i = 0; i < d->count; i++) {
    const struct pb_dir_entry *e = &d->entries[i];
    json_array_append_new(list,
                          json_pack("{s:s,s:I,s:s}", "number", e->number, "id",
                                    (json_int_t)e->id, "name", e->name));
  }
  json_object_set_new(j, "extensions", list);
  return j;
}

int pb_directory_from_json(const json_t *j, struct pb_directory *out, char *err,
                           size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *site;
  int rc;
  if ((rc = pb_json_get_str(j, "site", true, &site, err, errlen)) ||
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err,
                             errlen)))
    return rc;
  pb_strlcpy(out->site, site, sizeof out->site);
  const json_t *list = json_object_get(j, "extensions");
  if (!json_is_array(list)) {
    snprintf(err, errlen, "field 'extensions' must be an array");
    return PB_EINVAL;
  }
  size_t n = json_array_size(list);
  if (n > MAX_DIRECTORY) {
    snprintf(err, errlen, "too many extensions (%zu)", n);
    return PB_ETOOBIG;
  }
  out->entries = n ? calloc(n, sizeof *out->entries) : NULL;
  if (n && !out->entries)
    return PB_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(list, i);
    const char *number, *name = "";
    char e2[160];
    if ((rc = pb_json_get_str(e, "number", true, &number, e2, sizeof e2)) ||
        (rc = pb_json_get_int(e, "id", true, &out->entries[i].id, e2,
                              sizeof e2))) {
      snprintf(err, errlen, "extension %zu: %s", i, e2);
      pb_directory_cleanup(out);
      return rc;
    }
    pb_json_get_str(e, "name", false, &name, NULL, 0);
    pb_strlcpy(out->entries[i].number, number, sizeof out->entries[i].number);
    pb_strlcpy(out->entries[i].name, name ? name : "",
               sizeof out->entries[i].name);
  }
  out->count = n;
  return 0;
}

void pb_directory_cleanup(struct pb_directory *d) {
  if (!d)
    return;
  free(d->entries);
  d->entries = NULL;
  d->count = 0;
}

/* The directory is at most MAX_DIRECTORY entries of bounded size; the cap
 * only guards against a broken callback. */
#define DIRECTORY_TEXT_MAX (256u * 1024 * 1024 - 1)

/* Appends `j` as JSON and releases it. */
static int add_json(struct pb_buf *b, json_t *j) {
  char *s = j ? pb_json_dump(j) : NULL;
  int rc = s ? pb_buf_add_str(b, s) : PB_ENOMEM;
  free(s);
  json_decref(j);
  return rc;
}

char *pb_directory_dump_stream(const char *site, int64_t updated_at,
                               const struct pb_tz *tz, pb_dir_next_fn *next,
                               void *ud, size_t *len) {
  struct pb_buf b;
  pb_buf_init(&b, DIRECTORY_TEXT_MAX);
  json_t *head = json_object();
  json_object_set_new(head, "site", json_string(site));
  pb_json_set_time_tz(head, "updated_at", updated_at, tz);
  char *s = head ? pb_json_dump(head) : NULL;
  json_decref(head);
  size_t n = s ? strlen(s) : 0;
  /* the object without its closing brace, which comes last */
  int rc = n < 2 ? PB_ENOMEM : pb_buf_add(&b, s, n - 1);
  free(s);
  if (!rc)
    rc = pb_buf_add_str(&b, ",\"extensions\":[");
  struct pb_dir_entry e;
  size_t count = 0;
  while (!rc && count < MAX_DIRECTORY && next(ud, &e)) {
    if (count++ && (rc = pb_buf_add_str(&b, ",")))
      break;
    rc = add_json(&b, json_pack("{s:s,s:I,s:s}", "number", e.number, "id",
                                (json_int_t)e.id, "name", e.name));
  }
  if (!rc)
    rc = pb_buf_add_str(&b, "]}");
  size_t total = pb_buf_len(&b);
  char *text = rc ? NULL : pb_buf_take(&b);
  if (text)
    *len = total;
  pb_buf_free(&b);
  return text;
}

/* ---- R/site/<site>/status ---- */

json_t *pb_site_status_to_json(const struct pb_site_status *s,
                               const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(s->site));
  json_object_set_new(j, "state", json_string(s->state));
  json_object_set_new(j, "error",
                      s->error[0] ? json_string(s->error) : json_null());
  pb_json_set_time_tz(j, "since", s->since, tz);
  json_object_set_new(j, "url", json_string(s->url));
  json_t *tok = json_object();
  json_object_set_new(tok, "valid", json_boolean(s->token_valid));
  pb_json_set_time_tz(tok, "expires_at", s->token_valid ? s->token_expires : -1,
                      tz);
  json_object_set_new(j, "token", tok);
  json_object_set_new(j, "extensions", json_integer(s->extensions));
  json_object_set_new(j, "pending", json_integer(s->pending));
  json_object_set_new(j, "drifting", json_integer(s->drifting));
  pb_json_set_time_tz(j, "updated_at", s->updated_at, tz);
  return j;
}

int pb_site_status_from_json(const json_t *j, struct pb_site_status *out,
                             char *err, size_t errlen) {
  static const char *const states[] = {
      "starting",  "ok",           "unreachable", "tls_failed", "auth_failed",
      "forbidden", "api_disabled", "token_limit", "error"};
  memset(out, 0, sizeof *out);
  const char *site, *state, *text = NULL;
  int rc;
  if (!json_is_object(j)) {
    snprintf(err, errlen, "site status must be a JSON object");
    return PB_EINVAL;
  }
  if ((rc = pb_json_get_str(j, "site", true, &site, err, errlen)) ||
      (rc = pb_json_get_str(j, "state", true, &state, err, errlen)) ||
      (rc = pb_json_get_time(j, "since", false, &out->since, err, errlen)) ||
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err,
                             errlen)))
    return rc;
  size_t k = 0;
  while (k < sizeof states / sizeof states[0] && strcmp(states[k], state) != 0)
    k++;
  if (k == sizeof states / sizeof states[0]) {
    snprintf(err, errlen, "field 'state': unknown state '%.32s'", state);
    return PB_EINVAL;
  }
  pb_strlcpy(out->site, site, sizeof out->site);
  pb_strlcpy(out->state, state, sizeof out->state);
  rc = pb_json_get_str(j, "error", false, &text, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  pb_strlcpy(out->error, text ? text : "", sizeof out->error);
  text = NULL;
  rc = pb_json_get_str(j, "url", false, &text, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  pb_strlcpy(out->url, text ? text : "", sizeof out->url);
  const json_t *tok = json_object_get(j, "token");
  out->token_expires = -1;
  if (tok &&
      (!json_is_object(tok) ||
       pb_json_get_bool(tok, "valid", true, &out->token_valid, err, errlen) ||
       pb_json_get_time(tok, "expires_at", false, &out->token_expires, err,
                        errlen))) {
    snprintf(err, errlen, "field 'token' must be {valid, expires_at}");
    return PB_EINVAL;
  }
  const char *const counts[] = {"extensions", "pending", "drifting"};
  int64_t *dst[] = {&out->extensions, &out->pending, &out->drifting};
  for (size_t i = 0; i < 3; i++) {
    rc = pb_json_get_int(j, counts[i], false, dst[i], err, errlen);
    if (rc && rc != PB_ENOTFOUND)
      return rc;
  }
  return 0;
}

/* ---- R/site/<site>/pbx_event ---- */

#define PBX_EVENT_MSG_MAX (64 * 1024)

int pb_pbx_event_from_json(const json_t *j, struct pb_pbx_event *out, char *err,
                           size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(j)) {
    snprintf(err, errlen, "a PBX event must be a JSON object");
    return PB_EINVAL;
  }
  int rc = pb_json_get_int(j, "type", true, &out->type, err, errlen);
  if (rc)
    return rc;
  const char *sn = NULL;
  rc = pb_json_get_str(j, "sn", false, &sn, err, errlen);
  if (rc && rc != PB_ENOTFOUND)
    return rc;
  pb_strlcpy(out->sn, sn ? sn : "", sizeof out->sn);
  json_t *msg = json_object_get(j, "msg");
  if (json_is_object(msg)) {
    out->msg = json_incref(msg);
  } else if (json_is_string(msg)) {
    /* The PBX sends msg as a JSON-encoded string most of the time. */
    size_t len = json_string_length(msg);
    char e2[160];
    if (len > PBX_EVENT_MSG_MAX) {
      snprintf(err, errlen, "field 'msg' is larger than %d bytes",
               PBX_EVENT_MSG_MAX);
      return PB_ETOOBIG;
    }
    out->msg = pb_json_parse(json_string_value(msg), len, e2, sizeof e2);
    if (!json_is_object(out->msg)) {
      snprintf(err, errlen, "field 'msg' does not hold a JSON object: %s",
               out->msg ? "not an object" : e2);
      json_decref(out->msg);
      out->msg = NULL;
      return PB_EINVAL;
    }
  } else {
    snprintf(err, errlen,
             "field 'msg' must be a JSON object or a string holding one");
    return PB_EINVAL;
  }
  return 0;
}

void pb_pbx_event_cleanup(struct pb_pbx_event *ev) {
  if (!ev)
    return;
  json_decref(ev->msg);
  ev->msg = NULL;
}

int pb_pbx_event_presence(const struct pb_pbx_event *ev, char *ext,
                          size_t extlen, enum pb_presence *status, char *err,
                          size_t errlen) {
  const char *number, *st;
  int rc;
  if (ev->type != PB_PBX_EVENT_PRESENCE) {
    snprintf(err, errlen, "event type %lld is not a presence change (30009)",
             (long long)ev->type);
    return PB_EINVAL;
  }
  if ((rc =
           pb_json_get_str(ev->msg, "extension", true, &number, err, errlen)) ||
      (rc = pb_json_get_str(ev->msg, "status", true, &st, err, errlen)))
    return rc;
  if (pb_presence_parse(st, status)) {
    snprintf(err, errlen, "field 'status': unknown status '%.64s' (valid: %s)",
             st, pb_presence_valid_list());
    return PB_EINVAL;
  }
  if (!pb_strlcpy(ext, number, extlen) || !*number) {
    snprintf(err, errlen, "field 'extension' must be 1-64 characters");
    return PB_EINVAL;
  }
  return 0;
}
