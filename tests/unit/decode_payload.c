/* Decodes one bus payload of the kind named on the command line from stdin
 * with the project's own decoder; exit 0 when valid, 1 with the reason.
 * tests/docs/check_topics_doc.py feeds it every example of docs/topics.md. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/clock.h"
#include "pb/payload.h"
#include "pb/payload_call.h"
#include "pb/sealed.h"
#include "pb/tz.h"

/* A status field: a known status, or null when `nullable`. */
static int check_status(const json_t *j, const char *key, bool nullable,
                        char *err, size_t errlen) {
  const json_t *v = json_object_get(j, key);
  enum pb_presence p;
  if ((nullable && json_is_null(v)) ||
      (json_is_string(v) && pb_presence_parse(json_string_value(v), &p) == 0))
    return 0;
  snprintf(err, errlen, "'%s' must be a status%s", key,
           nullable ? " or null" : "");
  return 1;
}

static int check_zone(const json_t *j, const char *key, bool nullable,
                      char *err, size_t errlen) {
  const json_t *v = json_object_get(j, key);
  struct pb_tz *tz = NULL;
  if (nullable && json_is_null(v))
    return 0;
  if (json_is_string(v) && pb_tz_load(json_string_value(v), &tz) == 0) {
    pb_tz_free(tz);
    return 0;
  }
  snprintf(err, errlen, "'%s' must be a time zone%s", key,
           nullable ? " or null" : "");
  return 1;
}

/* The scheduler's settings/set command and retained settings payload. */
static int check_settings(json_t *j, bool command, char *err, size_t errlen) {
  if (!json_is_object(j)) {
    snprintf(err, errlen, "not a JSON object");
    return 1;
  }
  if (command) {
    const char *key;
    json_t *v;
    int n = 0;
    json_object_foreach(j, key, v) {
      if (!strcmp(key, "default_status") || !strcmp(key, "timezone") ||
          !strcmp(key, "planning"))
        n++;
      else if (strcmp(key, "by") && strcmp(key, "transaction")) {
        snprintf(err, errlen, "unknown field '%s'", key);
        return 1;
      }
    }
    if (n == 0) {
      snprintf(err, errlen, "nothing to change");
      return 1;
    }
    const json_t *pl = json_object_get(j, "planning");
    if (pl && !json_is_boolean(pl) &&
        !(json_is_string(pl) && (!strcmp(json_string_value(pl), "on") ||
                                 !strcmp(json_string_value(pl), "off")))) {
      snprintf(err, errlen, "'planning' must be on or off");
      return 1;
    }
    return (json_object_get(j, "default_status") &&
            check_status(j, "default_status", true, err, errlen)) ||
           (json_object_get(j, "timezone") &&
            check_zone(j, "timezone", true, err, errlen));
  }
  const char *pl = pb_json_str(j, "planning");
  const json_t *eff = json_object_get(j, "effective");
  if (!pl || (strcmp(pl, "on") && strcmp(pl, "off")) || !json_is_object(eff)) {
    snprintf(err, errlen, "needs 'planning' (on/off) and 'effective'");
    return 1;
  }
  return check_status(j, "default_status", true, err, errlen) ||
         check_zone(j, "timezone", true, err, errlen) ||
         check_status(eff, "default_status", false, err, errlen) ||
         check_zone(eff, "timezone", false, err, errlen);
}

/* A Home Assistant device discovery payload as the scheduler publishes it. */
static int check_ha(json_t *j, char *err, size_t errlen) {
  const json_t *dev = json_object_get(j, "device");
  json_t *cmps = json_object_get(j, "components");
  if (!json_array_size(json_object_get(dev, "identifiers")) ||
      !pb_json_str(dev, "name") ||
      !pb_json_str(json_object_get(j, "origin"), "name") ||
      !json_object_size(cmps)) {
    snprintf(err, errlen,
             "needs device.identifiers, device.name, origin.name, components");
    return 1;
  }
  const char *key;
  json_t *c;
  json_object_foreach(cmps, key, c) {
    const char *p = pb_json_str(c, "platform");
    bool ok = p && pb_json_str(c, "unique_id");
    if (ok && !strcmp(p, "select"))
      ok = pb_json_str(c, "command_topic") &&
           json_array_size(json_object_get(c, "options"));
    else if (ok && (!strcmp(p, "sensor") || !strcmp(p, "binary_sensor")))
      ok = pb_json_str(c, "state_topic") != NULL;
    else if (ok && !strcmp(p, "button"))
      ok = pb_json_str(c, "command_topic") != NULL;
    else
      ok = false;
    if (!ok) {
      snprintf(err, errlen,
               "component '%s' lacks platform, unique_id or its topics", key);
      return 1;
    }
  }
  return 0;
}

/* ical-ingest's R/svc/ical-ingest/source/<id>/status: written by one
 * service and read by none yet, so checked here field by field. */
static int check_source_status(const json_t *j, char *err, size_t errlen) {
  static const char *const kinds[] = {"weekly", "url", "ics", "manual"};
  static const char *const states[] = {"ok", "error", "pending"};
  static const char *const times[] = {"last_attempt", "last_success",
                                      "last_change", "next_attempt"};
  const char *id, *kind, *state, *site;
  int64_t t;
  if (pb_json_get_str(j, "id", true, &id, err, errlen) ||
      pb_json_get_str(j, "kind", true, &kind, err, errlen) ||
      pb_json_get_str(j, "state", true, &state, err, errlen) ||
      pb_json_get_str(j, "site", true, &site, err, errlen))
    return 1;
  bool known_kind = false, known_state = false;
  for (size_t i = 0; i < 4; i++)
    known_kind = known_kind || strcmp(kind, kinds[i]) == 0;
  for (size_t i = 0; i < 3; i++)
    known_state = known_state || strcmp(state, states[i]) == 0;
  if (!known_kind || !known_state) {
    snprintf(err, errlen, "unknown kind '%s' or state '%s'", kind, state);
    return 1;
  }
  const json_t *e = json_object_get(j, "error");
  if (!json_is_null(e) && !json_is_string(e)) {
    snprintf(err, errlen, "field 'error' must be a string or null");
    return 1;
  }
  if ((strcmp(state, "error") == 0) != json_is_string(e)) {
    snprintf(err, errlen, "an error state needs an 'error', other states none");
    return 1;
  }
  for (size_t i = 0; i < 4; i++)
    if (json_object_get(j, times[i]) &&
        pb_json_get_time(j, times[i], false, &t, err, errlen))
      return 1;
  if (strcmp(kind, "weekly") != 0 &&
      !json_is_array(json_object_get(j, "extensions"))) {
    snprintf(err, errlen, "field 'extensions' must be an array");
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: decode_payload KIND < payload\n");
    return 2;
  }
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = '\0';
  const char *kind = argv[1];
  char err[256] = "";
  int rc = 0;
  if (strcmp(kind, "override_set") == 0) {
    struct pb_override o;
    /* examples are dated in 2026: judge them from the start of that year */
    rc = pb_override_parse_set(buf, n, 1767225600, &o, err, sizeof err);
  } else if (strcmp(kind, "text") == 0) {
    rc = 0;
  } else {
    json_t *j = pb_json_parse(buf, n, err, sizeof err);
    if (!j) {
      fprintf(stderr, "%s\n", err);
      return 1;
    }
    if (strcmp(kind, "schedule") == 0) {
      struct pb_schedule s;
      rc = pb_schedule_from_json(j, &s, err, sizeof err);
      if (!rc)
        pb_schedule_cleanup(&s);
    } else if (strcmp(kind, "desired") == 0) {
      struct pb_desired d;
      rc = pb_desired_from_json(j, &d, err, sizeof err);
    } else if (strcmp(kind, "override") == 0) {
      struct pb_override o;
      rc = pb_override_from_json(j, &o, err, sizeof err);
    } else if (strcmp(kind, "state") == 0) {
      struct pb_ext_state s;
      rc = pb_ext_state_from_json(j, &s, err, sizeof err);
    } else if (strcmp(kind, "directory") == 0) {
      struct pb_directory d;
      rc = pb_directory_from_json(j, &d, err, sizeof err);
      if (!rc)
        pb_directory_cleanup(&d);
    } else if (strcmp(kind, "site_status") == 0) {
      struct pb_site_status st;
      rc = pb_site_status_from_json(j, &st, err, sizeof err);
    } else if (strcmp(kind, "pbx_event") == 0) {
      struct pb_pbx_event ev;
      rc = pb_pbx_event_from_json(j, &ev, err, sizeof err);
      if (!rc && ev.type == PB_PBX_EVENT_PRESENCE) {
        char ext[PB_ID_MAX];
        enum pb_presence p;
        rc = pb_pbx_event_presence(&ev, ext, sizeof ext, &p, err, sizeof err);
      }
      pb_pbx_event_cleanup(&ev);
    } else if (strcmp(kind, "call") == 0) {
      struct pb_call_state_msg c;
      rc = pb_call_state_from_json(j, &c, err, sizeof err);
    } else if (strcmp(kind, "calls") == 0) {
      struct pb_site_calls sc;
      rc = pb_site_calls_from_json(j, &sc, err, sizeof err);
      if (!rc)
        pb_site_calls_cleanup(&sc);
    } else if (strcmp(kind, "cdr") == 0) {
      struct pb_cdr c;
      rc = pb_cdr_from_json(j, &c, err, sizeof err);
    } else if (strcmp(kind, "source_status") == 0) {
      rc = check_source_status(j, err, sizeof err);
    } else if (strcmp(kind, "settings") == 0 ||
               strcmp(kind, "settings_set") == 0) {
      rc =
          check_settings(j, strcmp(kind, "settings_set") == 0, err, sizeof err);
    } else if (strcmp(kind, "pubkey") == 0) {
      struct pb_sealed_key key;
      rc = pb_sealed_key_parse(buf, n, &key, err, sizeof err);
    } else if (strcmp(kind, "ha_discovery") == 0) {
      rc = check_ha(j, err, sizeof err);
    } else if (strcmp(kind, "event") == 0 || strcmp(kind, "request") == 0 ||
               strcmp(kind, "response") == 0) {
      /* Every event, request and response is a JSON object; events carry
       * their kind and time, responses their status. */
      if (!json_is_object(j)) {
        snprintf(err, sizeof err, "not a JSON object");
        rc = 1;
      } else if (strcmp(kind, "event") == 0 &&
                 (!pb_json_str(j, "kind") || !pb_json_str(j, "at"))) {
        snprintf(err, sizeof err, "an event needs 'kind' and 'at'");
        rc = 1;
      } else if (strcmp(kind, "response") == 0 && !pb_json_str(j, "status")) {
        snprintf(err, sizeof err, "a response needs 'status'");
        rc = 1;
      } else if (strcmp(kind, "event") == 0 &&
                 strcmp(pb_json_str(j, "kind"), "cdr") == 0) {
        struct pb_cdr c; /* a finished call: the record's own decoder */
        rc = pb_cdr_from_json(j, &c, err, sizeof err);
      }
    } else {
      fprintf(stderr, "unknown payload kind '%s'\n", kind);
      json_decref(j);
      return 2;
    }
    json_decref(j);
  }
  if (rc) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  return 0;
}
