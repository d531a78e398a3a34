/* Encoders and decoders of what the gateway publishes about the PBX
 * (docs/topics.md): an extension's state and a site's directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/error.h"
#include "pb/payload.h"

#define MAX_DIRECTORY 100000

const char *const pb_device_names[5] = {"sip_phone", "linkus_desktop",
                                        "linkus_mobile", "linkus_web",
                                        "fxs_phone"};

json_t *pb_ext_state_to_json(const struct pb_ext_state *s, const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "status", s->status == PB_PRESENCE_NONE
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
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err, errlen)))
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
      if (json_is_string(v) && strcmp(json_string_value(v), pb_device_names[k]) == 0)
        out->online |= 1u << k;
  }
  return 0;
}

json_t *pb_directory_to_json(const struct pb_directory *d, const struct pb_tz *tz) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(d->site));
  pb_json_set_time_tz(j, "updated_at", d->updated_at, tz);
  json_t *list = json_array();
  for (size_t i = 0; i < d->count; i++) {
    const struct pb_dir_entry *e = &d->entries[i];
    json_array_append_new(list, json_pack("{s:s,s:I,s:s}", "number", e->number,
                                          "id", (json_int_t)e->id, "name",
                                          e->name));
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
      (rc = pb_json_get_time(j, "updated_at", false, &out->updated_at, err, errlen)))
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
        (rc = pb_json_get_int(e, "id", true, &out->entries[i].id, e2, sizeof e2))) {
      snprintf(err, errlen, "extension %zu: %s", i, e2);
      pb_directory_cleanup(out);
      return rc;
    }
    pb_json_get_str(e, "name", false, &name, NULL, 0);
    pb_strlcpy(out->entries[i].number, number, sizeof out->entries[i].number);
    pb_strlcpy(out->entries[i].name, name ? name : "", sizeof out->entries[i].name);
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
