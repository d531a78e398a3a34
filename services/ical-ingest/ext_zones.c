/* Each extension's time zone, as the scheduler publishes it retained on
 * R/ext/<site>/<ext>/settings (docs/topics.md): weekly plannings, floating
 * times and all-day events of that extension are read on its wall clock.
 * An extension without a zone of its own uses the service's TIMEZONE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/map.h"
#include "pb/tz.h"

#define ZONES_MAX 1000  /* distinct zones loaded (IANA has about 600) */
#define EXTS_MAX 100000 /* extensions with a zone of their own */

struct ingest_zones {
  const struct pb_tz *fallback; /* TIMEZONE, not owned */
  struct pb_map *loaded;        /* name -> struct pb_tz (owned) */
  struct pb_map *exts;          /* "site/ext" -> a zone of `loaded` */
};

int ingest_zones_new(const struct pb_tz *fallback, struct ingest_zones **out) {
  struct ingest_zones *z = calloc(1, sizeof *z);
  if (!z || !(z->loaded = pb_map_new()) || !(z->exts = pb_map_new())) {
    ingest_zones_free(z);
    return PB_ENOMEM;
  }
  z->fallback = fallback;
  *out = z;
  return 0;
}

void ingest_zones_free(struct ingest_zones *z) {
  if (!z)
    return;
  size_t pos = 0;
  void *tz;
  while (z->loaded && (tz = pb_map_next(z->loaded, &pos, NULL)))
    pb_tz_free(tz);
  pb_map_free(z->loaded);
  pb_map_free(z->exts);
  free(z);
}

static void ext_key(const char *site, const char *ext, char *key, size_t len) {
  snprintf(key, len, "%s/%s", site, ext);
}

const struct pb_tz *ingest_zones_get(const struct ingest_zones *z,
                                     const char *site, const char *ext) {
  char key[2 * PB_ID_MAX + 2];
  ext_key(site, ext, key, sizeof key);
  const struct pb_tz *tz = z ? pb_map_get(z->exts, key) : NULL;
  return tz ? tz : z ? z->fallback : NULL;
}

/* A zone other than TIMEZONE by name, loaded once and kept until
 * ingest_zones_free: slots and caches may hold it. */
static struct pb_tz *zone_loaded(struct ingest_zones *z, const char *name) {
  struct pb_tz *tz = pb_map_get(z->loaded, name);
  if (tz)
    return tz;
  if (pb_map_count(z->loaded) >= ZONES_MAX || pb_tz_load(name, &tz))
    return NULL;
  if (pb_map_put(z->loaded, name, tz)) {
    pb_tz_free(tz);
    return NULL;
  }
  return tz;
}

int ingest_zones_set(struct ingest_zones *z, const char *site, const char *ext,
                     const char *name, bool *changed) {
  char key[2 * PB_ID_MAX + 2];
  ext_key(site, ext, key, sizeof key);
  *changed = false;
  const struct pb_tz *now = ingest_zones_get(z, site, ext);
  /* The service's own zone is TIMEZONE itself: no entry of its own. */
  struct pb_tz *own = NULL;
  if (name && *name && strcmp(name, pb_tz_name(z->fallback)) != 0 &&
      !(own = zone_loaded(z, name)))
    return PB_ENOTFOUND;
  if (!own) {
    pb_map_remove(z->exts, key);
  } else {
    if (!pb_map_get(z->exts, key) && pb_map_count(z->exts) >= EXTS_MAX)
      return PB_ETOOBIG;
    if (pb_map_put(z->exts, key, own))
      return PB_ENOMEM;
  }
  *changed = (own ? own : z->fallback) != now;
  return 0;
}

int ingest_settings_zone(const char *payload, size_t len, char *name,
                         size_t cap, char *err, size_t errlen) {
  name[0] = '\0';
  if (len == 0)
    return 0; /* a cleared retained message: the defaults */
  json_t *j = pb_json_parse(payload, len, err, errlen);
  if (!json_is_object(j)) {
    if (j)
      snprintf(err, errlen, "the settings are not a JSON object");
    json_decref(j);
    return PB_EPARSE;
  }
  const json_t *v = json_object_get(j, "timezone");
  int rc = 0;
  if (json_is_string(v)) {
    if (json_string_length(v) >= cap || json_string_length(v) == 0) {
      snprintf(err, errlen, "field 'timezone' must be 1-%zu characters",
               cap - 1);
      rc = PB_EPARSE;
    } else {
      pb_strlcpy(name, json_string_value(v), cap);
    }
  } else if (v && !json_is_null(v)) {
    snprintf(err, errlen, "field 'timezone' must be a zone name or null");
    rc = PB_EPARSE;
  }
  json_decref(j);
  return rc;
}
