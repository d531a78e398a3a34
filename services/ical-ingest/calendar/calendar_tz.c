/* Which clock a calendar's times are read in (RFC 5545 §3.2.19, §3.3.5,
 * §3.6.5). A TZID is looked up, in order, as an IANA name (also behind a
 * "/mozilla.org/.../Europe/Paris" style prefix), as a Windows name (CLDR
 * windowsZones), then as the feed's own VTIMEZONE, read by libical. IANA
 * comes first, as Google, Apple and Thunderbird do: feeds often carry a
 * truncated VTIMEZONE that only knows this year's rules. Floating times use
 * X-WR-TIMEZONE when the calendar names one, else the configured zone. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar_int.h"
#include "pb/buf.h"
#include "pb/error.h"
#include "pb/map.h"
#include "pb/tz.h"

enum zone_kind { Z_UTC, Z_IANA, Z_VTZ };

struct cal_zone {
  enum zone_kind kind;
  const struct pb_tz *tz; /* Z_IANA */
  struct pb_tz *owned;    /* loaded here, freed with the table */
  struct cal_vtz *vtz;    /* Z_VTZ */
  size_t *reads;          /* the configured zone: counts its conversions */
};

struct tzid {
  char *name;
  bool resolved, unknown_told, has_block;
  struct cal_span block; /* its VTIMEZONE in the input */
  struct cal_zone *zone; /* NULL: unknown, read as floating */
};

struct cal_zones {
  struct cal_zone utc, days; /* days: the configured zone */
  size_t days_reads;         /* values read in it */
  struct cal_zone *calendar; /* X-WR-TIMEZONE, or NULL */
  struct tzid *ids;
  size_t n, cap;
  struct pb_map *index;     /* TZID -> index + 1 */
  struct cal_zone **loaded; /* every zone created here */
  int end_year;
  size_t n_loaded, cap_loaded;
};

int cal_zones_new(const struct pb_tz *floating, int end_year,
                  struct cal_zones **out) {
  struct cal_zones *z = calloc(1, sizeof *z);
  if (!z || !(z->index = pb_map_new())) {
    free(z);
    return PB_ENOMEM;
  }
  z->end_year = end_year;
  z->utc.kind = Z_UTC;
  z->days.kind = floating ? Z_IANA : Z_UTC;
  z->days.tz = floating;
  z->days.reads = &z->days_reads;
  *out = z;
  return 0;
}

void cal_zones_free(struct cal_zones *z) {
  if (!z)
    return;
  for (size_t i = 0; i < z->n; i++)
    free(z->ids[i].name);
  free(z->ids);
  for (size_t i = 0; i < z->n_loaded; i++) {
    pb_tz_free(z->loaded[i]->owned);
    cal_vtz_free(z->loaded[i]->vtz);
    free(z->loaded[i]);
  }
  free(z->loaded);
  pb_map_free(z->index);
  free(z);
}

static struct cal_zone *keep(struct cal_zones *z, struct cal_zone *zone) {
  if (pb_array_grow(&z->loaded, &z->cap_loaded, z->n_loaded + 1,
                    sizeof *z->loaded, CAL_ITEMS_MAX))
    return NULL;
  z->loaded[z->n_loaded++] = zone;
  return zone;
}

/* An IANA zone by exact name, shared between TZIDs that name it. */
static struct cal_zone *load_iana(struct cal_zones *z, const char *name) {
  for (size_t i = 0; i < z->n_loaded; i++)
    if (z->loaded[i]->kind == Z_IANA &&
        strcmp(pb_tz_name(z->loaded[i]->tz), name) == 0)
      return z->loaded[i];
  struct pb_tz *tz;
  if (pb_tz_load(name, &tz))
    return NULL;
  struct cal_zone *zone = calloc(1, sizeof *zone);
  if (!zone) {
    pb_tz_free(tz);
    return NULL;
  }
  zone->kind = Z_IANA;
  zone->tz = zone->owned = tz;
  if (!keep(z, zone)) {
    pb_tz_free(tz);
    free(zone);
    return NULL;
  }
  return zone;
}

static struct cal_zone *by_name(struct cal_zones *z, const char *name) {
  if (!*name)
    return NULL;
  if (strcasecmp(name, "UTC") == 0 || strcasecmp(name, "GMT") == 0 ||
      strcasecmp(name, "Z") == 0 || strcasecmp(name, "Etc/UTC") == 0)
    return &z->utc;
  struct cal_zone *zone = load_iana(z, name);
  if (zone)
    return zone;
  /* "/mozilla.org/20050126_1/Europe/Paris", "/citadel.org/.../Europe/Paris":
   * try what follows each '/', a few times at most. */
  int tries = 0;
  for (const char *p = strchr(name, '/'); p && tries < 8;
       p = strchr(p + 1, '/')) {
    tries++;
    if (p[1] && strchr(p + 1, '/') && (zone = load_iana(z, p + 1)))
      return zone;
  }
  const char *iana = cal_windows_zone(name);
  return iana ? load_iana(z, iana) : NULL;
}

int cal_zones_intern(struct cal_zones *z, const char *tzid, uint16_t *idx) {
  void *v = pb_map_get(z->index, tzid);
  if (v) {
    *idx = (uint16_t)((uintptr_t)v - 1);
    return 0;
  }
  if (z->n >= CAL_TZID_MAX)
    return PB_ETOOBIG;
  int rc =
      pb_array_grow(&z->ids, &z->cap, z->n + 1, sizeof *z->ids, CAL_TZID_MAX);
  if (rc)
    return rc;
  struct tzid *t = &z->ids[z->n];
  memset(t, 0, sizeof *t);
  if (!(t->name = strdup(tzid)))
    return PB_ENOMEM;
  if (pb_map_put(z->index, tzid, (void *)(uintptr_t)(z->n + 1))) {
    free(t->name);
    return PB_ENOMEM;
  }
  *idx = (uint16_t)z->n++;
  return 0;
}

int cal_zones_add_vtimezone(struct cal_zones *z, const char *tzid,
                            struct cal_span block) {
  uint16_t idx;
  int rc = cal_zones_intern(z, tzid, &idx);
  if (rc)
    return rc;
  /* The first definition of a TZID is the one used. */
  if (!z->ids[idx].has_block) {
    z->ids[idx].has_block = true;
    z->ids[idx].block = block;
  }
  return 0;
}

int cal_zones_set_calendar_zone(struct cal_zones *z, const char *name) {
  if (z->calendar)
    return 0; /* the first X-WR-TIMEZONE of the input wins */
  struct cal_zone *zone = by_name(z, name);
  if (!zone)
    return PB_ENOTFOUND;
  z->calendar = zone;
  return 0;
}

const struct cal_zone *cal_zones_get(struct cal_zones *z, uint16_t idx,
                                     const char *input, bool *unknown) {
  if (unknown)
    *unknown = false;
  if (idx >= z->n)
    return cal_zones_floating(z);
  struct tzid *t = &z->ids[idx];
  if (!t->resolved) {
    t->resolved = true;
    t->zone = by_name(z, t->name);
    if (!t->zone && t->has_block && input) {
      struct cal_vtz *vtz;
      char err[160];
      if (cal_vtz_new(input + t->block.off, t->block.len, z->end_year, &vtz,
                      err, sizeof err) == 0) {
        struct cal_zone *zone = calloc(1, sizeof *zone);
        if (zone && keep(z, zone)) {
          zone->kind = Z_VTZ;
          zone->vtz = vtz;
          t->zone = zone;
        } else {
          free(zone);
          cal_vtz_free(vtz);
        }
      }
    }
  }
  if (t->zone)
    return t->zone;
  if (unknown && !t->unknown_told) {
    t->unknown_told = true;
    *unknown = true;
  }
  return cal_zones_floating(z);
}

const char *cal_zones_tzid(const struct cal_zones *z, uint16_t idx) {
  return idx < z->n ? z->ids[idx].name : "";
}

const struct cal_zone *cal_zones_floating(const struct cal_zones *z) {
  return z->calendar ? z->calendar : &z->days;
}

const struct cal_zone *cal_zones_calendar(const struct cal_zones *z) {
  return z->calendar;
}

const struct cal_zone *cal_zones_utc(const struct cal_zones *z) {
  return &z->utc;
}

const struct cal_zone *cal_zones_days(const struct cal_zones *z) {
  return &z->days;
}

size_t cal_zones_days_reads(const struct cal_zones *z) {
  return z->days_reads;
}

int64_t cal_zone_to_utc(const struct cal_zone *zone, int64_t day, int32_t sec) {
  if (zone->reads)
    ++*zone->reads;
  switch (zone->kind) {
  case Z_IANA: {
    struct pb_civil c = {
        .hour = sec / 3600, .minute = sec / 60 % 60, .second = sec % 60};
    pb_civil_from_days(day, &c.year, &c.month, &c.day);
    return pb_tz_local_to_utc(zone->tz, &c);
  }
  case Z_VTZ:
    return cal_vtz_to_utc(zone->vtz, day, sec);
  case Z_UTC:
  default:
    return day * CAL_DAY + sec;
  }
}

void cal_zone_from_utc(const struct cal_zone *zone, int64_t utc, int64_t *day,
                       int32_t *sec) {
  int64_t local = utc;
  if (zone->reads)
    ++*zone->reads;
  if (zone->kind == Z_IANA)
    local = utc + pb_tz_offset_at(zone->tz, utc);
  else if (zone->kind == Z_VTZ) {
    cal_vtz_from_utc(zone->vtz, utc, day, sec);
    return;
  }
  int64_t d = local / CAL_DAY, s = local % CAL_DAY;
  if (s < 0) {
    s += CAL_DAY;
    d--;
  }
  *day = d;
  *sec = (int32_t)s;
}
