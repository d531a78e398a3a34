/* The earlier tool's JSON weekly planning (slots are numbered from 1 over
 * the whole file, in order, for the errors about several slots):
 *   [{"extension":"2000","schedules":[{"day":"monday","start":"08:00",
 *     "end":"12:00","status":"available"}]}]
 * Errors name the JSON path of the bad value ("[0].schedules[2].day"). */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/json.h"

#define MAX_ENTRIES 100000

static const char *str_field(const json_t *obj, const char *key,
                             const char *where, int line, bool required,
                             struct import_errors *errs) {
  const json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    if (required)
      ingest_error_add(errs, line, where, "field '%s' is missing", key);
    return NULL;
  }
  if (!json_is_string(v)) {
    ingest_error_add(errs, line, where, "field '%s' must be a string", key);
    return NULL;
  }
  return json_string_value(v);
}

int ingest_parse_json(const char *buf, size_t len, struct weekly_plan *plan,
                      struct import_errors *errs) {
  char err[256];
  json_t *root = pb_json_parse(buf, len, err, sizeof err);
  if (!root) {
    ingest_error_add(errs, 0, "", "%s", err);
    return PB_EPARSE;
  }
  if (!json_is_array(root)) {
    ingest_error_add(errs, 0, "",
                     "the planning must be a JSON array of "
                     "{\"extension\":..., \"schedules\":[...]}");
    json_decref(root);
    return PB_EPARSE;
  }
  size_t i, k;
  json_t *entry, *sched;
  int counter = 0;
  json_array_foreach(root, i, entry) {
    char where[64];
    snprintf(where, sizeof where, "[%zu]", i);
    if (!json_is_object(entry)) {
      ingest_error_add(errs, 0, where, "each entry must be an object");
      continue;
    }
    const char *ext = str_field(entry, "extension", where, 0, true, errs);
    if (ext && !pb_topic_id_valid(ext)) {
      ingest_error_add(errs, 0, where,
                       "extension '%.64s' must be 1-64 "
                       "characters of [A-Za-z0-9_-]",
                       ext);
      ext = NULL;
    }
    const json_t *list = json_object_get(entry, "schedules");
    if (!json_is_array(list)) {
      ingest_error_add(errs, 0, where, "field 'schedules' must be an array");
      continue;
    }
    json_array_foreach(list, k, sched) {
      char w[64];
      snprintf(w, sizeof w, "[%zu].schedules[%zu]", i, k);
      if (++counter > MAX_ENTRIES) {
        ingest_error_add(errs, 0, w, "more than %d slots", MAX_ENTRIES);
        goto out;
      }
      if (!json_is_object(sched)) {
        ingest_error_add(errs, 0, w, "each schedule must be an object");
        continue;
      }
      size_t before = errs->total;
      struct weekly_slot s = {.line = counter, .status = PB_PRESENCE_AVAILABLE};
      const char *day = str_field(sched, "day", w, 0, true, errs);
      const char *start = str_field(sched, "start", w, 0, true, errs);
      const char *end = str_field(sched, "end", w, 0, true, errs);
      const char *status = str_field(sched, "status", w, 0, false, errs);
      if (day && ingest_parse_day(day, &s.wday))
        ingest_error_add(errs, 0, w,
                         "unknown day '%.32s' (lundi..dimanche or "
                         "monday..sunday)",
                         day);
      if (start && ingest_parse_hhmm(start, false, &s.start_min))
        ingest_error_add(errs, 0, w, "start '%.32s' is not HH:MM", start);
      if (end && ingest_parse_hhmm(end, true, &s.end_min))
        ingest_error_add(errs, 0, w, "end '%.32s' is not HH:MM", end);
      if (status && pb_presence_parse(status, &s.status))
        ingest_error_add(errs, 0, w, "unknown status '%.64s' (valid: %s)",
                         status, pb_presence_valid_list());
      if (!ext || errs->total != before)
        continue;
      pb_strlcpy(s.ext, ext, sizeof s.ext);
      ingest_check_slot(&s, errs, w);
      if (errs->total == before && ingest_plan_add(plan, &s)) {
        json_decref(root);
        return PB_ENOMEM;
      }
    }
  }
out:
  json_decref(root);
  return ingest_plan_finish(plan, errs, true);
}
