/* The retained topics the gateway owns (R/ext/<site>/<ext>/state,
 * R/site/<site>/directory, R/site/<site>/status) must say what its database
 * and the PBX say, after any restart, kill -9 or broker reconnect. A
 * restarted service republishes what it has, not the end of what it no
 * longer has, so the gateway reads its own topics back: a message the broker
 * delivers as retained (kept from before) that does not match is
 * republished, or cleared when what it describes has ended (a removed site,
 * an extension gone from the PBX directory). Live deliveries are the
 * gateway's own publishes, except an empty one on a topic it still has
 * something to say on (someone else cleared it): that is republished. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"

/* How long the topics of a site no longer served here are still cleared
 * when the broker holds them. Bounded, because the site may have moved to
 * another gateway since (which republishes at once what was cleared live:
 * see the handlers below). */
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

void gw_retained_serve(struct gw *gw, const char *site) {
  if (gw->published)
    pb_map_put(gw->published, site, &known);
  gw_store_published_add(gw, site);
}

void gw_retained_unserve(struct gw *gw, const char *site) {
  gw_store_published_removed(gw, site);
}

static void clear(struct pb_bus *bus, const char *topic, const char *why) {
  pb_info("retained %s cleared: %s", topic, why);
  pb_bus_clear(bus, topic);
}

/* A topic of a site this gateway does not serve (now): cleared if it
 * served it before. */
static void not_served(struct gw *gw, const struct pb_bus_msg *msg,
                       const char *site) {
  if (msg->retained && msg->len > 0 && gw->published &&
      pb_map_get(gw->published, site))
    clear(gw->bus, msg->topic, "the site is no longer served here");
}

/* The served site a message on one of our topics is about: its topic has
 * `nseg` segments (split into `seg`, within buf), the site is seg[1]. NULL
 * for a malformed topic, or a site not served here (then not_served). */
static struct gw_site *served_site(struct gw *gw, const struct pb_bus_msg *msg,
                                   int nseg, const char **seg, char *buf,
                                   size_t len) {
  if (pb_topic_split(msg->topic, buf, len, seg, nseg + 1) != nseg)
    return NULL;
  struct gw_site *s = gw_site_find(gw, seg[1]);
  if (!s)
    not_served(gw, msg, seg[1]);
  return s;
}

static void on_state(struct pb_bus *bus, const struct pb_bus_msg *msg, void *ud) {
  char buf[256];
  const char *seg[5];
  struct gw_site *s = served_site(ud, msg, 4, seg, buf, sizeof buf);
  if (!s)
    return;
  struct gw_ext *e = gw_ext_get(s, seg[2]);
  if (!msg->retained) {
    if (msg->len == 0 && s->directory_loaded && e && e->listed)
      gw_state_publish(s, e);
    return;
  }
  if (msg->len == 0)
    return;
  if (!s->directory_loaded) {
    /* Judged at the end of the first complete read. */
    if (!s->unchecked)
      s->unchecked = pb_map_new();
    if (s->unchecked && pb_map_count(s->unchecked) < GW_MAX_EXTS)
      pb_map_put(s->unchecked, seg[2], s);
    return;
  }
  if (!e || !e->listed)
    clear(bus, msg->topic, "the extension is not in the PBX directory");
  else if (!gw_state_matches(s, e, msg->payload, msg->len))
    gw_state_publish(s, e);
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
    snprintf(topic, sizeof topic, "ext/%s/%s/state", s->name, number);
    clear(s->gw->bus, topic, "the extension is not in the PBX directory");
  }
  pb_map_free(s->unchecked);
  s->unchecked = NULL;
}

static bool directory_matches(struct gw_site *s, const struct pb_bus_msg *msg) {
  struct pb_directory d = {0};
  char err[200];
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  bool same = j && pb_directory_from_json(j, &d, err, sizeof err) == 0;
  json_decref(j);
  size_t listed = 0, pos = 0;
  struct gw_ext *e;
  while (same && (e = pb_map_next(s->exts, &pos, NULL)))
    listed += e->listed;
  same = same && listed == d.count;
  for (size_t i = 0; same && i < d.count; i++) {
    const struct pb_dir_entry *x = &d.entries[i];
    e = gw_ext_get(s, x->number);
    same = e && e->listed && e->id == x->id &&
           strncmp(e->name ? e->name : "", x->name, sizeof x->name - 1) == 0;
  }
  pb_directory_cleanup(&d);
  return same;
}

static void on_directory(struct pb_bus *bus, const struct pb_bus_msg *msg,
                         void *ud) {
  (void)bus;
  char buf[256];
  const char *seg[4];
  struct gw_site *s = served_site(ud, msg, 3, seg, buf, sizeof buf);
  if (!s)
    return;
  if (!s->directory_loaded)
    return; /* the first complete read publishes it */
  if (msg->retained ? msg->len > 0 && !directory_matches(s, msg) : msg->len == 0)
    gw_directory_publish(s);
}

static void on_status(struct pb_bus *bus, const struct pb_bus_msg *msg,
                      void *ud) {
  (void)bus;
  char buf[256];
  const char *seg[4];
  struct gw_site *s = served_site(ud, msg, 3, seg, buf, sizeof buf);
  if (!s)
    return;
  if (msg->retained ? msg->len > 0 && !gw_site_status_matches(s, msg->payload,
                                                              msg->len)
                    : msg->len == 0)
    gw_site_publish_status(s);
}

int gw_retained_register(struct gw *gw) {
  int rc;
  /* Sites published before and not started now (a SITE renamed, a site
   * removed just before a kill -9): no longer served since now. */
  size_t pos = 0;
  const char *name;
  while (gw->published && pb_map_next(gw->published, &pos, &name))
    if (!gw_site_find(gw, name))
      gw_retained_unserve(gw, name);
  if ((rc = pb_bus_subscribe_own(gw->bus, "ext/+/+/state", false, on_state, gw)) ||
      (rc = pb_bus_subscribe_own(gw->bus, "site/+/directory", false, on_directory,
                                 gw)) ||
      (rc = pb_bus_subscribe_own(gw->bus, "site/+/status", false, on_status, gw)))
    return rc;
  return 0;
}
