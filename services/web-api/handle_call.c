/* R/ext/<site>/<ext>/call and R/site/<site>/calls (yeastar-gateway,
 * retained; docs/topics.md) into the read model: an extension's call state
 * shows in the extensions API and the event stream ("extension" events with
 * change "call"), a site's calls in progress in GET /api/sites/<site>/calls
 * and "calls" events. A payload that the contract's decoder refuses is
 * logged and not kept; an empty one (the retained message removed) clears. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb/bus.h"
#include "pb/config.h"
#include "pb/log.h"
#include "pb/map.h"
#include "pb/payload_call.h"
#include "pb/topics.h"
#include "web.h"

/* The payload as JSON when it is within WEB_EVENT_MAX_BYTES and parses;
 * NULL (logged) otherwise. */
static json_t *parse(struct web *w, const struct pb_bus_msg *msg) {
  size_t max = (size_t)pb_config_int(w->cfg, PB_CFG_WEB_EVENT_MAX_BYTES);
  if (msg->len > max) {
    pb_warn("ignoring %s of %zu bytes: larger than WEB_EVENT_MAX_BYTES (%zu)",
            msg->topic, msg->len, max);
    return NULL;
  }
  char err[256];
  json_t *j = pb_json_parse(msg->payload, msg->len, err, sizeof err);
  if (!j)
    pb_warn("ignoring unreadable %s: %s", msg->topic, err);
  return j;
}

void web_handle_call(struct pb_bus *bus, const struct pb_bus_msg *msg,
                     void *ud) {
  (void)bus;
  struct web *w = ud;
  char buf[256], err[256];
  const char *seg[5];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 5) != 4 ||
      strcmp(seg[3], PB_EXT_CALL) != 0)
    return;
  json_t *j = NULL;
  if (msg->len) {
    if (!(j = parse(w, msg)))
      return;
    struct pb_call_state_msg c;
    if (pb_call_state_from_json(j, &c, err, sizeof err)) {
      pb_warn("ignoring %s: %s", msg->topic, err);
      json_decref(j);
      return;
    }
  }
  struct web_ext *e = web_model_get_or_create(w, seg[1], seg[2]);
  if (!e) {
    json_decref(j);
    return;
  }
  w->model_gen++;
  json_decref(e->call);
  e->call = j;
  /* Retained messages replayed at (re)connection are the state as it is,
   * not changes. */
  if (!msg->retained) {
    json_t *ev = web_ext_json(e);
    json_object_set_new(ev, "change", json_string("call"));
    web_sse_publish(w, "extension", ev);
  }
}

void web_handle_site_calls(struct pb_bus *bus, const struct pb_bus_msg *msg,
                           void *ud) {
  (void)bus;
  struct web *w = ud;
  char buf[256], err[256];
  const char *seg[4];
  if (pb_topic_split(msg->topic, buf, sizeof buf, seg, 4) != 3 ||
      !pb_topic_id_valid(seg[1]) || strcmp(seg[2], PB_SITE_CALLS) != 0)
    return;
  json_t *j = NULL;
  if (msg->len) {
    if (!(j = parse(w, msg)))
      return;
    struct pb_site_calls sc = {0};
    int rc = pb_site_calls_from_json(j, &sc, err, sizeof err);
    bool other_site = rc == 0 && strcmp(sc.site, seg[1]) != 0;
    pb_site_calls_cleanup(&sc);
    if (rc || other_site) {
      pb_warn("ignoring %s: %s", msg->topic,
              rc ? err : "its 'site' is another site");
      json_decref(j);
      return;
    }
  }
  json_decref(pb_map_remove(w->site_calls, seg[1]));
  if (j && pb_map_put(w->site_calls, seg[1], j)) {
    json_decref(j);
    j = NULL;
  }
  if (!msg->retained)
    web_sse_publish(
        w, "calls",
        j ? json_incref(j)
          : json_pack("{s:s,s:n,s:[]}", "site", seg[1], "updated_at", "calls"));
}
