/* Publishes each extension's concrete slots over the moving horizon on
 * R/ext/<site>/<ext>/schedule (retained), merging every source that feeds
 * it (weekly plannings, calendars, hand-typed slots), read on the
 * extension's wall clock (its own zone, else TIMEZONE): after an import or
 * a source change, after every (re)connection, when the extension's zone
 * changes, and every local midnight when the horizon moves. The horizon
 * follows TIMEZONE's midnights for every extension: it always starts
 * before now, whatever the extension's zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "pb/bus.h"
#include "pb/clock.h"
#include "pb/error.h"
#include "pb/log.h"
#include "pb/loop.h"
#include "pb/store.h"
#include "pb/topics.h"
#include "pb/tz.h"

struct expand_ctx {
  const struct pb_tz *tz;
  const char *ext;
  int64_t from, to;
  struct slot_vec vec;
  int rc;
};

static void expand_one(const struct weekly_slot *w, const char *source,
                       int priority, void *ud) {
  struct expand_ctx *x = ud;
  if (x->rc == 0)
    x->rc = ingest_expand_weekly(w, 1, x->ext, x->tz, x->from, x->to, source,
                                 priority, &x->vec);
}

static int64_t local_midnight(const struct pb_tz *tz, int64_t t, int add_days) {
  struct pb_civil c;
  pb_tz_utc_to_local(tz, t, &c);
  int64_t days = pb_days_from_civil(c.year, c.month, c.day) + add_days;
  struct pb_civil m = {0};
  pb_civil_from_days(days, &m.year, &m.month, &m.day);
  return pb_tz_local_to_utc(tz, &m);
}

void ingest_horizon(const struct ingest *in, int64_t now, int64_t *from,
                    int64_t *to) {
  *from = local_midnight(in->tz, now, 0);
  *to = local_midnight(in->tz, now, in->horizon_days);
}

void ingest_publish_one(struct ingest *in, const char *site, const char *ext) {
  int64_t now = pb_clock_now();
  const struct pb_tz *tz =
      in->zones ? ingest_zones_get(in->zones, site, ext) : in->tz;
  struct expand_ctx x = {.tz = tz, .ext = ext};
  ingest_horizon(in, now, &x.from, &x.to);
  if (ingest_store_each_weekly(in->store, site, ext, expand_one, &x) || x.rc) {
    pb_error("cannot expand the planning of %s/%s: %s", site, ext,
             pb_strerror(x.rc));
    slot_vec_cleanup(&x.vec);
    return;
  }
  /* Calendars and hand-typed slots; identical occurrences from several
   * sources count once (ingest_slots_normalise). */
  for (size_t i = 0; i < ingest_sources_count(in); i++) {
    struct source *src = ingest_source_at(in, i);
    if (!ingest_source_targets(&src->def, site, ext))
      continue;
    int rc = ingest_source_append(in, src, tz, x.from, x.to, &x.vec);
    if (rc) {
      pb_error("cannot add the slots of source %s to %s/%s: %s", src->def.id,
               site, ext, pb_strerror(rc));
      slot_vec_cleanup(&x.vec);
      return;
    }
  }
  ingest_slots_normalise(&x.vec);
  struct pb_schedule s = {.generated_at = now,
                          .horizon_start = x.from,
                          .horizon_end = x.to,
                          .count = x.vec.count,
                          .slots = x.vec.items};
  pb_strlcpy(s.site, site, sizeof s.site);
  pb_strlcpy(s.ext, ext, sizeof s.ext);
  /* Written with the extension's offsets, like its desired status. */
  json_t *j = pb_schedule_to_json(&s, tz);
  char topic[256];
  if (pb_topic_ext(topic, sizeof topic, site, ext, PB_EXT_SCHEDULE) == 0 &&
      pb_bus_publish_json(in->bus, topic, j, true) == 0 &&
      ingest_store_mark_published(in->store, site, ext, x.vec.count > 0))
    pb_error("the schedule of %s/%s was published, but the database did not "
             "note that it %s slots (database error)",
             site, ext, x.vec.count > 0 ? "has" : "has no");
  pb_debug("published %zu slots for %s/%s", x.vec.count, site, ext);
  json_decref(j);
  slot_vec_cleanup(&x.vec);
}

void ingest_publish_source(struct ingest *in, const struct source_def *d) {
  if (d->kind != SOURCE_WEEKLY) {
    for (size_t i = 0; i < d->nexts; i++)
      ingest_publish_one(in, d->site, d->exts[i]);
    return;
  }
  json_t *exts = json_array();
  if (exts && ingest_store_weekly_exts(in->store, d->id, exts) == 0) {
    size_t i;
    json_t *e;
    json_array_foreach(exts, i, e)
        ingest_publish_one(in, d->site, json_string_value(e));
  }
  json_decref(exts);
}

/* The broker hands back every retained schedule at each (re)connection. One
 * of an extension this service has nothing for any more (its last source
 * removed just before a kill -9 kept the empty schedule from leaving) is
 * cleared; the others are published again by ingest_publish_all. Deliveries
 * without the retained flag are this service's own publishes. */
static void on_own_schedule(struct pb_bus *bus, const struct pb_bus_msg *msg,
                            void *ud) {
  struct ingest *in = ud;
  char buf[256];
  const char *seg[5];
  if (!msg->retained || msg->len == 0 ||
      pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4 ||
      !pb_topic_id_valid(seg[1]) || !pb_topic_id_valid(seg[2]) ||
      ingest_store_extension_known(in->store, seg[1], seg[2]))
    return;
  pb_info("clearing the schedule of %s/%s left on the broker: no source feeds "
          "it any more",
          seg[1], seg[2]);
  pb_bus_clear(bus, msg->topic);
}

int ingest_schedule_watch(struct ingest *in) {
  return pb_bus_subscribe_own(in->bus, PB_TOPIC_EXT_ALL(PB_EXT_SCHEDULE), false,
                              on_own_schedule, in);
}

static void publish_cb(const char *site, const char *ext, void *ud) {
  ingest_publish_one(ud, site, ext);
}

void ingest_publish_all(struct ingest *in) {
  ingest_store_each_extension(in->store, publish_cb, in);
}

static void on_midnight(struct pb_loop *loop, struct pb_timer *t, void *ud) {
  (void)loop;
  (void)t;
  struct ingest *in = ud;
  pb_info("the horizon moves: republishing every schedule");
  ingest_publish_all(in);
  /* Each source's status counts its slots over the new horizon. */
  ingest_status_publish_all(in);
  ingest_arm_horizon(in);
}

void ingest_arm_horizon(struct ingest *in) {
  if (!in->horizon_timer)
    in->horizon_timer = pb_timer_new(in->loop, on_midnight, in);
  /* A few seconds past midnight, so the new day is the first of the horizon. */
  int64_t next = local_midnight(in->tz, pb_clock_now(), 1) + 5;
  pb_timer_arm(in->horizon_timer, next * 1000);
}
