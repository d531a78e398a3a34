/* web-api's read model: the latest directory, schedule, desired, state,
 * override and planning of every extension and the availability of every
 * service, rebuilt from the broker's retained messages at each start
 * (docs/topics.md). Every live change is also handed to the event stream
 * and counted for /metrics. Whatever is published is checked first: a
 * payload above WEB_EVENT_MAX_BYTES (the schedule: SCHEDULE_MAX) or an
 * availability other than online/offline is not kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "web.h"

#define SCHEDULE_MAX (1024 * 1024) /* a bigger schedule is not kept */

struct web_ext *web_model_get(struct web *w, const char *site,
                              const char *number) {
  char key[2 * PB_ID_MAX];
  snprintf(key, sizeof key, "%s/%s", site, number);
  return pb_map_get(w->exts, key);
}

static struct web_ext *get_or_create(struct web *w, const char *site,
                                     const char *number) {
  struct web_ext *e = web_model_get(w, site, number);
  if (e)
    return e;
  if (!pb_topic_id_valid(site) || !pb_topic_id_valid(number))
    return NULL;
  e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  pb_strlcpy(e->site, site, sizeof e->site);
  pb_strlcpy(e->number, number, sizeof e->number);
  char key[2 * PB_ID_MAX];
  snprintf(key, sizeof key, "%s/%s", site, number);
  if (pb_map_put(w->exts, key, e)) {
    free(e);
    return NULL;
  }
  return e;
}

static void set_json(json_t **slot, json_t *value) {
  json_decref(*slot);
  *slot = value;
}

static bool same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void announce(struct web *w, const struct web_ext *e, const char *change,
                     bool retained) {
  /* Retained messages replayed at (re)connection are the state as it is,
   * not changes: the stream carries only what happens from now on. */
  if (retained)
    return;
  json_t *j = web_ext_json(e);
  json_object_set_new(j, "change", json_string(change));
  web_sse_publish(w, "extension", j);
}

/* ext/<site>/<ext>/<leaf> */
static void on_ext(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  (void)bus;
  struct web *w = ud;
  char buf[256], err[256];
  const char *seg[5];
  w->model_gen++;
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4)
    return;
  const char *leaf = seg[3];
  if (strcmp(leaf, "planning") == 0) {
    struct web_ext *e = get_or_create(w, seg[1], seg[2]);
    if (!e)
      return;
    bool off = msg->len >= 3 && strncasecmp(msg->payload, "off", 3) == 0;
    if (off != e->planning_off) {
      e->planning_off = off;
      announce(w, e, "planning", msg->retained);
    }
    return;
  }
  if (strcmp(leaf, "schedule") == 0) {
    struct web_ext *e = get_or_create(w, seg[1], seg[2]);
    if (!e)
      return;
    free(e->schedule);
    e->schedule = NULL;
    if (msg->len > SCHEDULE_MAX)
      pb_warn("schedule of %s/%s is %zu bytes: not kept for the week view",
              seg[1], seg[2], msg->len);
    else if (msg->len)
      e->schedule = strndup(msg->payload, msg->len);
    /* The week view of that extension reads it again. */
    announce(w, e, "schedule", msg->retained);
    return;
  }
  size_t max = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_EVENT_MAX_BYTES);
  if (msg->len > max) {
    pb_warn("ignoring %s of %zu bytes: larger than WEB_EVENT_MAX_BYTES (%zu)",
            msg->topic, msg->len, max);
    return;
  }
  json_t *j = NULL;
  if (msg->len) {
    j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
    if (!j) {
      pb_warn("ignoring unreadable %s: %s", msg->topic, err);
      return;
    }
  }
  struct web_ext *e = get_or_create(w, seg[1], seg[2]);
  if (!e) {
    json_decref(j);
    return;
  }
  if (strcmp(leaf, "desired") == 0) {
    if (!same_str(pb_json_str(e->desired, "status"),
                  pb_json_str(j, "status")) &&
        !msg->retained)
      w->metrics.status_changes++;
    set_json(&e->desired, j);
    announce(w, e, "desired", msg->retained);
  } else if (strcmp(leaf, "state") == 0) {
    const char *old = pb_json_str(e->state, "status");
    const char *now = pb_json_str(j, "status");
    if (!same_str(old, now)) {
      pb_strlcpy(e->prev_pbx_status, old ? old : "", sizeof e->prev_pbx_status);
      if (!msg->retained)
        w->metrics.pbx_changes++;
    }
    const char *name = pb_json_str(j, "name");
    if (name && *name)
      pb_strlcpy(e->name, name, sizeof e->name);
    set_json(&e->state, j);
    announce(w, e, "state", msg->retained);
  } else if (strcmp(leaf, "override") == 0) {
    set_json(&e->override, j);
    announce(w, e, "override", msg->retained);
  } else {
    json_decref(j);
  }
}

static void on_directory(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  (void)bus;
  struct web *w = ud;
  char err[256];
  w->model_gen++;
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  struct pb_directory d;
  if (!j || pb_directory_from_json(j, &d, err, sizeof err)) {
    json_decref(j);
    return;
  }
  json_decref(j);
  size_t pos = 0;
  struct web_ext *e;
  while ((e = pb_map_next(w->exts, &pos, NULL)))
    if (strcmp(e->site, d.site) == 0)
      e->in_directory = false;
  for (size_t i = 0; i < d.count; i++) {
    e = get_or_create(w, d.site, d.entries[i].number);
    if (!e)
      continue;
    e->in_directory = true;
    e->pbx_id = d.entries[i].id;
    pb_strlcpy(e->name, d.entries[i].name, sizeof e->name);
  }
  if (!msg->retained)
    web_sse_publish(
        w, "directory",
        json_pack("{s:s,s:I}", "site", d.site, "count", (json_int_t)d.count));
  pb_directory_cleanup(&d);
}

static void on_availability(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud) {
  (void)bus;
  struct web *w = ud;
  char service[PB_ID_MAX];
  if (!pb_topic_service(msg->topic, service, sizeof service))
    return;
  /* online, offline, or nothing (the retained value was cleared: the
   * service is unknown again). */
  const char *value = msg->len == 6 && memcmp(msg->payload, "online", 6) == 0
                          ? "online"
                      : msg->len == 7 && memcmp(msg->payload, "offline", 7) == 0
                          ? "offline"
                      : msg->len == 0 ? "unknown"
                                      : NULL;
  if (!value) {
    /* Not echoed: anything on the bus may write here, newlines too. */
    pb_warn("ignoring %s: its %zu bytes are not 'online' or 'offline'",
            msg->topic, msg->len);
    return;
  }
  free(pb_map_remove(w->services, service));
  char *v = msg->len ? strdup(value) : NULL;
  if (v && pb_map_put(w->services, service, v))
    free(v);
  if (!msg->retained)
    web_sse_publish(
        w, "availability",
        json_pack("{s:s,s:s}", "service", service, "availability", value));
}

/* R/site/<site>/status (yeastar-gateway): kept as published, for
 * /api/stats and the event stream. */
static void on_site_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           void *ud) {
  (void)bus;
  struct web *w = ud;
  char buf[256];
  const char *seg[4];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 4) != 3 ||
      !pb_topic_id_valid(seg[1]))
    return;
  size_t max = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_EVENT_MAX_BYTES);
  if (msg->len > max) {
    pb_warn("ignoring %s of %zu bytes: larger than WEB_EVENT_MAX_BYTES (%zu)",
            msg->topic, msg->len, max);
    return;
  }
  json_t *j = msg->len ? pb_json_parse(msg->payload, msg->len, NULL, 0) : NULL;
  if (msg->len && !json_is_object(j)) {
    pb_warn("ignoring an unreadable %s", msg->topic);
    json_decref(j);
    return;
  }
  json_decref(pb_map_remove(w->sites, seg[1]));
  if (j && pb_map_put(w->sites, seg[1], j)) {
    json_decref(j);
    return;
  }
  if (!msg->retained)
    web_sse_publish(
        w, "site_status",
        json_pack("{s:s,s:O}", "site", seg[1], "status", j ? j : json_null()));
}

json_t *web_sites_json(struct web *w) {
  json_t *out = json_object();
  size_t pos = 0;
  const char *key;
  json_t *j;
  while ((j = pb_map_next(w->sites, &pos, &key)))
    json_object_set(out, key, j);
  return out;
}

const char *web_service_availability(struct web *w, const char *service) {
  const char *v = pb_map_get(w->services, service);
  return v ? v : "unknown";
}

int web_model_init(struct web *w) {
  w->exts = pb_map_new();
  w->services = pb_map_new();
  w->sites = pb_map_new();
  if (!w->exts || !w->services || !w->sites)
    return -1;
  static const char *const leaves[] = {"desired", "state", "override",
                                       "planning", "schedule"};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof leaves / sizeof leaves[0]; i++) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "ext/+/+/%s", leaves[i]);
    rc = pb_bus_subscribe(w->bus, pattern, on_ext, w);
  }
  if (!rc)
    rc = pb_bus_subscribe(w->bus, "site/+/directory", on_directory, w);
  if (!rc)
    rc = pb_bus_subscribe(w->bus, "svc/+/availability", on_availability, w);
  if (!rc)
    rc = pb_bus_subscribe(w->bus, "site/+/status", on_site_status, w);
  return rc;
}

void web_model_cleanup(struct web *w) {
  size_t pos = 0;
  struct web_ext *e;
  while (w->exts && (e = pb_map_next(w->exts, &pos, NULL))) {
    json_decref(e->desired);
    json_decref(e->state);
    json_decref(e->override);
    free(e->schedule);
    free(e);
  }
  pb_map_free(w->exts);
  w->exts = NULL;
  pos = 0;
  char *v;
  while (w->services && (v = pb_map_next(w->services, &pos, NULL)))
    free(v);
  pb_map_free(w->services);
  w->services = NULL;
  pos = 0;
  json_t *j;
  while (w->sites && (j = pb_map_next(w->sites, &pos, NULL)))
    json_decref(j);
  pb_map_free(w->sites);
  w->sites = NULL;
}

static int cmp_ext(const void *a, const void *b) {
  const struct web_ext *x = *(const struct web_ext *const *)a;
  const struct web_ext *y = *(const struct web_ext *const *)b;
  int c = strcmp(x->site, y->site);
  if (c)
    return c;
  size_t lx = strlen(x->number), ly = strlen(y->number);
  if (lx != ly)
    return lx < ly ? -1 : 1; /* "999" before "1000" */
  return strcmp(x->number, y->number);
}

struct web_ext **web_model_list(struct web *w, const char *site,
                                size_t *count) {
  size_t n = pb_map_count(w->exts), i = 0, pos = 0;
  struct web_ext **list = calloc(n ? n : 1, sizeof *list);
  if (!list)
    return NULL;
  struct web_ext *e;
  while ((e = pb_map_next(w->exts, &pos, NULL)))
    if (!site || strcmp(e->site, site) == 0)
      list[i++] = e;
  if (i > 1)
    qsort(list, i, sizeof *list, cmp_ext);
  *count = i;
  return list;
}

static json_t *pick(const json_t *obj, const char *key) {
  json_t *v = obj ? json_object_get(obj, key) : NULL;
  return v ? json_incref(v) : json_null();
}

/* The display label (PRESENCE_LABELS) of a status field, or null. */
static json_t *label_of(const json_t *obj) {
  enum pb_presence p;
  const char *s = pb_json_str(obj, "status");
  return s && pb_presence_parse(s, &p) == 0 ? json_string(pb_presence_label(p))
                                            : json_null();
}

json_t *web_ext_json(const struct web_ext *e) {
  json_t *j = json_object();
  json_object_set_new(j, "site", json_string(e->site));
  json_object_set_new(j, "number", json_string(e->number));
  json_object_set_new(j, "name", json_string(e->name));
  json_object_set_new(j, "pbx_id",
                      e->pbx_id ? json_integer(e->pbx_id) : json_null());
  json_object_set_new(j, "in_directory", json_boolean(e->in_directory));
  json_object_set_new(j, "planning",
                      json_string(e->planning_off ? "off" : "on"));
  json_t *d = json_object();
  json_object_set_new(d, "status", pick(e->desired, "status"));
  json_object_set_new(d, "label", label_of(e->desired));
  json_object_set_new(d, "cause", pick(e->desired, "cause"));
  json_object_set_new(d, "since", pick(e->desired, "since"));
  json_object_set_new(d, "next_change", pick(e->desired, "next_change"));
  json_object_set_new(d, "slot", pick(e->desired, "slot"));
  json_object_set_new(j, "desired", d);
  json_t *p = json_object();
  json_object_set_new(p, "status", pick(e->state, "status"));
  json_object_set_new(p, "label", label_of(e->state));
  json_object_set_new(p, "in_sync", pick(e->state, "in_sync"));
  json_object_set_new(p, "updated_at", pick(e->state, "updated_at"));
  json_object_set_new(p, "online", pick(e->state, "online"));
  json_object_set_new(j, "pbx", p);
  json_object_set_new(j, "override",
                      e->override ? json_incref(e->override) : json_null());
  return j;
}
