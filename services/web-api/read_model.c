/* web-api's read model: the latest directory, schedule, desired, state,
 * override, planning and call state of every extension, the calls in
 * progress of every site and the availability of every
 * service, rebuilt from the broker's retained messages at each start
 * (docs/topics.md) by the bus handlers (handle_ext.c, handle_site.c,
 * handle_availability.c), and its JSON shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "web.h"

struct web_ext *web_model_get(struct web *w, const char *site,
                              const char *number) {
  char key[2 * PB_ID_MAX];
  snprintf(key, sizeof key, "%s/%s", site, number);
  return pb_map_get(w->exts, key);
}

struct web_ext *web_model_get_or_create(struct web *w, const char *site,
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
  w->site_calls = pb_map_new();
  if (!w->exts || !w->services || !w->sites || !w->site_calls)
    return -1;
  return 0;
}

void web_model_cleanup(struct web *w) {
  size_t pos = 0;
  struct web_ext *e;
  while (w->exts && (e = pb_map_next(w->exts, &pos, NULL))) {
    json_decref(e->desired);
    json_decref(e->state);
    json_decref(e->override);
    json_decref(e->call);
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
  pos = 0;
  while (w->site_calls && (j = pb_map_next(w->site_calls, &pos, NULL)))
    json_decref(j);
  pb_map_free(w->site_calls);
  w->site_calls = NULL;
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
  /* R/ext/<site>/<ext>/call as published (checked by handle_call.c). */
  json_object_set_new(j, "call", e->call ? json_incref(e->call) : json_null());
  return j;
}
