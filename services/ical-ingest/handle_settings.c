/* Each extension's time zone from its settings, which the scheduler owns
 * and publishes retained on R/ext/<site>/<ext>/settings (docs/topics.md):
 * a change re-reads that extension's plannings in the new zone and
 * republishes its schedule. The zones are also kept in the database, so
 * the schedules published at start, before the retained settings arrive,
 * are already in them. */
#include <stdio.h>
#include <string.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/store.h"
#include "pb/topics.h"
#include "pb/tz.h"

static void load_cb(const char *site, const char *ext, const char *zone,
                    void *ud) {
  struct ingest *in = ud;
  bool changed;
  int rc = ingest_zones_set(in->zones, site, ext, zone, &changed);
  if (rc)
    pb_warn("%s/%s: its stored time zone '%s' is not usable (%s): TIMEZONE "
            "until its settings say otherwise",
            site, ext, zone, pb_strerror(rc));
}

static void on_settings(struct pb_bus *bus, const struct pb_bus_msg *msg,
                        void *ud) {
  (void)bus;
  struct ingest *in = ud;
  char buf[256], zone[128], err[256];
  const char *seg[5];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4 ||
      !pb_topic_id_valid(seg[1]) || !pb_topic_id_valid(seg[2]))
    return;
  const char *site = seg[1], *ext = seg[2];
  if (ingest_settings_zone(msg->payload, msg->len, zone, sizeof zone, err,
                           sizeof err)) {
    pb_warn("%s/%s: settings not understood (%s): its zone stays %s", site, ext,
            err, pb_tz_name(ingest_zones_get(in->zones, site, ext)));
    return;
  }
  bool changed;
  int rc = ingest_zones_set(in->zones, site, ext, zone, &changed);
  if (rc == PB_ENOTFOUND) {
    /* The scheduler checked the name against its own zone files. */
    pb_warn("%s/%s: time zone '%s' is unknown here: its plannings are read "
            "in TIMEZONE (%s)",
            site, ext, zone, pb_tz_name(in->tz));
    rc = ingest_zones_set(in->zones, site, ext, NULL, &changed);
  }
  if (rc) {
    pb_error("%s/%s: its time zone cannot be kept: %s", site, ext,
             pb_strerror(rc));
    return;
  }
  if (!changed)
    return;
  const struct pb_tz *tz = ingest_zones_get(in->zones, site, ext);
  if (ingest_store_save_zone(in->store, site, ext,
                             tz == in->tz ? NULL : pb_tz_name(tz)))
    pb_error("%s/%s: its time zone could not be stored", site, ext);
  if (!ingest_store_extension_known(in->store, site, ext))
    return;
  pb_info("%s/%s: its plannings are now read in %s: republishing its "
          "schedule",
          site, ext, pb_tz_name(tz));
  ingest_publish_one(in, site, ext);
}

int ingest_settings_watch(struct ingest *in) {
  int rc = ingest_zones_new(in->tz, &in->zones);
  if (rc)
    return rc;
  if (ingest_store_each_zone(in->store, load_cb, in))
    pb_error("the extensions' time zones could not be read back: TIMEZONE "
             "until their settings arrive");
  return pb_bus_subscribe(in->bus, PB_TOPIC_EXT_ALL(PB_EXT_SETTINGS),
                          on_settings, in);
}
