/* What the gateway tells the bus about each extension: R/ext/<site>/<ext>/
 * state (retained: the status the PBX shows, whether it is the desired one,
 * a change kept under DRIFT_POLICY=respect) and one R/events/apply or
 * apply_failed event per extension/update (docs/topics.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "pb/error.h"
#include "pb/json.h"
#include "pb/topics.h"

int gw_publish_json(struct gw *gw, const char *topic, const json_t *j,
                    bool retain) {
  char *text = pb_json_dump(j);
  if (!text)
    return PB_ENOMEM;
  int rc = gw_publish(gw, topic, text, strlen(text), retain);
  free(text);
  return rc;
}

static json_t *state_json(struct gw_site *s, const struct gw_ext *e) {
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
  return pb_ext_state_to_json(&st, s->gw->tz);
}

void gw_state_publish(struct gw_site *s, const struct gw_ext *e) {
  if (!e->listed || s->removed)
    return;
  json_t *j = state_json(s, e);
  char topic[256];
  if (pb_topic_ext(topic, sizeof topic, s->name, e->number, PB_EXT_STATE) == 0)
    gw_publish_json(s->gw, topic, j, true);
  json_decref(j);
}

/* Compared as published (the same compact dump), so a payload from an
 * earlier run matches only when nothing it says has changed. */
bool gw_state_matches(struct gw_site *s, const struct gw_ext *e,
                      const char *payload, size_t len) {
  json_t *j = state_json(s, e);
  char *text = pb_json_dump(j);
  bool same = text && strlen(text) == len && memcmp(text, payload, len) == 0;
  free(text);
  json_decref(j);
  return same;
}

/* The extension is gone (from the PBX directory, or its site removed): its
 * state and its call topics are deleted. */
void gw_state_clear(struct gw_site *s, const char *number) {
  static const char *const leaves[] = {PB_EXT_STATE, PB_EXT_CALL};
  char topic[256];
  for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
    if (pb_topic_ext(topic, sizeof topic, s->name, number, leaves[i]) == 0)
      gw_clear(s->gw, topic);
}

void gw_event_apply(struct gw_site *s, const struct gw_ext *e,
                    enum pb_presence status, int err, const char *errmsg,
                    int64_t latency_ms) {
  json_t *ev = json_pack("{s:s,s:s,s:s,s:s}", "site", s->name, "ext", e->number,
                         "status", pb_presence_name(status), "result",
                         err ? "failed" : "ok");
  if (err) {
    json_object_set_new(ev, "error",
                        json_string(errmsg ? errmsg : pb_strerror(err)));
    json_object_set_new(ev, "attempts", json_integer(e->attempts));
  } else if (latency_ms >= 0) {
    json_object_set_new(ev, "latency_ms", json_integer(latency_ms));
  }
  gw_event(s->gw, err ? PB_EVENT_APPLY_FAILED : PB_EVENT_APPLY, ev);
}
