/* The retained topics the gateway owns (R/ext/<site>/<ext>/state,
 * R/site/<site>/directory, R/site/<site>/status) must say what its database
 * and the PBX say, after any restart, kill -9 or broker reconnect. A
 * restarted service republishes what it has, not the end of what it no
 * longer has, so the gateway reads its own topics back: a message the broker
 * delivers as retained (kept from before) that does not match is
 * republished, or cleared when what it describes has ended (a removed site,
 * an extension gone from the PBX directory). Live deliveries are the
 * gateway's own publishes, except an empty one on a topic it still has
 * something to say on (someone else cleared it): that is republished.
 * Which sites are this gateway's, and the states judged after the first
 * directory read: retained.c. */
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/topics.h"

/* A topic of a site this gateway does not serve (now): cleared if it
 * served it before. */
static void not_served(struct gw *gw, const struct pb_bus_msg *msg,
                       const char *site) {
  if (msg->retained && msg->len > 0 && gw_retained_published(gw, site))
    gw_retained_clear(gw, msg->topic, "the site is no longer served here");
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

static void on_state(struct pb_bus *bus, const struct pb_bus_msg *msg,
                     void *ud) {
  (void)bus;
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
    gw_retained_defer_state(s, seg[2]); /* judged at the end of that read */
    return;
  }
  if (!e || !e->listed)
    gw_retained_clear(ud, msg->topic,
                      "the extension is not in the PBX directory");
  else if (!gw_state_matches(s, e, msg->payload, msg->len))
    gw_state_publish(s, e);
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
  if (msg->retained ? msg->len > 0 && !directory_matches(s, msg)
                    : msg->len == 0)
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
  if (msg->retained
          ? msg->len > 0 && !gw_site_status_matches(s, msg->payload, msg->len)
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
  if ((rc = pb_bus_subscribe_own(gw->bus, PB_TOPIC_EXT_ALL(PB_EXT_STATE), false,
                                 on_state, gw)) ||
      (rc = pb_bus_subscribe_own(gw->bus, PB_TOPIC_SITE_ALL(PB_SITE_DIRECTORY),
                                 false, on_directory, gw)) ||
      (rc = pb_bus_subscribe_own(gw->bus, PB_TOPIC_SITE_ALL(PB_SITE_STATUS),
                                 false, on_status, gw)))
    return rc;
  return 0;
}
