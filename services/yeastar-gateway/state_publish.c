/* What the gateway tells the bus about each extension: R/ext/<site>/<ext>/
 * state (retained: the status the PBX shows, whether it is the desired one,
 * a change kept under DRIFT_POLICY=respect) and one R/events/apply or
 * apply_failed event per extension/update (docs/topics.md). */
#include <stdio.h>

#include "gateway.h"
#include "pb/bus.h"
#include "pb/error.h"

void gw_state_publish(struct gw_site *s, const struct gw_ext *e) {
  if (!e->listed || s->removed)
    return;
  struct pb_ext_state st = {
      .status = e->pbx_status,
      .in_sync = e->desired == PB_PRESENCE_NONE || e->desired == e->pbx_status,
      .updated_at = e->updated_at > 0 ? e->updated_at : -1,
      .pbx_id = e->id,
      .online = e->online,
      .drift_since = e->drift_since,
      .drift_until = e->drift_until,
  };
  pb_strlcpy(st.name, e->name ? e->name : "", sizeof st.name);
  json_t *j = pb_ext_state_to_json(&st, s->gw->tz);
  char topic[256];
  snprintf(topic, sizeof topic, "ext/%s/%s/state", s->name, e->number);
  pb_bus_publish_json(s->gw->bus, topic, j, true);
  json_decref(j);
}

void gw_state_clear(struct gw_site *s, const char *number) {
  char topic[256];
  snprintf(topic, sizeof topic, "ext/%s/%s/state", s->name, number);
  pb_bus_clear(s->gw->bus, topic);
}

void gw_event_apply(struct gw_site *s, const struct gw_ext *e,
                    enum pb_presence status, int err, const char *errmsg,
                    int64_t latency_ms) {
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "site", s->name, "ext", e->number,
                         "status", pb_presence_name(status), "result",
                         err ? "failed" : "ok");
  if (err) {
    json_object_set_new(ev, "error", json_string(errmsg ? errmsg : pb_strerror(err)));
    json_object_set_new(ev, "attempts", json_integer(e->attempts));
  } else if (latency_ms >= 0) {
    json_object_set_new(ev, "latency_ms", json_integer(latency_ms));
  }
  pb_bus_event(s->gw->bus, err ? "apply_failed" : "apply", ev);
}
