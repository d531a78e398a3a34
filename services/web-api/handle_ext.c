/* R/ext/+/+/{desired,state,override,planning,schedule} into the read model
 * (read_model.c): retained at start, live afterwards. Every live change is
 * also handed to the event stream and counted for /metrics. Whatever is
 * published is checked first: a payload above WEB_EVENT_MAX_BYTES (the
 * schedule: SCHEDULE_MAX) is not kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/topics.h"
#include "web.h"

#define SCHEDULE_MAX (1024 * 1024) /* a bigger schedule is not kept */

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
void web_handle_ext(struct pb_bus *bus, const struct pb_bus_msg *msg,
                    void *ud) {
  (void)bus;
  struct web *w = ud;
  char buf[256], err[256];
  const char *seg[5];
  w->model_gen++;
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4)
    return;
  const char *leaf = seg[3];
  if (strcmp(leaf, PB_EXT_PLANNING) == 0) {
    struct web_ext *e = web_model_get_or_create(w, seg[1], seg[2]);
    if (!e)
      return;
    bool off = msg->len >= 3 && strncasecmp(msg->payload, "off", 3) == 0;
    if (off != e->planning_off) {
      e->planning_off = off;
      announce(w, e, "planning", msg->retained);
    }
    return;
  }
  if (strcmp(leaf, PB_EXT_SCHEDULE) == 0) {
    struct web_ext *e = web_model_get_or_create(w, seg[1], seg[2]);
    if (!e)
      return;
    free(e->schedule);
    e->schedule = NULL;
    if (msg->len > SCHEDULE_MAX)
      pb_warn("schedule of %s/%s is %zu bytes: not kept for the week view",
              seg[1], seg[2], msg->len);
    else if (msg->len && !(e->schedule = strndup(msg->payload, msg->len)))
      pb_warn("out of memory: schedule of %s/%s not kept for the week view",
              seg[1], seg[2]);
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
  struct web_ext *e = web_model_get_or_create(w, seg[1], seg[2]);
  if (!e) {
    json_decref(j);
    return;
  }
  if (strcmp(leaf, PB_EXT_DESIRED) == 0) {
    if (!same_str(pb_json_str(e->desired, "status"),
                  pb_json_str(j, "status")) &&
        !msg->retained)
      w->metrics.status_changes++;
    set_json(&e->desired, j);
    announce(w, e, "desired", msg->retained);
  } else if (strcmp(leaf, PB_EXT_STATE) == 0) {
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
  } else if (strcmp(leaf, PB_EXT_OVERRIDE) == 0) {
    set_json(&e->override, j);
    announce(w, e, "override", msg->retained);
  } else {
    json_decref(j);
  }
}
