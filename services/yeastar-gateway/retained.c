/* Which retained topics are this gateway's: the sites it serves, and those
 * it served within UNSERVED_KEEP_S (kept in the database, so that their
 * topics are cleared even after a kill -9), and the retained states of a
 * site seen before its first complete directory read, judged at its end.
 * handle_retained.c reads the topics back from the broker. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/topics.h"

/* How long the topics of a site no longer served here are still cleared
 * when the broker holds them. Bounded, because the site may have moved to
 * another gateway since (which republishes at once what was cleared live:
 * see handle_retained.c). */
#define UNSERVED_KEEP_S (7 * 86400)

static char known; /* the value of gw->published entries */

static void load_one(const char *name, void *ud) {
  struct gw *gw = ud;
  pb_map_put(gw->published, name, &known);
}

int gw_retained_load(struct gw *gw) {
  if (!gw->published && !(gw->published = pb_map_new()))
    return PB_ENOMEM;
  return gw_store_published_each(gw, UNSERVED_KEEP_S, load_one, gw);
}

void gw_retained_free(struct gw *gw) {
  pb_map_free(gw->published);
  gw->published = NULL;
}

bool gw_retained_published(const struct gw *gw, const char *site) {
  return gw->published && pb_map_get(gw->published, site);
}

void gw_retained_serve(struct gw *gw, const char *site) {
  if (gw->published)
    pb_map_put(gw->published, site, &known);
  if (gw_store_published_add(gw, site))
    gw_store_warn(site, "that its topics are this gateway's");
}

void gw_retained_unserve(struct gw *gw, const char *site) {
  if (gw_store_published_removed(gw, site))
    gw_store_warn(site, "that it is no longer served");
}

void gw_retained_clear(struct gw *gw, const char *topic, const char *why) {
  pb_info("retained %s cleared: %s", topic, why);
  gw_clear(gw, topic);
}

void gw_retained_defer_state(struct gw_site *s, const char *number) {
  if (!s->unchecked)
    s->unchecked = pb_map_new();
  if (s->unchecked && pb_map_count(s->unchecked) < GW_MAX_EXTS)
    pb_map_put(s->unchecked, number, s);
}

void gw_retained_check_states(struct gw_site *s) {
  if (!s->unchecked)
    return;
  size_t pos = 0;
  const char *number;
  char topic[256];
  while (pb_map_next(s->unchecked, &pos, &number)) {
    struct gw_ext *e = gw_ext_get(s, number);
    if (e && e->listed)
      continue; /* published afresh by the read */
    if (pb_topic_ext(topic, sizeof topic, s->name, number, PB_EXT_STATE) == 0)
      gw_retained_clear(s->gw, topic,
                        "the extension is not in the PBX directory");
  }
  pb_map_free(s->unchecked);
  s->unchecked = NULL;
}
