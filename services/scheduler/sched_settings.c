/* Per-extension settings owned by the scheduler (docs/topics.md): planning
 * on/off, a default status (else DEFAULT_STATUS) and a time zone (else
 * TIMEZONE). Set through R/ext/<site>/<ext>/settings/set, .../planning/set or
 * the settings request (handle_settings.c); stored, retained on
 * R/ext/<site>/<ext>/settings, announced on R/events/settings
 * (docs/topics.md). A change is checked whole before anything is applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/topics.h"
#include "pb/tz.h"
#include "sched.h"

int sched_parse_on_off(const char *p, size_t len, bool *on) {
  char word[16];
  while (len && (p[len - 1] == ' ' || p[len - 1] == '\n' ||
                 p[len - 1] == '\r' || p[len - 1] == '\t'))
    len--;
  while (len && (*p == ' ' || *p == '\t')) {
    p++;
    len--;
  }
  if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
    p++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof word)
    return PB_EINVAL;
  memcpy(word, p, len);
  word[len] = '\0';
  if (!strcasecmp(word, "on") || !strcasecmp(word, "true") ||
      !strcmp(word, "1")) {
    *on = true;
    return 0;
  }
  if (!strcasecmp(word, "off") || !strcasecmp(word, "false") ||
      !strcmp(word, "0")) {
    *on = false;
    return 0;
  }
  return PB_EINVAL;
}

const struct pb_tz *sched_zone(struct sched *s, const char *name) {
  struct pb_tz *tz = pb_map_get(s->zones, name);
  if (tz)
    return tz;
  if (pb_tz_load(name, &tz) != 0)
    return NULL;
  if (pb_map_put(s->zones, name, tz) != 0) {
    pb_tz_free(tz);
    return NULL;
  }
  return tz;
}

static const char *const fields[] = {
    "default_status", "timezone", "planning", "by",
    "transaction",    "site",     "ext"};

int sched_settings_parse(struct sched *s, json_t *j, bool allow_empty,
                         struct sched_settings_change *out, char *err,
                         size_t errlen) {
  memset(out, 0, sizeof *out);
  out->default_status = PB_PRESENCE_NONE;
  if (!json_is_object(j)) {
    snprintf(err, errlen,
             "settings must be a JSON object with default_status, "
             "timezone and/or planning");
    return PB_EINVAL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(j, key, v) {
    bool known = false;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
      known = known || strcmp(key, fields[i]) == 0;
    if (!known) {
      snprintf(err, errlen,
               "unknown field '%.64s' (valid: default_status, "
               "timezone, planning, by)",
               key);
      return PB_EINVAL;
    }
  }
  if ((v = json_object_get(j, "default_status"))) {
    out->set_default = true;
    if (json_is_string(v)) {
      if (pb_presence_parse(json_string_value(v), &out->default_status)) {
        snprintf(err, errlen,
                 "field 'default_status': unknown status '%.64s' "
                 "(valid: %s, or null for DEFAULT_STATUS)",
                 json_string_value(v), pb_presence_valid_list());
        return PB_EINVAL;
      }
    } else if (!json_is_null(v)) {
      snprintf(err, errlen, "field 'default_status' must be a status or null");
      return PB_EINVAL;
    }
  }
  if ((v = json_object_get(j, "timezone"))) {
    out->set_tz = true;
    if (json_is_string(v) && json_string_length(v) > 0) {
      const char *name = json_string_value(v);
      if (json_string_length(v) >= sizeof out->tz_name ||
          !sched_zone(s, name)) {
        snprintf(err, errlen,
                 "field 'timezone': unknown time zone '%.64s' (an "
                 "IANA name such as Europe/Paris, or null for TIMEZONE)",
                 name);
        return PB_EINVAL;
      }
      pb_strlcpy(out->tz_name, name, sizeof out->tz_name);
    } else if (!json_is_null(v) && !json_is_string(v)) {
      snprintf(err, errlen,
               "field 'timezone' must be a time zone name or null");
      return PB_EINVAL;
    }
  }
  if ((v = json_object_get(j, "planning"))) {
    out->set_planning = true;
    if (json_is_boolean(v)) {
      out->planning_on = json_is_true(v);
    } else if (!json_is_string(v) ||
               sched_parse_on_off(json_string_value(v), json_string_length(v),
                                  &out->planning_on)) {
      snprintf(err, errlen, "field 'planning' must be 'on' or 'off'");
      return PB_EINVAL;
    }
  }
  const char *by = pb_json_str(j, "by");
  if (json_object_get(j, "by") && !by) {
    snprintf(err, errlen, "field 'by' must be a string");
    return PB_EINVAL;
  }
  pb_strlcpy(out->by, by ? by : "", sizeof out->by);
  if (!allow_empty && !out->set_default && !out->set_tz && !out->set_planning) {
    snprintf(err, errlen,
             "nothing to change: give default_status, timezone "
             "and/or planning");
    return PB_EINVAL;
  }
  return 0;
}

bool sched_settings_custom(const struct sched_ext *e) {
  return e->planning_off || e->default_status != PB_PRESENCE_NONE || e->tz_name;
}

json_t *sched_settings_json(const struct sched_ext *e) {
  json_t *j = json_object();
  json_object_set_new(j, "planning",
                      json_string(e->planning_off ? "off" : "on"));
  json_object_set_new(j, "default_status",
                      e->default_status == PB_PRESENCE_NONE
                          ? json_null()
                          : json_string(pb_presence_name(e->default_status)));
  json_object_set_new(j, "timezone",
                      e->tz_name ? json_string(e->tz_name) : json_null());
  json_t *eff = json_object();
  json_object_set_new(eff, "default_status",
                      json_string(pb_presence_name(sched_default_of(e))));
  json_object_set_new(eff, "timezone", json_string(pb_tz_name(e->tz)));
  json_object_set_new(j, "effective", eff);
  return j;
}

void sched_settings_publish(struct sched_ext *e) {
  char topic[160];
  if (sched_topic(e, PB_EXT_SETTINGS, topic, sizeof topic))
    return;
  json_t *j = sched_settings_json(e);
  char *text = pb_json_dump(j);
  if (text)
    sched_publish(e->sched, topic, text, true);
  free(text);
  json_decref(j);
}

int sched_settings_apply(struct sched_ext *e,
                         const struct sched_settings_change *c) {
  struct sched *s = e->sched;
  json_t *changed = json_array();
  if (c->set_planning && e->planning_off == c->planning_on) {
    e->planning_off = !c->planning_on;
    json_array_append_new(changed, json_string("planning"));
  }
  if (c->set_default && e->default_status != c->default_status) {
    e->default_status = c->default_status;
    json_array_append_new(changed, json_string("default_status"));
  }
  if (c->set_tz && strcmp(e->tz_name ? e->tz_name : "", c->tz_name) != 0) {
    const struct pb_tz *tz = c->tz_name[0] ? sched_zone(s, c->tz_name) : s->tz;
    char *name = c->tz_name[0] ? strdup(c->tz_name) : NULL;
    if (!tz || (c->tz_name[0] && !name)) {
      free(name);
      json_decref(changed);
      return PB_ENOMEM;
    }
    free(e->tz_name);
    e->tz_name = name;
    e->tz = tz;
    json_array_append_new(changed, json_string("timezone"));
  }
  int rc = sched_store_save_settings(s, e);
  sched_store_flush(s);
  /* Publish even when nothing changed: the caller sees the settings in
   * force, and a lost retained message is repaired. */
  sched_settings_publish(e);
  char topic[160];
  if (c->set_planning && !sched_topic(e, PB_EXT_PLANNING, topic, sizeof topic))
    sched_publish(s, topic, e->planning_off ? "off" : "on", true);
  if (json_array_size(changed) == 0) {
    json_decref(changed);
    return rc;
  }
  pb_info("settings of %s/%s changed by '%s'", e->site, e->ext, c->by);
  json_t *ev = json_object();
  json_object_set_new(ev, "site", json_string(e->site));
  json_object_set_new(ev, "ext", json_string(e->ext));
  json_object_set_new(ev, "by", json_string(c->by));
  json_object_set_new(ev, "changed", changed);
  json_object_set_new(ev, "settings", sched_settings_json(e));
  s->io.event(s->io.ud, PB_EVENT_SETTINGS, ev);
  e->input_changed_at = pb_clock_now();
  sched_evaluate(e, false);
  return rc;
}
