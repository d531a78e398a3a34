/* The PBX's extension directory, read page by page with extension/list at
 * start, every DIRECTORY_REFRESH_MINUTES and on demand, and mirrored on
 * R/site/<site>/directory (retained). It also gives the number -> internal
 * id map that extension/update needs, and the presence the PBX shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/map.h"

#define PAGE_SIZE 100
#define MAX_PAGES 1000

struct gw_ext *gw_ext_get(struct gw_site *s, const char *number) {
  return pb_map_get(s->exts, number);
}

static void publish_directory(struct gw_site *s) {
  size_t n = pb_map_count(s->exts), i = 0, pos = 0;
  struct pb_directory d = {.updated_at = pb_clock_now()};
  pb_strlcpy(d.site, s->name, sizeof d.site);
  d.entries = calloc(n ? n : 1, sizeof *d.entries);
  if (!d.entries)
    return;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL))) {
    pb_strlcpy(d.entries[i].number, e->number, sizeof d.entries[i].number);
    d.entries[i].id = e->id;
    pb_strlcpy(d.entries[i].name, e->name, sizeof d.entries[i].name);
    i++;
  }
  d.count = i;
  json_t *j = pb_directory_to_json(&d, s->gw->tz);
  char topic[128];
  snprintf(topic, sizeof topic, "site/%s/directory", s->name);
  pb_bus_publish_json(s->gw->bus, topic, j, true);
  json_decref(j);
  pb_directory_cleanup(&d);
}

void gw_directory_republish(struct gw_site *s) {
  publish_directory(s);
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    gw_state_publish(s, e);
}

static unsigned read_online(const json_t *item) {
  const json_t *os = json_object_get(item, "online_status");
  unsigned bits = 0;
  for (unsigned k = 0; k < 5; k++) {
    const json_t *dev = json_object_get(os, pb_device_names[k]);
    if (json_integer_value(json_object_get(dev, "status")) == 1)
      bits |= 1u << k;
  }
  return bits;
}

/* Extensions that were listed before but not in this read left the PBX. */
static void finish_read(struct gw_site *s) {
  size_t pos = 0;
  const char *key;
  struct gw_ext *e;
  char gone[64][PB_ID_MAX];
  size_t ngone = 0;
  while ((e = pb_map_next(s->exts, &pos, &key)))
    if (!e->listed && ngone < 64)
      pb_strlcpy(gone[ngone++], key, PB_ID_MAX);
  for (size_t i = 0; i < ngone; i++) {
    e = pb_map_remove(s->exts, gone[i]);
    pb_map_remove(s->pending, gone[i]);
    pb_info("site %s: extension %s left the PBX directory", s->name, gone[i]);
    char topic[256];
    snprintf(topic, sizeof topic, "ext/%.64s/%.64s/state", s->name, gone[i]);
    pb_bus_clear(s->gw->bus, topic);
    free(e);
  }
  s->directory_loaded = true;
  s->directory_running = false;
  publish_directory(s);
  gw_outbox_load(s);
}

static void read_page(struct gw_site *s, int page);

static void on_page(struct gw_site *s, int err, const char *errmsg, json_t *resp,
                    void *ud) {
  int page = (int)(intptr_t)ud;
  if (err) {
    pb_warn("site %s: reading the extension directory failed: %s", s->name,
            errmsg);
    s->directory_running = false;
    pb_strlcpy(s->last_error, errmsg, sizeof s->last_error);
    pb_timer_arm_in(s->directory_timer, 30000);
    return;
  }
  const json_t *data = json_object_get(resp, "data");
  json_int_t total = json_integer_value(json_object_get(resp, "total_number"));
  size_t i;
  const json_t *item;
  int64_t now = pb_clock_now();
  json_array_foreach(data, i, item) {
    const char *number = pb_json_str(item, "number");
    const json_t *id = json_object_get(item, "id");
    if (!number || !pb_topic_id_valid(number) || !json_is_integer(id))
      continue;
    struct gw_ext *e = gw_ext_get(s, number);
    bool fresh = !e;
    if (fresh) {
      e = calloc(1, sizeof *e);
      if (!e || pb_map_put(s->exts, number, e)) {
        free(e);
        continue;
      }
      pb_strlcpy(e->number, number, sizeof e->number);
      e->desired = PB_PRESENCE_NONE;
    }
    enum pb_presence p = PB_PRESENCE_NONE;
    const char *ps = pb_json_str(item, "presence_status");
    if (ps)
      pb_presence_parse(ps, &p);
    const char *name = pb_json_str(item, "caller_id_name");
    unsigned online = read_online(item);
    bool changed = fresh || p != e->pbx_status || online != e->online ||
                   strcmp(e->name, name ? name : "") != 0;
    e->id = (int64_t)json_integer_value(id);
    pb_strlcpy(e->name, name ? name : "", sizeof e->name);
    e->online = online;
    e->listed = true;
    if (!e->in_flight && p != e->pbx_status) {
      e->pbx_status = p;
      e->updated_at = now;
    }
    if (changed)
      gw_state_publish(s, e);
  }
  size_t got = (size_t)page * PAGE_SIZE;
  if (json_array_size(data) == PAGE_SIZE && (json_int_t)got < total &&
      page < MAX_PAGES)
    read_page(s, page + 1);
  else
    finish_read(s);
}

static void read_page(struct gw_site *s, int page) {
  char query[96];
  snprintf(query, sizeof query, "page=%d&page_size=%d&sort_by=id&order_by=asc",
           page, PAGE_SIZE);
  gw_pbx_call(s, "GET", "extension/list", query, NULL, on_page,
              (void *)(intptr_t)page);
}

static void on_directory_timer(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  gw_directory_refresh(ud);
}

void gw_directory_refresh(struct gw_site *s) {
  if (!s->directory_timer)
    s->directory_timer = pb_timer_new(s->gw->loop, on_directory_timer, s);
  pb_timer_arm_in(s->directory_timer, s->gw->directory_every_s * 1000);
  if (s->directory_running)
    return;
  s->directory_running = true;
  size_t pos = 0;
  struct gw_ext *e;
  while ((e = pb_map_next(s->exts, &pos, NULL)))
    e->listed = false;
  read_page(s, 1);
}
